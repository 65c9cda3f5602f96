// The change feed applied to the rows the panel holds: what changes locally, what needs a refetch.
import { IChanges, IRunRow } from '../api';
import { ISort, sortRows } from './order';

/** The rows the panel holds: `rows` are positions `offset`.. of the `total` matching runs. */
export interface IHeldRows {
  rows: readonly IRunRow[];
  offset: number;
  total: number;
}

/** What to do with one answer of `GET changes`. */
export type FeedOutcome =
  /** Nothing the panel holds changed. */
  | { kind: 'same' }
  /** The new rows, in order, and the new total: no request needed. */
  | {
      kind: 'apply';
      rows: IRunRow[];
      total: number;
      /** Ids that left the list (deleted, or no longer matching the filter). */
      removed: string[];
      /** Whether a run appeared, went, or changed status (the status counts are stale). */
      statusChanged: boolean;
    }
  /** The rows held cannot be brought up to date from this answer: fetch them again. */
  | { kind: 'refetch'; reason: 'reset' | 'window' };

/**
 * How the answer `changes` of the change feed (for the filter the rows answer) changes
 * `held`, sorted by `sort` (null: the server's default order).
 *
 * When the panel holds the whole list (offset 0, every matching run), changed rows replace
 * theirs, new ones are added, deleted and unmatched ones dropped, and the result is sorted
 * again, so a row whose value changed moves to its place. When it holds a window of a
 * longer list, only rows already in the window can be updated in place: a new, deleted or
 * unmatched run, or a changed run outside the window, may shift the window's positions, so
 * the window is fetched again. `reset` (the server cannot tell what changed) always refetches.
 */
export function applyChanges(
  held: IHeldRows,
  changes: Pick<IChanges, 'reset' | 'runs' | 'deleted'> & {
    unmatched?: readonly string[];
  },
  sort: ISort | null
): FeedOutcome {
  if (changes.reset) {
    return { kind: 'refetch', reason: 'reset' };
  }
  const gone = new Set([...changes.deleted, ...(changes.unmatched ?? [])]);
  const fresh = new Map(changes.runs.map(row => [row.run_id, row]));
  const whole = held.offset === 0 && held.rows.length >= held.total;
  const removed: string[] = [];
  let statusChanged = false;
  const next: IRunRow[] = [];
  for (const row of held.rows) {
    if (gone.has(row.run_id)) {
      removed.push(row.run_id);
      statusChanged = true;
      continue;
    }
    const update = fresh.get(row.run_id);
    fresh.delete(row.run_id);
    if (update) {
      statusChanged ||= update.status !== row.status;
      next.push(update);
    } else {
      next.push(row);
    }
  }
  const added = [...fresh.values()].filter(row => !gone.has(row.run_id));
  if (!whole) {
    // Outside the window: a deletion or an arrival anywhere may shift its positions.
    if (added.length || changes.deleted.length || changes.unmatched?.length) {
      return { kind: 'refetch', reason: 'window' };
    }
  } else {
    next.push(...added);
    statusChanged ||= added.length > 0;
  }
  if (!removed.length && !added.length && !changes.runs.length) {
    return { kind: 'same' };
  }
  const rows = sortRows(next, sort);
  if (!whole) {
    // Updated in place: if a new value moved a row out of the window's order, the rows on
    // either side of the window may now belong in it.
    const order = (a: readonly IRunRow[]) => a.map(r => r.run_id).join('\n');
    if (order(rows) !== order(next)) {
      return { kind: 'refetch', reason: 'window' };
    }
  }
  return {
    kind: 'apply',
    rows,
    total: whole ? rows.length : held.total,
    removed,
    statusChanged
  };
}

/** The window of rows to fetch to show positions `first`..`last` with `margin` rows around. */
export function windowAround(
  first: number,
  last: number,
  margin: number
): { offset: number; limit: number } {
  const offset = Math.max(0, first - margin);
  return { offset, limit: Math.max(0, last - offset) + margin };
}

/** Whether `held` covers positions `first`..`last` (clipped to the list's length). */
export function covers(held: IHeldRows, first: number, last: number): boolean {
  const end = Math.min(last, held.total);
  return (
    first >= held.offset &&
    (end <= held.offset + held.rows.length || end <= first)
  );
}
