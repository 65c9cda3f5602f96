// A polling loop: runs one async step at a time, at an interval, backing off on errors.
import { IDisposable } from '@lumino/disposable';

export interface ITickerOptions {
  /** The work of one tick; resolves to the delay (ms) before the next one, or null to stop. */
  step: () => Promise<number | null>;
  /** Called with the error when a tick fails; the ticker then retries with backoff. */
  onError?: (error: unknown) => void;
  /** Longest wait between retries after errors (ms). */
  maxBackoff?: number;
}

/**
 * Runs `step` again and again, never two at once. A failing step is retried after 1 s,
 * 2 s, 4 s... up to `maxBackoff`, so a server that went away is reconnected to on its own.
 */
export class Ticker implements IDisposable {
  constructor(options: ITickerOptions) {
    this._options = options;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Whether a loop is scheduled or running. */
  get isActive(): boolean {
    return this._running || this._timer !== null;
  }

  /** Start the loop (tick at once) if it is not running; restart a stopped one. */
  start(): void {
    if (this._disposed || this._timer !== null) {
      return;
    }
    if (this._running) {
      this._stopped = false;
      return;
    }
    this._schedule(0);
  }

  /** Tick as soon as the current tick (if any) is done. */
  tickNow(): void {
    if (this._disposed) {
      return;
    }
    if (this._running) {
      this._again = true;
      return;
    }
    this._clear();
    this._schedule(0);
  }

  stop(): void {
    this._clear();
    this._again = false;
    this._stopped = true;
  }

  dispose(): void {
    this.stop();
    this._disposed = true;
  }

  private _schedule(delay: number): void {
    this._stopped = false;
    this._timer = window.setTimeout(() => {
      this._timer = null;
      void this._tick();
    }, delay);
  }

  private async _tick(): Promise<void> {
    this._running = true;
    let next: number | null;
    try {
      next = await this._options.step();
      this._failures = 0;
    } catch (error) {
      this._failures++;
      this._options.onError?.(error);
      next = Math.min(
        1000 * 2 ** (this._failures - 1),
        this._options.maxBackoff ?? 15000
      );
    }
    this._running = false;
    if (this._disposed || (this._stopped && !this._again)) {
      return;
    }
    if (this._again) {
      this._again = false;
      this._schedule(0);
    } else if (next !== null) {
      this._schedule(next);
    }
  }

  private _clear(): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _options: ITickerOptions;
  private _timer: number | null = null;
  private _running = false;
  private _again = false;
  private _stopped = false;
  private _failures = 0;
  private _disposed = false;
}
