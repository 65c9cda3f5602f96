// The seed groups' chart: each group's mean line over its shaded band (sd or 95 % CI).
import { VegaLiteSpec } from '../../api';
import { ISeedRow, SeedBand } from '../../models/seeds';
import { panelGrid, runColor } from './spec';

/**
 * A Vega-Lite spec of seed groups (models/seeds: seedRows): one panel per metric key, per
 * group a mean line over a shaded band, coloured by group; the tooltip gives the mean,
 * band and number of runs at a step. Pan and zoom as curvesSpec.
 */
export function seedsSpec(
  rows: readonly ISeedRow[],
  options: {
    band: SeedBand;
    width: number;
    height: number;
    columns: number;
    logY: boolean;
  },
  title?: unknown
): VegaLiteSpec {
  const groups = [...new Set(rows.map(r => r.group))];
  const keys = [...new Set(rows.map(r => r.key))];
  const bandTitle = options.band === 'sd' ? '± sd' : '95 % CI';
  const x = {
    field: 'step',
    type: 'quantitative',
    title: 'step',
    axis: { tickMinStep: 1, format: 'd' },
    scale: { nice: false }
  };
  const scale = options.logY ? { type: 'log' } : { zero: false };
  const color = {
    field: 'group',
    type: 'nominal',
    title: `mean ${bandTitle}`,
    scale: { domain: groups, range: groups.map((_, i) => runColor(i)) },
    legend: { orient: 'bottom', columns: 1 }
  };
  const panel = (key: string, index: number): Record<string, unknown> => ({
    title: { text: key, fontSize: 12 },
    width: options.width,
    height: options.height,
    data: {
      values: rows.filter(
        r => r.key === key && (!options.logY || (r.lo > 0 && r.mean > 0))
      )
    },
    layer: [
      {
        mark: { type: 'area', clip: true, opacity: 0.2 },
        encoding: {
          x,
          y: { field: 'lo', type: 'quantitative', title: null, scale },
          y2: { field: 'hi' },
          color
        },
        params: [{ name: `zoom_${index}`, select: 'interval', bind: 'scales' }]
      },
      {
        mark: { type: 'line', clip: true, strokeWidth: 1.8, point: false },
        encoding: {
          x,
          y: { field: 'mean', type: 'quantitative', title: null, scale },
          color
        }
      },
      {
        mark: { type: 'point', filled: true, size: 30, opacity: 0, clip: true },
        encoding: {
          x,
          y: { field: 'mean', type: 'quantitative', scale },
          color,
          tooltip: [
            { field: 'group', type: 'nominal', title: 'group' },
            { field: 'step', type: 'quantitative' },
            { field: 'mean', type: 'quantitative', format: '.6~g' },
            { field: 'lo', type: 'quantitative', title: 'low', format: '.6~g' },
            {
              field: 'hi',
              type: 'quantitative',
              title: 'high',
              format: '.6~g'
            },
            { field: 'n', type: 'quantitative', title: 'runs' }
          ]
        }
      }
    ]
  });
  return panelGrid(keys.map(panel), options.columns, title);
}
