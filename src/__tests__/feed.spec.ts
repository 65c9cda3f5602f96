// Tests of applying the change feed to the rows the panel holds (models/feed.ts).
import { IRunRow } from '../api';
import { row } from './rows';
import { applyChanges, covers, windowAround } from '../models/feed';

const metric = (last: number) => ({ last, min: last, max: last });
const ids = (rows: readonly IRunRow[]) => rows.map(r => r.run_id);
const none = { reset: false, runs: [], deleted: [], unmatched: [] };

describe('applyChanges on the whole list', () => {
  const byLoss = { key: 'metrics.loss', desc: false };
  const rows = [
    row('a', { metrics: { loss: metric(0.1) } }),
    row('b', { metrics: { loss: metric(0.5) } }),
    row('c', { metrics: { loss: metric(0.9) } })
  ];
  const held = { rows, offset: 0, total: 3 };

  it('moves a changed row to its new place in the sort order', () => {
    const out = applyChanges(
      held,
      { ...none, runs: [row('c', { metrics: { loss: metric(0.05) } })] },
      byLoss
    );
    expect(out.kind).toBe('apply');
    if (out.kind === 'apply') {
      expect(ids(out.rows)).toEqual(['c', 'a', 'b']);
      expect(out.rows[0].metrics.loss.last).toBe(0.05);
      expect(out.total).toBe(3);
      expect(out.statusChanged).toBe(false);
    }
    expect(ids(rows)).toEqual(['a', 'b', 'c']); // the input is never changed
  });

  it('drops deleted and unmatched runs, adds new ones in order', () => {
    const out = applyChanges(
      held,
      {
        ...none,
        runs: [row('d', { metrics: { loss: metric(0.3) } })],
        deleted: ['a'],
        unmatched: ['c']
      },
      byLoss
    );
    expect(out.kind).toBe('apply');
    if (out.kind === 'apply') {
      expect(ids(out.rows)).toEqual(['d', 'b']);
      expect(out.total).toBe(2);
      expect(out.removed.sort()).toEqual(['a', 'c']);
      expect(out.statusChanged).toBe(true);
    }
  });

  it('ignores a deletion of a run it does not hold, and a new run that does not match', () => {
    expect(applyChanges(held, { ...none, deleted: ['zz'] }, byLoss)).toEqual({
      kind: 'same'
    });
    expect(applyChanges(held, { ...none, unmatched: ['new'] }, byLoss)).toEqual(
      { kind: 'same' }
    );
  });

  it('keeps the server default order (newest start first) with no sort', () => {
    const dated = [
      row('x', { started_at: 30 }),
      row('y', { started_at: 20 }),
      row('z', { started_at: null })
    ];
    const out = applyChanges(
      { rows: dated, offset: 0, total: 3 },
      { ...none, runs: [row('new', { started_at: 25, status: 'running' })] },
      null
    );
    expect(out.kind === 'apply' && ids(out.rows)).toEqual([
      'x',
      'new',
      'y',
      'z'
    ]);
    expect(out.kind === 'apply' && out.statusChanged).toBe(true);
  });

  it('says when a status changed (the running counts need a refresh)', () => {
    const out = applyChanges(
      held,
      {
        ...none,
        runs: [row('b', { status: 'failed', metrics: { loss: metric(0.5) } })]
      },
      byLoss
    );
    expect(out.kind === 'apply' && out.statusChanged).toBe(true);
  });

  it('asks for a refetch on reset, whatever else the answer holds', () => {
    expect(
      applyChanges(held, { ...none, reset: true, deleted: ['a'] }, byLoss)
    ).toEqual({ kind: 'refetch', reason: 'reset' });
  });
});

describe('applyChanges on a window of a longer list', () => {
  const byLoss = { key: 'metrics.loss', desc: false };
  const window = {
    rows: [
      row('p', { metrics: { loss: metric(0.2) } }),
      row('q', { metrics: { loss: metric(0.3) } }),
      row('r', { metrics: { loss: metric(0.4) } })
    ],
    offset: 100,
    total: 5000
  };

  it('updates rows in place when their order holds', () => {
    const out = applyChanges(
      window,
      {
        ...none,
        runs: [row('q', { metrics: { loss: metric(0.35) }, tags: ['t'] })]
      },
      byLoss
    );
    expect(out.kind).toBe('apply');
    if (out.kind === 'apply') {
      expect(ids(out.rows)).toEqual(['p', 'q', 'r']);
      expect(out.rows[1].tags).toEqual(['t']);
      expect(out.total).toBe(5000);
    }
  });

  it('refetches when a row moves, a run appears or outside rows change', () => {
    const moved = applyChanges(
      window,
      { ...none, runs: [row('p', { metrics: { loss: metric(0.9) } })] },
      byLoss
    );
    expect(moved).toEqual({ kind: 'refetch', reason: 'window' });
    const outside = applyChanges(
      window,
      { ...none, runs: [row('elsewhere')] },
      byLoss
    );
    expect(outside).toEqual({ kind: 'refetch', reason: 'window' });
    const deleted = applyChanges(
      window,
      { ...none, deleted: ['far-away'] },
      byLoss
    );
    expect(deleted).toEqual({ kind: 'refetch', reason: 'window' });
  });
});

describe('windows', () => {
  it('fetches the visible rows with a margin on both sides', () => {
    expect(windowAround(500, 540, 100)).toEqual({ offset: 400, limit: 240 });
    expect(windowAround(10, 40, 100)).toEqual({ offset: 0, limit: 140 });
  });

  it('knows whether the rows held cover the visible ones', () => {
    const held = {
      rows: new Array(200).fill(row('x')),
      offset: 400,
      total: 10000
    };
    expect(covers(held, 450, 500)).toBe(true);
    expect(covers(held, 350, 420)).toBe(false);
    expect(covers(held, 590, 620)).toBe(false);
    // Near the end of the list, positions past it need no rows.
    const tail = {
      rows: new Array(50).fill(row('x')),
      offset: 950,
      total: 1000
    };
    expect(covers(tail, 960, 1030)).toBe(true);
  });
});
