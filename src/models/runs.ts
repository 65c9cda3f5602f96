// The runs list: what the sidebar shows (rows, filter, sort, columns, selection) and its polling.
import { ISignal, Signal } from '@lumino/signaling';
import { IDisposable } from '@lumino/disposable';

import { IRunRow, IStatusInfo, TrackrunApiError, TrackrunClient } from '../api';
import { compareValues, sortField, sortValue } from './order';
import { Ticker } from './ticker';

/** How the panel is connected to the server extension. */
export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'ok' }
  /** `trackrun/api/status` answered 404: the server extension is not installed or enabled. */
  | { kind: 'missing'; message: string }
  /** The Jupyter server could not be reached (network down, server stopped). */
  | { kind: 'unreachable'; message: string }
  | { kind: 'error'; message: string };

/** A column of the runs table: a built-in one, `params.KEY` or `metrics.KEY`. */
export type ColumnKey = string;

/** The built-in columns, in display order. */
export const BASE_COLUMNS: readonly ColumnKey[] = [
  'status',
  'name',
  'notebook',
  'started',
  'duration'
];

export interface ISort {
  key: ColumnKey;
  desc: boolean;
}

export interface IFilterError {
  message: string;
  /** 1-based column in the filter text, when the server said where. */
  column: number | null;
}

/** How a click changes the selection. */
export type SelectMode = 'single' | 'toggle' | 'range';

/** Most rows fetched at once (the API's maximum page). */
export const MAX_ROWS = 10000;
/** Poll interval while the page is visible, and its floor under load (ms). */
const POLL_VISIBLE = 1500;
const POLL_HIDDEN = 10000;

/**
 * State of the runs sidebar. Polls `GET runs` with If-None-Match, so an unchanged store
 * costs a 304 and emits nothing; reconnects with backoff after errors.
 */
export class RunsModel implements IDisposable {
  constructor(client: TrackrunClient) {
    this._client = client;
    this._ticker = new Ticker({
      step: () => this._step(),
      onError: error => this._onError(error)
    });
  }

  /** Rows changed (a new page arrived). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Selection changed. */
  get selectionChanged(): ISignal<this, void> {
    return this._selectionChanged;
  }

  /** Connection, filter error, sort, columns or server status changed. */
  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  get rows(): readonly IRunRow[] {
    return this._rows;
  }

  /** Runs matching the filter in the store (may exceed rows.length). */
  get total(): number {
    return this._total;
  }

  /** Whether at least one page has arrived since the filter last changed. */
  get loaded(): boolean {
    return this._loaded;
  }

  get connection(): ConnectionState {
    return this._connection;
  }

  get serverStatus(): IStatusInfo | null {
    return this._status;
  }

  /** Runs running or queued now, as far as the last poll knows. */
  get activeCount(): number {
    return this._status ? this._status.running + this._status.queued : 0;
  }

  get filter(): string {
    return this._filter;
  }

  get filterError(): IFilterError | null {
    return this._filterError;
  }

  get sort(): ISort | null {
    return this._sort;
  }

  /** Params and metrics columns shown after the built-in ones. */
  get extraColumns(): readonly ColumnKey[] {
    return this._extraColumns ?? this._autoColumns();
  }

  /** Every params.KEY and metrics.KEY seen in the current rows, sorted. */
  get availableColumns(): readonly ColumnKey[] {
    return this._available;
  }

  get selection(): ReadonlySet<string> {
    return this._selection;
  }

  /** The run last clicked or moved to with the keyboard (where keyboard moves start). */
  get cursor(): string | null {
    return this._cursor;
  }

  /** Selected rows in display order. */
  get selectedRows(): IRunRow[] {
    return this._rows.filter(r => this._selection.has(r.run_id));
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Start polling (idempotent). */
  start(): void {
    this._ticker.start();
  }

  /** Poll now. */
  refresh(): void {
    this._ticker.tickNow();
  }

  setFilter(text: string): void {
    if (text === this._filter) {
      return;
    }
    this._filter = text;
    this._etag = null;
    this._stateChanged.emit();
    this._ticker.tickNow();
  }

  /** Sort by `key`; the same key again flips the direction. */
  toggleSort(key: ColumnKey): void {
    if (this._sort && this._sort.key === key) {
      this._sort = { key, desc: !this._sort.desc };
    } else {
      // Times and numbers are most useful newest/largest first; names A to Z.
      this._sort = { key, desc: key !== 'name' && key !== 'notebook' };
    }
    this._etag = null;
    // Sorted here at once (the server's order replaces it when its answer comes): with
    // thousands of runs a click answers in a frame, not after a full reload.
    const rows = [...this._rows];
    const value = sortValue(this._sort.key);
    const sign = this._sort.desc ? -1 : 1;
    rows.sort((a, b) => compareValues(value(a), value(b), sign));
    this._setRows(rows, this._total);
    this._stateChanged.emit();
    this._ticker.tickNow();
  }

  setExtraColumns(columns: ColumnKey[]): void {
    this._extraColumns = [...columns];
    this._stateChanged.emit();
  }

  toggleColumn(column: ColumnKey): void {
    const current = [...this.extraColumns];
    const at = current.indexOf(column);
    if (at >= 0) {
      current.splice(at, 1);
    } else {
      current.push(column);
    }
    this.setExtraColumns(current);
  }

  /** Change the selection as a click on `runId` would (`range` extends from the anchor). */
  select(runId: string, mode: SelectMode): void {
    this._cursor = runId;
    if (mode === 'single') {
      this._selection = new Set([runId]);
      this._anchor = runId;
    } else if (mode === 'toggle') {
      const next = new Set(this._selection);
      if (next.has(runId)) {
        next.delete(runId);
      } else {
        next.add(runId);
      }
      this._selection = next;
      this._anchor = runId;
    } else {
      const ids = this._rows.map(r => r.run_id);
      const from = this._anchor ? ids.indexOf(this._anchor) : -1;
      const to = ids.indexOf(runId);
      if (from < 0 || to < 0) {
        this.select(runId, 'single');
        return;
      }
      const [lo, hi] = from < to ? [from, to] : [to, from];
      this._selection = new Set(ids.slice(lo, hi + 1));
    }
    this._selectionChanged.emit();
  }

  /** Make sure `runId` is selected (right-click on an unselected row selects only it). */
  ensureSelected(runId: string): void {
    if (!this._selection.has(runId)) {
      this.select(runId, 'single');
    }
  }

  selectAll(): void {
    this._selection = new Set(this._rows.map(r => r.run_id));
    this._selectionChanged.emit();
  }

  clearSelection(): void {
    if (this._selection.size) {
      this._selection = new Set();
      this._selectionChanged.emit();
    }
  }

  /** The row of `runId` if it is in the current page. */
  row(runId: string): IRunRow | undefined {
    return this._byId.get(runId);
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._ticker.dispose();
    Signal.clearData(this);
  }

  private async _step(): Promise<number> {
    if (this._connection.kind !== 'ok' || this._status === null) {
      this._status = await this._client.status();
      this._setConnection({ kind: 'ok' });
    }
    const filter = this._filter;
    const orderBy = this._orderBy();
    const started = performance.now();
    let answer;
    try {
      answer = await this._client.runs(
        {
          filter: filter.trim(),
          order_by: orderBy,
          limit: MAX_ROWS
        },
        this._etag
      );
    } catch (error) {
      if (
        error instanceof TrackrunApiError &&
        error.code === 'invalid_filter' &&
        filter === this._filter
      ) {
        this._filterError = { message: error.message, column: error.column };
        this._loaded = true;
        this._stateChanged.emit();
        return this._interval();
      }
      throw error;
    }
    if (filter !== this._filter || orderBy !== this._orderBy()) {
      return 0; // the filter or order changed while this request was out: ask again
    }
    if (this._filterError) {
      this._filterError = null;
      this._stateChanged.emit();
    }
    if (answer !== null) {
      const elapsed = performance.now() - started;
      // A large store under live updates: poll less often than a full page takes to load.
      this._cost = elapsed;
      this._etag = answer.etag;
      this._loaded = true;
      if (answer.page.change_token !== this._token) {
        this._token = answer.page.change_token;
        this._status = await this._client.status();
        this._stateChanged.emit();
      }
      this._setRows(answer.page.runs, answer.page.total);
    }
    return this._interval();
  }

  private _interval(): number {
    const base =
      typeof document !== 'undefined' && document.hidden
        ? POLL_HIDDEN
        : POLL_VISIBLE;
    return Math.max(base, Math.min(this._cost * 4, 15000));
  }

  private _orderBy(): string {
    if (!this._sort) {
      return '';
    }
    const field = sortField(this._sort.key);
    return `${field} ${this._sort.desc ? 'desc' : 'asc'}`;
  }

  private _setRows(rows: IRunRow[], total: number): void {
    this._rows = rows;
    this._total = total;
    this._byId = new Map(rows.map(r => [r.run_id, r]));
    const keys = new Set<string>();
    for (const row of rows) {
      for (const k of Object.keys(row.params)) {
        keys.add(`params.${k}`);
      }
      for (const k of Object.keys(row.metrics)) {
        keys.add(`metrics.${k}`);
      }
    }
    const available = [...keys].sort();
    if (available.join('\n') !== this._available.join('\n')) {
      this._available = available;
      this._stateChanged.emit();
    }
    // Runs that disappeared (deleted, filtered out) leave the selection.
    const kept = [...this._selection].filter(id => this._byId.has(id));
    if (kept.length !== this._selection.size) {
      this._selection = new Set(kept);
      this._selectionChanged.emit();
    }
    this._changed.emit();
  }

  private _autoColumns(): ColumnKey[] {
    // Until the user picks columns: the first two metrics, so a fresh store shows results.
    return this._available.filter(c => c.startsWith('metrics.')).slice(0, 2);
  }

  private _onError(error: unknown): void {
    this._status = null;
    if (error instanceof TrackrunApiError) {
      if (error.status === 404 && error.code !== 'run_not_found') {
        this._setConnection({
          kind: 'missing',
          message:
            'The trackrun server extension is not running on this Jupyter server.'
        });
      } else if (error.status === 0) {
        this._setConnection({ kind: 'unreachable', message: error.message });
      } else {
        this._setConnection({ kind: 'error', message: error.message });
      }
    } else {
      this._setConnection({ kind: 'error', message: String(error) });
    }
  }

  private _setConnection(state: ConnectionState): void {
    const same =
      state.kind === this._connection.kind &&
      ('message' in state ? state.message : '') ===
        ('message' in this._connection ? this._connection.message : '');
    if (!same) {
      this._connection = state;
      this._stateChanged.emit();
    }
  }

  private _client: TrackrunClient;
  private _ticker: Ticker;
  private _rows: IRunRow[] = [];
  private _byId = new Map<string, IRunRow>();
  private _total = 0;
  private _loaded = false;
  private _etag: string | null = null;
  private _token: string | null = null;
  private _cost = 0;
  private _status: IStatusInfo | null = null;
  private _connection: ConnectionState = { kind: 'connecting' };
  private _filter = '';
  private _filterError: IFilterError | null = null;
  private _sort: ISort | null = null;
  private _extraColumns: ColumnKey[] | null = null;
  private _available: ColumnKey[] = [];
  private _selection: Set<string> = new Set();
  private _anchor: string | null = null;
  private _cursor: string | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _selectionChanged = new Signal<this, void>(this);
  private _stateChanged = new Signal<this, void>(this);
}
