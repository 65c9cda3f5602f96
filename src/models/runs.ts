// The runs list: what the sidebar shows (rows, filter, sort) and how it follows the store.
import { ISignal, Signal } from '@lumino/signaling';
import { IDisposable } from '@lumino/disposable';

import {
  IChanges,
  IRunRow,
  IStatusInfo,
  TrackrunApiError,
  TrackrunClient
} from '../api';
import { ColumnKey } from './columns';
import { IFilterKeys } from './completion';
import { applyChanges, covers, windowAround } from './feed';
import { toServerFilter } from './filter';
import { ILayoutState, ColumnLayout } from './layout';
import { ISort, isSortable, sortField, sortRows } from './order';
import { STALL_MS, StepPoll } from './poll';
import { RunSelection, SelectMode } from './selection';

export { ISort, SelectMode, sortRows };
export {
  BASE_COLUMNS,
  ColumnKey,
  MIN_COLUMN_WIDTH,
  PINNED_COLUMNS,
  columnsOf,
  defaultColumns
} from './columns';

/** How the panel is connected to the server extension. */
export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'ok' }
  /** `trackrun/api/status` answered 404: the server extension is not installed or enabled. */
  | { kind: 'missing'; message: string }
  /** The Jupyter server could not be reached (network down, server stopped). */
  | { kind: 'unreachable'; message: string }
  | { kind: 'error'; message: string };

/** How the table looks, kept per store across reloads (see models/viewstate.ts). */
export interface ITableState extends ILayoutState {
  filter: string;
  sort: ISort | null;
}

export interface IFilterError {
  message: string;
  /** 1-based column in the filter text, when the server said where. */
  column: number | null;
}

/** Stores with more matching runs than this are fetched in windows (visible rows + margin). */
export const WINDOW_THRESHOLD = 2000;
/** The first window fetched, before the size of the list is known. */
const FIRST_WINDOW = 200;
/** Rows fetched above and below the visible ones in a window. */
const MARGIN = 100;
/** Seconds the server holds a change-feed request when nothing changes. */
const FEED_TIMEOUT = 10;
/** The filter box's completion names are read again at most this often (ms). */
const KEYS_MAX_AGE = 10000;
/** Pause after applying changes, so that bursts arrive batched (ms). */
const FEED_PAUSE = 300;

/**
 * State of the runs sidebar. Fetches the list (whole, or in windows around the visible
 * rows in a long one), then follows the store's change feed, applying changed rows in
 * place; an unchanged store costs an empty long poll and emits nothing. Reconnects with
 * backoff after errors. Columns live in `layout`, the selection in `selected`.
 */
export class RunsModel implements IDisposable {
  constructor(client: TrackrunClient) {
    this._client = client;
    this._poll = new StepPoll({
      name: 'trackrun:runs',
      standbyWhenHidden: true,
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

  /** Position of rows[0] in the whole list (0 unless the list is fetched in windows). */
  get offset(): number {
    return this._offset;
  }

  /** `GET runs` requests made (list fetches, not change-feed polls): for tests and benches. */
  get listFetches(): number {
    return this._listFetches;
  }

  /**
   * The table shows positions `first`..`last` (end excluded): in a list fetched in
   * windows, fetch the window around them when the rows held do not cover them.
   */
  setVisibleRange(first: number, last: number): void {
    this._range = [first, last];
    if (!this._whole && this._loaded && !this._covered()) {
      this._relist();
    }
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

  /** The store's params and metric keys and tags, for the filter box's completions. */
  get filterKeys(): IFilterKeys {
    return this._keys;
  }

  /** The filter keys changed. */
  get keysChanged(): ISignal<this, void> {
    return this._keysChanged;
  }

  /** Read the filter keys from the store, unless read in the last few seconds. */
  loadFilterKeys(): void {
    const now = Date.now();
    if (now - this._keysAt < KEYS_MAX_AGE) {
      return;
    }
    this._keysAt = now;
    this._client
      .keys()
      .then(keys => {
        this._keys = keys;
        this._keysChanged.emit();
      })
      .catch(() => {
        this._keysAt = 0; // completions are a help: try again on the next focus
      });
  }

  get filterError(): IFilterError | null {
    return this._filterError;
  }

  /**
   * Whether the rows shown answer an earlier filter than the one typed (the typed one is
   * invalid, or its answer has not come yet).
   */
  get stale(): boolean {
    return this._loaded && this._rowsFilter !== toServerFilter(this._filter);
  }

  get sort(): ISort | null {
    return this._sort;
  }

  /** The table's columns: which show, in what order and how wide. */
  readonly layout = new ColumnLayout(() => {
    this._stateChanged.emit();
    this._tableStateChanged.emit();
  });

  /** The selected runs (and the cursor keyboard moves start from). */
  readonly selected = new RunSelection(
    () => this._rows.map(r => r.run_id),
    () => this._selectionChanged.emit()
  );

  /** The table's look (filter, sort, columns, widths) to keep across reloads. */
  get tableState(): ITableState {
    return { filter: this._filter, sort: this._sort, ...this.layout.state };
  }

  /** The table's look changed (by the user): time to save it. */
  get tableStateChanged(): ISignal<this, void> {
    return this._tableStateChanged;
  }

  /** Bring back a saved look (unknown or malformed parts are ignored). */
  restoreTableState(state: Partial<ITableState>): void {
    this.layout.restore(state);
    const sort = state.sort;
    if (
      sort &&
      typeof sort.key === 'string' &&
      typeof sort.desc === 'boolean' &&
      isSortable(sort.key)
    ) {
      this._sort = { key: sort.key, desc: sort.desc };
    }
    if (typeof state.filter === 'string') {
      this._filter = state.filter;
    }
    this._relist();
    this._stateChanged.emit();
  }

  /** Selected rows in display order. */
  get selectedRows(): IRunRow[] {
    return this._rows.filter(r => this.selected.ids.has(r.run_id));
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Start polling (idempotent). */
  start(): void {
    this._poll.start();
  }

  /** Poll now. */
  refresh(): void {
    this._poll.refresh();
  }

  setFilter(text: string): void {
    if (text === this._filter) {
      return;
    }
    this._filter = text;
    this._stateChanged.emit();
    this._tableStateChanged.emit();
    this._relist(); // also restarts polling stopped by an invalid filter
  }

  /** Sort by `key`; the same key again flips the direction. */
  toggleSort(key: ColumnKey): void {
    if (!isSortable(key)) {
      return;
    }
    if (this._sort && this._sort.key === key) {
      this._sort = { key, desc: !this._sort.desc };
    } else {
      // Times and numbers are most useful newest/largest first; names A to Z.
      this._sort = { key, desc: key !== 'name' && key !== 'notebook' };
    }
    // The whole list is sorted here at once, and stays so (changes are applied in this
    // order): a click answers in a frame, not after a reload. A window of a longer list
    // must come from the server in the new order.
    if (this._whole) {
      this._setRows(
        sortRows(this._rows, this._sort),
        this._total,
        this._rowsFilter
      );
      this._orderOfRows = this._orderBy();
    } else {
      this._relist();
    }
    this._stateChanged.emit();
    this._tableStateChanged.emit();
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
    this._feedAbort?.abort();
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _step(): Promise<number | null> {
    this._relistAsked = false;
    const listing = this._mustList();
    // A server that stalls never fails the request: say so after a while, keep waiting.
    // A change-feed request is held by the server up to FEED_TIMEOUT by design.
    const stall = window.setTimeout(
      () =>
        this._setConnection({
          kind: 'unreachable',
          message: 'The Jupyter server has not answered for a while.'
        }),
      STALL_MS + (listing ? 0 : FEED_TIMEOUT * 1000)
    );
    try {
      if (this._connection.kind !== 'ok' || this._status === null) {
        this._status = await this._client.status();
        this._setConnection({ kind: 'ok' });
      }
      return await (listing ? this._list() : this._follow());
    } finally {
      window.clearTimeout(stall);
    }
  }

  /** Whether the next step fetches the list (else it follows the change feed). */
  private _mustList(): boolean {
    return (
      this._token === null ||
      this._rowsFilter !== toServerFilter(this._filter) ||
      this._orderOfRows !== this._orderBy() ||
      !this._covered() ||
      // A window of a list short enough to hold whole (its size was not known yet).
      (!this._whole && this._total <= WINDOW_THRESHOLD)
    );
  }

  /** Whether the rows held cover the visible ones (always, for the whole list). */
  private _covered(): boolean {
    if (this._whole) {
      return true;
    }
    return covers(
      { rows: this._rows, offset: this._offset, total: this._total },
      this._range[0],
      this._range[1]
    );
  }

  /** Fetch the list (or its window) again at once, cancelling a change-feed poll. */
  private _relist(): void {
    this._token = null;
    this._feedAbort?.abort();
    // One step asked for is enough (a scroll asks once per frame): it lists what is needed
    // when it runs.
    if (!this._relistAsked) {
      this._relistAsked = true;
      this._poll.refresh();
    }
  }

  /** `GET runs`: the whole list when it is short, else the window around the visible rows. */
  private async _list(): Promise<number | null> {
    const filter = this._filter;
    const query = toServerFilter(filter);
    const orderBy = this._orderBy();
    // The size of the list for this filter is known once an answer came; guess until then.
    const known = this._rowsFilter === query && this._loaded;
    const small = known && this._total <= WINDOW_THRESHOLD;
    const { offset, limit } = small
      ? { offset: 0, limit: WINDOW_THRESHOLD }
      : windowAround(
          this._range[0],
          Math.max(this._range[1], this._range[0] + FIRST_WINDOW - MARGIN),
          MARGIN
        );
    let answer;
    this._listFetches++;
    try {
      answer = await this._client.runs(
        { filter: query, order_by: orderBy, limit, offset },
        null
      );
    } catch (error) {
      if (
        error instanceof TrackrunApiError &&
        error.code === 'invalid_filter' &&
        filter === this._filter
      ) {
        // The same text gives the same 400: stop polling until the filter changes.
        this._filterError = {
          message: error.message,
          column: query === filter.trim() ? error.column : null
        };
        this._loaded = true;
        this._stateChanged.emit();
        return null;
      }
      throw error;
    }
    if (filter !== this._filter || orderBy !== this._orderBy() || !answer) {
      return 0; // the filter or order changed while this request was out: ask again
    }
    const page = answer.page;
    if (this._filterError) {
      this._filterError = null;
      this._stateChanged.emit();
    }
    this._loaded = true;
    if (page.change_token !== this._seenToken) {
      this._seenToken = page.change_token;
      this._status = await this._client.status();
      this._stateChanged.emit();
    }
    const stale = this._rowsFilter !== query;
    this._offset = page.offset;
    this._whole = page.offset === 0 && page.runs.length >= page.total;
    this._token = page.change_token;
    this._orderOfRows = orderBy;
    this._setRows(page.runs, page.total, query);
    if (stale) {
      this._stateChanged.emit();
    }
    return 0; // then follow the change feed (or fetch the whole of a short list)
  }

  /** One long poll of `GET changes`, applied to the rows held. */
  private async _follow(): Promise<number | null> {
    const token = this._token as string;
    const query = this._rowsFilter;
    const abort = new AbortController();
    this._feedAbort = abort;
    let answer: IChanges;
    try {
      answer = await this._client.changeFeed(token, FEED_TIMEOUT, {
        filter: query,
        signal: abort.signal
      });
    } catch (error) {
      if (abort.signal.aborted) {
        return 0; // cancelled for a new filter, order or window: list at once
      }
      throw error;
    } finally {
      if (this._feedAbort === abort) {
        this._feedAbort = null;
      }
    }
    if (this._token !== token || this._rowsFilter !== query) {
      return 0;
    }
    const outcome = applyChanges(
      { rows: this._rows, offset: this._offset, total: this._total },
      answer,
      this._sort
    );
    if (outcome.kind === 'refetch') {
      this._token = null;
      return 0;
    }
    this._token = answer.change_token;
    if (outcome.kind === 'same') {
      return 0;
    }
    // The rows first: the token now says they are applied, whatever the status call does.
    this._setRows(outcome.rows, outcome.total, query, outcome.removed);
    if (outcome.statusChanged) {
      this._status = await this._client.status();
      this._stateChanged.emit();
    }
    return FEED_PAUSE;
  }

  private _orderBy(): string {
    if (!this._sort) {
      return '';
    }
    const field = sortField(this._sort.key);
    return `${field} ${this._sort.desc ? 'desc' : 'asc'}`;
  }

  private _setRows(
    rows: IRunRow[],
    total: number,
    filter: string,
    removed: readonly string[] = []
  ): void {
    this._rows = rows;
    this._total = total;
    this._rowsFilter = filter;
    this._byId = new Map(rows.map(r => [r.run_id, r]));
    if (this.layout.follow(rows)) {
      this._stateChanged.emit();
    }
    // Runs deleted or filtered out leave the selection; in a window, runs merely scrolled
    // out of it stay selected.
    this.selected.retain(id =>
      this._whole ? this._byId.has(id) : !removed.includes(id)
    );
    this._changed.emit();
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
  private _poll: StepPoll;
  private _rows: IRunRow[] = [];
  private _byId = new Map<string, IRunRow>();
  private _total = 0;
  private _loaded = false;
  /** The change token the rows held answer (null: fetch the list next). */
  private _token: string | null = null;
  /** The last token whose status counts were fetched. */
  private _seenToken: string | null = null;
  private _offset = 0;
  /** Whether the rows held are the whole list (else a window of it). */
  private _whole = true;
  /** The order_by the rows held were fetched (or sorted) in. */
  private _orderOfRows = '';
  private _range: [number, number] = [0, FIRST_WINDOW - MARGIN];
  private _feedAbort: AbortController | null = null;
  private _relistAsked = false;
  private _keys: IFilterKeys = { params: [], metrics: [], tags: [] };
  private _keysAt = 0;
  private _keysChanged = new Signal<this, void>(this);
  private _listFetches = 0;
  private _status: IStatusInfo | null = null;
  private _connection: ConnectionState = { kind: 'connecting' };
  private _filter = '';
  private _filterError: IFilterError | null = null;
  private _sort: ISort | null = null;
  private _tableStateChanged = new Signal<this, void>(this);
  private _rowsFilter = '';
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _selectionChanged = new Signal<this, void>(this);
  private _stateChanged = new Signal<this, void>(this);
}
