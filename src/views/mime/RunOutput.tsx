// The renderer of application/vnd.trackrun.run+json in cell outputs: a compact live view
// of the run (one status line, the last log line of detached runs, details on demand)
// that follows the run through the REST API, so it comes back live when a notebook reopens.
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { ACTIVE_STATUSES, IRunDetail } from '../../api';
import { RunChange, RunModel } from '../../models/run';
import { MetricChart } from '../chart/MetricChart';
import { LogText } from '../common/LogText';
import { StatusIcon } from '../common/StatusIcon';
import { stripAnsi } from '../common/ansi';
import { elapsed, formatDuration, formatMetric } from '../common/format';

/** The MIME type the %%track_run magic displays (trackrun.magic.RUN_MIME_TYPE). */
export const RUN_MIME_TYPE = 'application/vnd.trackrun.run+json';

const RUN_ID = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$/;
/** Metrics shown on the status line. */
const HEADLINE_METRICS = 3;

/** The bundle's data: `{run_id, name, store}`. */
export interface IRunBundle {
  run_id: string;
  name: string;
  store: string;
}

/** What the renderer asks of the application. */
export interface IRunOutputContext {
  /** A model following the run (compact: log tail, no chart until asked for). */
  createModel: (runId: string) => RunModel;
  open: (runId: string) => void;
}

/** Reads a bundle from untrusted output data; null when it is not one. */
export function readBundle(data: unknown): IRunBundle | null {
  if (!data || typeof data !== 'object') {
    return null;
  }
  const value = data as Record<string, unknown>;
  if (typeof value.run_id !== 'string' || !RUN_ID.test(value.run_id)) {
    return null;
  }
  return {
    run_id: value.run_id,
    name: typeof value.name === 'string' ? value.name : value.run_id,
    store: typeof value.store === 'string' ? value.store : ''
  };
}

/** The output renderer (one per displayed bundle). */
export class RunOutput extends ReactWidget implements IRenderMime.IRenderer {
  constructor(context: IRunOutputContext) {
    super();
    this._context = context;
    this.addClass('trackrun-RunOutput');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const bundle = readBundle(model.data[RUN_MIME_TYPE]);
    if (
      this._bundle &&
      bundle &&
      this._bundle.run_id === bundle.run_id &&
      this._model
    ) {
      return; // the same run again (an output re-render): keep following it
    }
    this._model?.dispose();
    this._model = null;
    this._bundle = bundle;
    if (bundle) {
      this._model = this._context.createModel(bundle.run_id);
      this._model.start();
    }
    this.update();
  }

  dispose(): void {
    this._model?.dispose();
    this._model = null;
    super.dispose();
  }

  protected render(): JSX.Element {
    const bundle = this._bundle;
    const model = this._model;
    if (!bundle || !model) {
      return (
        <div className="trackrun-RunOutput-line trackrun-muted">
          (trackrun: this output does not name a valid run)
        </div>
      );
    }
    return (
      <UseSignal signal={model.changed}>
        {() => (
          <Compact bundle={bundle} model={model} open={this._context.open} />
        )}
      </UseSignal>
    );
  }

  private _context: IRunOutputContext;
  private _bundle: IRunBundle | null = null;
  private _model: RunModel | null = null;
}

function Compact(props: {
  bundle: IRunBundle;
  model: RunModel;
  open: (runId: string) => void;
}): JSX.Element {
  const { bundle, model } = props;
  const detail = model.detail;
  const [expanded, setExpanded] = useState(false);
  const status = detail?.status ?? 'unknown';
  const active = detail ? ACTIVE_STATUSES.has(detail.status) : false;
  const [, setTick] = useState(0);
  useEffect(() => {
    if (status !== 'running') {
      return;
    }
    const timer = window.setInterval(() => setTick(t => t + 1), 1000);
    return () => window.clearInterval(timer);
  }, [status]);
  const [subscribe] = useState(() => (listener: (reset: boolean) => void) => {
    const slot = (_: RunModel, change: RunChange): void => {
      if (change === 'log' || change === 'log-reset') {
        listener(change === 'log-reset');
      }
    };
    model.changed.connect(slot);
    return () => model.changed.disconnect(slot);
  });
  const lastLine = detail?.detached && active ? model.log.lastLines(1)[0] : '';
  const notFound = model.problem?.code === 'run_not_found';
  return (
    <div
      className="trackrun-RunOutput-content"
      data-run-id={bundle.run_id}
      data-status={status}
    >
      <div className="trackrun-RunOutput-line">
        {detail ? (
          <StatusIcon status={detail.status} />
        ) : (
          <span className="trackrun-StatusIcon" />
        )}
        <span className="trackrun-RunOutput-name" title={bundle.run_id}>
          {detail?.name ?? bundle.name}
        </span>
        <span
          className={
            'trackrun-RunOutput-status' +
            (model.connectionLost ? ' trackrun-mod-stale' : '')
          }
        >
          {detail ? statusText(detail) : ''}
        </span>
        {detail && <Headline detail={detail} />}
        {notFound && (
          <span className="trackrun-muted">
            run {bundle.run_id} is not in the store this Jupyter server reads
            {bundle.store ? ` (it was recorded in ${bundle.store})` : ''}
          </span>
        )}
        {model.connectionLost && (
          <span
            className="trackrun-RunOutput-connection"
            role="status"
            title="The Jupyter server does not answer. The run goes on; this view catches up when it does."
          >
            connection lost, retrying…
          </span>
        )}
        {model.problem && !notFound && !model.connectionLost && (
          <span className="trackrun-muted" title={model.problem.message}>
            {model.problem.code === 'http_404'
              ? 'trackrun server extension not enabled'
              : model.problem.message}
          </span>
        )}
        <span className="trackrun-spacer" />
        {detail && (
          <button
            className="trackrun-LinkButton trackrun-RunOutput-toggle"
            aria-expanded={expanded}
            onClick={() => {
              setExpanded(!expanded);
              model.enableChart();
            }}
          >
            {expanded ? 'hide details' : 'details'}
          </button>
        )}
        <button
          className="trackrun-LinkButton trackrun-RunOutput-open"
          title="Open the run view"
          onClick={() => props.open(bundle.run_id)}
        >
          open
        </button>
      </div>
      {lastLine && !expanded && (
        <div className="trackrun-RunOutput-lastLine" title="latest output">
          {stripAnsi(lastLine)}
        </div>
      )}
      {expanded && detail && (
        <div className="trackrun-RunOutput-details">
          {Object.keys(detail.metrics).length > 0 && model.chart && (
            <MetricChart
              spec={model.chart}
              panelWidth={220}
              panelHeight={110}
            />
          )}
          <LogText
            buffer={model.log}
            subscribe={subscribe}
            maxLines={12}
            className="trackrun-mod-compact"
          />
        </div>
      )}
    </div>
  );
}

function statusText(detail: IRunDetail): string {
  const time = formatDuration(elapsed(detail));
  switch (detail.status) {
    case 'queued':
      return 'queued';
    case 'running':
      return `running ${time}${detail.detached ? ' (detached)' : ''}`;
    default:
      return time ? `${detail.status} in ${time}` : detail.status;
  }
}

function Headline(props: { detail: IRunDetail }): JSX.Element | null {
  const entries = Object.entries(props.detail.metrics).slice(
    0,
    HEADLINE_METRICS
  );
  if (!entries.length) {
    return null;
  }
  return (
    <span className="trackrun-RunOutput-metrics">
      {entries.map(([key, m]) => (
        <span key={key} className="trackrun-RunOutput-metric">
          {key} <b>{formatMetric(m.last)}</b>
        </span>
      ))}
    </span>
  );
}
