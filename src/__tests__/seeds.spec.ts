// Tests of seed groups and their mean and band (models/seeds.ts).
import { ITable } from '../api';
import { ICurvePoint } from '../models/curves';
import { seedGroups, seedRows, t975 } from '../models/seeds';

function params(columns: string[], rows: unknown[][]): ITable {
  return { columns, rows } as ITable;
}

describe('seedGroups', () => {
  it('groups runs whose params differ only in seed, named by what differs', () => {
    const table = params(
      ['run_id', 'name', 'lr', 'seed', 'hidden'],
      [
        ['a', 'a', 0.1, 0, 32],
        ['b', 'b', 0.1, 1, 32],
        ['c', 'c', 0.1, 2, 32],
        ['d', 'd', 0.2, 0, 32]
      ]
    );
    expect(seedGroups(table)).toEqual(
      new Map([
        ['a', 'lr=0.1 (3 seeds)'],
        ['b', 'lr=0.1 (3 seeds)'],
        ['c', 'lr=0.1 (3 seeds)'],
        ['d', 'lr=0.2 (1 seed)']
      ])
    );
  });

  it('names a single group "all runs"', () => {
    const table = params(
      ['run_id', 'seed'],
      [
        ['a', 1],
        ['b', 2]
      ]
    );
    expect(seedGroups(table)?.get('a')).toBe('all runs (2 seeds)');
  });

  it('is null without a seed param or without two runs differing only in it', () => {
    expect(
      seedGroups(
        params(
          ['run_id', 'lr'],
          [
            ['a', 1],
            ['b', 1]
          ]
        )
      )
    ).toBeNull();
    const distinct = params(
      ['run_id', 'lr', 'seed'],
      [
        ['a', 1, 0],
        ['b', 2, 0]
      ]
    );
    expect(seedGroups(distinct)).toBeNull();
  });
});

describe('seedRows', () => {
  const point = (run_id: string, step: number, value: number): ICurvePoint => ({
    run: run_id,
    run_id,
    key: 'acc',
    step,
    value
  });
  const groups = new Map([
    ['a', 'g'],
    ['b', 'g'],
    ['c', 'g']
  ]);
  const points = [
    point('a', 0, 1),
    point('b', 0, 2),
    point('c', 0, 3),
    point('a', 1, 5),
    point('x', 0, 100) // not in a group: left out
  ];

  it('gives the mean and one standard deviation (n - 1) per step', () => {
    const rows = seedRows(points, groups, 'sd');
    expect(rows.map(r => [r.step, r.mean, r.lo, r.hi, r.n])).toEqual([
      [0, 2, 1, 3, 3],
      [1, 5, 5, 5, 1]
    ]);
  });

  it("gives the 95 % CI of the mean with Student's t", () => {
    const [row] = seedRows(points, groups, 'ci');
    const half = (4.303 * 1) / Math.sqrt(3);
    expect(row.lo).toBeCloseTo(2 - half, 10);
    expect(row.hi).toBeCloseTo(2 + half, 10);
  });

  it('uses t quantiles for small samples and the normal one beyond 30', () => {
    expect(t975(1)).toBe(12.706);
    expect(t975(30)).toBe(2.042);
    expect(t975(200)).toBe(1.96);
  });
});
