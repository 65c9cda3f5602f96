// The typed client of trackrun's REST API (docs/openapi.json): the only code that talks HTTP.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { components, operations } from './wire';

/** Where the API lives, relative to the server's base URL. */
export const API_PATH = 'trackrun/api';

// The wire types are generated from docs/openapi.json into ./wire (`jlpm contract:generate`);
// the names below are the ones the rest of the panel uses.
type Schemas = components['schemas'];
type QueryOf<K extends keyof operations> = NonNullable<
  operations[K]['parameters']['query']
>;

/** Status of a run, as the store records it. */
export type RunStatus = Schemas['RunStatus'];

/** Statuses of a run that may still change. */
export const ACTIVE_STATUSES: ReadonlySet<string> = new Set([
  'queued',
  'running'
]);

/** A metric value: non-finite numbers arrive as strings so the JSON stays valid. */
export type MetricValue = Schemas['MetricValue'];

/** A parameter value: anything JSON. */
export type ParamValue = unknown;

export type IMetricSummary = Schemas['MetricSummary'];

/** One row of `GET runs`. */
export type IRunRow = Schemas['RunRow'];

export type IArtifact = Schemas['Artifact'];

export type IAttempt = Schemas['Attempt'];

export type IGitInfo = Schemas['GitInfo'];

export type IProvenance = Schemas['Provenance'];

/** `GET runs/{id}`. */
export type IRunDetail = Schemas['RunDetail'];

/** `GET status`. */
export type IStatusInfo = Schemas['StatusInfo'];

/** `GET runs`. */
export type IRunsPage = Schemas['RunsPage'];

/** `GET changes`. */
export type IChanges = Schemas['Changes'];

/** `GET runs/{id}/metrics`. */
export type IMetricSeries = Schemas['MetricSeries'];

/** `GET runs/{id}/log`. */
export type ILogChunk = Schemas['LogChunk'];

/** One image of a run, and `GET runs/{id}/media`. */
export type IMediaItem = Schemas['MediaItem'];
export type IMediaList = Schemas['MediaList'];

/** The start of an artifact's file, read for a preview. */
export interface IArtifactText {
  text: string;
  /** The content type the server answered with. */
  contentType: string;
}

/** A table as the API sends it. */
export type ITable = Schemas['Table'];

/** A Vega-Lite spec, passed through untouched to the chart component. */
export type VegaLiteSpec = Schemas['VegaLiteSpec'];

/** `GET compare`. */
export type IComparison = Schemas['Comparison'];

/** `POST runs/{id}/kill`, `DELETE runs/{id}`, `POST runs/{id}/rerun`, `POST runs/{id}/tags`. */
export type IKilled = Schemas['Killed'];
export type IDeleted = Schemas['Deleted'];
export type IRerun = Schemas['Rerun'];
export type ITags = Schemas['Tags'];

/** `PATCH runs/{id}`: a new name and/or note (answered with the run's detail). */
export type IRunEdit = Schemas['RunEditRequest'];

/**
 * `POST runs/{id}/reproduce`, and the `reproduction` of a run's detail: running, failed (in
 * plain words), or done, with the last verdict recorded on the run.
 */
export type IReproductionStarted = Schemas['ReproductionStarted'];
export type IReproductionInfo = Schemas['ReproductionInfo'];
export type IReproductionVerdict = Schemas['ReproductionVerdict'];

/** `GET keys`. */
export type IFilterKeysAnswer = Schemas['FilterKeys'];

/** `GET trash`, and one run in it; `POST trash/{id}/restore`. */
export type ITrashList = Schemas['TrashList'];
export type ITrashedRun = Schemas['TrashedRun'];
export type IRestored = Schemas['Restored'];

/** `GET sweeps`, one sweep in it, and `GET sweeps/{id}` with its parts. */
export type ISweepList = Schemas['SweepList'];
export type ISweepSummary = Schemas['SweepSummary'];
export type ISweepCounts = Schemas['SweepCounts'];
export type ISweepDetail = Schemas['SweepDetail'];
export type ISweepGroup = Schemas['SweepGroup'];
export type ISweepTest = Schemas['SweepTest'];
export type ISweepPoint = Schemas['SweepPoint'];
/** `POST sweeps/{id}/kill`. */
export type ISweepKilled = Schemas['SweepKilled'];
/** Query of `GET sweeps/{id}`: the metric to compare on and its goal. */
export type ISweepQuery = QueryOf<'getSweepsSweepId'>;

/** The error body of every failed request: `{message, code}` (`column` for filters). */
export type IErrorBody = Schemas['ErrorBody'];

/** Query of `GET runs`. */
export type IRunsQuery = QueryOf<'getRuns'>;

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
    const body = await this._json<IChanges>('GET', 'changes', {
      since,
      timeout
    } satisfies QueryOf<'getChanges'>);
    return body.change_token;
  }

  /**
   * `GET changes` as a feed: once the store differs from `since` (or after `timeout` s),
   * the rows that changed or appeared, the ids deleted and the new token. With `filter`,
   * only changed rows matching it come, and `unmatched` names the others. On `reset`, the
   * server cannot tell what changed: refetch the list window. `signal` cancels the wait.
   */
  async changeFeed(
    since: string,
    timeout: number,
    options: { filter?: string; signal?: AbortSignal } = {}
  ): Promise<IChanges> {
    const response = await this._fetch(
      'GET',
      'changes',
      {
        since,
        timeout,
        filter: options.filter
      } satisfies QueryOf<'getChanges'>,
      undefined,
      { signal: options.signal }
    );
    return (await this._body(response)) as IChanges;
  }

  /** `GET keys`: the params and metric keys and tags in the store (filter completion). */
  keys(): Promise<IFilterKeysAnswer> {
    return this._json<IFilterKeysAnswer>('GET', 'keys');
  }

  /** `GET trash`: the runs in the store's trash, newest deletion first. */
  trash(): Promise<ITrashList> {
    return this._json<ITrashList>('GET', 'trash');
  }

  /** `POST trash/{id}/restore`: move a run back from the trash (409: its id is taken). */
  restore(runId: string): Promise<IRestored> {
    return this._json<IRestored>('POST', `trash/${enc(runId)}/restore`);
  }

  /** `DELETE trash/{id}`: delete a run in the trash for good. */
  deleteForever(runId: string): Promise<IDeleted> {
    return this._json<IDeleted>('DELETE', `trash/${enc(runId)}`);
  }

  run(runId: string): Promise<IRunDetail> {
    return this._json<IRunDetail>('GET', `runs/${enc(runId)}`);
  }

  /**
   * `GET runs/{id}/metrics`: each metric's series, downsampled to about `maxPoints` points
   * (all keys when `keys` is empty).
   */
  metrics(
    runId: string,
    keys: string[] = [],
    maxPoints = 2000
  ): Promise<IMetricSeries> {
    return this._json<IMetricSeries>('GET', `runs/${enc(runId)}/metrics`, {
      keys: keys.join(','),
      max_points: maxPoints
    } satisfies QueryOf<'getRunsRunIdMetrics'>);
  }

  /** `GET runs/{id}/chart`: the Vega-Lite spec of the run's metric curves. */
  chart(runId: string, maxPoints = 1000): Promise<VegaLiteSpec> {
    return this._json<VegaLiteSpec>('GET', `runs/${enc(runId)}/chart`, {
      max_points: maxPoints
    } satisfies QueryOf<'getRunsRunIdChart'>);
  }

  /** `GET runs/{id}/log`: the log from byte `offset` (negative: from the end). */
  log(runId: string, offset: number, maxBytes = 65536): Promise<ILogChunk> {
    return this._json<ILogChunk>('GET', `runs/${enc(runId)}/log`, {
      offset,
      max_bytes: maxBytes
    } satisfies QueryOf<'getRunsRunIdLog'>);
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

  /** `GET runs/{id}/media`: the run's images and figures, by key then step. */
  media(runId: string): Promise<IMediaList> {
    return this._json<IMediaList>('GET', `runs/${enc(runId)}/media`);
  }

  /** The URL of one image (`item.url` is relative to the API; the login cookie authenticates it). */
  mediaUrl(item: IMediaItem): string {
    return URLExt.join(this.settings.baseUrl, API_PATH, item.url);
  }

  /**
   * The text of an artifact, for a preview (the caller checks its size first): decoded as
   * UTF-8, with the content type the server gave it.
   */
  async artifactText(runId: string, name: string): Promise<IArtifactText> {
    const response = await this._fetch(
      'GET',
      `runs/${enc(runId)}/artifacts/${enc(name)}`
    );
    if (!response.ok) {
      throw await this._error(response);
    }
    return {
      text: await response.text(),
      contentType: response.headers.get('Content-Type') ?? ''
    };
  }

  compare(runIds: string[]): Promise<IComparison> {
    return this._json<IComparison>('GET', 'compare', {
      ids: runIds.join(',')
    } satisfies QueryOf<'getCompare'>);
  }

  kill(runId: string): Promise<IKilled> {
    return this._json<IKilled>('POST', `runs/${enc(runId)}/kill`);
  }

  delete(runId: string, force: boolean): Promise<IDeleted> {
    return this._json<IDeleted>(
      'DELETE',
      `runs/${enc(runId)}`,
      force ? ({ force: true } satisfies QueryOf<'deleteRunsRunId'>) : undefined
    );
  }

  rerun(runId: string, params?: Record<string, unknown>): Promise<IRerun> {
    const body: Schemas['RerunRequest'] = { params: params ?? {} };
    return this._json<IRerun>(
      'POST',
      `runs/${enc(runId)}/rerun`,
      undefined,
      body
    );
  }

  /**
   * `POST runs/{id}/reproduce`: start reproducing the run on the server (202); its detail
   * then reports the progress. 409 while one runs, 400 when the run cannot be reproduced.
   */
  reproduce(runId: string): Promise<IReproductionStarted> {
    return this._json<IReproductionStarted>(
      'POST',
      `runs/${enc(runId)}/reproduce`
    );
  }

  /** Rename the run and/or set its note (`''` clears it); answers the updated run. */
  editRun(runId: string, edit: IRunEdit): Promise<IRunDetail> {
    return this._json<IRunDetail>(
      'PATCH',
      `runs/${enc(runId)}`,
      undefined,
      edit
    );
  }

  tags(runId: string, add: string[], remove: string[]): Promise<ITags> {
    const body: Schemas['TagsRequest'] = { add, remove };
    return this._json<ITags>(
      'POST',
      `runs/${enc(runId)}/tags`,
      undefined,
      body
    );
  }

  /** `GET sweeps`: every sweep, newest first, with progress and best value so far. */
  sweeps(): Promise<ISweepList> {
    return this._json<ISweepList>('GET', 'sweeps');
  }

  /** `GET sweeps/{id}`: the sweep compared on `query.metric` (default: its own). */
  sweep(sweepId: string, query: ISweepQuery = {}): Promise<ISweepDetail> {
    return this._json<ISweepDetail>('GET', `sweeps/${enc(sweepId)}`, {
      ...query
    });
  }

  /** `POST sweeps/{id}/kill`: cancel its queued runs, then kill its running ones. */
  killSweep(sweepId: string): Promise<ISweepKilled> {
    return this._json<ISweepKilled>('POST', `sweeps/${enc(sweepId)}/kill`);
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
