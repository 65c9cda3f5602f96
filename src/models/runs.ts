// The runs list: what the sidebar shows (rows, filter, sort) and how it follows the store.
import { ISignal, Signal } from '@lumino/signaling';
import { IDisposable } from '@lumino/disposable';

import { IRunRow, IStatusInfo, TrackrunClient } from '../api';
import { ColumnKey } from './columns';
import { IFilterKeys } from './completion';
import { Connection, ConnectionState } from './connection';
import { toServerFilter } from './filter';
import { FilterKeys } from './filterkeys';
import { ILayoutState, ColumnLayout } from './layout';
import { FEED_TIMEOUT, IFilterError, RunListing } from './listing';
import { ISort, isSortable, sortRows } from './order';
import { STALL_MS, StepPoll } from './poll';
import { RunSelection, SelectMode } from './selection';
import { lineKeys, sweepOfKey } from './sweeplines';
import { SweepSummaries } from './sweeps';

export { ConnectionState, IFilterError, ISort, SelectMode, sortRows };
export { WINDOW_THRESHOLD } from './listing';
export {
  BASE_COLUMNS,
  ColumnKey,
  MIN_COLUMN_WIDTH,
  PINNED_COLUMNS,
  columnsOf,
  defaultColumns
} from './columns';

/** How the table looks, kept per store across reloads (see models/viewstate.ts). */
export interface ITableState extends ILayoutState {
  filter: string;
  sort: ISort | null;
}

/**
 * State of the runs sidebar. Its rows live in a `RunListing`, which fetches the list (whole,
 * or in windows around the visible rows in a long one), then follows the store's change
 * feed, applying changed rows in place; an unchanged store costs an empty long poll and
 * emits nothing. The model's poll drives it and reconnects with backoff after errors
 * (`Connection` tells what went wrong). Columns live in `layout`, the selection in
 * `selected`.
 */
export class RunsModel implements IDisposable {
  constructor(client: TrackrunClient) {
    this._connection = new Connection(client, () => this._stateChanged.emit());
    this._keys = new FilterKeys(client, () => this._keysChanged.emit());
    this.sweeps = new SweepSummaries(client);
    this._listing = new RunListing({
      client,
      wanted: () => ({
        filter: this._filter,
        sort: this._sort,
        sweeps: this._flatHolds > 0 ? null : [...this._expanded]
      }),
      onRows: removed => this._onRows(removed),
      onState: () => this._stateChanged.emit(),
      onStatusStale: () => this._connection.readStatus(),
      onSweepsStale: () => void this.sweeps.refresh()
    });
    this._poll = new StepPoll({
      name: 'trackrun:runs',
      standbyWhenHidden: true,
      step: () => this._step(),
      onError: error => this._connection.fail(error)
    });
  }

  /** The store's sweeps: names, progress and best values of the sweep lines. */
  readonly sweeps: SweepSummaries;

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
    return this._listing.rows;
  }

  /** Runs matching the filter in the store (may exceed rows.length). */
  get total(): number {
    return this._listing.total;
  }

  /** Position of rows[0] in the whole list (0 unless the list is fetched in windows). */
  get offset(): number {
    return this._listing.offset;
  }

  /** Indexes in `rows` of the lines that stand for a whole sweep (its first run's row). */
  get sweepLines(): ReadonlySet<number> {
    return this._listing.sweepLines;
  }

  /** The sweeps whose runs show under their line. */
  get expandedSweeps(): ReadonlySet<string> {
    return this._expanded;
  }

  /** Show (`open`) or hide the runs of `sweepId` under its line (default: the other way). */
  toggleSweep(sweepId: string, open?: boolean): void {
    const now = this._expanded.has(sweepId);
    if ((open ?? !now) === now) {
      return;
    }
    const next = new Set(this._expanded);
    if (now) {
      next.delete(sweepId);
    } else {
      next.add(sweepId);
    }
    this._expanded = next;
    this._stateChanged.emit();
    this._relist();
  }

  /**
   * List every run on its own line (no sweep lines) until the returned hold is disposed:
   * the full-width table needs every run to group them its way.
   */
  holdFlat(): IDisposable {
    this._flatHolds++;
    this._relist();
    let held = true;
    return {
      get isDisposed() {
        return !held;
      },
      dispose: () => {
        if (held) {
          held = false;
          this._flatHolds--;
          this._relist();
        }
      }
    };
  }

  /** `GET runs` requests made (list fetches, not change-feed polls): for tests and benches. */
  get listFetches(): number {
    return this._listing.listFetches;
  }

  /**
   * The table shows positions `first`..`last` (end excluded): in a list fetched in
   * windows, fetch the window around them when the rows held do not cover them.
   */
  setVisibleRange(first: number, last: number): void {
    if (this._listing.show(first, last)) {
      this._relist();
    }
  }

  /** Whether the first answer (rows, or a refused filter) has come. */
  get loaded(): boolean {
    return this._listing.loaded;
  }

  get connection(): ConnectionState {
    return this._connection.state;
  }

  get serverStatus(): IStatusInfo | null {
    return this._connection.status;
  }

  /** Runs running or queued now, as far as the last poll knows. */
  get activeCount(): number {
    const status = this._connection.status;
    return status ? status.running + status.queued : 0;
  }

  get filter(): string {
    return this._filter;
  }

  /** The store's params and metric keys and tags, for the filter box's completions. */
  get filterKeys(): IFilterKeys {
    return this._keys.keys;
  }

  /** The filter keys changed. */
  get keysChanged(): ISignal<this, void> {
    return this._keysChanged;
  }

  /** Read the filter keys from the store, unless read in the last few seconds. */
  loadFilterKeys(): void {
    this._keys.load();
  }

  get filterError(): IFilterError | null {
    return this._listing.filterError;
  }

  /**
   * Whether the rows shown answer an earlier filter than the one typed (the typed one is
   * invalid, or its answer has not come yet).
   */
  get stale(): boolean {
    return (
      this._listing.loaded &&
      this._listing.rowsFilter !== toServerFilter(this._filter)
    );
  }

  get sort(): ISort | null {
    return this._sort;
  }

  /** The table's columns: which show, in what order and how wide. */
  readonly layout = new ColumnLayout(() => {
    this._stateChanged.emit();
    this._tableStateChanged.emit();
  });

  /** The selected lines, by key: a run's id, or `sweep:<id>` for a sweep's line (and the
   * cursor keyboard moves start from). */
  readonly selected = new RunSelection(
    () => lineKeys(this._listing.rows, this._listing.sweepLines),
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

  /** Selected runs in display order (a sweep's line is not a run: it is left out). */
  get selectedRows(): IRunRow[] {
    const lines = this._listing.sweepLines;
    return this._listing.rows.filter(
      (r, i) => !lines.has(i) && this.selected.ids.has(r.run_id)
    );
  }

  /** Ids of the selected runs, held or not (sweep lines left out). */
  get selectedRunIds(): string[] {
    return [...this.selected.ids].filter(id => sweepOfKey(id) === null);
  }

  /** The id of the sweep whose line is the cursor, if it is one. */
  get cursorSweep(): string | null {
    return sweepOfKey(this.selected.cursor);
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
    if (!this._listing.resort(this._sort)) {
      this._relist();
    }
    this._stateChanged.emit();
    this._tableStateChanged.emit();
  }

  /** The row of `runId` if it is in the current page. */
  row(runId: string): IRunRow | undefined {
    return this._listing.row(runId);
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._listing.dispose();
    this.sweeps.dispose();
    this._poll.dispose();
    Signal.clearData(this);
  }

  /** One step of the poll: list (or its window) when needed, else follow the change feed. */
  private async _step(): Promise<number | null> {
    this._relistAsked = false;
    const listing = this._listing.mustList();
    // A server that stalls never fails the request: say so after a while, keep waiting.
    // A change-feed request is held by the server up to FEED_TIMEOUT by design.
    const answered = this._connection.watch(
      STALL_MS + (listing ? 0 : FEED_TIMEOUT * 1000)
    );
    try {
      await this._connection.check();
      return await (listing ? this._listing.list() : this._listing.follow());
    } finally {
      answered();
    }
  }

  /** Fetch the list (or its window) again at once, cancelling a change-feed poll. */
  private _relist(): void {
    this._listing.invalidate();
    // One step asked for is enough (a scroll asks once per frame): it lists what is needed
    // when it runs.
    if (!this._relistAsked) {
      this._relistAsked = true;
      this._poll.refresh();
    }
  }

  /** New rows arrived: columns follow them, and runs that left leave the selection. */
  private _onRows(removed: readonly string[]): void {
    const listing = this._listing;
    if (this.layout.follow(listing.rows)) {
      this._stateChanged.emit();
    }
    // Runs deleted or filtered out leave the selection; in a window, runs merely scrolled
    // out of it stay selected.
    const keys = listing.whole
      ? new Set(lineKeys(listing.rows, listing.sweepLines))
      : null;
    this.selected.retain(id => (keys ? keys.has(id) : !removed.includes(id)));
    this._changed.emit();
  }

  private _poll: StepPoll;
  private _listing: RunListing;
  private _connection: Connection;
  private _keys: FilterKeys;
  private _keysChanged = new Signal<this, void>(this);
  private _filter = '';
  private _sort: ISort | null = null;
  private _relistAsked = false;
  private _expanded: ReadonlySet<string> = new Set();
  private _flatHolds = 0;
  private _tableStateChanged = new Signal<this, void>(this);
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _selectionChanged = new Signal<this, void>(this);
  private _stateChanged = new Signal<this, void>(this);
}
