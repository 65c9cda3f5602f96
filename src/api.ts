// The typed client of trackrun's REST API (docs/rest-api.md): the only code that talks HTTP.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Where the API lives, relative to the server's base URL. */
export const API_PATH = 'trackrun/api';

/** Status of a run, as the store records it. */
export type RunStatus =
  'queued' | 'running' | 'finished' | 'failed' | 'killed' | 'lost';

/** Statuses of a run that may still change. */
export const ACTIVE_STATUSES: ReadonlySet<string> = new Set([
  'queued',
  'running'
]);

/** A metric value: non-finite numbers arrive as strings so the JSON stays valid. */
export type MetricValue = number | 'NaN' | 'Infinity' | '-Infinity' | null;

/** A parameter value: anything JSON. */
export type ParamValue = unknown;

export interface IMetricSummary {
  last: MetricValue;
  min: MetricValue;
  max: MetricValue;
  count?: number;
  last_step?: number | null;
}

/** One row of `GET runs`. */
export interface IRunRow {
  run_id: string;
  name: string;
  status: RunStatus;
  notebook: string | null;
  started_at: number | null;
  ended_at: number | null;
  duration: number | null;
  attempts: number | null;
  detached: boolean | null;
  tags: string[];
  params: Record<string, ParamValue>;
  metrics: Record<string, IMetricSummary>;
}

export interface IArtifact {
  name: string;
  size: number;
  sha256: string;
}

export interface IAttempt {
  attempt: number;
  state: string;
  exit_code: number | null;
  time: number | null;
}

export interface IProvenance {
  git?: {
    commit?: string | null;
    branch?: string | null;
    dirty?: boolean | null;
    diff?: string | null;
    diff_truncated?: boolean | null;
  } | null;
  python?: Record<string, unknown> | null;
  hardware?: Record<string, unknown> | null;
  packages?: Record<string, string> | null;
  [key: string]: unknown;
}

/** `GET runs/{id}`. */
export interface IRunDetail extends Omit<IRunRow, 'attempts' | 'metrics'> {
  /** Attempts of a detached run (its supervisor's record); empty for inline runs. */
  attempts: IAttempt[];
  metrics: Record<string, IMetricSummary>;
  cell_id: string | null;
  host: string | null;
  pid: number | null;
  user: string | null;
  git_commit: string | null;
  git_branch: string | null;
  git_dirty: boolean | null;
  error: string | null;
  created_at: number | null;
  artifacts: IArtifact[];
  code_files: string[];
  outputs: {
    saved: string[];
    skipped: { name: string; type: string; reason: string }[];
  } | null;
  provenance: IProvenance | null;
  launch: Record<string, unknown> | null;
  note: string | null;
}

/** `GET status`. */
export interface IStatusInfo {
  version: string;
  store: string;
  running: number;
  queued: number;
  launcher: {
    pid: number;
    started_at: number | null;
    max_parallel: number | null;
  };
}

/** `GET runs`. */
export interface IRunsPage {
  runs: IRunRow[];
  total: number;
  offset: number;
  limit: number;
  change_token: string;
}

/** `GET runs/{id}/log`. */
export interface ILogChunk {
  text: string;
  offset: number;
  next_offset: number;
  size: number;
  live: boolean;
  status: RunStatus;
}

/** A table as the API sends it. */
export interface ITable {
  columns: string[];
  rows: unknown[][];
}

/** A Vega-Lite spec, passed through untouched to the chart component. */
export type VegaLiteSpec = Record<string, unknown>;

/** `GET compare`. */
export interface IComparison {
  runs: IRunRow[];
  params_diff: ITable;
  params_all: ITable;
  summary: ITable;
  chart: VegaLiteSpec;
  code_diff: { cell: string; notebook: string } | null;
  packages: [string, string | null, string | null][];
}

/** Query of `GET runs`. */
export interface IRunsQuery {
  filter?: string;
  order_by?: string;
  limit?: number;
  offset?: number;
}

/** An error answered by the API (`{message, code}`) or by the network. */
export class TrackrunApiError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** The API's error code (`invalid_filter`, `run_not_found`...), or `network_error`. */
    readonly code: string,
    /** For `invalid_filter`: the position in the filter text where it went wrong. */
    readonly column: number | null = null
  ) {
    super(message);
  }
}

/** The client of `{baseUrl}trackrun/api/`. */
export class TrackrunClient {
  constructor(settings?: ServerConnection.ISettings) {
    this.settings = settings ?? ServerConnection.makeSettings();
  }

  readonly settings: ServerConnection.ISettings;

  /** `GET status`: raises TrackrunApiError (404: the server extension is missing). */
  status(): Promise<IStatusInfo> {
    return this._json<IStatusInfo>('GET', 'status');
  }

  /**
   * `GET runs` with `If-None-Match: etag`. Resolves to null when nothing changed (304),
   * else to the page and its ETag.
   */
  async runs(
    query: IRunsQuery,
    etag: string | null
  ): Promise<{ page: IRunsPage; etag: string | null } | null> {
    const headers: Record<string, string> = {};
    if (etag) {
      headers['If-None-Match'] = etag;
    }
    // `default` cache mode: no cache-busting query parameter (the ETag covers the query),
    // and with If-None-Match the browser hands the 304 back as it is.
    const response = await this._fetch('GET', 'runs', { ...query }, undefined, {
      headers,
      cache: 'default'
    });
    if (response.status === 304) {
      return null;
    }
    const page = (await this._body(response)) as IRunsPage;
    return { page, etag: response.headers.get('ETag') };
  }

  /**
   * `GET changes`: resolves with the store's change token once it differs from `since`.
   * (Never a query parameter named `token`: Jupyter Server takes that for the login token.)
   */
  async changes(since: string, timeout: number): Promise<string> {
    const body = await this._json<{ change_token: string }>('GET', 'changes', {
      since,
      timeout
    });
    return body.change_token;
  }

  run(runId: string): Promise<IRunDetail> {
    return this._json<IRunDetail>('GET', `runs/${enc(runId)}`);
  }

  /** `GET runs/{id}/chart`: the Vega-Lite spec of the run's metric curves. */
  chart(runId: string, maxPoints = 1000): Promise<VegaLiteSpec> {
    return this._json<VegaLiteSpec>('GET', `runs/${enc(runId)}/chart`, {
      max_points: maxPoints
    });
  }

  /** `GET runs/{id}/log`: the log from byte `offset` (negative: from the end). */
  log(runId: string, offset: number, maxBytes = 65536): Promise<ILogChunk> {
    return this._json<ILogChunk>('GET', `runs/${enc(runId)}/log`, {
      offset,
      max_bytes: maxBytes
    });
  }

  /** `GET runs/{id}/code/{file}`: the text of a code file. */
  async code(runId: string, file: string): Promise<string> {
    const response = await this._fetch(
      'GET',
      `runs/${enc(runId)}/code/${enc(file)}`
    );
    if (!response.ok) {
      throw await this._error(response);
    }
    return response.text();
  }

  /** The download URL of an artifact (the login cookie authenticates it). */
  artifactUrl(runId: string, name: string): string {
    return URLExt.join(
      this.settings.baseUrl,
      API_PATH,
      'runs',
      enc(runId),
      'artifacts',
      enc(name)
    );
  }

  compare(runIds: string[]): Promise<IComparison> {
    return this._json<IComparison>('GET', 'compare', { ids: runIds.join(',') });
  }

  kill(runId: string): Promise<{ run_id: string; status: RunStatus }> {
    return this._json('POST', `runs/${enc(runId)}/kill`);
  }

  delete(
    runId: string,
    force: boolean
  ): Promise<{ run_id: string; deleted: boolean }> {
    return this._json(
      'DELETE',
      `runs/${enc(runId)}`,
      force ? { force: 'true' } : undefined
    );
  }

  rerun(
    runId: string,
    params?: Record<string, unknown>
  ): Promise<{ run_id: string }> {
    return this._json('POST', `runs/${enc(runId)}/rerun`, undefined, {
      params: params ?? {}
    });
  }

  tags(
    runId: string,
    add: string[],
    remove: string[]
  ): Promise<{ run_id: string; tags: string[] }> {
    return this._json('POST', `runs/${enc(runId)}/tags`, undefined, {
      add,
      remove
    });
  }

  private async _json<T>(
    method: string,
    path: string,
    query?: Record<string, unknown>,
    body?: unknown
  ): Promise<T> {
    const response = await this._fetch(method, path, query, body);
    return (await this._body(response)) as T;
  }

  private async _body(response: Response): Promise<unknown> {
    if (!response.ok) {
      throw await this._error(response);
    }
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  private async _fetch(
    method: string,
    path: string,
    query?: Record<string, unknown>,
    body?: unknown,
    init: RequestInit = {}
  ): Promise<Response> {
    let url = URLExt.join(this.settings.baseUrl, API_PATH, path);
    const search = queryString(query);
    if (search) {
      url += '?' + search;
    }
    const request: RequestInit = { ...init, method };
    if (body !== undefined) {
      request.body = JSON.stringify(body);
    }
    try {
      return await ServerConnection.makeRequest(url, request, this.settings);
    } catch (error) {
      throw new TrackrunApiError(
        `The Jupyter server could not be reached (${String(error)})`,
        0,
        'network_error'
      );
    }
  }

  private async _error(response: Response): Promise<TrackrunApiError> {
    let message = `${response.status} ${response.statusText}`;
    let code = `http_${response.status}`;
    let column: number | null = null;
    try {
      const data = (await response.json()) as {
        message?: unknown;
        code?: unknown;
        column?: unknown;
      };
      if (typeof data.message === 'string' && data.message) {
        message = data.message;
      }
      if (typeof data.code === 'string' && data.code) {
        code = data.code;
      }
      if (typeof data.column === 'number') {
        column = data.column;
      }
    } catch {
      // Not JSON (a proxy's page, or Jupyter's own 404 page): keep the status line.
    }
    return new TrackrunApiError(message, response.status, code, column);
  }
}

function enc(part: string): string {
  return encodeURIComponent(part);
}

function queryString(query?: Record<string, unknown>): string {
  if (!query) {
    return '';
  }
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    parts.push(`${enc(key)}=${enc(String(value))}`);
  }
  return parts.join('&');
}
