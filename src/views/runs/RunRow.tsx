// One line of the runs table: a run's row (memoized; tooltips made on hover) or a group's header.
import React from 'react';

import { IRunRow } from '../../api';
import { ColumnKey } from '../../models/columns';
import { IRowGroup } from '../../models/groups';
import { StatusIcon } from '../common/StatusIcon';
import { cellText, cellTitle } from './cells';
import { ROW_HEIGHT } from './viewport';

/** Built-in columns with a class of their own (`trackrun-col-NAME`); others get `-extra`. */
const BASE_CLASS = new Set(['name', 'notebook', 'started', 'duration']);

export interface IRunRowProps {
  row: IRunRow;
  /** The row's line in the table (sets its place, and the stripe). */
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
export const RunRow = React.memo(function RunRow(
  props: IRunRowProps
): JSX.Element {
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

/** A group's header line, at line `index`: its label and how many runs it has. */
export function GroupLine(props: {
  group: IRowGroup;
  index: number;
  width: number;
}): JSX.Element {
  const { group } = props;
  return (
    <div
      className="trackrun-RunsTable-group"
      role="row"
      data-group={group.label}
      style={{
        transform: `translateY(${props.index * ROW_HEIGHT}px)`,
        width: props.width
      }}
    >
      <span className="trackrun-RunsTable-groupLabel">{group.label}</span>
      <span className="trackrun-muted">
        {group.rows.length} run{group.rows.length === 1 ? '' : 's'}
      </span>
    </div>
  );
}

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
