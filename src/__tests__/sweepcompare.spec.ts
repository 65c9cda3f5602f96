// Tests of a sweep's comparison as the panel shows it: the significance line and the charts' data (models/sweepcompare.ts, views/compare/sweepSpec.ts).
import { ISweepDetail, ISweepTest } from '../api';
import { formatP, significanceLine } from '../models/sweepcompare';
import { groupsSpec, paramsSpec } from '../views/compare/sweepSpec';

function test(fields: Partial<ISweepTest> = {}): ISweepTest {
  return {
    metric: 'val_acc',
    best: 'lr=0.003, hidden=128',
    runner_up: 'lr=0.01, hidden=128',
    n_best: 3,
    n_runner_up: 3,
    mean_best: 0.857,
    mean_runner_up: 0.836,
    difference: 0.021,
    ci_low: 0.008,
    ci_high: 0.034,
    df: 3.9,
    p_value: 0.004,
    message: 'val_acc: ...',
    ...fields
  };
}

describe('significanceLine', () => {
  it('says which setting beats which, by how much, and how sure', () => {
    expect(significanceLine(test(), 'max')).toBe(
      'lr=0.003, hidden=128 beats lr=0.01, hidden=128 by 0.021 ' +
        '(95% CI 0.008 to 0.034, Welch p=0.004, n=3 vs 3)'
    );
  });

  it('counts the margin downward for a loss', () => {
    const loss = test({
      difference: -0.25,
      ci_low: -0.4,
      ci_high: -0.1,
      p_value: 3e-5
    });
    expect(significanceLine(loss, 'min')).toBe(
      'lr=0.003, hidden=128 beats lr=0.01, hidden=128 by 0.25 ' +
        '(95% CI 0.10 to 0.40, Welch p<0.0001, n=3 vs 3)'
    );
  });

  it('says so when the interval holds no difference, and why when there is no test', () => {
    const unsure = test({
      difference: 0.003,
      ci_low: -0.01,
      ci_high: 0.016,
      p_value: 0.41
    });
    expect(significanceLine(unsure, 'max')).toBe(
      'lr=0.003, hidden=128 is ahead of lr=0.01, hidden=128 by 0.003 ' +
        '(95% CI -0.010 to 0.016, Welch p=0.41, n=3 vs 3): not significant at the 5% level'
    );
    const none = test({
      difference: null,
      ci_low: null,
      ci_high: null,
      p_value: null,
      message: 'needs 2 runs'
    });
    expect(significanceLine(none, 'max')).toBe('needs 2 runs');
    expect(formatP(0.0123)).toBe('p=0.012');
  });
});

const detail: ISweepDetail = {
  sweep_id: 'sw-20261130-004957-2c2066',
  name: 'grid',
  metric: 'val_acc',
  goal: 'max',
  created: 0,
  total: 5,
  counts: { queued: 1, running: 0, done: 4, failed: 0 },
  best_run_id: 'r2',
  best_value: 0.9,
  text: 'hidden=[64, 128] seed=range(2)',
  parallel: 2,
  seed: null,
  samples: null,
  backend: 'local',
  swept: ['hidden', 'seed'],
  group_by: ['hidden'],
  metrics: ['val_acc'],
  groups: [
    {
      label: 'hidden=64',
      params: { hidden: 64 },
      run_ids: ['r1', 'r3', 'r5'],
      n: 2,
      mean: 0.7,
      sd: 0.1,
      missing: 1
    },
    {
      label: 'hidden=128',
      params: { hidden: 128 },
      run_ids: ['r2', 'r4'],
      n: 2,
      mean: 0.85,
      sd: 0.05,
      missing: 0
    }
  ],
  test: test({ best: 'hidden=128', runner_up: 'hidden=64' }),
  points: [
    {
      run_id: 'r1',
      name: 'grid-1',
      params: { hidden: 64, seed: 0 },
      value: 0.6,
      status: 'finished'
    },
    {
      run_id: 'r2',
      name: 'grid-2',
      params: { hidden: 128, seed: 0 },
      value: 0.9,
      status: 'finished'
    },
    {
      run_id: 'r3',
      name: 'grid-3',
      params: { hidden: 64, seed: 1 },
      value: 0.8,
      status: 'finished'
    },
    {
      run_id: 'r4',
      name: 'grid-4',
      params: { hidden: 128, seed: 1 },
      value: 0.8,
      status: 'finished'
    },
    {
      run_id: 'r5',
      name: 'grid-5',
      params: { hidden: 64, seed: 2 },
      value: null,
      status: 'queued'
    }
  ]
};

type Rows = Record<string, unknown>[];

describe('the sweep charts', () => {
  it('draws one strip per swept param, values in numeric order', () => {
    const spec = paramsSpec(detail) as Record<string, unknown>;
    const rows = (spec.data as { values: Rows }).values;
    expect(rows).toHaveLength(8); // 4 runs with a value, 2 params each
    const hidden = rows.filter(r => r.param === 'hidden');
    // 64 before 128 (as text, "128" would come first).
    expect(hidden.find(r => r.label === '64')?.order).toBe(0);
    expect(hidden.find(r => r.label === '128')?.order).toBe(1);
    expect(spec.facet).toMatchObject({
      field: 'param',
      sort: ['hidden', 'seed']
    });
    expect(paramsSpec({ ...detail, points: [detail.points[4]] })).toBeNull();
  });

  it('draws each group’s mean ± sd over its finished runs, best and runner-up marked', () => {
    const spec = groupsSpec(detail) as { layer: { data: { values: Rows } }[] };
    const [runs, bars] = spec.layer.map(l => l.data.values);
    expect(runs.map(r => r.run).sort()).toEqual([
      'grid-1',
      'grid-2',
      'grid-3',
      'grid-4'
    ]);
    expect(bars).toEqual([
      expect.objectContaining({
        group: 'hidden=64',
        lo: expect.closeTo(0.6),
        hi: expect.closeTo(0.8),
        role: 'runner-up'
      }),
      expect.objectContaining({
        group: 'hidden=128',
        lo: expect.closeTo(0.8),
        hi: expect.closeTo(0.9),
        role: 'best'
      })
    ]);
  });
});
