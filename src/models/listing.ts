// The rows the runs sidebar holds: the whole list or a window of it, fetched and kept up to date by the change feed.
import { IChanges, IRunRow, TrackrunApiError, TrackrunClient } from '../api';
import { applyChanges, covers, windowAround } from './feed';
import { toServerFilter } from './filter';
import { ISort, sortField, sortRows } from './order';
import { applyLineChanges, LinesOutcome, sweepIdOf } from './sweeplines';

/** Stores with more matching runs than this are fetched in windows (visible rows + margin). */
export const WINDOW_THRESHOLD = 2000;
/** The first window fetched, before the size of the list is known. */
const FIRST_WINDOW = 200;
/** Rows fetched above and below the visible ones in a window. */
const MARGIN = 100;
/** Seconds the server holds a change-feed request when nothing changes. */
export const FEED_TIMEOUT = 10;
/** Pause after applying changes, so that bursts arrive batched (ms). */
const FEED_PAUSE = 300;

/** The server refused the filter typed. */
export interface IFilterError {
  message: string;
  /** 1-based column in the filter text, when the server said where. */
  column: number | null;
}

/** What the rows should answer now, and what to tell the owner. */
export interface IRunListingOptions {
  client: TrackrunClient;
  /** The filter text typed, the sort chosen, and how sweeps show now (read at each step
   * and each answer): `sweeps` null lists every run on its own line; else each sweep's runs
   * are one line, followed by its runs for the sweep ids listed. */
  wanted: () => {
    filter: string;
    sort: ISort | null;
    sweeps?: readonly string[] | null;
  };
  /** The rows were replaced; `removed` are the ids that left the list (deleted, unmatched). */
  onRows: (removed: readonly string[]) => void;
  /** The filter error, or the filter the rows answer, changed. */
  onState: () => void;
  /** The store changed in a way that makes the status counts stale: read them again. */
  onStatusStale: () => Promise<void>;
  /** Runs of sweeps may have changed (listed, or in the change feed): their progress and
   * best values are stale. */
  onSweepsStale?: () => void;
}

/** The `group_sweeps` and `expand` query of how sweeps show ('' lists every run). */
function sweepsQuery(sweeps: readonly string[] | null | undefined): string {
  return !sweeps ? '' : ['group', ...[...sweeps].sort()].join(',');
}

/** `order_by` of the runs API for `sort` ('' for the server's default order). */
export function orderByOf(sort: ISort | null): string {
  if (!sort) {
    return '';
  }
  return `${sortField(sort.key)} ${sort.desc ? 'desc' : 'asc'}`;
}

/**
 * The rows held for the runs sidebar. A short list is fetched whole; a long one in windows
 * around the visible rows (`show`). Between fetches, `follow` long-polls the change feed and
 * applies changed rows in place. Each step of the owner's poll calls `list` when `mustList`
 * says so, else `follow`; both resolve to the delay before the next step (null: stop).
 */
export class RunListing {
  constructor(options: IRunListingOptions) {
    this._client = options.client;
    this._wanted = options.wanted;
    this._onRows = options.onRows;
    this._onState = options.onState;
    this._onStatusStale = options.onStatusStale;
    this._onSweepsStale = options.onSweepsStale ?? (() => undefined);
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

  /** Indexes in `rows` of the lines that stand for a whole sweep (none unless grouped). */
  get sweepLines(): ReadonlySet<number> {
    return this._sweepLines;
  }

  /** Whether the rows held are the whole list (else a window of it). */
  get whole(): boolean {
    return this._whole;
  }

  /** Whether an answer (rows or a filter error) has come since the list was made. */
  get loaded(): boolean {
    return this._loaded;
  }

  /** The filter (in the server's form) the rows held answer. */
  get rowsFilter(): string {
    return this._rowsFilter;
  }

  /** Why the server refused the filter typed, until a filter is accepted. */
  get filterError(): IFilterError | null {
    return this._filterError;
  }

  /** `GET runs` requests made (list fetches, not change-feed polls). */
  get listFetches(): number {
    return this._listFetches;
  }

  /** The row of `runId` if it is among the rows held. */
  row(runId: string): IRunRow | undefined {
    return this._byId.get(runId);
  }

  /**
   * The table shows positions `first`..`last` (end excluded). Returns whether the rows held
   * (a window, once loaded) do not cover them: then the owner should list again.
   */
  show(first: number, last: number): boolean {
    this._range = [first, last];
    return !this._whole && this._loaded && !this._covered();
  }

  /** Whether the next step fetches the list (else it follows the change feed). */
  mustList(): boolean {
    const { filter, sort, sweeps } = this._wanted();
    return (
      this._token === null ||
      this._rowsFilter !== toServerFilter(filter) ||
      this._orderOfRows !== orderByOf(sort) ||
      this._sweepsOfRows !== sweepsQuery(sweeps) ||
      !this._covered() ||
      // A window of a list short enough to hold whole (its size was not known yet).
      (!this._whole && this._total <= WINDOW_THRESHOLD)
    );
  }

  /** Forget the change token (the next step lists) and cancel a change-feed poll. */
  invalidate(): void {
    this._token = null;
    this._feedAbort?.abort();
  }

  /**
   * Sort the rows held by `sort` here, at once, if they are the whole list (changes are
   * then applied in this order). Returns false for a window, which must come from the
   * server in the new order.
   */
  resort(sort: ISort | null): boolean {
    if (!this._whole || this._sweepLines.size) {
      return false; // a window, or sweeps' lines: the server orders them
    }
    this._setRows(sortRows(this._rows, sort), this._total, this._rowsFilter);
    this._orderOfRows = orderByOf(sort);
    return true;
  }

  /** Cancel a change-feed poll that is out. */
  dispose(): void {
    this._feedAbort?.abort();
  }

  /**
   * `GET runs`: the whole list when it is short, else the window around the visible rows.
   * A filter the server refuses sets `filterError` and resolves to null (the same text gives
   * the same 400: stop polling until the filter changes). Other errors are thrown.
   */
  async list(): Promise<number | null> {
    const { filter, sort, sweeps } = this._wanted();
    const query = toServerFilter(filter);
    const orderBy = orderByOf(sort);
    const grouping = sweepsQuery(sweeps);
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
        {
          filter: query,
          order_by: orderBy,
          limit,
          offset,
          ...(!sweeps
            ? {}
            : { group_sweeps: true, expand: [...sweeps].sort().join(',') })
        },
        null
      );
    } catch (error) {
      if (
        error instanceof TrackrunApiError &&
        error.code === 'invalid_filter'
      ) {
        if (filter !== this._wanted().filter) {
          // Refused, but typing went on while the request was out (a pause mid-word
          // applied a half-typed filter): not an error of the list, ask again at once.
          return 0;
        }
        this._filterError = {
          message: error.message,
          column: query === filter.trim() ? error.column : null
        };
        this._loaded = true;
        this._onState();
        return null;
      }
      throw error;
    }
    const now = this._wanted();
    if (
      filter !== now.filter ||
      orderBy !== orderByOf(now.sort) ||
      grouping !== sweepsQuery(now.sweeps) ||
      !answer
    ) {
      return 0; // the filter, order or sweeps changed while this request was out: again
    }
    const page = answer.page;
    if (this._filterError) {
      this._filterError = null;
      this._onState();
    }
    this._loaded = true;
    if (page.change_token !== this._seenToken) {
      this._seenToken = page.change_token;
      await this._onStatusStale();
    }
    const stale = this._rowsFilter !== query;
    this._offset = page.offset;
    this._whole = page.offset === 0 && page.runs.length >= page.total;
    this._token = page.change_token;
    this._orderOfRows = orderBy;
    this._sweepsOfRows = grouping;
    this._setRows(page.runs, page.total, query, [], page.sweep_lines ?? []);
    if (stale) {
      this._onState();
    }
    if (this._sweepLines.size) {
      this._onSweepsStale();
    }
    return 0; // then follow the change feed (or fetch the whole of a short list)
  }

  /** One long poll of `GET changes`, applied to the rows held. Errors are thrown. */
  async follow(): Promise<number | null> {
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
    const { sort, sweeps } = this._wanted();
    // Runs no line shows (of a collapsed sweep) changed: their sweeps' progress, and the
    // status counts, are stale even when no line changes.
    const hidden =
      this._sweepsOfRows !== '' &&
      (answer.runs.some(r => !this._byId.has(r.run_id)) ||
        answer.deleted.length + (answer.unmatched?.length ?? 0) > 0);
    if (
      this._sweepsOfRows &&
      (hidden || answer.runs.some(r => sweepIdOf(r) !== null))
    ) {
      this._onSweepsStale();
    }
    const outcome: LinesOutcome = this._sweepsOfRows
      ? applyLineChanges(
          {
            rows: this._rows,
            sweepLines: this._sweepLines,
            offset: this._offset,
            total: this._total
          },
          answer,
          sort,
          new Set(sweeps ?? [])
        )
      : withoutSweeps(
          applyChanges(
            { rows: this._rows, offset: this._offset, total: this._total },
            answer,
            sort
          )
        );
    if (outcome.kind === 'refetch') {
      this._token = null;
      return 0;
    }
    this._token = answer.change_token;
    if (outcome.kind === 'same') {
      if (hidden) {
        await this._onStatusStale();
      }
      return 0;
    }
    // The rows first: the token now says they are applied, whatever the status call does.
    this._setRows(
      outcome.rows,
      outcome.total,
      query,
      outcome.removed,
      outcome.sweepLines
    );
    if (outcome.statusChanged || hidden) {
      await this._onStatusStale();
    }
    return FEED_PAUSE;
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

  private _setRows(
    rows: IRunRow[],
    total: number,
    filter: string,
    removed: readonly string[] = [],
    sweepLines: Iterable<number> = []
  ): void {
    this._rows = rows;
    this._sweepLines = new Set(sweepLines);
    this._total = total;
    this._rowsFilter = filter;
    this._byId = new Map(rows.map(r => [r.run_id, r]));
    this._onRows(removed);
  }

  private _client: TrackrunClient;
  private _wanted: IRunListingOptions['wanted'];
  private _onRows: IRunListingOptions['onRows'];
  private _onState: IRunListingOptions['onState'];
  private _onStatusStale: IRunListingOptions['onStatusStale'];
  private _onSweepsStale: () => void;
  private _rows: IRunRow[] = [];
  private _sweepLines: ReadonlySet<number> = new Set();
  /** How sweeps show in the rows held (sweepsQuery; '' for every run on its own line). */
  private _sweepsOfRows = '';
  private _byId = new Map<string, IRunRow>();
  private _total = 0;
  private _loaded = false;
  /** The change token the rows held answer (null: fetch the list next). */
  private _token: string | null = null;
  /** The last token whose status counts were fetched. */
  private _seenToken: string | null = null;
  private _offset = 0;
  private _whole = true;
  /** The order_by the rows held were fetched (or sorted) in. */
  private _orderOfRows = '';
  private _range: [number, number] = [0, FIRST_WINDOW - MARGIN];
  private _feedAbort: AbortController | null = null;
  private _filterError: IFilterError | null = null;
  private _listFetches = 0;
  private _rowsFilter = '';
}

/** A feed outcome of the plain list in the shape of one of lines (no sweep lines). */
function withoutSweeps(outcome: ReturnType<typeof applyChanges>): LinesOutcome {
  return outcome.kind === 'apply'
    ? { ...outcome, sweepLines: new Set<number>() }
    : outcome;
}
