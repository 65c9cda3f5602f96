// Tests of the runs list with sweeps grouped into lines (models/sweeplines.ts): which line is which, and the change feed applied to lines.
import { IRunRow } from '../api';
import {
  IHeldLines,
  applyLineChanges,
  lineKeys,
  sweepIdOf,
  sweepNameOf,
  sweepOfKey
} from '../models/sweeplines';
import { treeKey } from '../views/runs/keyboard';
import { row } from './rows';

const GRID = 'sw-20261130-004957-2c2066';
const OTHER = 'sw-20261130-010000-abcdef';
const none = { reset: false, runs: [], deleted: [], unmatched: [] };

/** A run of sweep `sweep` (named grid/other) started at `started` (newest first by default). */
function member(
  id: string,
  sweep: string,
  started: number | null,
  fields: Partial<IRunRow> = {}
): IRunRow {
  const name = sweep === GRID ? 'grid' : 'other';
  return row(id, {
    started_at: started,
    tags: ['note', `sweep:${name}`, `sweep:${sweep}`],
    ...fields
  });
}

function alone(
  id: string,
  started: number | null,
  fields: Partial<IRunRow> = {}
): IRunRow {
  return row(id, { started_at: started, ...fields });
}

/** Lines as text: `[grid]` for a sweep's line, the run id for a run's line. */
function show(
  rows: readonly IRunRow[],
  sweepLines: ReadonlySet<number>
): string[] {
  return rows.map((r, i) =>
    sweepLines.has(i)
      ? `[${sweepNameOf(r, sweepIdOf(r) as string)}:${r.run_id}]`
      : r.run_id
  );
}

/** The whole list: a (newest), the grid sweep (its newest run g3), b; grid collapsed. */
function collapsed(): IHeldLines {
  return {
    rows: [alone('a', 50), member('g3', GRID, 40), alone('b', 10)],
    sweepLines: new Set([1]),
    offset: 0,
    total: 3
  };
}

/** The same with grid expanded: its line, then g3, g2, g1. */
function expandedLines(): IHeldLines {
  return {
    rows: [
      alone('a', 50),
      member('g3', GRID, 40),
      member('g3', GRID, 40),
      member('g2', GRID, 30),
      member('g1', GRID, 20),
      alone('b', 10)
    ],
    sweepLines: new Set([1]),
    offset: 0,
    total: 6
  };
}

describe('sweep lines', () => {
  it('tells a sweep from its tags and keys its line apart from its runs', () => {
    const g = member('g3', GRID, 40);
    expect(sweepIdOf(g)).toBe(GRID);
    expect(sweepNameOf(g, GRID)).toBe('grid');
    expect(sweepIdOf(alone('a', 1))).toBeNull();
    // A tag that only looks like a sweep's is not one.
    expect(sweepIdOf(row('x', { tags: ['sweep:sw-1'] }))).toBeNull();
    const { rows, sweepLines } = expandedLines();
    expect(lineKeys(rows, sweepLines)).toEqual([
      'a',
      `sweep:${GRID}`,
      'g3',
      'g2',
      'g1',
      'b'
    ]);
    expect(sweepOfKey(`sweep:${GRID}`)).toBe(GRID);
    expect(sweepOfKey('g3')).toBeNull();
  });
});

describe('applyLineChanges on the whole list', () => {
  const open = new Set([GRID]);
  const closed = new Set<string>();

  it('changes no line for a run of a collapsed sweep that comes after its line', () => {
    const out = applyLineChanges(
      collapsed(),
      { ...none, runs: [member('g1', GRID, 20, { status: 'failed' })] },
      null,
      closed
    );
    expect(out).toEqual({ kind: 'same' });
  });

  it('moves a collapsed sweep to the run of it that now comes first', () => {
    const out = applyLineChanges(
      collapsed(),
      { ...none, runs: [member('g4', GRID, 60, { status: 'running' })] },
      null,
      closed
    );
    expect(out.kind).toBe('apply');
    if (out.kind === 'apply') {
      expect(show(out.rows, out.sweepLines)).toEqual(['[grid:g4]', 'a', 'b']);
      expect(out.total).toBe(3);
      expect(out.removed).toEqual([]);
    }
  });

  it('asks for the list when the run a collapsed sweep stands on moves later or goes', () => {
    const later = applyLineChanges(
      collapsed(),
      { ...none, runs: [member('g3', GRID, 5)] },
      null,
      closed
    );
    expect(later).toEqual({ kind: 'refetch', reason: 'sweep' });
    const gone = applyLineChanges(
      collapsed(),
      { ...none, deleted: ['g3'] },
      null,
      closed
    );
    expect(gone).toEqual({ kind: 'refetch', reason: 'sweep' });
    // A run no line shows may go without a request.
    expect(
      applyLineChanges(collapsed(), { ...none, deleted: ['g1'] }, null, closed)
    ).toEqual({
      kind: 'same'
    });
  });

  it('keeps an expanded sweep’s runs in order as they change, come and go', () => {
    const out = applyLineChanges(
      expandedLines(),
      {
        ...none,
        runs: [member('g1', GRID, 55), member('g5', GRID, 25)],
        unmatched: ['g3']
      },
      null,
      open
    );
    expect(out.kind).toBe('apply');
    if (out.kind === 'apply') {
      // g1 started last now: the sweep's line stands on it, and moves above a.
      expect(show(out.rows, out.sweepLines)).toEqual([
        '[grid:g1]',
        'g1',
        'g2',
        'g5',
        'a',
        'b'
      ]);
      expect(out.removed).toEqual(['g3']);
      expect(out.total).toBe(6);
      expect(out.statusChanged).toBe(true);
    }
    const emptied = applyLineChanges(
      expandedLines(),
      { ...none, deleted: ['g1', 'g2', 'g3'] },
      null,
      open
    );
    expect(
      emptied.kind === 'apply' && show(emptied.rows, emptied.sweepLines)
    ).toEqual(['a', 'b']);
  });

  it('gives a new sweep one line, on its first run, whatever order its runs come in', () => {
    const batch = [
      member('o1', OTHER, 15),
      member('o3', OTHER, 35),
      member('o2', OTHER, 25)
    ];
    const out = applyLineChanges(
      collapsed(),
      { ...none, runs: batch },
      null,
      closed
    );
    expect(out.kind === 'apply' && show(out.rows, out.sweepLines)).toEqual([
      'a',
      '[grid:g3]',
      '[other:o3]',
      'b'
    ]);
    const shown = applyLineChanges(
      collapsed(),
      { ...none, runs: batch },
      null,
      new Set([OTHER])
    );
    expect(
      shown.kind === 'apply' && show(shown.rows, shown.sweepLines)
    ).toEqual(['a', '[grid:g3]', '[other:o3]', 'o3', 'o2', 'o1', 'b']);
  });

  it('places a new run on its own line, and sorts lines by the sort chosen', () => {
    const byLoss = { key: 'metrics.loss', desc: false };
    const loss = (v: number) => ({
      metrics: { loss: { last: v, min: v, max: v } }
    });
    const held: IHeldLines = {
      rows: [member('g3', GRID, 40, loss(0.1)), alone('a', 50, loss(0.5))],
      sweepLines: new Set([0]),
      offset: 0,
      total: 2
    };
    const out = applyLineChanges(
      held,
      {
        ...none,
        runs: [alone('c', 60, loss(0.3)), member('g2', GRID, 30, loss(0.7))]
      },
      byLoss,
      closed
    );
    expect(out.kind === 'apply' && show(out.rows, out.sweepLines)).toEqual([
      '[grid:g3]',
      'c',
      'a'
    ]);
  });
});

describe('applyLineChanges on a window', () => {
  // Lines 100..103 of 500: b2, grid's line (on g3) with its runs g3 and g2 (g1 follows).
  const held: IHeldLines = {
    rows: [
      alone('b2', 45),
      member('g3', GRID, 40),
      member('g3', GRID, 40),
      member('g2', GRID, 30)
    ],
    sweepLines: new Set([1]),
    offset: 100,
    total: 500
  };
  const open = new Set([GRID]);

  it('updates rows held in place while the order holds', () => {
    const out = applyLineChanges(
      held,
      { ...none, runs: [member('g2', GRID, 30, { status: 'failed' })] },
      null,
      open
    );
    expect(out.kind).toBe('apply');
    if (out.kind === 'apply') {
      expect(out.rows[3].status).toBe('failed');
      expect(out.sweepLines).toEqual(new Set([1]));
      expect(out.total).toBe(500);
      expect(out.statusChanged).toBe(true);
    }
  });

  it('asks for the window again when a line may have moved or come', () => {
    const refetch = { kind: 'refetch', reason: 'window' };
    const moved = member('g2', GRID, 41); // now before g3: the sweep's line moves
    expect(
      applyLineChanges(held, { ...none, runs: [moved] }, null, open)
    ).toEqual(refetch);
    expect(
      applyLineChanges(held, { ...none, runs: [alone('new', 99)] }, null, open)
    ).toEqual(refetch);
    expect(
      applyLineChanges(held, { ...none, deleted: ['elsewhere'] }, null, open)
    ).toEqual(refetch);
    // A run of the expanded sweep below the window: it may be new among its runs.
    expect(
      applyLineChanges(
        held,
        { ...none, runs: [member('g1', GRID, 20)] },
        null,
        open
      )
    ).toEqual(refetch);
  });

  it('changes nothing for a run of a collapsed sweep after its line', () => {
    const closedHeld: IHeldLines = {
      rows: [alone('b2', 45), member('g3', GRID, 40), alone('b3', 35)],
      sweepLines: new Set([1]),
      offset: 100,
      total: 500
    };
    expect(
      applyLineChanges(
        closedHeld,
        { ...none, runs: [member('g1', GRID, 20)] },
        null,
        new Set()
      )
    ).toEqual({ kind: 'same' });
  });
});

describe('treeKey', () => {
  const keys = ['a', `sweep:${GRID}`, 'g3', 'g2', 'b'];
  const sweepOf = (i: number): string | null =>
    i >= 2 && i <= 3 ? GRID : null;

  it('opens a collapsed sweep with Right, then moves into its runs', () => {
    expect(
      treeKey('ArrowRight', { keys, at: 1, expanded: new Set(), sweepOf })
    ).toEqual({
      kind: 'toggle',
      sweepId: GRID,
      open: true
    });
    expect(
      treeKey('ArrowRight', { keys, at: 1, expanded: new Set([GRID]), sweepOf })
    ).toEqual({
      kind: 'move',
      index: 2
    });
  });

  it('closes an open sweep with Left, and goes up to it from one of its runs', () => {
    const open = new Set([GRID]);
    expect(
      treeKey('ArrowLeft', { keys, at: 1, expanded: open, sweepOf })
    ).toEqual({
      kind: 'toggle',
      sweepId: GRID,
      open: false
    });
    expect(
      treeKey('ArrowLeft', { keys, at: 3, expanded: open, sweepOf })
    ).toEqual({
      kind: 'move',
      index: 1
    });
    expect(
      treeKey('ArrowLeft', { keys, at: 0, expanded: open, sweepOf })
    ).toBeNull();
    expect(
      treeKey('ArrowDown', { keys, at: 1, expanded: open, sweepOf })
    ).toBeNull();
  });
});
