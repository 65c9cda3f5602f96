// Keyboard habits of the runs table: arrows and pages move the cursor (shift extends the selection), Enter opens.
import React from 'react';

import { IRunRow } from '../../api';
import { SelectMode } from '../../models/selection';
import { ROW_HEIGHT } from './viewport';

/** What a key press needs to know of the table, and what it may do. */
export interface ITableKeys {
  /** The scroll area (its height sets the page, its scroll keeps the cursor in view). */
  node: HTMLElement;
  /** The runs, in the order keys move through them. */
  rows: readonly IRunRow[];
  /** The run keyboard moves start from. */
  cursor: string | null;
  /** The line of the table that shows `rows[index]`. */
  lineOf: (index: number) => number;
  onSelect: (runId: string, mode: SelectMode) => void;
  onOpen: (runId: string) => void;
}

/**
 * How far `key` moves the cursor, when a page shows `pageRows` rows; null for a key that
 * does not move it. A page moves one row less than it shows, so one row stays in sight.
 */
export function keyMove(key: string, pageRows: number): number | null {
  switch (key) {
    case 'ArrowDown':
      return 1;
    case 'ArrowUp':
      return -1;
    case 'PageDown':
      return pageRows - 1;
    case 'PageUp':
      return -(pageRows - 1);
    default:
      return null;
  }
}

/**
 * The scrollTop that brings `line` into view (below the sticky header) in a scroll area at
 * `scrollTop` showing `height` px; the same scrollTop when it is in view already.
 */
export function scrollToLine(
  line: number,
  scrollTop: number,
  height: number
): number {
  const top = line * ROW_HEIGHT;
  if (top < scrollTop) {
    return top;
  }
  if (top + 2 * ROW_HEIGHT > scrollTop + height) {
    return top + 2 * ROW_HEIGHT - height;
  }
  return scrollTop;
}

/** Answer a key pressed in the table (keys it does not use are left alone). */
export function onTableKey(
  event: React.KeyboardEvent,
  table: ITableKeys
): void {
  const { node, rows, cursor } = table;
  if (!rows.length) {
    return;
  }
  const at = cursor ? rows.findIndex(r => r.run_id === cursor) : -1;
  if (event.key === 'Enter' && at >= 0) {
    table.onOpen(rows[at].run_id);
    return;
  }
  const move = keyMove(event.key, Math.floor(node.clientHeight / ROW_HEIGHT));
  if (move === null) {
    return;
  }
  event.preventDefault();
  const next = Math.max(0, Math.min(rows.length - 1, at + move));
  table.onSelect(rows[next].run_id, event.shiftKey ? 'range' : 'single');
  const top = scrollToLine(
    table.lineOf(next),
    node.scrollTop,
    node.clientHeight
  );
  if (top !== node.scrollTop) {
    node.scrollTop = top;
  }
}
