// Tests of the rows the runs sidebar holds (models/listing.ts): whole lists, windows, refused filters, the change feed.
import { IRunRow } from '../api';
import { RunListing, WINDOW_THRESHOLD } from '../models/listing';
import { ISort } from '../models/order';
import { row } from './rows';
import { FakeServer } from './server';

/** A listing of `server`'s runs, with the filter and sort it should answer in `wanted`. */
function listingOf(server: FakeServer): {
  listing: RunListing;
  wanted: { filter: string; sort: ISort | null };
  removed: string[][];
  counts: { rows: number; state: number; status: number };
} {
  const wanted = { filter: '', sort: null as ISort | null };
  const removed: string[][] = [];
  const counts = { rows: 0, state: 0, status: 0 };
  const listing = new RunListing({
    client: server.client(),
    wanted: () => wanted,
    onRows: gone => {
      counts.rows++;
      removed.push([...gone]);
    },
    onState: () => counts.state++,
    onStatusStale: async () => {
      counts.status++;
    }
  });
  return { listing, wanted, removed, counts };
}

const ids = (rows: readonly IRunRow[]): string[] => rows.map(r => r.run_id);

function runs(n: number): IRunRow[] {
  return Array.from({ length: n }, (_, i) =>
    row(`r${String(i).padStart(5, '0')}`)
  );
}

describe('RunListing', () => {
  it('fetches a short list whole, then follows the change feed', async () => {
    const server = new FakeServer([row('a'), row('b'), row('c')]);
    const { listing, counts } = listingOf(server);
    expect(listing.mustList()).toBe(true);
    expect(await listing.list()).toBe(0);
    expect(ids(listing.rows)).toEqual(['a', 'b', 'c']);
    expect(listing.whole).toBe(true);
    expect(listing.loaded).toBe(true);
    expect(listing.listFetches).toBe(1);
    expect(counts.status).toBe(1); // a new change token: the status counts are read
    expect(listing.mustList()).toBe(false);

    const followed = listing.follow();
    server.update(row('b', { status: 'running' }));
    expect(await followed).toBeGreaterThan(0); // a pause, so that bursts come batched
    expect(listing.row('b')?.status).toBe('running');
    expect(counts.status).toBe(2); // a status changed
    expect(listing.listFetches).toBe(1);
    expect(listing.mustList()).toBe(false);
  });

  it('fetches a long list in windows around the visible rows', async () => {
    const server = new FakeServer(runs(WINDOW_THRESHOLD * 2));
    const { listing } = listingOf(server);
    await listing.list();
    expect(listing.whole).toBe(false);
    expect(listing.total).toBe(WINDOW_THRESHOLD * 2);
    expect(listing.offset).toBe(0);
    expect(listing.show(0, 30)).toBe(false); // held already

    expect(listing.show(1000, 1030)).toBe(true);
    expect(listing.mustList()).toBe(true);
    await listing.list();
    const last = server.requests('runs').at(-1);
    expect(last?.query).toMatchObject({ offset: '900', limit: '300' });
    expect(listing.offset).toBe(900);
    expect(listing.rows[100].run_id).toBe('r01000');
    expect(listing.show(1000, 1030)).toBe(false);
    expect(listing.mustList()).toBe(false);
  });

  it('fetches the whole of a list first fetched as a window, once it is known short', async () => {
    const server = new FakeServer(runs(500));
    const { listing } = listingOf(server);
    await listing.list(); // the size is not known yet: a first window
    expect(listing.whole).toBe(false);
    expect(listing.mustList()).toBe(true);
    await listing.list();
    expect(server.requests('runs').at(-1)?.query).toMatchObject({
      offset: '0',
      limit: String(WINDOW_THRESHOLD)
    });
    expect(listing.whole).toBe(true);
    expect(listing.rows).toHaveLength(500);
  });

  it('keeps the rows and says why when the server refuses the filter', async () => {
    const server = new FakeServer([row('a')]);
    const { listing, wanted, counts } = listingOf(server);
    await listing.list();
    wanted.filter = server.invalidFilter;
    expect(listing.mustList()).toBe(true);
    expect(await listing.list()).toBeNull(); // the same text gives the same 400: stop
    expect(listing.filterError).toEqual({
      message: 'expected a value',
      column: 8
    });
    expect(counts.state).toBeGreaterThan(0);
    expect(ids(listing.rows)).toEqual(['a']);
    expect(listing.rowsFilter).toBe('');

    wanted.filter = '';
    await listing.list();
    expect(listing.filterError).toBeNull();
  });

  it('drops an answer to a filter changed while it was out', async () => {
    const server = new FakeServer([row('a')]);
    const { listing, wanted, counts } = listingOf(server);
    server.beforeRuns = () => {
      wanted.filter = 'status = "running"';
    };
    expect(await listing.list()).toBe(0); // list again at once
    expect(listing.rows).toHaveLength(0);
    expect(listing.loaded).toBe(false);
    expect(counts.rows).toBe(0);
    expect(listing.mustList()).toBe(true);
  });

  it('asks again when a half-typed filter is refused after typing went on', async () => {
    const server = new FakeServer([row('a')]);
    const { listing, wanted } = listingOf(server);
    wanted.filter = server.invalidFilter; // applied by a pause in typing
    server.beforeRuns = () => {
      wanted.filter = 'status = "running"'; // the finished filter, typed meanwhile
      server.beforeRuns = null;
    };
    expect(await listing.list()).toBe(0); // no error thrown: list again at once
    expect(listing.filterError).toBeNull();
    expect(listing.mustList()).toBe(true);
    expect(await listing.list()).toBe(0);
    expect(server.requests('runs').map(r => r.query.filter)).toEqual([
      server.invalidFilter,
      'status = "running"'
    ]);
    expect(listing.loaded).toBe(true);
    expect(listing.filterError).toBeNull();
  });

  it('cancels a change-feed poll when invalidated, and lists next', async () => {
    const server = new FakeServer([row('a')]);
    const { listing } = listingOf(server);
    await listing.list();
    const followed = listing.follow();
    listing.invalidate();
    expect(await followed).toBe(0);
    expect(listing.mustList()).toBe(true);
  });

  it('reports the runs that left the list', async () => {
    const server = new FakeServer([row('a'), row('b')]);
    const { listing, removed } = listingOf(server);
    await listing.list();
    const followed = listing.follow();
    server.remove('a');
    await followed;
    expect(ids(listing.rows)).toEqual(['b']);
    expect(listing.row('a')).toBeUndefined();
    expect(removed.at(-1)).toEqual(['a']);
  });

  it('sorts a whole list here, and leaves a window to the server', async () => {
    const server = new FakeServer([row('b'), row('c'), row('a')]);
    const { listing, wanted } = listingOf(server);
    await listing.list();
    wanted.sort = { key: 'name', desc: false };
    expect(listing.resort(wanted.sort)).toBe(true);
    expect(ids(listing.rows)).toEqual(['a', 'b', 'c']);
    expect(listing.mustList()).toBe(false); // the rows are in the order asked for
    expect(listing.listFetches).toBe(1);

    const long = listingOf(new FakeServer(runs(WINDOW_THRESHOLD * 2)));
    await long.listing.list();
    expect(long.listing.resort({ key: 'name', desc: true })).toBe(false);
  });
});
