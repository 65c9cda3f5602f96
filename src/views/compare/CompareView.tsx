// The compare view: differing params, summary metrics with the best values marked,
// overlaid curves, images side by side, the code diff and package differences of 2+ runs.
import { IEditorServices } from '@jupyterlab/codeeditor';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { IComparison, IRunRow, ITable } from '../../api';
import { CompareModel } from '../../models/compare';
import { seedGroups } from '../../models/seeds';
import { MetricChart } from '../chart/MetricChart';
import { colorsByRunId } from '../chart/spec';
import { DiffViewer } from '../common/DiffViewer';
import { CompareMedia } from './CompareMedia';
import { StatusIcon } from '../common/StatusIcon';
import { formatMetric, formatValue } from '../common/format';

const IDENTITY = new Set(['run_id', 'name', 'status']);

/** Metric names where smaller is better; every other metric is better larger. */
const LOWER_IS_BETTER =
  /loss|err|mse|mae|rmse|nll|perplex|ppl|wer|cer|latency|time|dist|regret|fid/i;

/** Whether a smaller value of `metric` is the better one (a guess from its name). */
export function lowerIsBetter(metric: string): boolean {
  return LOWER_IS_BETTER.test(metric);
}

export class CompareView extends ReactWidget {
  constructor(
    model: CompareModel,
    open: (runId: string) => void,
    editors: IEditorServices | null = null
  ) {
    super();
    this.model = model;
    this._open = open;
    this._editors = editors;
    this.addClass('trackrun-CompareView');
  }

  readonly model: CompareModel;

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <Comparison
            model={this.model}
            open={this._open}
            editors={this._editors}
          />
        )}
      </UseSignal>
    );
  }

  private _open: (runId: string) => void;
  private _editors: IEditorServices | null;
}

function Comparison(props: {
  model: CompareModel;
  open: (runId: string) => void;
  editors: IEditorServices | null;
}): JSX.Element {
  const { model } = props;
  const [allParams, setAllParams] = useState(false);
  const c = model.comparison;
  if (!c) {
    return (
      <div className="trackrun-CompareView-content trackrun-muted">
        {model.error ?? 'Loading comparison…'}
      </div>
    );
  }
  const runs = orderRuns(c.runs, model.runIds);
  const params = allParams ? c.params_all : c.params_diff;
  const order = runs.map(r => r.run_id);
  const colors = colorsByRunId(c.chart, order);
  return (
    <div className="trackrun-CompareView-content">
      {model.error && (
        <div className="trackrun-Banner trackrun-mod-warn">{model.error}</div>
      )}
      <section className="trackrun-Section">
        <h3>Runs</h3>
        <div className="trackrun-CompareView-runs">
          {runs.map(run => (
            <button
              key={run.run_id}
              className="trackrun-Chip trackrun-CompareView-run"
              title={`Open ${run.run_id}`}
              onClick={() => props.open(run.run_id)}
            >
              <span
                className="trackrun-CompareView-swatch"
                style={{ background: colors.get(run.run_id) ?? 'transparent' }}
                aria-hidden={true}
              />
              <StatusIcon status={run.status} /> {run.name}
            </button>
          ))}
        </div>
      </section>
      <section className="trackrun-Section trackrun-CompareView-params">
        <h3>
          Params
          <label className="trackrun-Toggle">
            <input
              type="checkbox"
              checked={allParams}
              onChange={e => setAllParams(e.target.checked)}
            />
            show all
          </label>
        </h3>
        <RunsByField
          table={params}
          runs={runs}
          empty={
            allParams
              ? 'No params recorded.'
              : 'All params are the same in these runs.'
          }
        />
      </section>
      <section className="trackrun-Section trackrun-CompareView-summary">
        <h3>Summary metrics (last values; best marked)</h3>
        <RunsByField
          table={c.summary}
          runs={runs}
          best={true}
          empty="No metrics."
        />
      </section>
      <section className="trackrun-Section trackrun-CompareView-chart">
        <h3>Curves</h3>
        <MetricChart
          spec={c.chart}
          actions={true}
          controls={true}
          runOrder={order}
          seedGroups={seedGroups(c.params_all)}
        />
      </section>
      <CompareMedia
        runs={runs}
        media={model.media}
        url={item => model.mediaUrl(item)}
        colors={colors}
      />
      <CodeDiff comparison={c} runs={runs} editors={props.editors} />
      <section className="trackrun-Section trackrun-CompareView-packages">
        <h3>
          Packages
          {runs.length >= 2 ? `: ${runs[0].name} → ${runs[1].name}` : ''}
        </h3>
        {c.packages.length === 0 ? (
          <div className="trackrun-muted">Same package versions.</div>
        ) : (
          <table className="trackrun-Table">
            <thead>
              <tr>
                <th>package</th>
                <th>{runs[0]?.name}</th>
                <th>{runs[1]?.name}</th>
              </tr>
            </thead>
            <tbody>
              {c.packages.map(([name, a, b]) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td className={a === null ? 'trackrun-muted' : ''}>
                    {a ?? 'absent'}
                  </td>
                  <td className={b === null ? 'trackrun-muted' : ''}>
                    {b ?? 'absent'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function CodeDiff(props: {
  comparison: IComparison;
  runs: IRunRow[];
  editors: IEditorServices | null;
}): JSX.Element {
  const diff = props.comparison.code_diff;
  const [which, setWhich] = useState<'cell' | 'notebook'>('cell');
  const [a, b] = props.runs;
  const text = diff ? diff[which] : '';
  return (
    <section className="trackrun-Section trackrun-CompareView-code">
      <h3>
        Code{a && b ? `: ${a.name} → ${b.name}` : ''}
        <span className="trackrun-Tabs trackrun-mod-small">
          {(['cell', 'notebook'] as const).map(w => (
            <button
              key={w}
              className={
                'trackrun-Tabs-tab' +
                (w === which ? ' trackrun-mod-active' : '')
              }
              aria-selected={w === which}
              onClick={() => setWhich(w)}
            >
              {w}
            </button>
          ))}
        </span>
      </h3>
      {text ? (
        <DiffViewer
          text={text}
          fileName={`${which}.py`}
          editors={props.editors}
        />
      ) : (
        <div className="trackrun-muted">
          {diff
            ? `The ${which} code is the same (or was not recorded).`
            : 'No code diff.'}
        </div>
      )}
    </section>
  );
}

/** A table sent with one row per run, shown with one row per field and a column per run. */
function RunsByField(props: {
  table: ITable;
  runs: IRunRow[];
  best?: boolean;
  empty: string;
}): JSX.Element {
  const { table, runs } = props;
  const idColumn = table.columns.indexOf('run_id');
  const fields = table.columns
    .map((name, index) => ({ name, index }))
    .filter(f => !IDENTITY.has(f.name));
  if (!fields.length) {
    return <div className="trackrun-muted">{props.empty}</div>;
  }
  // Rows in the runs' display order.
  const rowOf = new Map<string, unknown[]>();
  for (const row of table.rows) {
    rowOf.set(String(idColumn >= 0 ? row[idColumn] : ''), row);
  }
  return (
    <div className="trackrun-TableScroll">
      <table className="trackrun-Table trackrun-RunsByField">
        <thead>
          <tr>
            <th />
            {runs.map(run => (
              <th key={run.run_id} title={run.run_id}>
                {run.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {fields.map(field => {
            const name = field.name.replace(/^(params|metrics)\./, '');
            const values = runs.map(
              run => rowOf.get(run.run_id)?.[field.index]
            );
            const best = props.best
              ? bestIndexes(name, values)
              : new Set<number>();
            return (
              <tr key={field.name} data-field={name}>
                <th scope="row">{name}</th>
                {values.map((value, i) => (
                  <td
                    key={i}
                    className={best.has(i) ? 'trackrun-mod-best' : ''}
                    title={
                      best.has(i)
                        ? `best (${lowerIsBetter(name) ? 'lowest' : 'highest'})`
                        : undefined
                    }
                  >
                    {typeof value === 'number' || typeof value === 'string'
                      ? typeof value === 'number'
                        ? formatMetric(value)
                        : value
                      : formatValue(value)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Indexes of the best finite values of `metric` among `values` (ties all win). */
function bestIndexes(metric: string, values: unknown[]): Set<number> {
  const numbers = values.map(v =>
    typeof v === 'number' && isFinite(v) ? v : null
  );
  const present = numbers.filter((v): v is number => v !== null);
  if (present.length < 2) {
    return new Set();
  }
  const target = lowerIsBetter(metric)
    ? Math.min(...present)
    : Math.max(...present);
  return new Set(numbers.flatMap((v, i) => (v === target ? [i] : [])));
}

function orderRuns(runs: IRunRow[], ids: readonly string[]): IRunRow[] {
  const byId = new Map(runs.map(r => [r.run_id, r]));
  return ids
    .map(id => byId.get(id))
    .filter((r): r is IRunRow => r !== undefined);
}
