// The runs table full-width in the main area ("Open Runs as Table"), grouped by a param, tags or sweep.
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import React, { useCallback, useMemo } from 'react';

import { IDisposable } from '@lumino/disposable';

import { GroupBy, groupRows } from '../../models/groups';
import { RunsModel } from '../../models/runs';
import { RunsTable } from './RunsTable';

/** What the table asks of the application. */
export interface ITableViewActions {
  open: (runId: string) => void;
  compareSweep: (sweepId: string) => void;
}

/** The main-area widget: the sidebar's table (same model, selection and columns), wider. */
export class RunsTableView extends ReactWidget {
  constructor(model: RunsModel, actions: ITableViewActions) {
    super();
    this.model = model;
    this._actions = actions;
    this.addClass('trackrun-TableView');
    this.title.label = 'Runs';
    this.title.caption = 'All runs, as a table (trackrun)';
    this.title.closable = true;
  }

  readonly model: RunsModel;

  /** Group rows by `by` ('' for none, 'sweep', 'tags', or `params.KEY`). */
  get groupBy(): GroupBy {
    return this._groupBy;
  }

  set groupBy(by: GroupBy) {
    this._groupBy = by;
    // Grouping needs every run on its own line: no sweep lines while it groups.
    if (by && !this._flat) {
      this._flat = this.model.holdFlat();
    } else if (!by && this._flat) {
      this._flat.dispose();
      this._flat = null;
    }
    this.update();
  }

  dispose(): void {
    this._flat?.dispose();
    this._flat = null;
    super.dispose();
  }

  protected render(): JSX.Element {
    const model = this.model;
    return (
      <UseSignal signal={model.stateChanged}>
        {() => (
          <UseSignal signal={model.changed}>
            {() => (
              <UseSignal signal={model.selectionChanged}>
                {() => (
                  <UseSignal signal={model.sweeps.changed}>
                    {() => (
                      <TableBody
                        model={model}
                        groupBy={this._groupBy}
                        onGroupBy={by => (this.groupBy = by)}
                        actions={this._actions}
                      />
                    )}
                  </UseSignal>
                )}
              </UseSignal>
            )}
          </UseSignal>
        )}
      </UseSignal>
    );
  }

  private _actions: ITableViewActions;
  private _groupBy: GroupBy = '';
  private _flat: IDisposable | null = null;
}

function TableBody(props: {
  model: RunsModel;
  groupBy: GroupBy;
  onGroupBy: (by: GroupBy) => void;
  actions: ITableViewActions;
}): JSX.Element {
  const { model, groupBy, actions } = props;
  const onRange = useCallback(
    (first: number, last: number) => model.setVisibleRange(first, last),
    [model]
  );
  // Grouping needs every row: a list fetched in windows is shown ungrouped.
  const whole = model.offset === 0 && model.rows.length >= model.total;
  const grouping = whole ? groupBy : '';
  const groups = useMemo(
    () => (grouping ? groupRows(model.rows, grouping) : undefined),
    [model.rows, grouping]
  );
  const params = model.layout.availableColumns.filter(c =>
    c.startsWith('params.')
  );
  const flat = groups ? groups.flatMap(g => g.rows) : model.rows;
  return (
    <>
      <div className="trackrun-TableView-toolbar">
        <label>
          Group by{' '}
          <select
            className="jp-mod-styled trackrun-TableView-groupBy"
            value={groupBy}
            onChange={e => props.onGroupBy(e.target.value)}
          >
            <option value="">nothing</option>
            <option value="sweep">sweep</option>
            <option value="tags">tags</option>
            {params.map(p => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <span className="trackrun-muted">
          {`${model.total.toLocaleString()} run${model.total === 1 ? '' : 's'}`}
          {model.filter.trim() ? ` matching ${model.filter.trim()}` : ''}
        </span>
      </div>
      {groupBy && !whole && (
        <div className="trackrun-TableView-note" role="status">
          Grouping needs the whole list: refine the filter to under 2,000 runs.
        </div>
      )}
      <RunsTable
        stale={model.stale}
        rows={flat}
        offset={groups ? 0 : model.offset}
        total={groups ? undefined : model.total}
        onRange={groups ? undefined : onRange}
        groups={groups}
        sweepLines={groups ? undefined : model.sweepLines}
        expanded={model.expandedSweeps}
        sweep={id => model.sweeps.summary(id)}
        onToggleSweep={(id, open) => model.toggleSweep(id, open)}
        onOpenSweep={actions.compareSweep}
        columns={model.layout.columns}
        sort={model.sort}
        selection={model.selected.ids}
        cursor={model.selected.cursor}
        widths={model.layout.widths}
        onSort={column => model.toggleSort(column)}
        onResize={(column, width) => model.layout.resizeColumn(column, width)}
        onMove={(column, before) => model.layout.moveColumn(column, before)}
        onSelect={(runId, mode) => model.selected.select(runId, mode)}
        onOpen={runId => actions.open(runId)}
        onContextMenu={runId => model.selected.ensure(runId)}
      />
    </>
  );
}
