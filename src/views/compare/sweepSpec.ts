// Vega-Lite specs of a sweep: its params against the metric (one strip per param), and its seed groups' means with error bars.
import { ISweepDetail, VegaLiteSpec } from '../../api';
import { formatValue } from '../common/format';
import { runColor } from '../chart/spec';

/** A value's place on its param's axis: numbers by value, then other values by text. */
function compareValues(a: unknown, b: unknown): number {
  const an = typeof a === 'number';
  const bn = typeof b === 'number';
  if (an && bn) {
    return (a as number) - (b as number);
  }
  if (an !== bn) {
    return an ? -1 : 1;
  }
  const at = formatValue(a);
  const bt = formatValue(b);
  return at < bt ? -1 : at > bt ? 1 : 0;
}

/**
 * One strip per swept param: each run a point at its value of the param (x, in order) and
 * its last value of the metric (y); runs that did not finish are faint. A tick marks the
 * mean of the finished runs at each value. Null when no run has a value yet.
 */
export function paramsSpec(detail: ISweepDetail): VegaLiteSpec | null {
  const metric = detail.metric ?? 'value';
  const rows: Record<string, unknown>[] = [];
  for (const param of detail.swept) {
    const values = detail.points.map(p => p.params[param]);
    const order = [...new Set(values.map(v => JSON.stringify(v)))]
      .map(text => JSON.parse(text) as unknown)
      .sort(compareValues)
      .map(v => JSON.stringify(v));
    for (const point of detail.points) {
      if (typeof point.value !== 'number') {
        continue;
      }
      const raw = point.params[param];
      rows.push({
        param,
        label: formatValue(raw),
        order: order.indexOf(JSON.stringify(raw)),
        value: point.value,
        run: point.name,
        run_id: point.run_id,
        status: point.status,
        finished: point.status === 'finished'
      });
    }
  }
  if (!rows.length) {
    return null;
  }
  const x = {
    field: 'label',
    type: 'ordinal',
    sort: { field: 'order', order: 'ascending' },
    title: null,
    axis: { labelAngle: 0, labelLimit: 80 }
  };
  const y = {
    field: 'value',
    type: 'quantitative',
    title: metric,
    scale: { zero: false }
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: rows },
    facet: { field: 'param', type: 'nominal', title: null, sort: detail.swept },
    columns: Math.max(1, detail.swept.length),
    resolve: { scale: { x: 'independent' } },
    spec: {
      layer: [
        {
          mark: { type: 'point', filled: true, size: 40 },
          encoding: {
            x,
            y,
            color: { value: runColor(0) },
            opacity: {
              condition: { test: 'datum.finished', value: 0.8 },
              value: 0.25
            },
            tooltip: [
              { field: 'run', title: 'run' },
              { field: 'param', title: 'param' },
              { field: 'label', title: 'value' },
              { field: 'value', title: metric, format: '.4~g' },
              { field: 'status', title: 'status' }
            ]
          }
        },
        {
          transform: [{ filter: 'datum.finished' }],
          mark: { type: 'tick', thickness: 2, size: 18 },
          encoding: {
            x,
            y: { ...y, aggregate: 'mean' },
            color: { value: runColor(1) },
            tooltip: [
              { field: 'label', title: 'value' },
              {
                field: 'value',
                aggregate: 'mean',
                title: `mean ${metric}`,
                format: '.4~g'
              }
            ]
          }
        }
      ]
    }
  };
}

/**
 * The seed groups: each group's mean (a dot) with mean ± sd (a bar), over the final values
 * of its finished runs (ticks); the best group and the runner-up of the test coloured.
 * Null when no group has a mean.
 */
export function groupsSpec(detail: ISweepDetail): VegaLiteSpec | null {
  const metric = detail.metric ?? 'value';
  const test = detail.test;
  const roleOf = (label: string): string =>
    test && label === test.best
      ? 'best'
      : test && label === test.runner_up
        ? 'runner-up'
        : 'other';
  const groups = detail.groups
    .map((g, order) => ({ ...g, order }))
    .filter(g => g.mean !== null);
  if (!groups.length) {
    return null;
  }
  const finished = new Map(
    detail.points
      .filter(p => p.status === 'finished' && typeof p.value === 'number')
      .map(p => [p.run_id, p])
  );
  const means = groups.map(g => ({
    group: g.label,
    order: g.order,
    mean: g.mean,
    lo: (g.mean as number) - (g.sd ?? 0),
    hi: (g.mean as number) + (g.sd ?? 0),
    sd: g.sd,
    n: g.n,
    role: roleOf(g.label)
  }));
  const runs = groups.flatMap(g =>
    g.run_ids
      .map(id => finished.get(id))
      .filter(p => p !== undefined)
      .map(p => ({
        group: g.label,
        order: g.order,
        value: p.value,
        run: p.name
      }))
  );
  const x = {
    field: 'group',
    type: 'ordinal',
    sort: { field: 'order', order: 'ascending' },
    title: detail.group_by.join(', ') || null,
    axis: { labelAngle: -30, labelLimit: 160 }
  };
  const y = { type: 'quantitative', title: metric, scale: { zero: false } };
  const roles = ['best', 'runner-up', 'other'];
  const color = {
    field: 'role',
    type: 'nominal',
    title: null,
    scale: {
      domain: roles,
      range: [runColor(2), runColor(1), runColor(0)]
    },
    legend: { orient: 'bottom' }
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    layer: [
      {
        data: { values: runs },
        mark: { type: 'tick', opacity: 0.6, thickness: 1.5, size: 14 },
        encoding: {
          x,
          y: { ...y, field: 'value' },
          color: { value: 'gray' },
          tooltip: [
            { field: 'run', title: 'run' },
            { field: 'value', title: metric, format: '.4~g' }
          ]
        }
      },
      {
        data: { values: means },
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color }
      },
      {
        data: { values: means },
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x,
          y: { ...y, field: 'mean' },
          color,
          tooltip: [
            { field: 'group', title: 'group' },
            { field: 'mean', title: `mean ${metric}`, format: '.4~g' },
            { field: 'sd', title: 'sd', format: '.2~g' },
            { field: 'n', title: 'finished runs' }
          ]
        }
      }
    ]
  };
}
