// Tests of the runs sidebar's model (models/runs.ts) polling a stand-in server: lists, follows, filters, sorts, windows.
import { RunsModel, WINDOW_THRESHOLD } from '../models/runs';
import { row } from './rows';
import { FakeServer } from './server';

// The model times its requests with window.setTimeout, as in the browser.
(globalThis as unknown as { window: typeof globalThis }).window = globalThis;

/** Resolves once `condition` holds; fails the test after a few seconds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (condition()) {
      return;
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

const ids = (model: RunsModel): string[] => model.rows.map(r => r.run_id);

let model: RunsModel | null = null;

function start(server: FakeServer): RunsModel {
  model = new RunsModel(server.client());
  model.start();
  return model;
}

afterEach(() => {
  model?.dispose();
  model = null;
});

describe('RunsModel', () => {
  it('lists the runs, follows the store, and drops deleted runs from the selection', async () => {
    const server = new FakeServer([row('a'), row('b')]);
    const runs = start(server);
    await until(() => runs.loaded, 'the list came');
    expect(ids(runs)).toEqual(['a', 'b']);
    expect(runs.connection.kind).toBe('ok');
    runs.selected.select('a', 'single');
    runs.selected.select('b', 'toggle');

    await until(() => server.requests('changes').length > 0, 'it follows');
    server.update(row('c', { status: 'running' }));
    await until(() => runs.rows.length === 3, 'the new run came');
    expect(runs.activeCount).toBe(1);
    server.remove('a');
    await until(() => runs.rows.length === 2, 'the deleted run went');
    expect([...runs.selected.ids]).toEqual(['b']);
    expect(runs.listFetches).toBe(1);
  });

  it('keeps the rows shown, marked stale, while the filter typed is refused', async () => {
    const server = new FakeServer([row('a')]);
    const runs = start(server);
    await until(() => runs.loaded, 'the list came');
    runs.setFilter(server.invalidFilter);
    await until(() => runs.filterError !== null, 'the filter was refused');
    expect(runs.filterError?.column).toBe(8);
    expect(runs.stale).toBe(true);
    expect(ids(runs)).toEqual(['a']);

    runs.setFilter('');
    await until(() => runs.filterError === null, 'the error went');
    expect(runs.stale).toBe(false);
  });

  it('sorts a whole list at once, without fetching it again', async () => {
    const server = new FakeServer([row('b'), row('c'), row('a')]);
    const runs = start(server);
    await until(() => runs.loaded, 'the list came');
    let changed = 0;
    runs.tableStateChanged.connect(() => changed++);
    runs.toggleSort('name');
    expect(ids(runs)).toEqual(['a', 'b', 'c']);
    expect(runs.sort).toEqual({ key: 'name', desc: false });
    expect(changed).toBe(1);
    runs.toggleSort('name');
    expect(ids(runs)).toEqual(['c', 'b', 'a']);
    expect(runs.listFetches).toBe(1);
  });

  it('fetches the window around the rows scrolled to, once however often asked', async () => {
    const server = new FakeServer(
      Array.from({ length: WINDOW_THRESHOLD + 500 }, (_, i) =>
        row(`r${String(i).padStart(5, '0')}`)
      )
    );
    const runs = start(server);
    await until(() => runs.loaded, 'the first window came');
    expect(runs.total).toBe(WINDOW_THRESHOLD + 500);
    const before = runs.listFetches;
    for (let i = 0; i < 5; i++) {
      runs.setVisibleRange(1500, 1530);
    }
    await until(() => runs.offset === 1400, 'the window came');
    expect(runs.rows[100].run_id).toBe('r01500');
    expect(runs.listFetches).toBe(before + 1);
  });

  it('says when the server extension is missing', async () => {
    const server = new FakeServer([]);
    server.statusCode = 404;
    const runs = start(server);
    await until(() => runs.connection.kind === 'missing', 'it said so');
    expect(runs.serverStatus).toBeNull();
  });
});
