// A comparison of 2+ runs (`GET compare`) and their images, refreshed while any still runs.
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ACTIVE_STATUSES,
  IComparison,
  IMediaItem,
  IMediaList,
  TrackrunClient
} from '../api';
import { StepPoll } from './poll';

/** Loads the comparison of `runIds`; polls every few seconds while a run is active. */
export class CompareModel implements IDisposable {
  constructor(client: TrackrunClient, runIds: string[]) {
    this._client = client;
    this.runIds = [...runIds];
    this._poll = new StepPoll({
      name: 'trackrun:compare',
      standbyWhenHidden: true,
      step: () => this._step(),
      onError: error => {
        this._error = error instanceof Error ? error.message : String(error);
        this._changed.emit();
      }
    });
  }

  readonly runIds: readonly string[];

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get comparison(): IComparison | null {
    return this._comparison;
  }

  /** Each run's images, by run id (a run whose list failed to load is missing). */
  get media(): ReadonlyMap<string, IMediaList> {
    return this._media;
  }

  /** Where the browser loads an image. */
  mediaUrl(item: IMediaItem): string {
    return this._client.mediaUrl(item);
  }

  get error(): string | null {
    return this._error;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  start(): void {
    this._poll.start();
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
    const [comparison, ...media] = await Promise.all([
      this._client.compare([...this.runIds]),
      ...this.runIds.map(id => this._client.media(id).catch(() => null))
    ]);
    const text = JSON.stringify([comparison, media]);
    if (text !== this._text || this._error) {
      this._text = text;
      this._comparison = comparison;
      this._media = new Map(
        media.filter((m): m is IMediaList => m !== null).map(m => [m.run_id, m])
      );
      this._error = null;
      this._changed.emit();
    }
    const active = comparison.runs.some(r => ACTIVE_STATUSES.has(r.status));
    return active ? 5000 : null;
  }

  private _client: TrackrunClient;
  private _poll: StepPoll;
  private _comparison: IComparison | null = null;
  private _media = new Map<string, IMediaList>();
  private _text = '';
  private _error: string | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
