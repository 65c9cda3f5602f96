// Tests of the sidebar's sweeps: the list grouped into sweep lines and following the feed (RunListing, RunsModel), and the sweeps' summaries.
import { IRunRow, ISweepSummary } from '../api';
import { RunListing } from '../models/listing';
import { RunsModel } from '../models/runs';
import { SweepSummaries, progressText } from '../models/sweeps';
import { row } from './rows';
import { FakeServer } from './server';

// The model times its requests with window.setTimeout, as in the browser.
(globalThis as unknown as { window: typeof globalThis }).window = globalThis;

const GRID = 'sw-20261130-004957-2c2066';

function member(id: string, fields: Partial<IRunRow> = {}): IRunRow {
  return row(id, { tags: ['sweep:grid', `sweep:${GRID}`], ...fields });
}

function summary(counts: Partial<ISweepSummary['counts']> = {}): ISweepSummary {
  return {
    sweep_id: GRID,
    name: 'grid',
    metric: 'val_acc',
    goal: 'max',
    created: 0,
    total: 3,
    counts: { queued: 0, running: 0, done: 3, failed: 0, ...counts },
    best_run_id: 'g1',
    best_value: 0.9
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (condition()) {
      return;
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** The lines of a listing or model: `[run]` for a sweep's line. */
function lines(source: {
  rows: readonly IRunRow[];
  sweepLines: ReadonlySet<number>;
}): string[] {
  return source.rows.map((r, i) =>
    source.sweepLines.has(i) ? `[${r.run_id}]` : r.run_id
  );
}

describe('RunListing with sweeps grouped', () => {
  it('asks for sweep lines, expands on demand, and follows the feed without refetching', async () => {
    // In the server's default order: newest start first.
    const server = new FakeServer([
      row('a', { started_at: 50 }),
      member('g1', { started_at: 40 }),
      member('g2', { started_at: 30 }),
      member('g3', { started_at: 20 }),
      row('b', { started_at: 10 })
    ]);
    const wanted = { filter: '', sort: null, sweeps: [] as string[] };
    let stale = 0;
    const listing = new RunListing({
      client: server.client(),
      wanted: () => wanted,
      onRows: () => undefined,
      onState: () => undefined,
      onStatusStale: async () => undefined,
      onSweepsStale: () => stale++
    });
    await listing.list();
    expect(server.requests('runs')[0].query).toEqual({
      group_sweeps: 'true',
      limit: '200',
      offset: '0'
    }); // expand: none (empty is left out)
    expect(lines(listing)).toEqual(['a', '[g1]', 'b']);
    expect(stale).toBe(1); // a sweep is listed: its progress is read

    wanted.sweeps = [GRID];
    expect(listing.mustList()).toBe(true);
    await listing.list();
    expect(server.requests('runs').at(-1)?.query.expand).toBe(GRID);
    expect(lines(listing)).toEqual(['a', '[g1]', 'g1', 'g2', 'g3', 'b']);

    const followed = listing.follow();
    server.update(member('g2', { status: 'failed', started_at: 30 }));
    await followed;
    expect(listing.rows[3].status).toBe('failed');
    expect(listing.listFetches).toBe(2); // applied here, no new list
    expect(stale).toBe(3);
  });
});

describe('RunsModel with sweeps', () => {
  let model: RunsModel | null = null;
  afterEach(() => {
    model?.dispose();
    model = null;
  });

  it('selects a sweep line by its key and leaves it out of the runs compared', async () => {
    const server = new FakeServer([row('a'), member('g1'), member('g2')]);
    server.sweeps = [summary()];
    const runs = (model = new RunsModel(server.client()));
    runs.start();
    await until(() => runs.loaded, 'the list came');
    expect(lines(runs)).toEqual(['a', '[g1]']);
    await until(
      () => runs.sweeps.summary(GRID) !== undefined,
      'the sweeps came'
    );
    expect(runs.sweeps.summary(GRID)?.best_value).toBe(0.9);

    runs.selected.select(`sweep:${GRID}`, 'single');
    expect(runs.cursorSweep).toBe(GRID);
    expect(runs.selectedRows).toEqual([]);
    runs.toggleSweep(GRID);
    await until(() => runs.rows.length === 4, 'its runs came');
    expect(lines(runs)).toEqual(['a', '[g1]', 'g1', 'g2']);
    runs.selected.select('g2', 'range'); // from the sweep line to g2
    expect(runs.selectedRunIds.sort()).toEqual(['g1', 'g2']);
    expect(runs.selectedRows.map(r => r.run_id)).toEqual(['g1', 'g2']); // g1 once

    const flat = runs.holdFlat();
    await until(() => runs.sweepLines.size === 0, 'every run on its own line');
    expect(server.requests('runs').at(-1)?.query.group_sweeps).toBeUndefined();
    flat.dispose();
    await until(() => runs.sweepLines.size === 1, 'the sweep line is back');
  });
});

describe('SweepSummaries', () => {
  it('reads the sweeps at most once per interval, however often asked', async () => {
    const server = new FakeServer([]);
    server.sweeps = [summary()];
    const sweeps = new SweepSummaries(server.client(), 200);
    await sweeps.refresh();
    expect(sweeps.byName('grid')?.sweep_id).toBe(GRID);
    server.sweeps = [summary({ done: 1, running: 2 })];
    const asked = [sweeps.refresh(), sweeps.refresh(), sweeps.refresh()];
    await Promise.all(asked);
    expect(server.requests('sweeps')).toHaveLength(2);
    expect(sweeps.summary(GRID)?.counts.running).toBe(2);
    sweeps.dispose();
  });

  it('says a sweep’s progress in words, leaving out the states it has none in', () => {
    expect(progressText({ queued: 4, running: 2, done: 11, failed: 1 })).toBe(
      '11/18 done · 2 running · 4 queued · 1 failed'
    );
    expect(progressText({ queued: 0, running: 0, done: 3, failed: 0 })).toBe(
      '3/3 done'
    );
  });
});
