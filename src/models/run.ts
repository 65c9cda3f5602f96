// One run followed live: its detail, log window, chart spec, code, media and artifact
// previews, polled while it runs.
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ACTIVE_STATUSES,
  IArtifactText,
  IMediaItem,
  IMediaList,
  IRunDetail,
  TrackrunApiError,
  TrackrunClient,
  VegaLiteSpec
} from '../api';
import { chartIsCurrent } from './curves';
import { LogBuffer } from './log';
import { STALL_MS, StepPoll } from './poll';
import { isReproducing } from './reproduction';

/** What changed in a RunModel. */
export type RunChange =
  | 'detail'
  | 'chart'
  | 'log'
  | 'log-reset'
  | 'code'
  | 'media'
  | 'artifact'
  | 'error';

/** An artifact's preview text: loading, loaded, or why not. */
export type ArtifactPreview =
  | { state: 'loading' }
  | ({ state: 'loaded' } & IArtifactText)
  | { state: 'error'; message: string };

export interface IRunModelOptions {
  /** Follow output.log. */
  log: boolean;
  /** Bytes of the log's tail read first (later text is followed from there). */
  logTailBytes?: number;
  /** Fetch the metric chart (and refresh it while the run logs metrics). */
  chart: boolean;
  /** Most points per series in the chart. */
  chartPoints?: number;
  /** Follow the media list (images and figures); followMedia() turns it on later. */
  media?: boolean;
}

/** A problem reaching the run, for views to show. */
export interface IRunProblem {
  message: string;
  /** `run_not_found`, `connection_lost` (no answer, or none for STALL_MS), `http_404`... */
  code: string;
}

const CONNECTION_LOST: IRunProblem = {
  message: 'connection lost, retrying',
  code: 'connection_lost'
};

const POLL_ACTIVE = 1000;
const CHART_EVERY = 3000;
const MEDIA_EVERY = 2000;

/**
 * Follows one run through the REST API until it ends (then stops polling). Errors are
 * retried with backoff, so after a disconnect the model picks up where it was.
 */
export class RunModel implements IDisposable {
  constructor(
    client: TrackrunClient,
    runId: string,
    options: IRunModelOptions
  ) {
    this._client = client;
    this.runId = runId;
    this._options = options;
    this._poll = new StepPoll({
      name: `trackrun:run:${runId}`,
      step: () => this._step(),
      onError: error => this._setProblem(error),
      maxBackoff: 10000
    });
  }

  readonly runId: string;

  get changed(): ISignal<this, RunChange> {
    return this._changed;
  }

  get detail(): IRunDetail | null {
    return this._detail;
  }

  get chart(): VegaLiteSpec | null {
    return this._chart;
  }

  get log(): LogBuffer {
    return this._log;
  }

  get problem(): IRunProblem | null {
    return this._problem;
  }

  /** Whether the server stopped answering (the view says so instead of "live"). */
  get connectionLost(): boolean {
    return this._problem?.code === CONNECTION_LOST.code;
  }

  /** Whether the run may still change (queued or running, or not loaded yet). */
  get isActive(): boolean {
    return this._detail === null || ACTIVE_STATUSES.has(this._detail.status);
  }

  /** Whether the model is polling now. */
  get isFollowing(): boolean {
    return this._poll.isActive;
  }

  /** The run's images (once followMedia was called), by key then step. */
  get media(): IMediaList | null {
    return this._media;
  }

  /** Where the browser loads an image of the run. */
  mediaUrl(item: IMediaItem): string {
    return this._client.mediaUrl(item);
  }

  /** The download URL of an artifact. */
  artifactUrl(name: string): string {
    return this._client.artifactUrl(this.runId, name);
  }

  /** An artifact's preview text, once loadArtifact was called. */
  artifact(name: string): ArtifactPreview | undefined {
    return this._artifacts.get(name);
  }

  /** Text of code/<file>, once loaded with loadCode. */
  code(file: string): string | undefined {
    return this._code.get(file);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Start following (again): after an action such as kill, or a reconnect. */
  start(): void {
    this._poll.start();
  }

  /** Poll now (e.g. right after a kill). */
  refresh(): void {
    this._poll.refresh();
  }

  /** Follow the chart too from now on (a compact view that was expanded). */
  enableChart(): void {
    if (!this._options.chart) {
      this._options = { ...this._options, chart: true };
      this._chartSignature = '';
      this.refresh();
    }
  }

  /** Follow the run's media list too from now on (the Media tab was shown). */
  followMedia(): void {
    if (!this._options.media) {
      this._options = { ...this._options, media: true };
      this._mediaAt = 0;
      this.refresh();
    }
  }

  /** Load an artifact's text for a preview (once; the caller checked its size). */
  async loadArtifact(name: string): Promise<void> {
    if (this._artifacts.has(name)) {
      return;
    }
    this._artifacts.set(name, { state: 'loading' });
    this._changed.emit('artifact');
    try {
      const text = await this._client.artifactText(this.runId, name);
      this._artifacts.set(name, { state: 'loaded', ...text });
    } catch (error) {
      this._artifacts.set(name, {
        state: 'error',
        message: error instanceof Error ? error.message : String(error)
      });
    }
    this._changed.emit('artifact');
  }

  /** Read up to `bytes` of the log before what is held. */
  async loadEarlierLog(bytes = 262144): Promise<void> {
    const start = this._log.start;
    if (start <= 0) {
      return;
    }
    const from = Math.max(0, start - bytes);
    const chunk = await this._client.log(this.runId, from, start - from);
    this._log.prepend(chunk);
    this._changed.emit('log-reset');
  }

  /** Load code/<file> (once). */
  async loadCode(file: string): Promise<void> {
    if (this._code.has(file)) {
      return;
    }
    try {
      this._code.set(file, await this._client.code(this.runId, file));
    } catch (error) {
      this._code.set(
        file,
        `(could not load ${file}: ${error instanceof Error ? error.message : String(error)})`
      );
    }
    this._changed.emit('code');
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _step(): Promise<number | null> {
    // A server that stalls never fails the request: say so after a while, keep waiting.
    const stall = window.setTimeout(
      () => this._setProblem(CONNECTION_LOST),
      STALL_MS
    );
    try {
      return await this._follow();
    } finally {
      window.clearTimeout(stall);
    }
  }

  private async _follow(): Promise<number | null> {
    let detail: IRunDetail;
    try {
      detail = await this._client.run(this.runId);
    } catch (error) {
      if (error instanceof TrackrunApiError && error.code === 'run_not_found') {
        this._setProblem(error);
        return null; // deleted, or in another store: nothing to follow
      }
      throw error;
    }
    const wasActive = this.isActive;
    const before = this._detail ? JSON.stringify(this._detail) : '';
    this._detail = detail;
    if (this._problem) {
      this._problem = null;
      this._changed.emit('error');
    }
    if (JSON.stringify(detail) !== before) {
      this._changed.emit('detail');
    }
    let more = false;
    if (this._options.log) {
      more = await this._readLog();
    }
    if (this._options.chart) {
      await this._readChart(detail, wasActive && !this.isActive);
    }
    if (this._options.media) {
      await this._readMedia(wasActive && !this.isActive);
    }
    if (more) {
      return 0; // far behind a fast-printing run: read on at once
    }
    if (this._chartRetries > 0) {
      return POLL_ACTIVE; // an ended run's chart came back behind: ask once more
    }
    // An ended run is followed on while it is reproduced: the view shows the verdict.
    return this.isActive || isReproducing(detail.reproduction)
      ? POLL_ACTIVE
      : null;
  }

  private async _readLog(): Promise<boolean> {
    const max = 262144;
    if (!this._log.loaded) {
      const tail = this._options.logTailBytes ?? 65536;
      const chunk = await this._client.log(this.runId, -tail, tail);
      this._log.reset(chunk);
      this._changed.emit('log-reset');
      return false;
    }
    const chunk = await this._client.log(this.runId, this._log.end, max);
    if (chunk.offset !== this._log.end) {
      this._log.reset(chunk); // the log was cut or replaced
      this._changed.emit('log-reset');
      return false;
    }
    if (this._log.append(chunk)) {
      this._changed.emit('log');
    }
    return chunk.next_offset < chunk.size;
  }

  private async _readChart(
    detail: IRunDetail,
    justEnded: boolean
  ): Promise<void> {
    const keys = Object.keys(detail.metrics);
    if (!keys.length) {
      return;
    }
    const signature = JSON.stringify(
      keys.map(k => [k, detail.metrics[k].count, detail.metrics[k].last_step])
    );
    const now = Date.now();
    const due =
      justEnded || !this.isActive || now - this._chartAt >= CHART_EVERY;
    if (signature === this._chartSignature || !due) {
      return;
    }
    this._chartAt = now;
    const chart = await this._client.chart(
      this.runId,
      this._options.chartPoints ?? 1000
    );
    const changed = JSON.stringify(chart) !== JSON.stringify(this._chart);
    this._chart = chart;
    // A chart behind the detail's last steps (answered from an older state) is asked for
    // again on the next poll instead of being kept as if it were current.
    if (chartIsCurrent(chart, detail.metrics) || this._chartRetries >= 5) {
      this._chartSignature = signature;
      this._chartRetries = 0;
    } else {
      this._chartAt = 0;
      this._chartRetries++;
    }
    if (changed) {
      this._changed.emit('chart');
    }
  }

  private async _readMedia(justEnded: boolean): Promise<void> {
    const now = Date.now();
    const due =
      this._media === null || justEnded || now - this._mediaAt >= MEDIA_EVERY;
    if (!due || (this._media !== null && !this.isActive && !justEnded)) {
      return;
    }
    this._mediaAt = now;
    const media = await this._client.media(this.runId);
    if (JSON.stringify(media) !== JSON.stringify(this._media)) {
      this._media = media;
      this._changed.emit('media');
    }
  }

  private _setProblem(error: unknown): void {
    const problem: IRunProblem =
      error === CONNECTION_LOST
        ? CONNECTION_LOST
        : error instanceof TrackrunApiError
          ? error.status === 0
            ? CONNECTION_LOST
            : { message: error.message, code: error.code }
          : { message: String(error), code: 'error' };
    if (
      !this._problem ||
      this._problem.message !== problem.message ||
      this._problem.code !== problem.code
    ) {
      this._problem = problem;
      this._changed.emit('error');
    }
  }

  private _client: TrackrunClient;
  private _options: IRunModelOptions;
  private _poll: StepPoll;
  private _detail: IRunDetail | null = null;
  private _chart: VegaLiteSpec | null = null;
  private _chartSignature = '';
  private _chartAt = 0;
  private _chartRetries = 0;
  private _log = new LogBuffer();
  private _code = new Map<string, string>();
  private _media: IMediaList | null = null;
  private _mediaAt = 0;
  private _artifacts = new Map<string, ArtifactPreview>();
  private _problem: IRunProblem | null = null;
  private _disposed = false;
  private _changed = new Signal<this, RunChange>(this);
}
