// Polling of one model: @lumino/polling's Poll, one step at a time, with a per-step delay.
import { Poll } from '@lumino/polling';

/** A request unanswered this long means the connection is lost (the poll goes on waiting). */
export const STALL_MS = 8000;

/** The first retry after a failed step waits at least this long (ms). */
const MIN_RETRY = 1000;

export interface IStepPollOptions {
  /** A name for debugging (Poll's name). */
  name: string;
  /** The work of one tick; resolves to the delay (ms) before the next one, or null to stop. */
  step: () => Promise<number | null>;
  /** Called with the error when a step fails; the poll then retries with backoff. */
  onError?: (error: unknown) => void;
  /** Longest wait between retries after errors, and longest delay a step may ask for (ms). */
  maxBackoff?: number;
  /** Whether to stand by while the page is hidden (JupyterLab's habit for background polls). */
  standbyWhenHidden?: boolean;
}

/**
 * A Poll whose steps never overlap: a refresh asked for while a step is out runs once that
 * step is done (Poll itself would start a second request at once, and two log reads racing
 * would each append the same text). Errors back off as Poll does (grows ×3 up to maxBackoff),
 * so a server that went away is reconnected to on its own.
 */
export class StepPoll {
  constructor(options: IStepPollOptions) {
    this._options = options;
    const max = options.maxBackoff ?? 15000;
    this._poll = new Poll({
      name: options.name,
      auto: false,
      factory: () => this._run(),
      frequency: { interval: 1000, backoff: true, max },
      standby: options.standbyWhenHidden ? 'when-hidden' : 'never'
    });
  }

  /** Whether a step is scheduled or running. */
  get isActive(): boolean {
    const phase = this._poll.state.phase;
    return (
      phase !== 'stopped' && phase !== 'constructed' && phase !== 'disposed'
    );
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Start polling (a step at once) unless it is running; restarts a stopped poll. */
  start(): void {
    void this._poll.start();
  }

  /** Run a step as soon as the current one (if any) is done, even when stopped. */
  refresh(): void {
    void this._poll.refresh();
  }

  stop(): void {
    void this._poll.stop();
  }

  dispose(): void {
    this._poll.dispose();
  }

  private async _run(): Promise<void> {
    const run = ++this._runs;
    // Wait for a step still out (a refresh cancels Poll's wait, not the request).
    while (this._pending) {
      await this._pending.catch(() => undefined);
    }
    const pending = this._options.step();
    this._pending = pending;
    let next: number | null;
    try {
      next = await pending;
    } catch (error) {
      this._options.onError?.(error);
      // Poll's backoff grows from the current interval: after a step that asked for 0 ms
      // (reading on at once) it would retry at once, again and again. Start from 1 s.
      if (!this._poll.isDisposed && this._poll.frequency.interval < MIN_RETRY) {
        this._poll.frequency = {
          ...this._poll.frequency,
          interval: MIN_RETRY
        };
      }
      throw error; // Poll schedules the retry with backoff
    } finally {
      this._pending = null;
    }
    if (this._poll.isDisposed || run !== this._runs) {
      return; // a newer step was asked for: its result decides what comes next
    }
    if (next === null) {
      void this._poll.stop();
      return;
    }
    const max = this._poll.frequency.max;
    this._poll.frequency = {
      ...this._poll.frequency,
      interval: Math.max(0, Math.min(next, max))
    };
  }

  private _options: IStepPollOptions;
  private _poll: Poll;
  private _pending: Promise<number | null> | null = null;
  private _runs = 0;
}
