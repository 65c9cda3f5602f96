// Grouping runs for the full-width table: by sweep, by tags, or by the value of a param.
import { IRunRow } from '../api';

/** What the table groups by: nothing, the sweep, the tags, or `params.KEY`. */
export type GroupBy = '' | 'sweep' | 'tags' | string;

/** One group: its label and its runs, in the order they came. */
export interface IRowGroup {
  label: string;
  rows: IRunRow[];
}

const SWEEP = 'sweep:';
/** The label of runs that have no value for the grouping. */
export const NO_GROUP = '(none)';

/** The group key of `row` for `by` (NO_GROUP when it has none). */
export function groupKey(row: IRunRow, by: GroupBy): string {
  if (by === 'sweep') {
    const sweeps = row.tags.filter(t => t.startsWith(SWEEP));
    return sweeps.length
      ? sweeps
          .map(t => t.slice(SWEEP.length))
          .sort()
          .join(' · ')
      : NO_GROUP;
  }
  if (by === 'tags') {
    const tags = row.tags.filter(t => !t.startsWith(SWEEP));
    return tags.length ? [...tags].sort().join(', ') : NO_GROUP;
  }
  if (by.startsWith('params.')) {
    const key = by.slice(7);
    if (!(key in row.params)) {
      return NO_GROUP;
    }
    const value = row.params[key];
    return typeof value === 'string' ? value : JSON.stringify(value);
  }
  return '';
}

/**
 * `rows` in groups by `by`, each group keeping the rows' order; groups in the order of their
 * first row, the runs without a value last. One group of all rows when `by` is ''.
 */
export function groupRows(rows: readonly IRunRow[], by: GroupBy): IRowGroup[] {
  if (!by) {
    return [{ label: '', rows: [...rows] }];
  }
  const groups = new Map<string, IRunRow[]>();
  for (const row of rows) {
    const key = groupKey(row, by);
    const group = groups.get(key);
    if (group) {
      group.push(row);
    } else {
      groups.set(key, [row]);
    }
  }
  const out = [...groups.entries()].map(([label, members]) => ({
    label,
    rows: members
  }));
  const none = out.findIndex(g => g.label === NO_GROUP);
  if (none >= 0) {
    out.push(...out.splice(none, 1));
  }
  return out;
}
