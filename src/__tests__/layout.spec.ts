// Tests of the runs table's layout and selection (models/layout.ts, models/selection.ts).
import { row } from './rows';
import { ColumnLayout } from '../models/layout';
import { RunSelection } from '../models/selection';

describe('ColumnLayout', () => {
  const rows = [
    row('a', { params: { lr: 0.1, opt: 'adam' } }),
    row('b', { params: { lr: 0.2, opt: 'adam' } })
  ];

  it('shows the pinned columns, then the defaults the rows suggest', () => {
    const layout = new ColumnLayout(() => undefined);
    expect(layout.follow(rows)).toBe(true);
    expect(layout.follow(rows)).toBe(false); // nothing new
    expect(layout.columns).toEqual([
      'status',
      'name',
      'notebook',
      'started',
      'duration',
      'params.lr' // opt is the same everywhere: not a default
    ]);
    expect(layout.availableColumns).toContain('params.opt');
  });

  it('moves, hides and shows columns (pinned ones stay first) and says so', () => {
    let changes = 0;
    const layout = new ColumnLayout(() => changes++);
    layout.follow(rows);
    layout.moveColumn('params.lr', 'notebook');
    expect(layout.columns.slice(0, 4)).toEqual([
      'status',
      'name',
      'params.lr',
      'notebook'
    ]);
    layout.moveColumn('name', null); // pinned: no change
    layout.toggleColumn('started');
    layout.toggleColumn('params.opt');
    expect(layout.columns).toEqual([
      'status',
      'name',
      'params.lr',
      'notebook',
      'duration',
      'params.opt'
    ]);
    expect(changes).toBe(3);
  });

  it('keeps widths, saves and restores its state, ignoring bad parts', () => {
    const layout = new ColumnLayout(() => undefined);
    layout.resizeColumn('notebook', 3);
    expect(layout.widths.notebook).toBe(24); // never narrower than a grip
    layout.setColumns(['status', 'params.lr', 'duration']);
    const copy = new ColumnLayout(() => undefined);
    copy.restore(layout.state);
    expect(copy.columns).toEqual(['status', 'name', 'params.lr', 'duration']);
    copy.restore({ widths: { a: 'wide', b: 1, c: 80 } as never });
    expect(copy.widths).toEqual({ c: 80 });
  });
});

describe('RunSelection', () => {
  const order = ['a', 'b', 'c', 'd'];

  it('selects one, toggles, and extends a range from the anchor', () => {
    let changes = 0;
    const selection = new RunSelection(
      () => order,
      () => changes++
    );
    selection.select('b', 'single');
    selection.select('d', 'range');
    expect([...selection.ids]).toEqual(['b', 'c', 'd']);
    selection.select('c', 'toggle');
    expect([...selection.ids].sort()).toEqual(['b', 'd']);
    expect(selection.cursor).toBe('c');
    selection.ensure('b'); // already selected: unchanged
    expect(changes).toBe(3);
  });

  it('keeps only the runs still there, and says so only when it changed', () => {
    let changes = 0;
    const selection = new RunSelection(
      () => order,
      () => changes++
    );
    selection.all();
    selection.retain(id => id !== 'c');
    selection.retain(() => true);
    expect([...selection.ids]).toEqual(['a', 'b', 'd']);
    expect(changes).toBe(2);
    selection.clear();
    selection.clear();
    expect(changes).toBe(3);
  });
});
