// The runs table: a sortable header over virtualized rows (only the visible ones are in the DOM).
import React, {
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState
} from 'react';

import { IRunRow, ISweepSummary } from '../../api';
import { IRowGroup } from '../../models/groups';
import { ColumnKey, ISort, SelectMode } from '../../models/runs';
import {
  lineKeys,
  sweepIdOf,
  sweepNameOf,
  sweepOfKey
} from '../../models/sweeplines';
import { useColumnGeometry } from './geometry';
import { onTableKey, treeKey } from './keyboard';
import { GroupLine, RunRow } from './RunRow';
import { SweepLine } from './SweepLine';
import { TableHeader } from './TableHeader';
import {
  Line,
  ROW_HEIGHT,
  drawnLines,
  groupLines,
  useViewport
} from './viewport';

export interface IRunsTableProps {
  /** The rows held: positions `offset`.. of the list (all of it unless fetched in windows). */
  rows: readonly IRunRow[];
  /** Position of rows[0] in the list (default 0). */
  offset?: number;
  /** Length of the whole list (default rows.length): the scroll height. */
  total?: number;
  /** The positions on screen changed (`first`..`last`, end excluded). */
  onRange?: (first: number, last: number) => void;
  /** Show the rows in these groups, each under a header (`rows` is then their rows, in
   * order; windows are not supported). */
  groups?: readonly IRowGroup[];
  /** The rows answer an earlier filter than the one typed: shown dimmed. */
  stale?: boolean;
  /** Indexes in `rows` of the lines that stand for a whole sweep (GET runs?group_sweeps). */
  sweepLines?: ReadonlySet<number>;
  /** The sweeps whose runs show under their line. */
  expanded?: ReadonlySet<string>;
  /** A sweep's progress and best value, once known. */
  sweep?: (sweepId: string) => ISweepSummary | undefined;
  /** Show (`open`) or hide a sweep's runs (default: the other way). */
  onToggleSweep?: (sweepId: string, open?: boolean) => void;
  /** Enter or double-click on a sweep's line: compare the sweep. */
  onOpenSweep?: (sweepId: string) => void;
  columns: readonly ColumnKey[];
  sort: ISort | null;
  /** The selected lines' keys: run ids, and `sweep:<id>` for sweep lines. */
  selection: ReadonlySet<string>;
  /** The line keyboard moves start from (a key as in `selection`). */
  cursor: string | null;
  /** Widths (px) the user gave columns; others get their default width. */
  widths?: Readonly<Record<ColumnKey, number>>;
  onSort: (column: ColumnKey) => void;
  /** A column's edge was dragged to `width` px. */
  onResize?: (column: ColumnKey, width: number) => void;
  /** A header was dragged onto another: put `column` before `before`. */
  onMove?: (column: ColumnKey, before: ColumnKey | null) => void;
  onSelect: (runId: string, mode: SelectMode) => void;
  onOpen: (runId: string) => void;
  /** Right-click on a row: make sure it is selected before the context menu reads it. */
  onContextMenu: (runId: string) => void;
}

/** A virtualized, sortable table of runs. */
export function RunsTable(props: IRunsTableProps): JSX.Element {
  const { rows, selection } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const { view, onScroll } = useViewport(scroller);

  // Grouped: the lines drawn are group headers and rows; each row's line is looked up.
  const { groups, sweepLines } = props;
  const grouped = useMemo(() => (groups ? groupLines(groups) : null), [groups]);
  const offset = grouped ? 0 : (props.offset ?? 0);
  const total = grouped ? grouped.lines.length : (props.total ?? rows.length);
  // Sweep lines: a line that stands for a whole sweep is drawn as the sweep.
  const held = useMemo(
    () =>
      sweepLines && sweepLines.size
        ? rows.map((row, i): Line => {
            const sweep = sweepLines.has(i) ? sweepIdOf(row) : null;
            return sweep ? { sweep, row } : row;
          })
        : rows,
    [rows, sweepLines]
  );
  // The keys keyboard moves go through, in order (sweep lines included).
  const keys = useMemo(
    () =>
      grouped
        ? rows.map(r => r.run_id)
        : lineKeys(rows, sweepLines ?? new Set()),
    [grouped, rows, sweepLines]
  );
  const drawn = drawnLines(view, grouped ? grouped.lines : held, offset, total);
  const { shownFirst, shownLast, first } = drawn;
  const { onRange } = props;
  useEffect(() => {
    onRange?.(shownFirst, Math.min(total, shownLast));
  }, [onRange, shownFirst, shownLast, total]);

  // Durations of running runs tick every second, but only while one is on screen.
  const ticking = drawn.lines.some(
    r => 'status' in r && r.status === 'running'
  );
  const expanded = props.expanded;
  const { onToggleSweep, onOpenSweep } = props;
  const toggle = useCallback(
    (sweepId: string) => onToggleSweep?.(sweepId),
    [onToggleSweep]
  );
  const openSweep = useCallback(
    (sweepId: string) => onOpenSweep?.(sweepId),
    [onOpenSweep]
  );
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!ticking) {
      return;
    }
    const timer = window.setInterval(() => setTick(t => t + 1), 1000);
    return () => window.clearInterval(timer);
  }, [ticking]);

  const geometry = useColumnGeometry(props.columns, props.widths, view.width);
  const { columns, template, totalWidth } = geometry;

  const { onSelect } = props;
  const click = useCallback(
    (event: React.MouseEvent, runId: string): void => {
      const mode: SelectMode = event.shiftKey
        ? 'range'
        : event.ctrlKey || event.metaKey
          ? 'toggle'
          : 'single';
      if (event.shiftKey) {
        event.preventDefault(); // no text selection on shift-click
      }
      onSelect(runId, mode);
    },
    [onSelect]
  );

  const onKeyDown = (event: React.KeyboardEvent): void => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    const cursorSweep = sweepOfKey(props.cursor);
    if (
      event.key === 'Enter' &&
      cursorSweep &&
      keys.includes(props.cursor as string)
    ) {
      event.preventDefault();
      openSweep(cursorSweep);
      return;
    }
    const at = props.cursor ? keys.indexOf(props.cursor) : -1;
    const tree = treeKey(event.key, {
      keys,
      at,
      expanded: expanded ?? new Set(),
      sweepOf: index => (grouped ? null : sweepIdOf(rows[index]))
    });
    if (tree) {
      event.preventDefault();
      if (tree.kind === 'toggle') {
        onToggleSweep?.(tree.sweepId, tree.open);
      } else {
        props.onSelect(keys[tree.index], 'single');
      }
      return;
    }
    onTableKey(event, {
      node,
      keys,
      cursor: props.cursor,
      lineOf: index =>
        grouped
          ? (grouped.lineOf.get(rows[index].run_id) ?? index)
          : index + offset,
      onSelect: props.onSelect,
      onOpen: props.onOpen
    });
  };

  return (
    <div
      className={
        'trackrun-RunsTable' + (props.stale ? ' trackrun-mod-stale' : '')
      }
      ref={scroller}
      onScroll={onScroll}
      onKeyDown={onKeyDown}
      tabIndex={0}
      role="grid"
      aria-rowcount={total}
      aria-multiselectable={true}
    >
      <TableHeader
        geometry={geometry}
        sort={props.sort}
        onSort={props.onSort}
        onResize={props.onResize}
        onMove={props.onMove}
      />
      <div
        className="trackrun-RunsTable-body"
        style={{ height: total * ROW_HEIGHT, width: totalWidth }}
      >
        {drawn.lines.map((line: Line, i) =>
          'label' in line ? (
            <GroupLine
              key={`group:${line.label}`}
              group={line}
              index={first + i}
              width={totalWidth}
            />
          ) : 'sweep' in line ? (
            <SweepLine
              key={`sweep:${line.sweep}`}
              sweepId={line.sweep}
              name={sweepNameOf(line.row, line.sweep)}
              summary={props.sweep?.(line.sweep)}
              index={first + i}
              width={totalWidth}
              expanded={expanded?.has(line.sweep) ?? false}
              selected={selection.has(`sweep:${line.sweep}`)}
              onMouseDown={click}
              onToggle={toggle}
              onOpen={openSweep}
              onContextMenu={props.onContextMenu}
            />
          ) : (
            <RunRow
              key={line.run_id}
              row={line}
              index={first + i}
              columns={columns}
              template={template}
              width={totalWidth}
              nameLeft={geometry.stickyLeft('name') ?? 0}
              selected={selection.has(line.run_id)}
              tick={line.status === 'running' ? tick : 0}
              onMouseDown={click}
              onOpen={props.onOpen}
              onContextMenu={props.onContextMenu}
            />
          )
        )}
      </div>
    </div>
  );
}
