// The runs list with each sweep's runs as one line (GET runs?group_sweeps): which line is which, and the change feed applied to those lines.
import { IChanges, IRunRow } from '../api';
import { ISort, sortRows } from './order';

/** The tag every run of a sweep carries: `sweep:<sweep id>`. */
const SWEEP_ID_TAG = /^sweep:(sw-\d{8}-\d{6}-[0-9a-f]{6})$/;
/** The prefix of a sweep line's key (a run's line is keyed by its run id). */
export const SWEEP_KEY = 'sweep:';

/** The sweep `row` belongs to (from its `sweep:<id>` tag), or null. */
export function sweepIdOf(row: IRunRow): string | null {
  for (const tag of row.tags) {
    const match = SWEEP_ID_TAG.exec(tag);
    if (match) {
      return match[1];
    }
  }
  return null;
}

/** The sweep's readable name from a run's `sweep:<name>` tag (its id when there is none). */
export function sweepNameOf(row: IRunRow, sweepId: string): string {
  const tag = row.tags.find(
    t => t.startsWith(SWEEP_KEY) && t !== SWEEP_KEY + sweepId
  );
  return tag ? tag.slice(SWEEP_KEY.length) : sweepId;
}

/** The key of a sweep's line (selection and keyboard cursor): `sweep:<id>`. */
export function sweepKey(sweepId: string): string {
  return SWEEP_KEY + sweepId;
}

/** The sweep id of a sweep line's key, or null for a run's key. */
export function sweepOfKey(key: string | null): string | null {
  return key !== null && key.startsWith(SWEEP_KEY)
    ? key.slice(SWEEP_KEY.length)
    : null;
}

/** The keys of lines `rows` (the line at index i in `sweepLines` stands for its sweep). */
export function lineKeys(
  rows: readonly IRunRow[],
  sweepLines: ReadonlySet<number>
): string[] {
  return rows.map((row, i) =>
    sweepLines.has(i) ? sweepKey(sweepIdOf(row) ?? row.run_id) : row.run_id
  );
}

/** The lines held: `rows` are lines `offset`.. of `total`; `sweepLines` index sweep lines. */
export interface IHeldLines {
  rows: readonly IRunRow[];
  sweepLines: ReadonlySet<number>;
  offset: number;
  total: number;
}

/** What to do with one answer of the change feed, for lines. */
export type LinesOutcome =
  | { kind: 'same' }
  | {
      kind: 'apply';
      rows: IRunRow[];
      sweepLines: Set<number>;
      total: number;
      /** Runs that left the list (deleted, or no longer matching the filter). */
      removed: string[];
      /** A run appeared, went or changed status: the status counts are stale. */
      statusChanged: boolean;
    }
  | { kind: 'refetch'; reason: 'reset' | 'window' | 'sweep' };

/** One run's line, or a sweep's line with the runs shown under it. */
type Block =
  | { kind: 'run'; row: IRunRow }
  | {
      kind: 'sweep';
      id: string;
      /** The row the sweep's line stands on (its first run); null when a window starts
       * among its runs. */
      head: IRunRow | null;
      /** Its runs shown under its line (the sweep is expanded), in order. */
      children: IRunRow[];
    };

/** `held` as blocks, in order. */
function blocksOf(held: IHeldLines): Block[] {
  const blocks: Block[] = [];
  held.rows.forEach((row, i) => {
    const sweep = sweepIdOf(row);
    const last = blocks[blocks.length - 1];
    if (held.sweepLines.has(i) && sweep) {
      blocks.push({ kind: 'sweep', id: sweep, head: row, children: [] });
    } else if (sweep && last?.kind === 'sweep' && last.id === sweep) {
      last.children.push(row);
    } else if (sweep && i === 0 && held.offset > 0) {
      blocks.push({ kind: 'sweep', id: sweep, head: null, children: [row] });
    } else {
      blocks.push({ kind: 'run', row });
    }
  });
  return blocks;
}

/** Whether `a` comes before `b` in the order `sort` (ties keep `b` first). */
function before(a: IRunRow, b: IRunRow, sort: ISort | null): boolean {
  return sortRows([b, a], sort)[0] === a;
}

/**
 * How one answer of the change feed (for the filter the lines answer) changes the lines
 * held, sorted by `sort`, with the sweeps in `expanded` showing their runs.
 *
 * A sweep's line stands on its first run in this order. When the whole list is held, every
 * change that can be worked out here is applied: a run of a collapsed sweep that now comes
 * first becomes its line's run, others of it change no line; a run of an expanded sweep
 * joins or leaves its runs; a new sweep gets its line. Only when the run a collapsed
 * sweep's line stands on moves later or goes (another of its runs, not held, may now come
 * first) is the list fetched again. In a window of a longer list, rows held are updated
 * in place while the order holds; anything else needs the window again.
 */
export function applyLineChanges(
  held: IHeldLines,
  changes: Pick<IChanges, 'reset' | 'runs' | 'deleted'> & {
    unmatched?: readonly string[];
  },
  sort: ISort | null,
  expanded: ReadonlySet<string>
): LinesOutcome {
  if (changes.reset) {
    return { kind: 'refetch', reason: 'reset' };
  }
  const whole = held.offset === 0 && held.rows.length >= held.total;
  const window = { kind: 'refetch', reason: 'window' } as const;
  const sweepMoved = { kind: 'refetch', reason: 'sweep' } as const;
  let blocks = blocksOf(held);
  const sweeps = new Map<string, Block & { kind: 'sweep' }>();
  const runs = new Map<string, Block & { kind: 'run' }>();
  for (const block of blocks) {
    if (block.kind === 'sweep') {
      sweeps.set(block.id, block);
    } else {
      runs.set(block.row.run_id, block);
    }
  }
  const gone = new Set([...changes.deleted, ...(changes.unmatched ?? [])]);
  const removed: string[] = [];
  let statusChanged = false;
  let touched = false;

  // Runs that left the list.
  for (const id of gone) {
    const alone = runs.get(id);
    const sweep = [...sweeps.values()].find(
      b => b.head?.run_id === id || b.children.some(r => r.run_id === id)
    );
    if (!alone && !sweep) {
      if (!whole) {
        return window; // it may have been outside the window: positions may shift
      }
      continue; // a run no line shows (of a collapsed sweep, or never listed)
    }
    if (!whole) {
      return window;
    }
    touched = true;
    statusChanged = true;
    removed.push(id);
    if (alone) {
      blocks = blocks.filter(b => b !== alone);
      runs.delete(id);
    } else if (sweep) {
      if (!expanded.has(sweep.id)) {
        return sweepMoved; // the line's own run went: which run stands for it now?
      }
      sweep.children = sweep.children.filter(r => r.run_id !== id);
      sweep.head = sweep.children[0] ?? null;
      if (!sweep.head) {
        blocks = blocks.filter(b => b !== sweep);
        sweeps.delete(sweep.id);
      }
    }
  }

  // Runs that changed or appeared (and match the filter).
  for (const row of changes.runs) {
    if (gone.has(row.run_id)) {
      continue;
    }
    const id = sweepIdOf(row);
    const alone = runs.get(row.run_id);
    if (alone) {
      if (id) {
        return sweepMoved; // a run that joined a sweep (tagged): regroup
      }
      statusChanged ||= alone.row.status !== row.status;
      alone.row = row;
      touched = true;
      continue;
    }
    const sweep = id ? sweeps.get(id) : undefined;
    if (!sweep) {
      if (!whole) {
        return window; // a new line, or one outside the window
      }
      touched = true;
      statusChanged = true;
      if (id) {
        const block = {
          kind: 'sweep' as const,
          id,
          head: row,
          children: expanded.has(id) ? [row] : []
        };
        blocks.push(block);
        sweeps.set(id, block);
      } else {
        const block = { kind: 'run' as const, row };
        blocks.push(block);
        runs.set(row.run_id, block);
      }
      continue;
    }
    const at = sweep.children.findIndex(r => r.run_id === row.run_id);
    const isHead = sweep.head?.run_id === row.run_id;
    if (at >= 0 || isHead) {
      const old = at >= 0 ? sweep.children[at] : (sweep.head as IRunRow);
      statusChanged ||= old.status !== row.status;
      if (at >= 0) {
        sweep.children[at] = row;
      }
      if (isHead) {
        if (!expanded.has(sweep.id) && before(old, row, sort)) {
          return sweepMoved; // its line's run moved later: another may come first now
        }
        sweep.head = row;
      }
      touched = true;
      continue;
    }
    if (expanded.has(sweep.id)) {
      if (!whole) {
        return window; // one of its runs outside the window, or a new one
      }
      sweep.children.push(row);
      statusChanged = true;
      touched = true;
    } else if (sweep.head && before(row, sweep.head, sort)) {
      sweep.head = row; // it comes first now: the sweep's line stands on it
      touched = true;
    }
    // Else: a run of a collapsed sweep that comes after its line's run changes no line.
  }
  if (!touched) {
    return { kind: 'same' };
  }

  // Lines in order again: each expanded sweep's runs, then the blocks by their first run.
  for (const block of blocks) {
    if (block.kind === 'sweep' && expanded.has(block.id)) {
      const ordered = sortRows(block.children, sort);
      if (!whole && ids(ordered) !== ids(block.children)) {
        return window;
      }
      block.children = ordered;
      if (block.head && ordered.length) {
        if (!whole && ordered[0].run_id !== block.head.run_id) {
          return window;
        }
        block.head = ordered[0];
      }
    }
  }
  const heads = blocks.map(headOf);
  const byHead = new Map(blocks.map((b, i) => [heads[i], b]));
  const sortedHeads = sortRows(
    heads.filter((h): h is IRunRow => h !== null),
    sort
  );
  if (!whole) {
    const kept = heads.filter((h): h is IRunRow => h !== null);
    if (ids(sortedHeads) !== ids(kept)) {
      return window; // a line moved: the lines around the window may belong in it
    }
  } else {
    blocks = sortedHeads.map(h => byHead.get(h) as Block);
  }
  const rows: IRunRow[] = [];
  const sweepLines = new Set<number>();
  for (const block of blocks) {
    if (block.kind === 'run') {
      rows.push(block.row);
      continue;
    }
    if (block.head) {
      sweepLines.add(rows.length);
      rows.push(block.head);
    }
    if (expanded.has(block.id)) {
      rows.push(...block.children);
    }
  }
  return {
    kind: 'apply',
    rows,
    sweepLines,
    total: whole ? rows.length : held.total,
    removed,
    statusChanged
  };
}

/** The row a block is ordered by: a run's row, or the run its sweep's line stands on. */
function headOf(block: Block): IRunRow | null {
  return block.kind === 'run' ? block.row : block.head;
}

function ids(rows: readonly IRunRow[]): string {
  return rows.map(r => r.run_id).join('\n');
}
