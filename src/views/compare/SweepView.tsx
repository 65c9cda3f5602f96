// The compare view of a whole sweep: params against the metric, seed groups with error bars, and which setting is really better.
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import React from 'react';

import { ISweepDetail, ISweepGroup } from '../../api';
import { SweepCompareModel, significanceLine } from '../../models/sweepcompare';
import { progressText } from '../../models/sweeps';
import { MetricChart } from '../chart/MetricChart';
import { formatMetric } from '../common/format';
import { groupsSpec, paramsSpec } from './sweepSpec';

/** What the view asks of the application. */
export interface ISweepViewActions {
  open: (runId: string) => void;
  /** Show only the sweep's runs in the runs sidebar. */
  filter: (name: string) => void;
}

/** The main-area widget comparing one sweep. */
export class SweepView extends ReactWidget {
  constructor(model: SweepCompareModel, actions: ISweepViewActions) {
    super();
    this.model = model;
    this._actions = actions;
    this.addClass('trackrun-CompareView');
    this.addClass('trackrun-SweepView');
  }

  readonly model: SweepCompareModel;

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <SweepComparison model={this.model} actions={this._actions} />}
      </UseSignal>
    );
  }

  private _actions: ISweepViewActions;
}

function SweepComparison(props: {
  model: SweepCompareModel;
  actions: ISweepViewActions;
}): JSX.Element {
  const { model, actions } = props;
  const d = model.detail;
  if (!d) {
    return (
      <div className="trackrun-CompareView-content trackrun-muted">
        {model.error ?? 'Loading the sweep…'}
      </div>
    );
  }
  const params = paramsSpec(d);
  const groups = groupsSpec(d);
  return (
    <div className="trackrun-CompareView-content">
      {model.error && (
        <div className="trackrun-Banner trackrun-mod-warn">{model.error}</div>
      )}
      <section className="trackrun-Section trackrun-SweepView-header">
        <h3>
          Sweep <span className="trackrun-SweepView-name">{d.name}</span>
          <button
            className="jp-Button trackrun-Button trackrun-SweepView-filter"
            title={`Show only this sweep's runs in the runs panel (filter sweep:${d.name})`}
            onClick={() => actions.filter(d.name)}
          >
            Show its runs
          </button>
        </h3>
        <div className="trackrun-SweepView-facts">
          <code className="trackrun-SweepView-text">{d.text}</code>
          <span className="trackrun-SweepView-progress">
            {progressText(d.counts)}
          </span>
          {d.parallel ? <span>at most {d.parallel} at once</span> : null}
          {d.seed !== null && <span>seed {d.seed}</span>}
          <span className="trackrun-muted">{d.sweep_id}</span>
        </div>
        <MetricChoice model={model} detail={d} />
      </section>
      <section className="trackrun-Section trackrun-SweepView-test">
        <h3>Which setting is better</h3>
        <Significance detail={d} />
      </section>
      <section className="trackrun-Section trackrun-SweepView-params">
        <h3>Params against {d.metric ?? 'the metric'}</h3>
        {params ? (
          <MetricChart
            spec={params}
            actions={true}
            panelWidth={220}
            panelHeight={180}
          />
        ) : (
          <div className="trackrun-muted">
            No run has logged {d.metric ?? 'a metric'} yet.
          </div>
        )}
      </section>
      <section className="trackrun-Section trackrun-SweepView-groups">
        <h3>
          Seed groups{d.group_by.length ? ` by ${d.group_by.join(', ')}` : ''}:
          mean ± sd over finished runs
        </h3>
        {groups && (
          <MetricChart
            spec={groups}
            actions={true}
            panelWidth={360}
            panelHeight={220}
          />
        )}
        <GroupsTable detail={d} open={actions.open} />
      </section>
    </div>
  );
}

function MetricChoice(props: {
  model: SweepCompareModel;
  detail: ISweepDetail;
}): JSX.Element | null {
  const { model, detail } = props;
  if (!detail.metrics.length) {
    return null;
  }
  return (
    <div className="trackrun-SweepView-choice">
      <label>
        metric{' '}
        <select
          className="jp-mod-styled trackrun-SweepView-metric"
          value={detail.metric ?? ''}
          onChange={e => model.choose(e.target.value, model.goal)}
        >
          {detail.metrics.map(m => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>{' '}
      <label title="Whether a larger or a smaller value is better">
        better{' '}
        <select
          className="jp-mod-styled trackrun-SweepView-goal"
          value={detail.goal}
          onChange={e =>
            model.choose(model.metric, e.target.value as 'max' | 'min')
          }
        >
          <option value="max">higher</option>
          <option value="min">lower</option>
        </select>
      </label>
    </div>
  );
}

function Significance(props: { detail: ISweepDetail }): JSX.Element {
  const { detail } = props;
  const test = detail.test;
  if (!test) {
    const finished = detail.groups.filter(g => g.mean !== null).length;
    return (
      <p className="trackrun-SweepView-significance trackrun-muted">
        {detail.group_by.length === 0
          ? 'The sweep varies only the seed: there is one setting, nothing to test.'
          : `The test needs two settings with finished runs; ${finished} ha${finished === 1 ? 's' : 've'} one.`}
      </p>
    );
  }
  const significant = test.ci_low !== null && test.p_value !== null;
  return (
    <p
      className={
        'trackrun-SweepView-significance' +
        (significant ? '' : ' trackrun-muted')
      }
      title={test.message}
    >
      {significanceLine(test, detail.goal)}
    </p>
  );
}

function GroupsTable(props: {
  detail: ISweepDetail;
  open: (runId: string) => void;
}): JSX.Element {
  const { detail } = props;
  const test = detail.test;
  const mark = (g: ISweepGroup): string =>
    test?.best === g.label
      ? ' trackrun-mod-best'
      : test?.runner_up === g.label
        ? ' trackrun-mod-runnerUp'
        : '';
  return (
    <div className="trackrun-TableScroll">
      <table className="trackrun-Table trackrun-SweepView-groupTable">
        <thead>
          <tr>
            <th>group</th>
            <th>mean</th>
            <th>sd</th>
            <th>n</th>
            <th>not finished</th>
            <th>runs</th>
          </tr>
        </thead>
        <tbody>
          {detail.groups.map(g => (
            <tr key={g.label} className={mark(g)} data-group={g.label}>
              <th scope="row">{g.label}</th>
              <td className="trackrun-mod-number">{formatMetric(g.mean)}</td>
              <td className="trackrun-mod-number">{formatMetric(g.sd)}</td>
              <td className="trackrun-mod-number">{g.n}</td>
              <td className="trackrun-mod-number">{g.missing || ''}</td>
              <td>
                {g.run_ids.slice(0, 12).map((id, i) => (
                  <button
                    key={id}
                    className="trackrun-LinkButton"
                    title={`Open run ${id}`}
                    onClick={() => props.open(id)}
                  >
                    {i + 1}
                  </button>
                ))}
                {g.run_ids.length > 12 && '…'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
