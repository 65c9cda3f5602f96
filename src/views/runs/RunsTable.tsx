// The runs table: sortable header and virtualized rows (only the visible ones are in the DOM).
import React, { useCallback, useEffect, useRef, useState } from 'react';

import { IRunRow } from '../../api';
import { ColumnKey, ISort, SelectMode } from '../../models/runs';
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

export interface IRunsTableProps {
  rows: readonly IRunRow[];
  columns: readonly ColumnKey[];
  sort: ISort | null;
  selection: ReadonlySet<string>;
  onSort: (column: ColumnKey) => void;
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
  duration: 'Duration'
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
      return 150;
    case 'notebook':
      return 110;
    case 'started':
      return 92;
    case 'duration':
      return 66;
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
      return `${row.name}\n${row.run_id}${row.tags.length ? '\ntags: ' + row.tags.join(', ') : ''}`;
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
  const { rows, columns, sort, selection } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  const frame = useRef(0);

  useEffect(() => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() =>
      setView({ top: node.scrollTop, height: node.clientHeight })
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
        setView({ top: node.scrollTop, height: node.clientHeight });
      }
    });
  }, []);

  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  // Durations of running runs tick every second, but only while one is on screen.
  const first = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(
    rows.length,
    Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN
  );
  const visible = rows.slice(first, last);
  const ticking = visible.some(r => r.status === 'running');
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!ticking) {
      return;
    }
    const timer = window.setInterval(() => setTick(t => t + 1), 1000);
    return () => window.clearInterval(timer);
  }, [ticking]);

  const template = columns.map(c => `${columnWidth(c)}px`).join(' ');
  const totalWidth = columns.reduce((w, c) => w + columnWidth(c), 0);

  const click = (event: React.MouseEvent, runId: string): void => {
    const mode: SelectMode = event.shiftKey
      ? 'range'
      : event.ctrlKey || event.metaKey
        ? 'toggle'
        : 'single';
    if (event.shiftKey) {
      event.preventDefault(); // no text selection on shift-click
    }
    props.onSelect(runId, mode);
  };

  return (
    <div
      className="trackrun-RunsTable"
      ref={scroller}
      onScroll={onScroll}
      role="grid"
      aria-rowcount={rows.length}
    >
      <div
        className="trackrun-RunsTable-header"
        style={{ gridTemplateColumns: template, width: totalWidth }}
        role="row"
      >
        {columns.map(column => {
          const sorted = sort && sort.key === column;
          return (
            <div
              key={column}
              className={
                'trackrun-RunsTable-th' + (sorted ? ' trackrun-mod-sorted' : '')
              }
              role="columnheader"
              data-column={column}
              title={`Sort by ${column}`}
              aria-sort={sorted ? (sort.desc ? 'descending' : 'ascending') : 'none'}
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
            </div>
          );
        })}
      </div>
      <div
        className="trackrun-RunsTable-body"
        style={{ height: rows.length * ROW_HEIGHT, width: totalWidth }}
      >
        {visible.map((row, i) => {
          const index = first + i;
          const selected = selection.has(row.run_id);
          return (
            <div
              key={row.run_id}
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
                gridTemplateColumns: template,
                width: totalWidth
              }}
              onMouseDown={event => {
                if (event.button === 0) {
                  click(event, row.run_id);
                }
              }}
              onDoubleClick={() => props.onOpen(row.run_id)}
              onContextMenu={() => props.onContextMenu(row.run_id)}
            >
              {columns.map(column =>
                column === 'status' ? (
                  <div
                    key={column}
                    className="trackrun-RunsTable-td trackrun-mod-status"
                    title={cellTitle(row, column)}
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
                      ` trackrun-col-${column === 'name' || column === 'notebook' || column === 'started' || column === 'duration' ? column : 'extra'}`
                    }
                    title={cellTitle(row, column)}
                  >
                    {cellText(row, column)}
                  </div>
                )
              )}
            </div>
          );
        })}
      </div>
    </div>
  );
}
