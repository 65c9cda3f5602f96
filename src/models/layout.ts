// The runs table's layout: which columns show, in what order and how wide (kept per store).
import { IRunRow } from '../api';
import {
  ColumnKey,
  MIN_COLUMN_WIDTH,
  MOVABLE_BASE,
  PINNED_COLUMNS,
  columnsOf,
  defaultColumns
} from './columns';

/** The parts of the layout saved across reloads. */
export interface ILayoutState {
  /** The columns after the pinned ones, in order; null: the defaults. */
  columns: ColumnKey[] | null;
  /** Widths (px) the user gave columns. */
  widths: Record<ColumnKey, number>;
}

/**
 * Columns of the runs table. The defaults follow the rows (`follow`); a user's choice
 * (`setColumns`, `moveColumn`, `toggleColumn`, `resizeColumn`) replaces them and calls
 * `onUserChange`, so the owner can save it.
 */
export class ColumnLayout {
  constructor(onUserChange: () => void) {
    this._onUserChange = onUserChange;
  }

  /** The columns shown, in order: the pinned ones, then the user's choice or the defaults. */
  get columns(): readonly ColumnKey[] {
    return [
      ...PINNED_COLUMNS,
      ...(this._chosen ?? [...MOVABLE_BASE, ...this._defaults])
    ];
  }

  /** Width the user gave each column (px), if any. */
  get widths(): Readonly<Record<ColumnKey, number>> {
    return this._widths;
  }

  /** Every column that can be shown: built-in ones, tags, params.KEY and metrics.KEY. */
  get availableColumns(): readonly ColumnKey[] {
    return [...MOVABLE_BASE, ...this._available];
  }

  /** What to save across reloads. */
  get state(): ILayoutState {
    return {
      columns: this._chosen ? [...this._chosen] : null,
      widths: { ...this._widths }
    };
  }

  /** Learn the columns `rows` offer and the defaults for them; true when either changed. */
  follow(rows: readonly IRunRow[]): boolean {
    const available = columnsOf(rows);
    const defaults = defaultColumns(rows);
    if (
      available.join('\n') === this._available.join('\n') &&
      defaults.join('\n') === this._defaults.join('\n')
    ) {
      return false;
    }
    this._available = available;
    this._defaults = defaults;
    return true;
  }

  /** Bring back a saved layout (unknown or malformed parts are ignored). */
  restore(state: Partial<ILayoutState>): void {
    if (Array.isArray(state.columns)) {
      this._chosen = state.columns.filter(
        (c): c is string => typeof c === 'string' && !PINNED_COLUMNS.includes(c)
      );
    }
    if (state.widths && typeof state.widths === 'object') {
      const widths: Record<string, number> = {};
      for (const [k, v] of Object.entries(state.widths)) {
        if (typeof v === 'number' && v >= MIN_COLUMN_WIDTH) {
          widths[k] = v;
        }
      }
      this._widths = widths;
    }
  }

  /** Show these columns after the pinned ones, in this order. */
  setColumns(columns: ColumnKey[]): void {
    this._chosen = columns.filter(c => !PINNED_COLUMNS.includes(c));
    this._onUserChange();
  }

  /** Move `column` just before `before` (null: to the end). Pinned columns stay first. */
  moveColumn(column: ColumnKey, before: ColumnKey | null): void {
    if (PINNED_COLUMNS.includes(column) || column === before) {
      return;
    }
    const current = this._movable().filter(c => c !== column);
    const at = before === null ? -1 : current.indexOf(before);
    current.splice(at < 0 ? current.length : at, 0, column);
    this.setColumns(current);
  }

  /** Give `column` a width (px). */
  resizeColumn(column: ColumnKey, width: number): void {
    this._widths = {
      ...this._widths,
      [column]: Math.max(MIN_COLUMN_WIDTH, Math.round(width))
    };
    this._onUserChange();
  }

  /** Show `column` (at the end) or hide it; pinned columns always show. */
  toggleColumn(column: ColumnKey): void {
    if (PINNED_COLUMNS.includes(column)) {
      return;
    }
    const current = this._movable();
    const at = current.indexOf(column);
    if (at >= 0) {
      current.splice(at, 1);
    } else {
      current.push(column);
    }
    this.setColumns(current);
  }

  private _movable(): ColumnKey[] {
    return this.columns.filter(c => !PINNED_COLUMNS.includes(c));
  }

  private _onUserChange: () => void;
  private _chosen: ColumnKey[] | null = null;
  private _widths: Record<ColumnKey, number> = {};
  private _available: ColumnKey[] = [];
  private _defaults: ColumnKey[] = [];
}
