// The runs table: sortable header and virtualized rows (only the visible ones are in the DOM).
import React, {
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState
} from 'react';

import { IRunRow } from '../../api';
import { IRowGroup } from '../../models/groups';
import { isSortable } from '../../models/order';
import {
  ColumnKey,
  ISort,
  MIN_COLUMN_WIDTH,
  PINNED_COLUMNS,
  SelectMode
} from '../../models/runs';
import { StatusIcon } from '../common/StatusIcon';
import {
  baseName,
  elapsed,
  formatDuration,
  formatFullTime,
  formatMetric,
  formatTime,
  formatValue
} from '../common/format';

/** Height of one row (px); must match .trackrun-RunsTable-row in style/runs.css. */
export const ROW_HEIGHT = 24;
/** Rows rendered above and below the visible ones, so fast scrolling shows no gaps. */
const OVERSCAN = 12;
/** Below this width (px) the table leaves out the notebook and start time columns. */
const NARROW = 420;

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
  columns: readonly ColumnKey[];
  sort: ISort | null;
  selection: ReadonlySet<string>;
  /** The run keyboard moves start from. */
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

const TITLES: Record<string, string> = {
  status: '',
  name: 'Name',
  notebook: 'Notebook',
  started: 'Started',
  duration: 'Duration',
  tags: 'Tags'
};

/** Title of a column header: `lr` for params.lr, `loss` for metrics.loss. */
export function columnTitle(column: ColumnKey): string {
  if (column in TITLES) {
    return TITLES[column];
  }
  return column.replace(/^(params|metrics)\./, '');
}

/** Width of a column (px). */
function columnWidth(column: ColumnKey): number {
  switch (column) {
    case 'status':
      return 26;
    case 'name':
      return 140;
    case 'notebook':
      return 110;
    case 'started':
      return 92;
    case 'duration':
      return 66;
    case 'tags':
      return 90;
    default:
      return 76;
  }
}

/** The text of one cell (always text: run data is never rendered as HTML). */
function cellText(row: IRunRow, column: ColumnKey): string {
  switch (column) {
    case 'name':
      return row.name;
    case 'notebook':
      return baseName(row.notebook);
    case 'started':
      return formatTime(row.started_at);
    case 'duration':
      return formatDuration(elapsed(row));
    case 'tags':
      return row.tags.join(', ');
    default:
      if (column.startsWith('params.')) {
        return formatValue(row.params[column.slice(7)]);
      }
      if (column.startsWith('metrics.')) {
        return formatMetric(row.metrics[column.slice(8)]?.last);
      }
      return '';
  }
}

function cellTitle(row: IRunRow, column: ColumnKey): string {
  switch (column) {
    case 'name':
      return [
        row.name,
        row.run_id,
        row.notebook ? `notebook: ${row.notebook}` : '',
        row.started_at ? `started: ${formatFullTime(row.started_at)}` : '',
        row.tags.length ? `tags: ${row.tags.join(', ')}` : ''
      ]
        .filter(Boolean)
        .join('\n');
    case 'notebook':
      return row.notebook ?? '';
    case 'started':
      return formatFullTime(row.started_at);
    case 'status':
      return row.status + (row.detached ? ' (detached)' : '');
    default: {
      if (column.startsWith('metrics.')) {
        const m = row.metrics[column.slice(8)];
        return m
          ? `last ${formatMetric(m.last)}, min ${formatMetric(m.min)}, max ${formatMetric(m.max)}`
          : '';
      }
      return cellText(row, column);
    }
  }
}

/** A virtualized, sortable table of runs. */
export function RunsTable(props: IRunsTableProps): JSX.Element {
  const { rows, sort, selection } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600, width: 300 });
  const frame = useRef(0);

  useEffect(() => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() =>
      setView({
        top: node.scrollTop,
        height: node.clientHeight,
        width: node.clientWidth
      })
    );
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  const onScroll = useCallback(() => {
    if (frame.current) {
      return;
    }
    // One render per animation frame, however many scroll events arrive.
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const node = scroller.current;
      if (node) {
        setView({
          top: node.scrollTop,
          height: node.clientHeight,
          width: node.clientWidth
        });
      }
    });
  }, []);

  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  // Grouped: the lines drawn are group headers and rows; each row's line is looked up.
  const { groups } = props;
  const lines = useMemo(() => {
    if (!groups) {
      return null;
    }
    const out: (IRowGroup | IRunRow)[] = [];
    const lineOf = new Map<string, number>();
    for (const group of groups) {
      out.push(group);
      for (const row of group.rows) {
        lineOf.set(row.run_id, out.length);
        out.push(row);
      }
    }
    return { out, lineOf };
  }, [groups]);
  const offset = lines ? 0 : (props.offset ?? 0);
  const total = lines ? lines.out.length : (props.total ?? rows.length);
  // The positions on screen, then with a few rows around (those are drawn).
  const shownFirst = Math.floor(view.top / ROW_HEIGHT);
  const shownLast = Math.ceil((view.top + view.height) / ROW_HEIGHT);
  const { onRange } = props;
  useEffect(() => {
    onRange?.(shownFirst, Math.min(total, shownLast));
  }, [onRange, shownFirst, shownLast, total]);
  const first = Math.max(offset, shownFirst - OVERSCAN);
  const last = Math.min(
    lines ? total : offset + rows.length,
    total,
    shownLast + OVERSCAN
  );
  // Rows of a window not fetched yet are blank until they come.
  const visible: readonly (IRunRow | IRowGroup)[] =
    last <= first
      ? []
      : lines
        ? lines.out.slice(first, last)
        : rows.slice(first - offset, last - offset);
  // Durations of running runs tick every second, but only while one is on screen.
  const ticking = visible.some(r => 'status' in r && r.status === 'running');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!ticking) {
      return;
    }
    const timer = window.setInterval(() => setTick(t => t + 1), 1000);
    return () => window.clearInterval(timer);
  }, [ticking]);

  // A narrow sidebar drops the notebook and start time (they are in the row's tooltip)
  // so that names stay readable without scrolling sideways; the name takes what is left.
  const columns = useMemo(
    () =>
      view.width < NARROW
        ? props.columns.filter(c => c !== 'notebook' && c !== 'started')
        : props.columns,
    [props.columns, view.width < NARROW]
  );
  const given = props.widths ?? {};
  const baseWidth = (c: ColumnKey): number => given[c] ?? columnWidth(c);
  const others = columns.reduce(
    (w, c) => w + (c === 'name' ? 0 : baseWidth(c)),
    0
  );
  // The name takes the room left, unless the user gave it a width.
  const nameWidth =
    given.name ?? Math.max(columnWidth('name'), view.width - others);
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
  const [dragging, setDragging] = useState<ColumnKey | null>(null);

  const startResize = (event: React.MouseEvent, column: ColumnKey): void => {
    event.preventDefault();
    event.stopPropagation();
    const startX = event.clientX;
    const startWidth = widthOf(column);
    const cell = (event.currentTarget as HTMLElement).parentElement;
    // A guide line follows the pointer; the width is set once, on release, so a drag
    // does not re-render thousands of rows per pixel.
    const guide = document.createElement('div');
    guide.className = 'trackrun-RunsTable-resizeGuide';
    const place = (x: number): void => {
      const box = cell?.getBoundingClientRect();
      const width = Math.max(MIN_COLUMN_WIDTH, startWidth + x - startX);
      guide.style.left = `${(box?.left ?? x) + width}px`;
      guide.style.top = `${box?.top ?? 0}px`;
    };
    place(startX);
    document.body.appendChild(guide);
    const move = (e: MouseEvent): void => place(e.clientX);
    const up = (e: MouseEvent): void => {
      document.removeEventListener('mousemove', move);
      document.removeEventListener('mouseup', up);
      guide.remove();
      props.onResize?.(column, startWidth + e.clientX - startX);
    };
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
  };
  const template = columns.map(c => `${widthOf(c)}px`).join(' ');
  const totalWidth = columns.reduce((w, c) => w + widthOf(c), 0);

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
    if (!node || !rows.length) {
      return;
    }
    const at = props.cursor
      ? rows.findIndex(r => r.run_id === props.cursor)
      : -1;
    if (event.key === 'Enter' && at >= 0) {
      props.onOpen(rows[at].run_id);
      return;
    }
    const moves: Record<string, number> = {
      ArrowDown: 1,
      ArrowUp: -1,
      PageDown: Math.floor(node.clientHeight / ROW_HEIGHT) - 1,
      PageUp: -(Math.floor(node.clientHeight / ROW_HEIGHT) - 1)
    };
    if (!(event.key in moves)) {
      return;
    }
    event.preventDefault();
    const next = Math.max(0, Math.min(rows.length - 1, at + moves[event.key]));
    props.onSelect(rows[next].run_id, event.shiftKey ? 'range' : 'single');
    // Keep the row in view (below the sticky header).
    const line = lines
      ? (lines.lineOf.get(rows[next].run_id) ?? next)
      : next + offset;
    const top = line * ROW_HEIGHT;
    if (top < node.scrollTop) {
      node.scrollTop = top;
    } else if (top + 2 * ROW_HEIGHT > node.scrollTop + node.clientHeight) {
      node.scrollTop = top + 2 * ROW_HEIGHT - node.clientHeight;
    }
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
      <div
        className="trackrun-RunsTable-header"
        style={{ gridTemplateColumns: template, width: totalWidth }}
        role="row"
      >
        {columns.map(column => {
          const sorted = sort && sort.key === column;
          const pinned = PINNED_COLUMNS.includes(column);
          const left = stickyLeft(column);
          return (
            <div
              key={column}
              className={
                'trackrun-RunsTable-th' +
                (sorted ? ' trackrun-mod-sorted' : '') +
                (pinned ? ' trackrun-mod-pinned' : '') +
                (dragging && dragging !== column && !pinned
                  ? ' trackrun-mod-dropTarget'
                  : '')
              }
              style={left === undefined ? undefined : { left }}
              role="columnheader"
              data-column={column}
              title={
                isSortable(column)
                  ? `Sort by ${column}` +
                    (pinned ? '' : '; drag to move, drag the edge to resize')
                  : column
              }
              aria-sort={
                sorted ? (sort.desc ? 'descending' : 'ascending') : 'none'
              }
              draggable={!pinned}
              onDragStart={event => {
                event.dataTransfer.setData('text/x-trackrun-column', column);
                event.dataTransfer.effectAllowed = 'move';
                setDragging(column);
              }}
              onDragEnd={() => setDragging(null)}
              onDragOver={event => {
                if (dragging && !pinned) {
                  event.preventDefault();
                }
              }}
              onDrop={event => {
                event.preventDefault();
                const moved = event.dataTransfer.getData(
                  'text/x-trackrun-column'
                );
                setDragging(null);
                if (moved && moved !== column) {
                  props.onMove?.(moved, column);
                }
              }}
              onClick={() => props.onSort(column)}
            >
              <span className="trackrun-RunsTable-thLabel">
                {columnTitle(column)}
              </span>
              {sorted && (
                <span className="trackrun-RunsTable-sortMark">
                  {sort.desc ? '▼' : '▲'}
                </span>
              )}
              {column !== 'status' && (
                <span
                  className="trackrun-RunsTable-resize"
                  aria-hidden={true}
                  onMouseDown={event => startResize(event, column)}
                  onClick={event => event.stopPropagation()}
                />
              )}
            </div>
          );
        })}
      </div>
      <div
        className="trackrun-RunsTable-body"
        style={{ height: total * ROW_HEIGHT, width: totalWidth }}
      >
        {visible.map((row, i) =>
          'label' in row ? (
            <div
              key={`group:${row.label}`}
              className="trackrun-RunsTable-group"
              role="row"
              data-group={row.label}
              style={{
                transform: `translateY(${(first + i) * ROW_HEIGHT}px)`,
                width: totalWidth
              }}
            >
              <span className="trackrun-RunsTable-groupLabel">{row.label}</span>
              <span className="trackrun-muted">
                {row.rows.length} run{row.rows.length === 1 ? '' : 's'}
              </span>
            </div>
          ) : (
            <Row
              key={row.run_id}
              row={row}
              index={first + i}
              columns={columns}
              template={template}
              width={totalWidth}
              nameLeft={stickyLeft('name') ?? 0}
              selected={selection.has(row.run_id)}
              tick={row.status === 'running' ? tick : 0}
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

interface IRowProps {
  row: IRunRow;
  index: number;
  columns: readonly ColumnKey[];
  template: string;
  width: number;
  /** Where the pinned name column sticks (px from the left: after the status). */
  nameLeft: number;
  selected: boolean;
  /** Changes every second for running runs (their duration ticks). */
  tick: number;
  onMouseDown: (event: React.MouseEvent, runId: string) => void;
  onOpen: (runId: string) => void;
  onContextMenu: (runId: string) => void;
}

/** One row; memoized, so scrolling renders only the rows that come into view. */
const Row = React.memo(function Row(props: IRowProps): JSX.Element {
  const { row, index, columns, selected } = props;
  return (
    <div
      className={
        'trackrun-RunsTable-row' +
        (selected ? ' trackrun-mod-selected' : '') +
        (index % 2 ? ' trackrun-mod-odd' : '')
      }
      role="row"
      aria-selected={selected}
      data-run-id={row.run_id}
      data-status={row.status}
      style={{
        transform: `translateY(${index * ROW_HEIGHT}px)`,
        gridTemplateColumns: props.template,
        width: props.width
      }}
      onMouseDown={event => {
        if (event.button === 0) {
          props.onMouseDown(event, row.run_id);
        }
      }}
      onDoubleClick={() => props.onOpen(row.run_id)}
      onContextMenu={() => props.onContextMenu(row.run_id)}
      onMouseEnter={event => fillTitles(event.currentTarget, row, columns)}
    >
      {columns.map(column =>
        column === 'status' ? (
          <div
            key={column}
            className="trackrun-RunsTable-td trackrun-mod-status trackrun-mod-pinned"
            style={{ left: 0 }}
          >
            <StatusIcon status={row.status} />
          </div>
        ) : (
          <div
            key={column}
            className={
              'trackrun-RunsTable-td' +
              (column.startsWith('params.') || column.startsWith('metrics.')
                ? ' trackrun-mod-number'
                : '') +
              ` trackrun-col-${BASE_CLASS.has(column) ? column : 'extra'}` +
              (column === 'name' ? ' trackrun-mod-pinned' : '')
            }
            style={column === 'name' ? { left: props.nameLeft } : undefined}
          >
            {cellText(row, column)}
          </div>
        )
      )}
    </div>
  );
});

const BASE_CLASS = new Set(['name', 'notebook', 'started', 'duration']);

/** Tooltips are made when the pointer reaches a row, not for every row drawn. */
function fillTitles(
  node: HTMLElement,
  row: IRunRow,
  columns: readonly ColumnKey[]
): void {
  const cells = node.children;
  for (let i = 0; i < cells.length && i < columns.length; i++) {
    (cells[i] as HTMLElement).title = cellTitle(row, columns[i]);
  }
}
