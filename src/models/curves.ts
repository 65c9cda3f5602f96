// The metric points in a chart spec from the server, and whether they are as new as the run.
import { IMetricSummary, VegaLiteSpec } from '../api';

/** One point of a metric curve, as the server's chart data holds it. */
export interface ICurvePoint {
  run: string;
  run_id: string;
  key: string;
  step: number;
  value: number;
  /** Seconds since the epoch when the value was logged (when the server sends it). */
  wall_time?: number;
}

/**
 * The points of a server chart spec (Altair's: `data.values`, or `datasets` named by
 * `data.name`), or null when it holds no metric curves (e.g. the "no metrics" message).
 */
export function readPoints(spec: VegaLiteSpec): ICurvePoint[] | null {
  const data = spec.data as { values?: unknown; name?: unknown } | undefined;
  const datasets = spec.datasets as Record<string, unknown> | undefined;
  let values: unknown = data?.values;
  if (values === undefined && datasets) {
    values =
      typeof data?.name === 'string'
        ? datasets[data.name]
        : Object.values(datasets)[0];
  }
  if (!Array.isArray(values) || values.length === 0) {
    return null;
  }
  const points: ICurvePoint[] = [];
  for (const v of values) {
    const p = v as Record<string, unknown>;
    if (
      typeof p.run !== 'string' ||
      typeof p.key !== 'string' ||
      typeof p.step !== 'number' ||
      typeof p.value !== 'number'
    ) {
      return null;
    }
    points.push({
      run: p.run,
      run_id: typeof p.run_id === 'string' ? p.run_id : p.run,
      key: p.key,
      step: p.step,
      value: p.value,
      wall_time: typeof p.wall_time === 'number' ? p.wall_time : undefined
    });
  }
  return points;
}

/**
 * Whether the chart's points reach each metric's last step in `metrics` (the run's
 * detail): a chart answered from an older state, or cached, is behind and is asked again.
 */
export function chartIsCurrent(
  spec: VegaLiteSpec,
  metrics: Record<string, IMetricSummary>
): boolean {
  const points = readPoints(spec);
  if (!points) {
    return true; // a message ("no metrics recorded"), nothing to compare
  }
  const last = new Map<string, number>();
  for (const p of points) {
    last.set(p.key, Math.max(last.get(p.key) ?? -Infinity, p.step));
  }
  return Object.entries(metrics).every(([key, m]) => {
    const step = m.last_step;
    if (step === null || step === undefined || !last.has(key)) {
      return true; // no step known, or a key the chart leaves out
    }
    return (last.get(key) as number) >= step;
  });
}
