// The runs sidebar: filter box, column chooser, the runs table, empty and error states.
import {
  ReactWidget,
  UseSignal,
  launchIcon,
  refreshIcon,
  tableRowsIcon
} from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useRef, useState } from 'react';

import { ColumnKey, ConnectionState, RunsModel } from '../../models/runs';
import { TrashModel } from '../../models/trash';
import { FilterBox } from './FilterBox';
import { columnTitle } from './cells';
import { RunsTable } from './RunsTable';
import { ITrashActions, TrashSection } from './TrashSection';

/** What the panel asks of the application (commands, in plugin.ts). */
export interface IRunsPanelActions extends ITrashActions {
  open: (runId: string) => void;
  /** Open the compare view of a whole sweep. */
  compareSweep: (sweepId: string) => void;
  /** Open the table full-width in the main area. */
  openTable: () => void;
  compare: () => void;
  refresh: () => void;
}

/** The left-area widget listing runs, and the runs in the trash below them. */
export class RunsPanel extends ReactWidget {
  constructor(model: RunsModel, trash: TrashModel, actions: IRunsPanelActions) {
    super();
    this.model = model;
    this.trash = trash;
    this._actions = actions;
    this.addClass('trackrun-RunsPanel');
  }

  readonly model: RunsModel;
  readonly trash: TrashModel;

  /** Put the keyboard focus in the filter box. */
  focusFilter(): void {
    this.node
      .querySelector<HTMLInputElement>('.trackrun-FilterBox-input')
      ?.focus();
  }

  protected render(): JSX.Element {
    const model = this.model;
    return (
      <UseSignal signal={model.stateChanged}>
        {() => (
          <div className="trackrun-RunsPanel-content">
            <PanelHeader model={model} actions={this._actions} />
            <UseSignal signal={model.keysChanged}>
              {() => (
                <FilterBox
                  value={model.filter}
                  error={model.filterError}
                  keys={model.filterKeys}
                  onFocus={() => model.loadFilterKeys()}
                  onChange={text => model.setFilter(text)}
                />
              )}
            </UseSignal>
            <ConnectionBanner state={model.connection} />
            <UseSignal signal={model.changed}>
              {() => (
                <UseSignal signal={model.selectionChanged}>
                  {() => (
                    <UseSignal signal={model.sweeps.changed}>
                      {() => <Body model={model} actions={this._actions} />}
                    </UseSignal>
                  )}
                </UseSignal>
              )}
            </UseSignal>
            <TrashSection model={this.trash} actions={this._actions} />
          </div>
        )}
      </UseSignal>
    );
  }

  private _actions: IRunsPanelActions;
}

function PanelHeader(props: {
  model: RunsModel;
  actions: IRunsPanelActions;
}): JSX.Element {
  const { model, actions } = props;
  const [choosing, setChoosing] = useState(false);
  return (
    <div className="trackrun-RunsPanel-header">
      <span className="trackrun-RunsPanel-title">Runs</span>
      <UseSignal signal={model.selectionChanged}>
        {() => (
          <button
            className="jp-Button trackrun-Button trackrun-RunsPanel-compare"
            disabled={model.selectedRunIds.length < 2}
            title="Compare the selected runs (select 2 or more with Ctrl/Shift-click)"
            onClick={() => actions.compare()}
          >
            Compare
            {model.selectedRunIds.length >= 2
              ? ` (${model.selectedRunIds.length})`
              : ''}
          </button>
        )}
      </UseSignal>
      <button
        className="trackrun-IconButton trackrun-RunsPanel-columns"
        title="Choose, hide and order columns (drag a header to move it, its edge to resize it)"
        aria-label="Columns"
        aria-expanded={choosing}
        onClick={() => setChoosing(!choosing)}
      >
        <tableRowsIcon.react tag="span" />
      </button>
      <button
        className="trackrun-IconButton trackrun-RunsPanel-openTable"
        title="Open the runs as a table in the main area (with grouping)"
        aria-label="Open as table"
        onClick={() => actions.openTable()}
      >
        <launchIcon.react tag="span" />
      </button>
      <button
        className="trackrun-IconButton trackrun-RunsPanel-refresh"
        title="Refresh"
        aria-label="Refresh"
        onClick={() => actions.refresh()}
      >
        <refreshIcon.react tag="span" />
      </button>
      {choosing && (
        <ColumnChooser
          available={model.layout.availableColumns}
          chosen={model.layout.columns}
          onToggle={column => model.layout.toggleColumn(column)}
          onClose={() => setChoosing(false)}
        />
      )}
    </div>
  );
}

function ColumnChooser(props: {
  available: readonly ColumnKey[];
  chosen: readonly ColumnKey[];
  onToggle: (column: ColumnKey) => void;
  onClose: () => void;
}): JSX.Element {
  const [search, setSearch] = useState('');
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const away = (event: MouseEvent): void => {
      const node = ref.current;
      const target = event.target as Node;
      if (
        node &&
        !node.contains(target) &&
        !(
          target instanceof HTMLElement &&
          target.closest('.trackrun-RunsPanel-columns')
        )
      ) {
        props.onClose();
      }
    };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [props.onClose]);
  const shown = props.available.filter(c =>
    c.toLowerCase().includes(search.toLowerCase())
  );
  return (
    <div
      className="trackrun-ColumnChooser"
      ref={ref}
      role="dialog"
      onKeyDown={e => {
        if (e.key === 'Escape') {
          props.onClose();
        }
      }}
    >
      <input
        className="jp-mod-styled trackrun-ColumnChooser-search"
        placeholder="Search columns"
        value={search}
        autoFocus
        onChange={e => setSearch(e.target.value)}
      />
      <div className="trackrun-ColumnChooser-list">
        {shown.length === 0 && (
          <div className="trackrun-muted">
            {props.available.length
              ? 'No column matches.'
              : 'No params or metrics recorded yet.'}
          </div>
        )}
        {shown.map(column => (
          <label key={column} className="trackrun-ColumnChooser-item">
            <input
              type="checkbox"
              checked={props.chosen.includes(column)}
              onChange={() => props.onToggle(column)}
            />
            <span>{column}</span>
          </label>
        ))}
      </div>
    </div>
  );
}

function ConnectionBanner(props: {
  state: ConnectionState;
}): JSX.Element | null {
  const { state } = props;
  if (state.kind === 'ok' || state.kind === 'connecting') {
    return null;
  }
  if (state.kind === 'missing') {
    return (
      <div className="trackrun-Banner trackrun-mod-error" role="alert">
        <b>The trackrun server extension is not enabled.</b> The panel needs it
        to read the run store. Install trackrun in the environment that runs
        Jupyter (<code>pip install trackrun</code>), check{' '}
        <code>jupyter server extension list</code>, then restart Jupyter.
      </div>
    );
  }
  if (state.kind === 'unreachable') {
    return (
      <div className="trackrun-Banner trackrun-mod-warn" role="alert">
        Cannot reach the Jupyter server; retrying… Runs go on in the background.
      </div>
    );
  }
  return (
    <div className="trackrun-Banner trackrun-mod-error" role="alert">
      {state.message}
    </div>
  );
}

function Body(props: {
  model: RunsModel;
  actions: IRunsPanelActions;
}): JSX.Element {
  const { model, actions } = props;
  const columns = model.layout.columns;
  const onRange = useCallback(
    (first: number, last: number) => model.setVisibleRange(first, last),
    [model]
  );
  const sweep = useCallback(
    (sweepId: string) => model.sweeps.summary(sweepId),
    // A new function when the sweeps change, so that memoized sweep lines draw again.
    [model, model.sweeps.all]
  );
  const toggleSweep = useCallback(
    (sweepId: string, open?: boolean) => model.toggleSweep(sweepId, open),
    [model]
  );
  const { compareSweep } = actions;
  if (!model.loaded) {
    return (
      <div className="trackrun-RunsPanel-empty trackrun-muted">
        {model.connection.kind === 'missing' ? '' : 'Loading runs…'}
      </div>
    );
  }
  if (model.rows.length === 0 && model.total === 0) {
    if (model.filterError) {
      return <div className="trackrun-RunsPanel-empty" />;
    }
    return model.filter.trim() ? (
      <div className="trackrun-RunsPanel-empty">
        <p>No runs match this filter.</p>
      </div>
    ) : (
      <EmptyState />
    );
  }
  return (
    <>
      {model.stale && (
        <div className="trackrun-RunsPanel-stale trackrun-muted" role="status">
          {model.filterError
            ? 'Showing the runs of the last valid filter.'
            : 'Updating…'}
        </div>
      )}
      <RunsTable
        stale={model.stale}
        rows={model.rows}
        offset={model.offset}
        total={model.total}
        onRange={onRange}
        sweepLines={model.sweepLines}
        expanded={model.expandedSweeps}
        sweep={sweep}
        onToggleSweep={toggleSweep}
        onOpenSweep={compareSweep}
        columns={columns}
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
      <div className="trackrun-RunsPanel-footer">
        {model.sweeps.all.length
          ? `${model.total.toLocaleString()} line${model.total === 1 ? '' : 's'} (a sweep is one)`
          : `${model.total.toLocaleString()} run${model.total === 1 ? '' : 's'}`}
        {model.selectedRunIds.length > 0 &&
          ` · ${model.selectedRunIds.length} selected`}
        {model.sort &&
          ` · sorted by ${columnTitle(model.sort.key) || 'status'}`}
      </div>
    </>
  );
}

function EmptyState(): JSX.Element {
  return (
    <div className="trackrun-RunsPanel-empty trackrun-EmptyState">
      <p>
        <b>No runs yet.</b>
      </p>
      <p>Track a training cell in any notebook:</p>
      <pre className="trackrun-code">{'%load_ext trackrun'}</pre>
      <pre className="trackrun-code">
        {
          '%%track_run\nfor step in range(100):\n    loss = train_step()\n    trackrun.log(loss=loss)'
        }
      </pre>
      <p>
        Add <code>--detach</code> to run the cell in the background: it goes on
        when the browser closes. Runs appear here as they start.
      </p>
    </div>
  );
}
