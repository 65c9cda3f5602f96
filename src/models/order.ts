// The order of runs: sort fields in the filter language, and the same order applied locally.
import { IRunRow } from '../api';

/** A column of the runs table: a built-in one, `params.KEY` or `metrics.KEY`. */
type ColumnKey = string;

/** The order the user chose: a column and a direction. */
export interface ISort {
  key: ColumnKey;
  desc: boolean;
}

/**
 * `rows` in the order of `sort` (missing values last), as the server would order them; with
 * no sort, the server's default: newest start first, never-started runs last, then by id.
 */
export function sortRows(
  rows: readonly IRunRow[],
  sort: ISort | null
): IRunRow[] {
  if (!sort) {
    return [...rows].sort(
      (a, b) =>
        compareValues(a.started_at, b.started_at, -1) ||
        (a.run_id < b.run_id ? 1 : a.run_id > b.run_id ? -1 : 0)
    );
  }
  const value = sortValue(sort.key);
  const sign = sort.desc ? -1 : 1;
  const keyed = rows.map((row, index) => ({ row, index, v: value(row) }));
  // Ties keep the order they had (Array.sort is stable, the key is computed once per row).
  keyed.sort((a, b) => compareValues(a.v, b.v, sign) || a.index - b.index);
  return keyed.map(k => k.row);
}

/** Whether the server can sort by `column` (a run has many tags: no order by them). */
export function isSortable(column: ColumnKey): boolean {
  return column !== 'tags';
}

/** The filter-language field that sorts by `column`. */
export function sortField(column: ColumnKey): string {
  const dot = column.indexOf('.');
  if (
    dot > 0 &&
    (column.startsWith('params.') || column.startsWith('metrics.'))
  ) {
    return column.slice(0, dot + 1) + quoteKey(column.slice(dot + 1));
  }
  return column;
}

/** A params/metrics key as the filter language reads it: bare when simple, else quoted. */
export function quoteKey(key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    return key;
  }
  return '"' + key.replace(/[\\"]/g, c => '\\' + c) + '"';
}

/** The value a row is sorted by for `column` (as the server's ORDER BY reads it). */
export function sortValue(column: ColumnKey): (row: IRunRow) => unknown {
  switch (column) {
    case 'started':
      return row => row.started_at;
    case 'duration':
      return row =>
        row.status === 'running' && row.started_at
          ? Date.now() / 1000 - row.started_at
          : row.duration;
    case 'name':
    case 'status':
    case 'notebook':
    case 'note':
      return row => row[column];
    default:
      if (column.startsWith('params.')) {
        const key = column.slice(7);
        return row => row.params[key];
      }
      if (column.startsWith('metrics.')) {
        const key = column.slice(8);
        return row => row.metrics[key]?.last;
      }
      return () => null;
  }
}

/** Missing values last whatever the direction; numbers before text; text by locale. */
export function compareValues(a: unknown, b: unknown, sign: number): number {
  const missingA = a === null || a === undefined;
  const missingB = b === null || b === undefined;
  if (missingA || missingB) {
    return missingA === missingB ? 0 : missingA ? 1 : -1;
  }
  if (typeof a === 'number' && typeof b === 'number') {
    return sign * (a - b);
  }
  if (typeof a === 'number') {
    return -1;
  }
  if (typeof b === 'number') {
    return 1;
  }
  return sign * String(a).localeCompare(String(b));
}
