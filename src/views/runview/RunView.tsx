// The run view (a main-area tab): header with actions, then overview, log, media, code,
// provenance and artifacts tabs; everything follows the run live through its RunModel.
import { IEditorServices } from '@jupyterlab/codeeditor';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { ACTIVE_STATUSES, IRunDetail } from '../../api';
import { isReproducing } from '../../models/reproduction';
import { RunChange, RunModel } from '../../models/run';
import { StatusBadge } from '../common/StatusIcon';
import { LogText } from '../common/LogText';
import { attemptRows, statusDetail } from '../common/attempts';
import { elapsed, formatDuration, formatFullTime } from '../common/format';
import { ArtifactsSection } from './artifacts';
import { MediaSection } from './MediaSection';
import { ReproductionLine } from './ReproductionLine';
import { CodeSection, OverviewSection, ProvenanceSection } from './sections';

/** What the run view asks of the application (commands, in plugin.ts). */
export interface IRunViewActions {
  kill: (runId: string) => void;
  rerun: (runId: string) => void;
  /** Rename the run and edit its note (a dialog). */
  edit: (runId: string) => void;
  reattach: (runId: string) => void;
  copyId: (runId: string) => void;
  /** Keep this view's tab (it is the preview that the next opened run replaces). */
  pin: (runId: string) => void;
  /** Reproduce the run from its record on the server, and say the verdict. */
  reproduce: (runId: string) => void;
  /** Open another run's view (the other run of a reproduction). */
  open: (runId: string) => void;
  /** Open the comparison of these runs. */
  compare: (runIds: string[]) => void;
}

export type RunViewTab =
  'overview' | 'log' | 'media' | 'code' | 'provenance' | 'artifacts';
const TABS: [RunViewTab, string][] = [
  ['overview', 'Overview'],
  ['log', 'Log'],
  ['media', 'Media'],
  ['code', 'Code'],
  ['provenance', 'Provenance'],
  ['artifacts', 'Artifacts']
];

/** The content of a run's main-area tab. */
export class RunView extends ReactWidget {
  constructor(
    model: RunModel,
    actions: IRunViewActions,
    editors: IEditorServices | null = null
  ) {
    super();
    this.model = model;
    this._actions = actions;
    this._editors = editors;
    this.addClass('trackrun-RunView');
    this.id = `trackrun-run-${model.runId}`;
    // One stable subscription function per view, so the log is drawn incrementally.
    this._subscribeLog = listener => {
      const slot = (_: RunModel, change: RunChange): void => {
        if (change === 'log' || change === 'log-reset') {
          listener(change === 'log-reset');
        }
      };
      model.changed.connect(slot);
      return () => model.changed.disconnect(slot);
    };
  }

  readonly model: RunModel;

  /** Whether this is the preview tab, which the next opened run replaces. */
  get isPreview(): boolean {
    return this._preview;
  }

  /** Mark the view as the preview tab or as kept (the opener decides). */
  setPreview(preview: boolean): void {
    if (preview !== this._preview) {
      this._preview = preview;
      this.update();
    }
  }

  /** Show one tab (used by tests of deep links and by commands). */
  showTab(tab: RunViewTab): void {
    this._tab = tab;
    this.update();
  }

  protected render(): JSX.Element {
    const model = this.model;
    return (
      <UseSignal signal={model.changed}>
        {() => (
          <div className="trackrun-RunView-content">
            <Header
              model={model}
              actions={this._actions}
              preview={this._preview}
            />
            <nav className="trackrun-Tabs" role="tablist">
              {TABS.map(([tab, label]) => (
                <button
                  key={tab}
                  role="tab"
                  aria-selected={this._tab === tab}
                  data-tab={tab}
                  className={
                    'trackrun-Tabs-tab' +
                    (this._tab === tab ? ' trackrun-mod-active' : '')
                  }
                  onClick={() => this.showTab(tab)}
                >
                  {label}
                  {tab === 'artifacts' && model.detail?.artifacts.length
                    ? ` (${model.detail.artifacts.length})`
                    : ''}
                </button>
              ))}
            </nav>
            <div className="trackrun-RunView-body" role="tabpanel">
              {this._body()}
            </div>
          </div>
        )}
      </UseSignal>
    );
  }

  private _body(): JSX.Element {
    const model = this.model;
    const detail = model.detail;
    if (!detail) {
      return (
        <div className="trackrun-muted trackrun-RunView-loading">
          {model.problem ? model.problem.message : 'Loading run…'}
        </div>
      );
    }
    switch (this._tab) {
      case 'log':
        return (
          <div className="trackrun-RunView-log">
            <div className="trackrun-RunView-logBar">
              {model.log.hasEarlier && (
                <button
                  className="jp-Button trackrun-Button trackrun-LoadEarlier"
                  onClick={() => void model.loadEarlierLog()}
                >
                  Load earlier output
                </button>
              )}
              <span className="trackrun-muted">
                {model.connectionLost
                  ? 'connection lost, retrying…'
                  : ACTIVE_STATUSES.has(detail.status)
                    ? 'following live output'
                    : `output of a ${detail.status} run`}
              </span>
            </div>
            <LogText buffer={model.log} subscribe={this._subscribeLog} />
          </div>
        );
      case 'media':
        return <MediaSection model={model} />;
      case 'code':
        return (
          <CodeSection model={model} detail={detail} editors={this._editors} />
        );
      case 'provenance':
        return <ProvenanceSection detail={detail} />;
      case 'artifacts':
        return <ArtifactsSection model={model} detail={detail} />;
      default:
        return <OverviewSection detail={detail} chart={model.chart} />;
    }
  }

  private _actions: IRunViewActions;
  private _editors: IEditorServices | null;
  private _tab: RunViewTab = 'overview';
  private _preview = false;
  private _subscribeLog: (listener: (reset: boolean) => void) => () => void;
}

function Header(props: {
  model: RunModel;
  actions: IRunViewActions;
  preview: boolean;
}): JSX.Element {
  const { model, actions } = props;
  const detail = model.detail;
  const active = detail ? ACTIVE_STATUSES.has(detail.status) : false;
  const reproducing = isReproducing(detail?.reproduction);
  return (
    <div className="trackrun-RunView-header">
      <div className="trackrun-RunView-titleRow">
        {detail && <StatusBadge status={detail.status} />}
        <h2 className="trackrun-RunView-name">{detail?.name ?? model.runId}</h2>
        <code
          className="trackrun-RunView-id"
          title="Copy the run id"
          onClick={() => actions.copyId(model.runId)}
        >
          {model.runId}
        </code>
        <span className="trackrun-spacer" />
        {props.preview && (
          <button
            className="jp-Button trackrun-Button trackrun-RunView-pin"
            title="This tab is a preview: the next run you open replaces it. Keep it open."
            onClick={() => actions.pin(model.runId)}
          >
            Keep open
          </button>
        )}
        <button
          className="jp-Button trackrun-Button trackrun-mod-danger trackrun-RunView-kill"
          disabled={!active}
          title="Stop this run (its supervisor records it as killed)"
          onClick={() => actions.kill(model.runId)}
        >
          Kill
        </button>
        <button
          className="jp-Button trackrun-Button trackrun-RunView-rerun"
          disabled={!detail?.detached}
          title={
            detail?.detached
              ? 'Start a new detached run of the same frozen job'
              : 'Only detached runs keep a frozen job to rerun'
          }
          onClick={() => actions.rerun(model.runId)}
        >
          Rerun
        </button>
        <button
          className="jp-Button trackrun-Button trackrun-RunView-reproduce"
          disabled={!detail || active || reproducing}
          title={
            active
              ? 'Reproduce the run once it has ended'
              : reproducing
                ? 'Being reproduced: the verdict shows below when it is recorded'
                : 'Re-run this run from its record in a fresh process and compare the numbers'
          }
          onClick={() => actions.reproduce(model.runId)}
        >
          Reproduce
        </button>
        <button
          className="jp-Button trackrun-Button trackrun-RunView-edit"
          title="Rename this run and write down why it matters"
          onClick={() => actions.edit(model.runId)}
        >
          Edit…
        </button>
        <button
          className="jp-Button trackrun-Button trackrun-RunView-reattach"
          title="Insert %track_run --attach in the run's notebook and run it"
          onClick={() => actions.reattach(model.runId)}
        >
          Reattach in notebook
        </button>
      </div>
      {detail?.note && (
        // Plain text (React escapes it); the CSS keeps its newlines.
        <p className="trackrun-RunView-note" title="The run's note">
          {detail.note}
        </p>
      )}
      {detail && <Facts detail={detail} />}
      {detail && (
        <ReproductionLine
          detail={detail}
          open={actions.open}
          compare={actions.compare}
        />
      )}
      {detail && <HealthBanners detail={detail} />}
      {model.problem && detail && (
        <div className="trackrun-Banner trackrun-mod-warn" role="status">
          {model.connectionLost
            ? 'Connection lost, retrying… (the run goes on; this view catches up)'
            : model.problem.message}
        </div>
      )}
    </div>
  );
}

/** What the run's writers said about themselves: records lost, a main thread stuck. */
function HealthBanners(props: { detail: IRunDetail }): JSX.Element | null {
  const { health, status } = props.detail;
  if (!health) {
    return null;
  }
  const dropped = health.dropped_records;
  const stalled = status === 'running' ? health.stalled_for : 0;
  return (
    <>
      {dropped > 0 && (
        <div
          className="trackrun-Banner trackrun-mod-warn trackrun-RunView-dropped"
          role="status"
        >
          {dropped.toLocaleString()} record{dropped === 1 ? ' was' : 's were'}{' '}
          dropped: the store could not take them (the disk was full or
          unwritable for too long). The log says when.
        </div>
      )}
      {stalled > 0 && (
        <div
          className="trackrun-Banner trackrun-mod-warn trackrun-RunView-stalled"
          role="status"
        >
          Stalled: the main thread has made no progress for{' '}
          {formatDuration(stalled)} (a deadlock, a hung collective or a blocking
          read?). It is still running; trackrun never kills it.
        </div>
      )}
    </>
  );
}

function Facts(props: { detail: IRunDetail }): JSX.Element {
  const { detail } = props;
  const running = detail.status === 'running';
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!running) {
      return;
    }
    const timer = window.setInterval(() => setTick(t => t + 1), 1000);
    return () => window.clearInterval(timer);
  }, [running]);
  const attempts = attemptRows(detail.attempts ?? []).length;
  const why = statusDetail(detail);
  return (
    <div className="trackrun-RunView-facts">
      <span title={formatFullTime(detail.started_at)}>
        started {formatFullTime(detail.started_at) || '(not yet)'}
      </span>
      <span className="trackrun-RunView-elapsed">
        {running ? 'running for ' : 'took '}
        {formatDuration(elapsed(detail)) || '–'}
      </span>
      {why && <span className="trackrun-RunView-statusDetail">{why}</span>}
      {detail.detached && <span className="trackrun-Chip">detached</span>}
      {detail.job && detail.job.backend === 'slurm' && (
        <span
          className="trackrun-Chip trackrun-mod-slurm"
          title="SLURM's view of the job, as the server last saw it"
        >
          SLURM job {detail.job.job_id ?? '?'}
          {detail.job.state ? ` · ${detail.job.state}` : ''}
          {detail.job.queue_wait !== null && detail.job.queue_wait !== undefined
            ? ` · queued ${formatDuration(detail.job.queue_wait)}`
            : ''}
        </span>
      )}
      {attempts > 1 && (
        <span className="trackrun-Chip">{attempts} attempts</span>
      )}
      {detail.notebook && (
        <span className="trackrun-RunView-notebook" title={detail.notebook}>
          {detail.notebook}
        </span>
      )}
      {detail.tags.map(tag => (
        <span key={tag} className="trackrun-Chip trackrun-mod-tag">
          {tag}
        </span>
      ))}
    </div>
  );
}
