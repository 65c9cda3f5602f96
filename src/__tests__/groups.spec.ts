// Tests of grouping runs for the full-width table (models/groups.ts).
import { row } from './rows';
import { NO_GROUP, groupRows } from '../models/groups';

const shape = (groups: ReturnType<typeof groupRows>) =>
  groups.map(g => [g.label, g.rows.map(r => r.run_id)]);

describe('groupRows', () => {
  const rows = [
    row('a', { params: { lr: 0.1 }, tags: ['sweep:lr-grid', 'sweep:s1', 'x'] }),
    row('b', { params: { lr: 0.01 } }),
    row('c', { params: { lr: 0.1 }, tags: ['sweep:s1', 'sweep:lr-grid'] }),
    row('d', { params: { opt: 'sgd' }, tags: ['x'] })
  ];

  it('groups by a param value, keeping the order, runs without it last', () => {
    expect(shape(groupRows(rows, 'params.lr'))).toEqual([
      ['0.1', ['a', 'c']],
      ['0.01', ['b']],
      [NO_GROUP, ['d']]
    ]);
    expect(shape(groupRows(rows, 'params.opt'))).toEqual([
      ['sgd', ['d']],
      [NO_GROUP, ['a', 'b', 'c']]
    ]);
  });

  it('groups by sweep (its name and id tags) and by the other tags', () => {
    expect(shape(groupRows(rows, 'sweep'))).toEqual([
      ['lr-grid · s1', ['a', 'c']],
      [NO_GROUP, ['b', 'd']]
    ]);
    expect(shape(groupRows(rows, 'tags'))).toEqual([
      ['x', ['a', 'd']],
      [NO_GROUP, ['b', 'c']]
    ]);
  });

  it('is one group of every row when not grouping', () => {
    expect(shape(groupRows(rows, ''))).toEqual([['', ['a', 'b', 'c', 'd']]]);
  });
});
