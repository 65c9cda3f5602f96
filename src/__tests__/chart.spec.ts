// Tests of the chart's data and spec (models/curves.ts, views/chart/spec.ts).
import { chartIsCurrent } from '../models/curves';
import {
  ICurvePoint,
  curvesSpec,
  ema,
  readPoints,
  runColor,
  runColors
} from '../views/chart/spec';

const options = {
  x: 'step' as const,
  smoothing: 0,
  logY: false,
  width: 200,
  height: 100,
  columns: 2
};

function point(
  run: string,
  key: string,
  step: number,
  value: number
): ICurvePoint {
  return { run, run_id: `id-${run}`, key, step, value, wall_time: 1000 + step };
}

interface ILayer {
  mark: { type: string; opacity?: number };
  encoding: Record<string, Record<string, unknown>>;
}
interface IPanel {
  layer: ILayer[];
  data: { values: Record<string, unknown>[] };
}

function panels(spec: Record<string, unknown>): IPanel[] {
  return spec.concat as IPanel[];
}

describe('ema', () => {
  it('is debiased, so a constant series stays constant', () => {
    for (const v of ema([2, 2, 2, 2], 0.9)) {
      expect(v).toBeCloseTo(2, 10);
    }
  });

  it('follows TensorBoard: weight 0.5 over 0, 1', () => {
    // last = 0 then 0.5; debias 1 - 0.25 = 0.75 -> 0.6667
    expect(ema([0, 1], 0.5)[1]).toBeCloseTo(2 / 3, 10);
  });

  it('leaves the values as they are at weight 0, and passes NaN through', () => {
    expect(ema([1, 5, 3], 0)).toEqual([1, 5, 3]);
    expect(Number.isNaN(ema([1, NaN, 3], 0.6)[1])).toBe(true);
  });
});

describe('readPoints', () => {
  it('reads data.values and Altair datasets, and refuses other specs', () => {
    const values = [{ run: 'a', run_id: 'x', key: 'loss', step: 0, value: 1 }];
    expect(readPoints({ data: { values } })).toHaveLength(1);
    expect(
      readPoints({ data: { name: 'd1' }, datasets: { d1: values } })
    ).toHaveLength(1);
    expect(readPoints({ data: { values: [{ text: 'no metrics' }] } })).toBe(
      null
    );
  });
});

describe('chartIsCurrent', () => {
  it('says a chart behind the run last step is not current', () => {
    const spec = {
      data: {
        values: [{ run: 'a', run_id: 'x', key: 'loss', step: 9, value: 1 }]
      }
    };
    const summary = { last: 1, min: 1, max: 1, count: 28, last_step: 27 };
    expect(chartIsCurrent(spec, { loss: summary })).toBe(false);
    expect(chartIsCurrent(spec, { loss: { ...summary, last_step: 9 } })).toBe(
      true
    );
  });
});

describe('curvesSpec', () => {
  it('draws one panel per key, no legend for one run, integer ticks for steps', () => {
    const spec = curvesSpec(
      [
        point('a', 'loss', 0, 1),
        point('a', 'loss', 1, 0.5),
        point('a', 'acc', 0, 0.3)
      ],
      options
    );
    const [loss, acc] = panels(spec);
    expect(panels(spec)).toHaveLength(2);
    const line = loss.layer[0];
    expect(line.encoding.color.legend).toBe(null);
    expect(line.encoding.x.axis).toEqual({ tickMinStep: 1, format: 'd' });
    // acc has one point: it is marked single, and a point layer draws it.
    expect(acc.data.values[0].single).toBe(true);
    expect(acc.layer.some(l => l.mark.type === 'point')).toBe(true);
  });

  it('smooths over a faint raw curve, and keeps a legend for several runs', () => {
    const spec = curvesSpec(
      [
        point('a', 'loss', 0, 1),
        point('a', 'loss', 1, 0),
        point('b', 'loss', 0, 2),
        point('b', 'loss', 1, 1)
      ],
      { ...options, smoothing: 0.6 }
    );
    const [loss] = panels(spec);
    expect(loss.layer[0].mark.opacity).toBeLessThan(0.5);
    expect(loss.layer[1].encoding.y.field).toBe('smoothed');
    expect(loss.layer[0].encoding.color.legend).not.toBe(null);
  });

  it('leaves zero and negatives out of a log scale, and uses wall time when asked', () => {
    const spec = curvesSpec(
      [point('a', 'loss', 0, 0), point('a', 'loss', 1, 0.5)],
      { ...options, logY: true, x: 'relative' }
    );
    const [loss] = panels(spec);
    expect(loss.data.values).toHaveLength(1);
    expect(loss.data.values[0].x).toBe(1); // relative: seconds since the run's first point
  });
});

describe('runColors', () => {
  it('gives colours in the order of the ids given, whatever order the points come in', () => {
    const points = [point('b', 'loss', 0, 1), point('a', 'loss', 0, 1)];
    const colors = runColors(points, ['id-a', 'id-b']);
    expect(colors.get('a')).toBe(runColor(0));
    expect(colors.get('b')).toBe(runColor(1));
  });
});
