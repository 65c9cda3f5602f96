// Metric curves as a Vega-Lite spec built from the server's chart data, with the chart's options.
import { VegaLiteSpec } from '../../api';
import { ICurvePoint, readPoints } from '../../models/curves';

export type { ICurvePoint };
export { readPoints };

/** What the x axis shows. */
export type XAxis = 'step' | 'relative' | 'wall';

export interface IChartOptions {
  x: XAxis;
  /** TensorBoard's smoothing weight, 0 (none) to 0.99. */
  smoothing: number;
  logY: boolean;
  /** Size of one metric's panel (px) and how many panels go in a row. */
  width: number;
  height: number;
  columns: number;
  /** Run ids in the order their colours are given (the compare view's order). */
  runOrder?: readonly string[];
}

/** A field name as Vega reads it: dots and brackets in a run's name are not paths. */
function fieldName(name: string): string {
  return name.replace(/[.[\]\\]/g, c => '\\' + c);
}

/** Line colours of runs, in order (Vega's tableau10): the compare view's chips use them too. */
export const RUN_COLORS: readonly string[] = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac'
];

/** The colour of the `index`-th run of a chart. */
export function runColor(index: number): string {
  return RUN_COLORS[index % RUN_COLORS.length];
}

/**
 * The colour of each run (by legend label) in `points`: runs in `runOrder` (ids) first, in
 * that order, then the others as they appear. The compare view colours its chips with it.
 */
export function runColors(
  points: readonly ICurvePoint[],
  runOrder: readonly string[]
): Map<string, string> {
  const rank = (id: string): number => {
    const at = runOrder.indexOf(id);
    return at < 0 ? runOrder.length : at;
  };
  const idOf = new Map<string, string>();
  for (const p of points) {
    if (!idOf.has(p.run)) {
      idOf.set(p.run, p.run_id);
    }
  }
  const runs = [...idOf.keys()].sort(
    (a, b) => rank(idOf.get(a) as string) - rank(idOf.get(b) as string)
  );
  return new Map(runs.map((run, i) => [run, runColor(i)]));
}

/** The colour of each run id in a server chart spec (see runColors). */
export function colorsByRunId(
  spec: VegaLiteSpec | null,
  runOrder: readonly string[]
): Map<string, string> {
  const points = spec ? readPoints(spec) : null;
  if (!points) {
    return new Map();
  }
  const byLabel = runColors(points, runOrder);
  const out = new Map<string, string>();
  for (const p of points) {
    const color = byLabel.get(p.run);
    if (color && !out.has(p.run_id)) {
      out.set(p.run_id, color);
    }
  }
  return out;
}

/**
 * TensorBoard's smoothing: an exponential moving average with weight `w`, debiased so
 * that the first points are not pulled towards zero. Non-finite values pass through.
 */
export function ema(values: readonly number[], w: number): number[] {
  let last = 0;
  let n = 0;
  return values.map(v => {
    if (!Number.isFinite(v) || w <= 0) {
      return v;
    }
    last = last * w + (1 - w) * v;
    n++;
    const debias = w >= 1 ? 1 : 1 - Math.pow(w, n);
    return last / debias;
  });
}

/** Whether every point has a wall time (the time axes need it). */
export function hasWallTime(points: readonly ICurvePoint[]): boolean {
  return points.length > 0 && points.every(p => p.wall_time !== undefined);
}

interface IRow {
  run: string;
  key: string;
  x: number;
  value: number;
  smoothed: number;
  /** The only point of its curve: drawn as a dot (a line needs two). */
  single: boolean;
}

/** Rows to draw: per run and key in step order, x as chosen, smoothed, single points marked. */
function rows(points: readonly ICurvePoint[], options: IChartOptions): IRow[] {
  const groups = new Map<string, ICurvePoint[]>();
  for (const p of points) {
    if (options.logY && !(p.value > 0)) {
      continue; // a log scale has no place for zero or negatives
    }
    const id = `${p.run_id}\u0000${p.key}`;
    const list = groups.get(id) ?? [];
    list.push(p);
    groups.set(id, list);
  }
  const time = options.x !== 'step' && hasWallTime(points);
  const starts = new Map<string, number>();
  if (time && options.x === 'relative') {
    for (const p of points) {
      const t = p.wall_time as number;
      starts.set(p.run_id, Math.min(starts.get(p.run_id) ?? t, t));
    }
  }
  const out: IRow[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => a.step - b.step);
    const smoothed = ema(
      list.map(p => p.value),
      options.smoothing
    );
    list.forEach((p, i) => {
      const t = p.wall_time as number;
      const x = !time
        ? p.step
        : options.x === 'relative'
          ? t - (starts.get(p.run_id) ?? t)
          : t * 1000;
      out.push({
        run: p.run,
        key: p.key,
        x,
        value: p.value,
        smoothed: smoothed[i],
        single: list.length === 1
      });
    });
  }
  return out;
}

/**
 * A Vega-Lite spec of `points`: one panel per metric key (in order of appearance), one
 * line per run in a fixed colour; smoothing draws the smoothed curve over a faint raw one;
 * drag to pan, wheel to zoom, double-click to reset; hovering shows every run's value at
 * that x; integer steps get integer ticks; a single run has no legend.
 */
export function curvesSpec(
  points: readonly ICurvePoint[],
  options: IChartOptions,
  title?: unknown
): VegaLiteSpec {
  const data = rows(points, options);
  const colors = runColors(points, options.runOrder ?? []);
  const runs = [...colors.keys()];
  const keys = [...new Set(points.map(p => p.key))];
  const time = options.x !== 'step' && hasWallTime(points);
  const integerSteps = !time && data.every(r => Number.isInteger(r.x));
  const smooth = options.smoothing > 0;
  const xTitle = !time ? 'step' : options.x === 'relative' ? 'seconds' : 'time';
  const x = {
    field: 'x',
    type: time && options.x === 'wall' ? 'temporal' : 'quantitative',
    title: xTitle,
    axis: integerSteps ? { tickMinStep: 1, format: 'd' } : {},
    scale: { nice: false }
  };
  const y = (field: string) => ({
    field,
    type: 'quantitative',
    title: null,
    scale: options.logY ? { type: 'log' } : { zero: false }
  });
  const color = {
    field: 'run',
    type: 'nominal',
    title: 'run',
    scale: { domain: runs, range: [...colors.values()] },
    legend: runs.length > 1 ? { orient: 'bottom', columns: 2 } : null
  };
  const panel = (key: string, index: number): Record<string, unknown> => {
    const hover = `hover_${index}`;
    const layer: Record<string, unknown>[] = [
      {
        mark: {
          type: 'line',
          clip: true,
          strokeWidth: 1.5,
          opacity: smooth ? 0.25 : 1
        },
        encoding: { x, y: y('value'), color },
        params: [{ name: `zoom_${index}`, select: 'interval', bind: 'scales' }]
      }
    ];
    if (smooth) {
      layer.push({
        mark: { type: 'line', clip: true, strokeWidth: 1.8 },
        encoding: { x, y: y('smoothed'), color }
      });
    }
    layer.push(
      // A curve of one point has no line: show the point.
      {
        transform: [{ filter: 'datum.single' }],
        mark: { type: 'point', filled: true, size: 50, clip: true },
        encoding: { x, y: y('value'), color }
      },
      // Hover: a rule at the nearest x, with every run's value there in its tooltip.
      {
        transform: [
          {
            pivot: 'run',
            value: smooth ? 'smoothed' : 'value',
            groupby: ['x']
          }
        ],
        mark: { type: 'rule', strokeWidth: 1 },
        encoding: {
          x,
          opacity: {
            condition: { value: 0.5, param: hover, empty: false },
            value: 0
          },
          tooltip: [
            { field: 'x', type: x.type, title: xTitle },
            ...runs.map(run => ({
              field: fieldName(run),
              title: run,
              type: 'quantitative',
              format: '.6~g'
            }))
          ]
        },
        params: [
          {
            name: hover,
            select: {
              type: 'point',
              fields: ['x'],
              nearest: true,
              on: 'pointerover',
              clear: 'pointerout'
            }
          }
        ]
      }
    );
    return {
      title: { text: key, fontSize: 12 },
      width: options.width,
      height: options.height,
      data: { values: data.filter(r => r.key === key) },
      layer
    };
  };
  return panelGrid(keys.map(panel), options.columns, title);
}

/** One chart per metric key in a grid of `columns`, sharing the runs' colours. */
export function panelGrid(
  panels: unknown[],
  columns: number,
  title: unknown
): VegaLiteSpec {
  const spec: Record<string, unknown> = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    columns: Math.max(1, Math.min(columns, panels.length)),
    concat: panels,
    resolve: { scale: { color: 'shared' } }
  };
  if (title !== undefined) {
    spec.title = title;
  }
  return spec;
}
