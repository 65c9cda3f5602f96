// The store's sweeps (GET sweeps): each one's name, progress and best value so far, read again when its runs change.
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { ISweepCounts, ISweepSummary, TrackrunClient } from '../api';

/** Reads of `GET sweeps` are at least this far apart (ms): a running sweep changes often. */
export const SWEEPS_INTERVAL = 1000;

/** The sweeps of the store, by id. `refresh` asks for them again (coalesced, throttled). */
export class SweepSummaries implements IDisposable {
  constructor(client: TrackrunClient, interval = SWEEPS_INTERVAL) {
    this._client = client;
    this._interval = interval;
  }

  /** The sweeps were read (and something in them changed). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Every sweep, newest first. */
  get all(): readonly ISweepSummary[] {
    return this._all;
  }

  /** Whether a first answer came. */
  get loaded(): boolean {
    return this._loaded;
  }

  /** Why the last read failed, until one succeeds. */
  get error(): string | null {
    return this._error;
  }

  /** The sweep `sweepId`, if the store has its record. */
  summary(sweepId: string): ISweepSummary | undefined {
    return this._byId.get(sweepId);
  }

  /** The sweep called `name`, if any. */
  byName(name: string): ISweepSummary | undefined {
    return this._all.find(s => s.name === name);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Read the sweeps again soon: at once when the last read was long enough ago, else once
   * the interval has passed; calls meanwhile are one read. Resolves when it is done.
   */
  refresh(): Promise<void> {
    if (this._pending) {
      return this._pending;
    }
    const wait = Math.max(0, this._last + this._interval - Date.now());
    this._pending = new Promise<void>(resolve => {
      this._timer = setTimeout(() => {
        this._timer = null;
        void this._read().finally(() => {
          this._pending = null;
          resolve();
        });
      }, wait);
    });
    return this._pending;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._timer !== null) {
      clearTimeout(this._timer);
    }
    Signal.clearData(this);
  }

  private async _read(): Promise<void> {
    this._last = Date.now();
    try {
      const answer = await this._client.sweeps();
      if (this._disposed) {
        return;
      }
      const text = JSON.stringify(answer.sweeps);
      this._loaded = true;
      if (text === this._text && this._error === null) {
        return;
      }
      this._text = text;
      this._all = answer.sweeps;
      this._byId = new Map(answer.sweeps.map(s => [s.sweep_id, s]));
      this._error = null;
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    }
    if (!this._disposed) {
      this._changed.emit();
    }
  }

  private _client: TrackrunClient;
  private _interval: number;
  private _all: ISweepSummary[] = [];
  private _byId = new Map<string, ISweepSummary>();
  private _text = '';
  private _loaded = false;
  private _error: string | null = null;
  private _last = 0;
  private _pending: Promise<void> | null = null;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}

/** Runs still to end: queued or running. */
export function activeOf(counts: ISweepCounts): number {
  return counts.queued + counts.running;
}

/** A sweep's progress in words: `11/18 done · 2 running · 4 queued · 1 failed` (zeros left out). */
export function progressText(counts: ISweepCounts): string {
  const total = counts.queued + counts.running + counts.done + counts.failed;
  const parts = [`${counts.done}/${total} done`];
  if (counts.running) {
    parts.push(`${counts.running} running`);
  }
  if (counts.queued) {
    parts.push(`${counts.queued} queued`);
  }
  if (counts.failed) {
    parts.push(`${counts.failed} failed`);
  }
  return parts.join(' · ');
}
