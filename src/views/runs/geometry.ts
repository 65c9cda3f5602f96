// Where the runs table's columns go: which show at the table's width, how wide each is, where pinned ones stick.
import { useMemo } from 'react';

import { ColumnKey, PINNED_COLUMNS } from '../../models/columns';
import { columnWidth } from './cells';

/** Below this width (px) the table leaves out the notebook and start time columns. */
export const NARROW = 420;

/** The columns laid out for one width of the table. */
export interface IColumnGeometry {
  /** The columns shown, in order. */
  columns: readonly ColumnKey[];
  /** Width of a column (px). */
  widthOf: (column: ColumnKey) => number;
  /** Where a pinned column sticks (px from the left edge); undefined for others. */
  stickyLeft: (column: ColumnKey) => number | undefined;
  /** The CSS grid template of the header and of every row. */
  template: string;
  /** The width of a row (px). */
  totalWidth: number;
}

/**
 * The geometry of `chosen` columns, with the `widths` the user gave, in a table `viewWidth`
 * px wide. A narrow table drops the notebook and start time (they are in the row's tooltip)
 * so that names stay readable without scrolling sideways. The list of columns keeps its
 * identity across renders while neither changes, so memoized rows are not drawn again.
 */
export function useColumnGeometry(
  chosen: readonly ColumnKey[],
  widths: Readonly<Record<ColumnKey, number>> | undefined,
  viewWidth: number
): IColumnGeometry {
  const narrow = viewWidth < NARROW;
  const columns = useMemo(
    () =>
      narrow ? chosen.filter(c => c !== 'notebook' && c !== 'started') : chosen,
    [chosen, narrow]
  );
  return columnGeometry(columns, widths ?? {}, viewWidth);
}

/**
 * The geometry of `columns` shown in a table `viewWidth` px wide: `given` widths first, else
 * each column's default; the name takes the room left (at least its default), unless the
 * user gave it a width.
 */
export function columnGeometry(
  columns: readonly ColumnKey[],
  given: Readonly<Record<ColumnKey, number>>,
  viewWidth: number
): IColumnGeometry {
  const baseWidth = (c: ColumnKey): number => given[c] ?? columnWidth(c);
  const others = columns.reduce(
    (w, c) => w + (c === 'name' ? 0 : baseWidth(c)),
    0
  );
  const nameWidth =
    given.name ?? Math.max(columnWidth('name'), viewWidth - others);
  const widthOf = (c: ColumnKey): number =>
    c === 'name' ? nameWidth : baseWidth(c);
  // Pinned columns stick to the left edge when the table scrolls sideways.
  const stickyLeft = (c: ColumnKey): number | undefined => {
    const at = PINNED_COLUMNS.indexOf(c);
    if (at < 0) {
      return undefined;
    }
    return PINNED_COLUMNS.slice(0, at).reduce((w, p) => w + widthOf(p), 0);
  };
  return {
    columns,
    widthOf,
    stickyLeft,
    template: columns.map(c => `${widthOf(c)}px`).join(' '),
    totalWidth: columns.reduce((w, c) => w + widthOf(c), 0)
  };
}
