// The runs table's header row: click to sort, drag a header to move its column, drag its edge to resize.
import React, { useState } from 'react';

import {
  ColumnKey,
  MIN_COLUMN_WIDTH,
  PINNED_COLUMNS
} from '../../models/columns';
import { ISort, isSortable } from '../../models/order';
import { columnTitle } from './cells';
import { IColumnGeometry } from './geometry';

/** The drag data type of a header being moved. */
const COLUMN_DRAG = 'text/x-trackrun-column';

export interface ITableHeaderProps {
  geometry: IColumnGeometry;
  sort: ISort | null;
  onSort: (column: ColumnKey) => void;
  /** A column's edge was dragged to `width` px. */
  onResize?: (column: ColumnKey, width: number) => void;
  /** A header was dragged onto another: put `column` before `before`. */
  onMove?: (column: ColumnKey, before: ColumnKey | null) => void;
}

/** The header row of the runs table (sticky above the rows). */
export function TableHeader(props: ITableHeaderProps): JSX.Element {
  const { geometry, sort } = props;
  const { columns, widthOf, stickyLeft } = geometry;
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

  return (
    <div
      className="trackrun-RunsTable-header"
      style={{
        gridTemplateColumns: geometry.template,
        width: geometry.totalWidth
      }}
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
              event.dataTransfer.setData(COLUMN_DRAG, column);
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
              const moved = event.dataTransfer.getData(COLUMN_DRAG);
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
  );
}
