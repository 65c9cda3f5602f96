// Runs that differ only in their seed, grouped, and each group's curves as a mean with a
// band (standard deviation, or 95 % confidence interval of the mean), per metric and step.
import { ITable } from '../api';
import { ICurvePoint } from './curves';

/** The band around a group's mean: one standard deviation, or the 95 % CI of the mean. */
export type SeedBand = 'sd' | 'ci';

/** Columns of a params table that are not params. */
const IDENTITY = new Set(['run_id', 'name', 'status']);
const SEED = 'seed';

/** Student's t quantile (0.975) by degrees of freedom 1-30; larger use the normal 1.96. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
  2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074,
  2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042
];

/** The 0.975 quantile of Student's t with `df` degrees of freedom (df >= 1). */
export function t975(df: number): number {
  return df >= 1 && df <= T975.length ? T975[df - 1] : 1.96;
}

/**
 * Group runs that have the same params except `seed` (a `params_all` table of compare, one
 * row per run). Returns each run id's group label, or null when there are no seeds to
 * average: no `seed` param, or no two runs differing only in it. A label names the params
 * its group differs in from the others (`lr=0.1`), or `all runs`, and its number of seeds.
 */
export function seedGroups(table: ITable): Map<string, string> | null {
  const column = (name: string): number => table.columns.indexOf(name);
  const idAt = column('run_id');
  const seedAt = Math.max(column(SEED), column(`params.${SEED}`));
  if (idAt < 0 || seedAt < 0) {
    return null;
  }
  const params = table.columns
    .map((name, index) => ({ name: name.replace(/^params\./, ''), index }))
    .filter(p => !IDENTITY.has(p.name) && p.index !== seedAt);
  const byKey = new Map<string, string[]>();
  const valuesOf = new Map<string, unknown[]>();
  for (const row of table.rows) {
    const values = params.map(p => row[p.index] ?? null);
    const key = JSON.stringify(values);
    byKey.set(key, [...(byKey.get(key) ?? []), String(row[idAt])]);
    valuesOf.set(key, values);
  }
  if (![...byKey.values()].some(ids => ids.length >= 2)) {
    return null;
  }
  // The params that tell groups apart name them.
  const keys = [...byKey.keys()];
  const differing = params.filter((_, i) => {
    const seen = new Set(keys.map(k => JSON.stringify(valuesOf.get(k)![i])));
    return seen.size > 1;
  });
  const groups = new Map<string, string>();
  for (const [key, ids] of byKey) {
    const values = valuesOf.get(key)!;
    const name = differing.length
      ? differing
          .map(p => `${p.name}=${show(values[params.indexOf(p)])}`)
          .join(', ')
      : 'all runs';
    const label = `${name} (${ids.length} ${ids.length === 1 ? 'seed' : 'seeds'})`;
    for (const id of ids) {
      groups.set(id, label);
    }
  }
  return groups;
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** One group's metric at one step: the mean of its runs' values, and the band. */
export interface ISeedRow {
  group: string;
  key: string;
  step: number;
  mean: number;
  lo: number;
  hi: number;
  /** Runs with a value at this step. */
  n: number;
}

/**
 * Mean and band per group, metric and step over the runs of `groups` (run id: label);
 * runs not in `groups` are left out. The sample standard deviation (n - 1) is 0 for one
 * run; the CI is mean ± t(0.975, n - 1)·sd/√n. Rows are in group, key and step order.
 */
export function seedRows(
  points: readonly ICurvePoint[],
  groups: ReadonlyMap<string, string>,
  band: SeedBand
): ISeedRow[] {
  const cells = new Map<
    string,
    { group: string; key: string; step: number; values: number[] }
  >();
  for (const p of points) {
    const group = groups.get(p.run_id);
    if (group === undefined || !Number.isFinite(p.value)) {
      continue;
    }
    const id = `${group}\u0000${p.key}\u0000${p.step}`;
    const cell = cells.get(id) ?? {
      group,
      key: p.key,
      step: p.step,
      values: []
    };
    cell.values.push(p.value);
    cells.set(id, cell);
  }
  const rows: ISeedRow[] = [];
  for (const { group, key, step, values } of cells.values()) {
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const sd =
      n > 1
        ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1))
        : 0;
    const half =
      band === 'sd' ? sd : n > 1 ? (t975(n - 1) * sd) / Math.sqrt(n) : 0;
    rows.push({ group, key, step, mean, lo: mean - half, hi: mean + half, n });
  }
  const order = (r: ISeedRow): string => `${r.group}\u0000${r.key}`;
  return rows.sort((a, b) =>
    order(a) === order(b) ? a.step - b.step : order(a) < order(b) ? -1 : 1
  );
}
