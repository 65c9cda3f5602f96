// A stand-in for the trackrun server extension over fetch, for testing the panel's models with a real TrackrunClient.
import { ServerConnection } from '@jupyterlab/services';

import { IChanges, IRunRow, ISweepSummary, TrackrunClient } from '../api';
import { sweepIdOf } from '../models/sweeplines';

/** One request the server was sent: its path under `trackrun/api/` and its query. */
export interface IRequestSeen {
  path: string;
  query: Record<string, string>;
}

const BASE_URL = 'http://trackrun.test/';

/**
 * A store of runs answering `GET status`, `GET runs` (offset, limit; one filter refused),
 * and `GET changes` (held until the store changes, or cancelled), as the server extension
 * does. `update` and `remove` change the store and answer a held change-feed request.
 */
export class FakeServer {
  constructor(runs: IRunRow[]) {
    this.runs = runs;
  }

  /** The runs of the store, in the server's order. */
  runs: IRunRow[];
  /** Every request, in order. */
  readonly seen: IRequestSeen[] = [];
  /** The filter the server refuses with `invalid_filter` at column 8. */
  invalidFilter = 'status ==';
  /** The HTTP status `GET status` answers (200, or an error). */
  statusCode = 200;
  /** Whether the server is down: every request fails as fetch does on a network error. */
  down = false;
  /** What `GET sweeps` answers. */
  sweeps: ISweepSummary[] = [];
  /** Called before `GET runs` answers (a test changes the panel's state meanwhile). */
  beforeRuns: (() => void) | null = null;

  /** A client of this server. */
  client(): TrackrunClient {
    return new TrackrunClient(
      ServerConnection.makeSettings({
        baseUrl: BASE_URL,
        fetch: ((request: Request) => this._answer(request)) as typeof fetch
      })
    );
  }

  /** The requests made to `path`. */
  requests(path: string): IRequestSeen[] {
    return this.seen.filter(r => r.path === path);
  }

  get token(): string {
    return `t${this._version}`;
  }

  /** Replace (or add) `row` in the store. */
  update(row: IRunRow): void {
    const at = this.runs.findIndex(r => r.run_id === row.run_id);
    if (at < 0) {
      this.runs.push(row);
    } else {
      this.runs[at] = row;
    }
    this._changed({ runs: [row], deleted: [] });
  }

  /** Delete the run `runId` from the store. */
  remove(runId: string): void {
    this.runs = this.runs.filter(r => r.run_id !== runId);
    this._changed({ runs: [], deleted: [runId] });
  }

  private _changed(change: { runs: IRunRow[]; deleted: string[] }): void {
    this._log.push(change);
    this._version++;
    const waiters = this._waiters;
    this._waiters = [];
    waiters.forEach(wake => wake());
  }

  private async _answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/trackrun\/api\//, '');
    const query = Object.fromEntries(url.searchParams.entries());
    this.seen.push({ path, query });
    if (this.down) {
      throw new TypeError('Failed to fetch');
    }
    if (path === 'status') {
      if (this.statusCode !== 200) {
        return json({ message: 'no such route', code: 'not_found' }, 404);
      }
      const running = this.runs.filter(r => r.status === 'running').length;
      return json({
        version: '0',
        store: '/store',
        running,
        queued: 0,
        launcher: { pid: 1, started_at: null, max_parallel: null, running: [] }
      });
    }
    if (path === 'runs') {
      this.beforeRuns?.();
      if ((query.filter ?? '') === this.invalidFilter) {
        return json(
          { message: 'expected a value', code: 'invalid_filter', column: 8 },
          400
        );
      }
      const offset = Number(query.offset ?? 0);
      const limit = Number(query.limit ?? 100);
      const lines =
        query.group_sweeps === 'true'
          ? sweepLinesOf(this.runs, (query.expand ?? '').split(','))
          : this.runs.map(row => ({ row, sweep: false }));
      const page = lines.slice(offset, offset + limit);
      return json({
        runs: page.map(line => line.row),
        sweep_lines: page.flatMap((line, i) => (line.sweep ? [i] : [])),
        total: lines.length,
        offset,
        limit,
        change_token: this.token
      });
    }
    if (path === 'sweeps') {
      return json({ sweeps: this.sweeps });
    }
    if (path === 'changes') {
      const since = Number((query.since ?? 't0').slice(1));
      if (since === this._version) {
        await this._wait(request.signal);
      }
      return json(this._changesSince(since));
    }
    return json({ message: `no route ${path}`, code: 'not_found' }, 404);
  }

  /** Resolves when the store changes; rejects as fetch does when `signal` aborts. */
  private _wait(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () =>
        reject(new DOMException('The operation was aborted.', 'AbortError'))
      );
      this._waiters.push(resolve);
    });
  }

  private _changesSince(since: number): IChanges {
    const runs = new Map<string, IRunRow>();
    const deleted: string[] = [];
    for (const change of this._log.slice(since)) {
      change.runs.forEach(r => runs.set(r.run_id, r));
      for (const id of change.deleted) {
        runs.delete(id);
        deleted.push(id);
      }
    }
    return {
      change_token: this.token,
      reset: false,
      runs: [...runs.values()],
      deleted,
      unmatched: []
    };
  }

  private _version = 0;
  private _log: { runs: IRunRow[]; deleted: string[] }[] = [];
  private _waiters: (() => void)[] = [];
}

/**
 * The lines of `runs` (in the server's order) with each sweep's runs as one line at its
 * first run, followed by its runs when its id is in `expand`, as `GET runs?group_sweeps`.
 */
function sweepLinesOf(
  runs: IRunRow[],
  expand: string[]
): { row: IRunRow; sweep: boolean }[] {
  const lines: { row: IRunRow; sweep: boolean }[] = [];
  const seen = new Set<string>();
  for (const row of runs) {
    const sweep = sweepIdOf(row);
    if (!sweep) {
      lines.push({ row, sweep: false });
    } else if (!seen.has(sweep)) {
      seen.add(sweep);
      lines.push({ row, sweep: true });
      if (expand.includes(sweep)) {
        runs
          .filter(r => sweepIdOf(r) === sweep)
          .forEach(r => lines.push({ row: r, sweep: false }));
      }
    }
  }
  return lines;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}
