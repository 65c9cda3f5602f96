// The run view's tabs other than the log, media and artifacts: overview, code, provenance.
import { IEditorServices } from '@jupyterlab/codeeditor';
import React, { useEffect, useState } from 'react';

import { IRunDetail, VegaLiteSpec } from '../../api';
import { RunModel } from '../../models/run';
import { MetricChart } from '../chart/MetricChart';
import { attemptRows, exitWords } from '../common/attempts';
import { CodeViewer } from '../common/CodeViewer';
import { DiffText } from '../common/DiffText';
import { KeyValues } from '../common/KeyValues';
import { formatDuration, formatFullTime, formatMetric } from '../common/format';

export function OverviewSection(props: {
  detail: IRunDetail;
  chart: VegaLiteSpec | null;
}): JSX.Element {
  const { detail, chart } = props;
  const metrics = Object.entries(detail.metrics);
  return (
    <div className="trackrun-Overview">
      {detail.error && (
        <section className="trackrun-Section">
          <h3>Error</h3>
          <pre className="trackrun-ErrorText">{detail.error}</pre>
        </section>
      )}
      {detail.note && (
        <section className="trackrun-Section">
          <h3>Note</h3>
          <p className="trackrun-Note">{detail.note}</p>
        </section>
      )}
      <section className="trackrun-Section trackrun-Overview-charts">
        <h3>Metrics</h3>
        {metrics.length === 0 ? (
          <div className="trackrun-muted">
            No metrics logged{detail.status === 'running' ? ' yet' : ''}. Log
            them with <code>trackrun.log(loss=..., step=...)</code>.
          </div>
        ) : (
          <>
            <table className="trackrun-Table trackrun-MetricsTable">
              <thead>
                <tr>
                  <th>metric</th>
                  <th>last</th>
                  <th>min</th>
                  <th>max</th>
                  <th>points</th>
                  <th>last step</th>
                </tr>
              </thead>
              <tbody>
                {metrics.map(([key, m]) => (
                  <tr key={key}>
                    <th scope="row">{key}</th>
                    <td>{formatMetric(m.last)}</td>
                    <td>{formatMetric(m.min)}</td>
                    <td>{formatMetric(m.max)}</td>
                    <td>{m.count ?? ''}</td>
                    <td>{m.last_step ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {chart ? (
              <MetricChart spec={chart} actions={true} controls={true} />
            ) : (
              <div className="trackrun-muted">Loading chart…</div>
            )}
          </>
        )}
      </section>
      <div className="trackrun-Columns">
        <section className="trackrun-Section trackrun-RunView-params">
          <h3>Params</h3>
          <KeyValues values={detail.params} empty="No params recorded." />
        </section>
        <section className="trackrun-Section">
          <h3>Timing</h3>
          <KeyValues
            values={{
              created: formatFullTime(detail.created_at),
              started: formatFullTime(detail.started_at),
              ended: formatFullTime(detail.ended_at),
              duration: formatDuration(detail.duration),
              host: detail.host,
              pid: detail.pid,
              user: detail.user
            }}
          />
        </section>
      </div>
      {detail.attempts && detail.attempts.length > 0 && (
        <section className="trackrun-Section">
          <h3>Attempts</h3>
          <table className="trackrun-Table trackrun-AttemptsTable">
            <thead>
              <tr>
                <th>attempt</th>
                <th>started</th>
                <th>ended</th>
                <th>how it ended</th>
              </tr>
            </thead>
            <tbody>
              {attemptRows(detail.attempts).map(a => (
                <tr key={a.attempt}>
                  <td>{a.attempt}</td>
                  <td>{formatFullTime(a.started)}</td>
                  <td>{formatFullTime(a.ended)}</td>
                  <td
                    title={a.exitCode === null ? '' : `exit code ${a.exitCode}`}
                  >
                    {a.ended === null
                      ? 'still running'
                      : exitWords(a.exitCode, detail.status === 'killed')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {detail.outputs && (
        <section className="trackrun-Section">
          <h3>Outputs</h3>
          <div>
            saved:{' '}
            {detail.outputs.saved?.length
              ? detail.outputs.saved.join(', ')
              : 'none'}
          </div>
          {detail.outputs.skipped?.map(s => (
            <div key={s.name} className="trackrun-muted">
              not saved: {s.name} ({s.type}): {s.reason}
            </div>
          ))}
        </section>
      )}
    </div>
  );
}

export function CodeSection(props: {
  model: RunModel;
  detail: IRunDetail;
  editors: IEditorServices | null;
}): JSX.Element {
  const { model, detail } = props;
  const files = detail.code_files;
  const [file, setFile] = useState(
    files.includes('cell.py') ? 'cell.py' : files[0]
  );
  useEffect(() => {
    if (file) {
      void model.loadCode(file);
    }
  }, [model, file]);
  if (!files.length) {
    return (
      <div className="trackrun-muted">No code was recorded for this run.</div>
    );
  }
  const text = file ? model.code(file) : undefined;
  return (
    <div className="trackrun-CodeSection">
      <div className="trackrun-Tabs trackrun-mod-small" role="tablist">
        {files.map(name => (
          <button
            key={name}
            role="tab"
            aria-selected={name === file}
            className={
              'trackrun-Tabs-tab' +
              (name === file ? ' trackrun-mod-active' : '')
            }
            onClick={() => setFile(name)}
          >
            {codeTitle(name)}
          </button>
        ))}
      </div>
      {text === undefined ? (
        <div className="trackrun-muted">Loading…</div>
      ) : (
        <CodeViewer text={text} fileName={file} editors={props.editors} />
      )}
    </div>
  );
}

function codeTitle(file: string): string {
  switch (file) {
    case 'cell.py':
      return 'Cell';
    case 'notebook.py':
      return 'Notebook';
    case 'history.py':
      return 'Executed history';
    default:
      return file;
  }
}

export function ProvenanceSection(props: { detail: IRunDetail }): JSX.Element {
  const provenance = props.detail.provenance ?? {};
  const git = provenance.git ?? null;
  const packages = provenance.packages ?? {};
  const [search, setSearch] = useState('');
  const names = Object.keys(packages)
    .filter(n => n.toLowerCase().includes(search.toLowerCase()))
    .sort();
  return (
    <div className="trackrun-Provenance">
      <section className="trackrun-Section">
        <h3>Git</h3>
        {git ? (
          <>
            <KeyValues
              values={{
                commit: git.commit,
                branch: git.branch,
                dirty:
                  git.dirty === null || git.dirty === undefined
                    ? ''
                    : git.dirty
                      ? 'yes'
                      : 'no'
              }}
            />
            {git.diff ? (
              <>
                <h4>
                  Uncommitted changes{git.diff_truncated ? ' (truncated)' : ''}
                </h4>
                <DiffText text={git.diff} />
              </>
            ) : null}
          </>
        ) : (
          <div className="trackrun-muted">Not in a git repository.</div>
        )}
      </section>
      <div className="trackrun-Columns">
        <section className="trackrun-Section">
          <h3>Python</h3>
          <KeyValues values={provenance.python} />
        </section>
        <section className="trackrun-Section">
          <h3>Hardware</h3>
          <KeyValues values={provenance.hardware} />
        </section>
      </div>
      <section className="trackrun-Section">
        <h3>Packages ({Object.keys(packages).length})</h3>
        <input
          className="jp-mod-styled trackrun-SearchBox"
          placeholder="Search packages"
          value={search}
          onChange={e => setSearch(e.target.value)}
        />
        <table className="trackrun-Table trackrun-Packages">
          <tbody>
            {names.map(name => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td>{packages[name]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
