// Reproducing a run from the panel: starting one on the server, following it until its verdict,
// and the words the notification and the run view's Reproduction line use.
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IReproductionInfo,
  IReproductionStarted,
  IReproductionVerdict,
  TrackrunApiError,
  TrackrunClient
} from '../api';

/** How a reproduction the panel started ended. */
export type ReproductionOutcome =
  /** A verdict was recorded on both runs. */
  | { kind: 'verdict'; verdict: IReproductionVerdict }
  /** No verdict: why, in plain words (the server's message). */
  | { kind: 'failed'; message: string };

/** Whether the server reports a reproduction of the run running now. */
export function isReproducing(
  info: IReproductionInfo | null | undefined
): boolean {
  return info?.state === 'running';
}

/**
 * What a run's `reproduction` says of the reproduction started at `startedAt` (the POST's
 * answer): null while it runs, else its outcome. A verdict recorded before `startedAt` is an
 * earlier one's; a server that no longer knows of the reproduction (it was restarted) says
 * so rather than leaving the panel waiting forever.
 */
export function settledOutcome(
  info: IReproductionInfo | null | undefined,
  startedAt: number
): ReproductionOutcome | null {
  if (isReproducing(info)) {
    return null;
  }
  if (info?.state === 'failed' && (info.started_at ?? 0) >= startedAt) {
    return {
      kind: 'failed',
      message: info.message ?? 'the reproduction failed'
    };
  }
  if (info?.last && (info.last.at ?? 0) >= startedAt) {
    return { kind: 'verdict', verdict: info.last };
  }
  return {
    kind: 'failed',
    message:
      'the server no longer follows this reproduction (was it restarted?); ' +
      'its verdict shows on the run if it still gets recorded'
  };
}

/** The longest message a JupyterLab notification shows (it cuts longer ones). */
export const NOTICE_CHARS = 140;

/** A notification's words: its type, message and the reproducing run, if there is one. */
export interface IReproductionNotice {
  type: 'success' | 'info' | 'warning' | 'error';
  message: string;
  reproductionId: string | null;
}

/** The notification that ends "Reproducing <name>…". */
export function outcomeNotice(
  name: string,
  outcome: ReproductionOutcome
): IReproductionNotice {
  if (outcome.kind === 'failed') {
    return {
      type: 'error',
      message: clip(`Could not reproduce ${name}: ${outcome.message}`),
      reproductionId: null
    };
  }
  const { verdict } = outcome;
  const type =
    verdict.verdict === 'identical'
      ? 'success'
      : verdict.verdict === 'within tolerance'
        ? 'info'
        : 'warning';
  return {
    type,
    message: clip(`Reproduced ${name}: ${verdictSentence(verdict)}`),
    reproductionId: verdict.reproduction ?? null
  };
}

/** The verdict as the CLI prints it, and for `different` the first reason why. */
export function verdictSentence(verdict: IReproductionVerdict): string {
  const text = verdict.text || verdict.verdict;
  if (verdict.verdict !== 'different' || !verdict.reasons.length) {
    return text;
  }
  return `${text}: ${verdict.reasons[0]}`;
}

/** What the run view's Reproduction line shows. */
export interface IReproductionLine {
  state: 'running' | 'failed' | 'done';
  /** The state in words: `running since 14:03:12`, the verdict, or why it failed. */
  text: string;
  /** Why the verdict is not identical (all the reasons). */
  reasons: string[];
  /** The other run of the last verdict, and how it relates to this one. */
  other: { runId: string; relation: 'reproduced by' | 'reproduces' } | null;
  /** When the verdict was recorded (epoch s). */
  at: number | null;
}

/**
 * The Reproduction line of run `runId` (null: never reproduced and none running).
 * `formatTime` writes an epoch time as the view does.
 */
export function reproductionLine(
  info: IReproductionInfo | null | undefined,
  runId: string,
  formatTime: (epoch: number | null) => string
): IReproductionLine | null {
  if (!info) {
    return null;
  }
  const last = info.last;
  // No other run when the script failed before its run started.
  const other = !last
    ? null
    : last.original !== runId
      ? { runId: last.original, relation: 'reproduces' as const }
      : last.reproduction
        ? { runId: last.reproduction, relation: 'reproduced by' as const }
        : null;
  if (info.state === 'running') {
    return {
      state: 'running',
      text: `running since ${formatTime(info.started_at)}…`,
      reasons: [],
      other: null,
      at: null
    };
  }
  if (info.state === 'failed') {
    return {
      state: 'failed',
      text: `failed: ${info.message ?? 'no verdict was recorded'}`,
      reasons: [],
      other,
      at: info.started_at
    };
  }
  return {
    state: 'done',
    text: last ? last.text || last.verdict : 'no verdict',
    reasons: last?.reasons ?? [],
    other,
    at: last?.at ?? null
  };
}

function clip(text: string): string {
  return text.length <= NOTICE_CHARS
    ? text
    : `${text.slice(0, NOTICE_CHARS - 1)}…`;
}

export interface IReproductionTrackerOptions {
  /** Between two looks at a run's detail while it reproduces (ms). */
  interval?: number;
  /** Longest wait between retries after failed requests (ms). */
  maxBackoff?: number;
}

/**
 * Starts reproductions through the API and follows each until it settles, by polling the
 * run's detail (the server keeps the state, so a reloaded page finds it in the run view).
 * One follow per run: asking again while one is out answers the same promise.
 */
export class ReproductionTracker implements IDisposable {
  constructor(
    client: TrackrunClient,
    options: IReproductionTrackerOptions = {}
  ) {
    this._client = client;
    this._interval = options.interval ?? 1500;
    this._maxBackoff = options.maxBackoff ?? 15000;
  }

  /** Emits the id of a run whose reproduction started or settled. */
  get changed(): ISignal<this, string> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Whether this page follows a reproduction of `runId` now. */
  isFollowing(runId: string): boolean {
    return this._follows.has(runId);
  }

  /**
   * Start reproducing `runId` on the server. Rejects with the server's TrackrunApiError:
   * 409 while one runs (or the run does), 400 when it cannot be reproduced, 404.
   */
  async start(runId: string): Promise<IReproductionStarted> {
    const started = await this._client.reproduce(runId);
    this._changed.emit(runId);
    return started;
  }

  /** Follow the reproduction of `runId` started at `startedAt` until it settles. */
  follow(runId: string, startedAt: number): Promise<ReproductionOutcome> {
    const out = this._follows.get(runId);
    if (out) {
      return out;
    }
    const follow = this._follow(runId, startedAt).finally(() => {
      this._follows.delete(runId);
      if (!this._disposed) {
        this._changed.emit(runId);
      }
    });
    this._follows.set(runId, follow);
    return follow;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._wake.forEach(wake => wake());
    Signal.clearData(this);
  }

  private async _follow(
    runId: string,
    startedAt: number
  ): Promise<ReproductionOutcome> {
    let delay = this._interval;
    for (;;) {
      await this._sleep(delay);
      if (this._disposed) {
        return { kind: 'failed', message: 'the page stopped following it' };
      }
      try {
        const detail = await this._client.run(runId);
        const outcome = settledOutcome(detail.reproduction, startedAt);
        if (outcome) {
          return outcome;
        }
        delay = this._interval;
      } catch (error) {
        if (error instanceof TrackrunApiError && error.status === 404) {
          return { kind: 'failed', message: error.message };
        }
        // The server is away (or busy): the reproduction goes on there; ask again later.
        delay = Math.min(Math.max(delay * 2, this._interval), this._maxBackoff);
      }
    }
  }

  private _sleep(ms: number): Promise<void> {
    return new Promise(resolve => {
      const wake = (): void => {
        clearTimeout(timer);
        this._wake.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this._wake.add(wake);
    });
  }

  private _client: TrackrunClient;
  private _interval: number;
  private _maxBackoff: number;
  private _follows = new Map<string, Promise<ReproductionOutcome>>();
  private _wake = new Set<() => void>();
  private _disposed = false;
  private _changed = new Signal<this, string>(this);
}
