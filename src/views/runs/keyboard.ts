// Keyboard habits of the runs table: arrows and pages move the cursor (shift extends the selection), Enter opens, Right/Left open and close a sweep's line.
import React from 'react';

import { SelectMode } from '../../models/selection';
import { sweepOfKey } from '../../models/sweeplines';
import { ROW_HEIGHT } from './viewport';

/** What a key press needs to know of the table, and what it may do. */
export interface ITableKeys {
  /** The scroll area (its height sets the page, its scroll keeps the cursor in view). */
  node: HTMLElement;
  /** The lines' keys (run ids, `sweep:<id>`), in the order keys move through them. */
  keys: readonly string[];
  /** The line keyboard moves start from. */
  cursor: string | null;
  /** The line of the table that shows `keys[index]`. */
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
  const { node, keys, cursor } = table;
  if (!keys.length) {
    return;
  }
  const at = cursor ? keys.indexOf(cursor) : -1;
  if (event.key === 'Enter' && at >= 0) {
    table.onOpen(keys[at]);
    return;
  }
  const move = keyMove(event.key, Math.floor(node.clientHeight / ROW_HEIGHT));
  if (move === null) {
    return;
  }
  event.preventDefault();
  const next = Math.max(0, Math.min(keys.length - 1, at + move));
  table.onSelect(keys[next], event.shiftKey ? 'range' : 'single');
  const top = scrollToLine(
    table.lineOf(next),
    node.scrollTop,
    node.clientHeight
  );
  if (top !== node.scrollTop) {
    node.scrollTop = top;
  }
}

/** What Right or Left does in a table with sweep lines. */
export type TreeMove =
  | { kind: 'toggle'; sweepId: string; open: boolean }
  | { kind: 'move'; index: number };

/**
 * Right and Left as in a tree (the file browser's, VS Code's): on a sweep's line, Right
 * shows its runs (or, shown, moves to the first), Left hides them; on a run shown under
 * its sweep, Left moves to the sweep's line. `at` is the cursor's index in `keys`,
 * `sweepOf(index)` the sweep of the run at that index. Null for other keys and lines.
 */
export function treeKey(
  key: string,
  table: {
    keys: readonly string[];
    at: number;
    expanded: ReadonlySet<string>;
    sweepOf: (index: number) => string | null;
  }
): TreeMove | null {
  const { keys, at, expanded } = table;
  if ((key !== 'ArrowRight' && key !== 'ArrowLeft') || at < 0) {
    return null;
  }
  const sweep = sweepOfKey(keys[at]);
  if (sweep) {
    const open = expanded.has(sweep);
    if (key === 'ArrowLeft') {
      return open ? { kind: 'toggle', sweepId: sweep, open: false } : null;
    }
    if (!open) {
      return { kind: 'toggle', sweepId: sweep, open: true };
    }
    const child = at + 1 < keys.length && !sweepOfKey(keys[at + 1]);
    return child ? { kind: 'move', index: at + 1 } : null;
  }
  const parent = table.sweepOf(at);
  if (key !== 'ArrowLeft' || !parent || !expanded.has(parent)) {
    return null;
  }
  const line = keys.lastIndexOf(`sweep:${parent}`, at);
  return line >= 0 ? { kind: 'move', index: line } : null;
}
