// The runs table's virtual scrolling: which lines are on screen, and which few around them are drawn.
import { RefObject, useCallback, useEffect, useRef, useState } from 'react';

import { IRunRow } from '../../api';
import { IRowGroup } from '../../models/groups';

/** Height of one row (px); must match .trackrun-RunsTable-row in style/runs.css. */
export const ROW_HEIGHT = 24;
/** Rows drawn above and below the visible ones, so fast scrolling shows no gaps. */
export const OVERSCAN = 12;

/** The part of the table's scroll area on screen (px). */
export interface IViewport {
  top: number;
  height: number;
  width: number;
}

/** A line that stands for a whole sweep: the sweep's id and the row of its first run. */
export interface ISweepLine {
  sweep: string;
  row: IRunRow;
}

/** What a table line is: a group's header, a sweep's line or a run's row. */
export type Line = IRowGroup | ISweepLine | IRunRow;

/** The lines of a grouped table (each group's header, then its rows) and each run's line. */
export interface IGroupLines {
  lines: Line[];
  lineOf: Map<string, number>;
}

/** The lines drawn: `lines` are positions `first`.. of the table. */
export interface IDrawn {
  /** The positions on screen: `shownFirst`..`shownLast` (end excluded, may pass the end). */
  shownFirst: number;
  shownLast: number;
  first: number;
  lines: readonly Line[];
}

/**
 * The viewport of the scroll area `scroller`, kept as it scrolls and resizes, and the
 * handler to give its `onScroll`. A scroll renders once per animation frame, however many
 * scroll events arrive.
 */
export function useViewport(scroller: RefObject<HTMLDivElement | null>): {
  view: IViewport;
  onScroll: () => void;
} {
  const [view, setView] = useState<IViewport>({
    top: 0,
    height: 600,
    width: 300
  });
  const frame = useRef(0);

  useEffect(() => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() => setView(viewportOf(node)));
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  const onScroll = useCallback(() => {
    if (frame.current) {
      return;
    }
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const node = scroller.current;
      if (node) {
        setView(viewportOf(node));
      }
    });
  }, []);

  useEffect(() => () => cancelAnimationFrame(frame.current), []);
  return { view, onScroll };
}

function viewportOf(node: HTMLElement): IViewport {
  return {
    top: node.scrollTop,
    height: node.clientHeight,
    width: node.clientWidth
  };
}

/** The lines of `groups`: each group's header, then its rows. */
export function groupLines(groups: readonly IRowGroup[]): IGroupLines {
  const lines: Line[] = [];
  const lineOf = new Map<string, number>();
  for (const group of groups) {
    lines.push(group);
    for (const row of group.rows) {
      lineOf.set(row.run_id, lines.length);
      lines.push(row);
    }
  }
  return { lines, lineOf };
}

/**
 * The lines to draw for `view`, when the table has `total` lines and `held` are positions
 * `offset`.. of them: those on screen and OVERSCAN more each side, clipped to those held
 * (lines of a window not fetched yet are blank until they come).
 */
export function drawnLines(
  view: Pick<IViewport, 'top' | 'height'>,
  held: readonly Line[],
  offset: number,
  total: number
): IDrawn {
  const shownFirst = Math.floor(view.top / ROW_HEIGHT);
  const shownLast = Math.ceil((view.top + view.height) / ROW_HEIGHT);
  const first = Math.max(offset, shownFirst - OVERSCAN);
  const last = Math.min(offset + held.length, total, shownLast + OVERSCAN);
  return {
    shownFirst,
    shownLast,
    first,
    lines: last <= first ? [] : held.slice(first - offset, last - offset)
  };
}
