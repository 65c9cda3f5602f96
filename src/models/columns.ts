// The runs table's columns: the built-in ones, and which params and metrics show by default.
import { IRunRow } from '../api';

/** A column of the runs table: a built-in one, `params.KEY` or `metrics.KEY`. */
export type ColumnKey = string;

/** The built-in columns, in display order. */
export const BASE_COLUMNS: readonly ColumnKey[] = [
  'status',
  'name',
  'notebook',
  'started',
  'duration'
];
/** Columns always shown first, in this order (they say which run a row is). */
export const PINNED_COLUMNS: readonly ColumnKey[] = ['status', 'name'];
/** Built-in columns that can be hidden and moved. */
export const MOVABLE_BASE: readonly ColumnKey[] = [
  'notebook',
  'started',
  'duration'
];
/** Narrowest a column can be dragged (px). */
export const MIN_COLUMN_WIDTH = 24;

/** The columns of what some run of `rows` has: `tags`, `note` (for neither has every run one). */
function sometimes(rows: readonly IRunRow[]): ColumnKey[] {
  return [
    ...(rows.some(r => r.tags.length > 0) ? ['tags'] : []),
    ...(rows.some(r => r.note) ? ['note'] : [])
  ];
}

/**
 * `tags` and `note` (when any run has one), then every `params.KEY` and `metrics.KEY` of
 * `rows`, sorted.
 */
export function columnsOf(rows: readonly IRunRow[]): ColumnKey[] {
  const keys = new Set<string>();
  for (const row of rows) {
    for (const k of Object.keys(row.params)) {
      keys.add(`params.${k}`);
    }
    for (const k of Object.keys(row.metrics)) {
      keys.add(`metrics.${k}`);
    }
  }
  return [...sometimes(rows), ...[...keys].sort()];
}

/**
 * The columns shown until the user picks some: tags and notes when any run has one, the params the
 * runs differ in (a param
 * every run has with one value tells nothing), then the metric keys at least half the runs
 * logged, most common first (not every key ever logged), at most `max` of each.
 */
export function defaultColumns(rows: readonly IRunRow[], max = 6): ColumnKey[] {
  const params = new Map<string, Set<string>>();
  const counts = new Map<string, number>();
  const paramRuns = new Map<string, number>();
  for (const row of rows) {
    for (const [k, v] of Object.entries(row.params)) {
      const seen = params.get(k) ?? new Set<string>();
      seen.add(JSON.stringify(v));
      params.set(k, seen);
      paramRuns.set(k, (paramRuns.get(k) ?? 0) + 1);
    }
    for (const [k, m] of Object.entries(row.metrics)) {
      // Rows list every key of the page, null for runs that never logged it.
      if (m && (m.count !== undefined ? m.count > 0 : m.last !== null)) {
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
  }
  const differing = [...params.entries()]
    .filter(
      ([k, values]) => values.size > 1 || paramRuns.get(k) !== rows.length
    )
    .map(([k]) => k)
    .sort()
    .slice(0, max)
    .map(k => `params.${k}`);
  const common = [...counts.entries()]
    .filter(([, n]) => n * 2 >= rows.length)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([k]) => `metrics.${k}`);
  return [...sometimes(rows), ...differing, ...common];
}
