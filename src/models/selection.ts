// Which runs of the table are selected, as clicks and keys change it.

/** How a click changes the selection. */
export type SelectMode = 'single' | 'toggle' | 'range';

/**
 * The selected runs, the cursor (last run clicked or moved to) and the anchor a range
 * extends from. `order` gives the run ids in display order (for ranges and select-all);
 * `onChange` is called after every change.
 */
export class RunSelection {
  constructor(order: () => readonly string[], onChange: () => void) {
    this._order = order;
    this._onChange = onChange;
  }

  get ids(): ReadonlySet<string> {
    return this._ids;
  }

  /** The run last clicked or moved to with the keyboard (where keyboard moves start). */
  get cursor(): string | null {
    return this._cursor;
  }

  /** Change the selection as a click on `runId` would (`range` extends from the anchor). */
  select(runId: string, mode: SelectMode): void {
    this._cursor = runId;
    if (mode === 'single') {
      this._ids = new Set([runId]);
      this._anchor = runId;
    } else if (mode === 'toggle') {
      const next = new Set(this._ids);
      if (next.has(runId)) {
        next.delete(runId);
      } else {
        next.add(runId);
      }
      this._ids = next;
      this._anchor = runId;
    } else {
      const ids = this._order();
      const from = this._anchor ? ids.indexOf(this._anchor) : -1;
      const to = ids.indexOf(runId);
      if (from < 0 || to < 0) {
        this.select(runId, 'single');
        return;
      }
      const [lo, hi] = from < to ? [from, to] : [to, from];
      this._ids = new Set(ids.slice(lo, hi + 1));
    }
    this._onChange();
  }

  /** Make sure `runId` is selected (right-click on an unselected row selects only it). */
  ensure(runId: string): void {
    if (!this._ids.has(runId)) {
      this.select(runId, 'single');
    }
  }

  all(): void {
    this._ids = new Set(this._order());
    this._onChange();
  }

  clear(): void {
    if (this._ids.size) {
      this._ids = new Set();
      this._onChange();
    }
  }

  /** Keep only the ids `keep` accepts (runs deleted or filtered out leave the selection). */
  retain(keep: (runId: string) => boolean): void {
    const kept = new Set([...this._ids].filter(keep));
    if (kept.size !== this._ids.size) {
      this._ids = kept;
      this._onChange();
    }
  }

  private _order: () => readonly string[];
  private _onChange: () => void;
  private _ids: Set<string> = new Set();
  private _anchor: string | null = null;
  private _cursor: string | null = null;
}
