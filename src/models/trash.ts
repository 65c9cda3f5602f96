// The store's trash as the sidebar shows it: the runs deleted, restorable or deletable for good.
import { ISignal, Signal } from '@lumino/signaling';
import { IDisposable } from '@lumino/disposable';

import { ITrashedRun, TrackrunClient } from '../api';
import { RunsModel } from './runs';

/** Fewest ms between two reads of the trash while the run list keeps changing. */
const MIN_GAP = 1000;

/**
 * The runs in the store's trash. Read when the Trash section opens, after a restore or a
 * deletion, and (while open) when the run list changes, since a deletion anywhere (the
 * panel, the CLI, another browser) moves a run there.
 */
export class TrashModel implements IDisposable {
  constructor(client: TrackrunClient, runs: RunsModel) {
    this._client = client;
    this._runs = runs;
    runs.changed.connect(this._onRunsChanged, this);
  }

  /** The list, whether it is open, or an error changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get runs(): readonly ITrashedRun[] {
    return this._items;
  }

  /** Whether the list has been read at least once. */
  get loaded(): boolean {
    return this._loaded;
  }

  get expanded(): boolean {
    return this._expanded;
  }

  /** Why the last read failed (null when it did not). */
  get error(): string | null {
    return this._error;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Open or close the section (opening reads the trash). */
  setExpanded(expanded: boolean): void {
    if (expanded === this._expanded) {
      return;
    }
    this._expanded = expanded;
    this._changed.emit();
    if (expanded) {
      void this.refresh();
    }
  }

  /** Read the trash now. */
  async refresh(): Promise<void> {
    window.clearTimeout(this._timer);
    this._timer = 0;
    this._last = Date.now();
    try {
      const answer = await this._client.trash();
      this._items = answer.runs;
      this._error = null;
      this._loaded = true;
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    }
    if (!this._disposed) {
      this._changed.emit();
    }
  }

  /** Move `runId` back into the store; the run list shows it again (raises the API's error). */
  async restore(runId: string): Promise<void> {
    try {
      await this._client.restore(runId);
    } finally {
      await this.refresh();
    }
    this._runs.refresh();
  }

  /** Delete `runId` from the trash for good (raises the API's error). */
  async deleteForever(runId: string): Promise<void> {
    try {
      await this._client.deleteForever(runId);
    } finally {
      await this.refresh();
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    window.clearTimeout(this._timer);
    Signal.clearData(this);
  }

  private _onRunsChanged(): void {
    if (!this._expanded || this._timer) {
      return;
    }
    const wait = Math.max(0, this._last + MIN_GAP - Date.now());
    this._timer = window.setTimeout(() => void this.refresh(), wait);
  }

  private _client: TrackrunClient;
  private _runs: RunsModel;
  private _items: ITrashedRun[] = [];
  private _loaded = false;
  private _expanded = false;
  private _error: string | null = null;
  private _timer = 0;
  private _last = 0;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
