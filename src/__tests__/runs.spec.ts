// Tests of the runs list's ordering and columns (models/runs.ts, models/columns.ts).
import { row } from './rows';
import { columnsOf, defaultColumns, sortRows } from '../models/runs';

const metric = (last: number | null) => ({ last, min: last, max: last });

describe('sortRows', () => {
  it('orders numbers ascending or descending, missing values last either way', () => {
    const rows = [
      row('a', { params: { lr: 0.1 } }),
      row('b'),
      row('c', { params: { lr: 0.001 } }),
      row('d', { params: { lr: 0.01 } })
    ];
    const asc = sortRows(rows, { key: 'params.lr', desc: false });
    expect(asc.map(r => r.run_id)).toEqual(['c', 'd', 'a', 'b']);
    const desc = sortRows(rows, { key: 'params.lr', desc: true });
    expect(desc.map(r => r.run_id)).toEqual(['a', 'd', 'c', 'b']);
  });

  it('puts numbers before text and keeps the order of ties', () => {
    const rows = [
      row('t1', { params: { opt: 'sgd' } }),
      row('n1', { params: { opt: 3 } }),
      row('t2', { params: { opt: 'adam' } }),
      row('n2', { params: { opt: 3 } })
    ];
    const asc = sortRows(rows, { key: 'params.opt', desc: false });
    expect(asc.map(r => r.run_id)).toEqual(['n1', 'n2', 't2', 't1']);
  });

  it('sorts metrics by their last value and never changes its input', () => {
    const rows = [
      row('a', { metrics: { loss: metric(0.5) } }),
      row('b', { metrics: { loss: metric(0.2) } }),
      row('c', { metrics: { loss: metric(null) } })
    ];
    const before = rows.map(r => r.run_id);
    const asc = sortRows(rows, { key: 'metrics.loss', desc: false });
    expect(asc.map(r => r.run_id)).toEqual(['b', 'a', 'c']);
    expect(rows.map(r => r.run_id)).toEqual(before);
  });

  it('sorts names as text, by locale', () => {
    const rows = [row('x', { name: 'beta' }), row('y', { name: 'Alpha' })];
    const asc = sortRows(rows, { key: 'name', desc: false });
    expect(asc.map(r => r.name)).toEqual(['Alpha', 'beta']);
  });
});

describe('columnsOf', () => {
  it('lists tags first, then every params and metrics key once, sorted', () => {
    const rows = [
      row('a', { params: { lr: 1, bs: 2 }, metrics: { loss: metric(1) } }),
      row('b', { params: { lr: 2 }, tags: ['x'], metrics: { acc: metric(1) } })
    ];
    expect(columnsOf(rows)).toEqual([
      'tags',
      'metrics.acc',
      'metrics.loss',
      'params.bs',
      'params.lr'
    ]);
  });
});

describe('defaultColumns', () => {
  it('shows only the params the runs differ in', () => {
    const rows = [
      row('a', { params: { lr: 0.1, epochs: 5, seed: 1 } }),
      row('b', { params: { lr: 0.2, epochs: 5 } })
    ];
    // lr differs; seed is missing from one run (that differs too); epochs is the same.
    expect(defaultColumns(rows)).toEqual(['params.lr', 'params.seed']);
  });

  it('does not count a key a run lists without a value', () => {
    const none = { last: null, min: null, max: null, count: 0 };
    const rows = [
      row('a', { metrics: { loss: metric(1), rare: metric(1) } }),
      row('b', { metrics: { loss: metric(1), rare: none } }),
      row('c', { metrics: { loss: metric(1), rare: none } })
    ];
    expect(defaultColumns(rows)).toEqual(['metrics.loss']);
  });

  it('shows the metric keys most runs have, most common first, and tags when any', () => {
    const rows = [
      row('a', { metrics: { loss: metric(1), acc: metric(1) } }),
      row('b', { metrics: { loss: metric(1), debug_x: metric(1) } }),
      row('c', { metrics: { loss: metric(1), acc: metric(1) }, tags: ['t'] })
    ];
    expect(defaultColumns(rows)).toEqual([
      'tags',
      'metrics.loss',
      'metrics.acc'
    ]);
  });

  it('shows the note column when any run has a note, and not otherwise', () => {
    const rows = [row('a'), row('b', { note: 'diverged: lr too high' })];
    expect(defaultColumns(rows)).toEqual(['note']);
    expect(columnsOf(rows)).toEqual(['note']);
    expect(defaultColumns([row('a'), row('b', { note: null })])).toEqual([]);
  });
});
