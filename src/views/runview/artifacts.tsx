// The run view's Artifacts tab: the files with size and checksum, and a preview of the one
// chosen: images inline, text, CSV (a small table) and JSON (pretty) up to 1 MB.
import React, { useEffect, useState } from 'react';

import { IArtifact, IRunDetail } from '../../api';
import {
  ICsvTable,
  PreviewKind,
  megabytes,
  parseCsv,
  prettyJson,
  previewKind,
  tooLargeToPreview
} from '../../models/preview';
import { RunModel } from '../../models/run';
import { formatBytes } from '../common/format';

const CSV_ROWS = 100;

export function ArtifactsSection(props: {
  model: RunModel;
  detail: IRunDetail;
}): JSX.Element {
  const { model, detail } = props;
  const first = detail.artifacts.find(a => previewKind(a.name) !== 'none');
  const [chosen, setChosen] = useState<string | null>(first?.name ?? null);
  if (!detail.artifacts.length) {
    return (
      <div className="trackrun-muted">
        No artifacts. Save files with <code>trackrun.artifact(path)</code>.
      </div>
    );
  }
  const artifact = detail.artifacts.find(a => a.name === chosen) ?? null;
  return (
    <div className="trackrun-Artifacts-section">
      <table className="trackrun-Table trackrun-Artifacts">
        <thead>
          <tr>
            <th>name</th>
            <th>size</th>
            <th>sha256</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {detail.artifacts.map(a => (
            <tr
              key={a.name}
              data-artifact={a.name}
              className={a.name === chosen ? 'trackrun-mod-selected' : ''}
            >
              <th scope="row">
                <button
                  className="trackrun-LinkButton trackrun-Artifacts-preview"
                  aria-pressed={a.name === chosen}
                  title={`Preview ${a.name}`}
                  onClick={() => setChosen(a.name)}
                >
                  {a.name}
                </button>
              </th>
              <td>{formatBytes(a.size)}</td>
              <td>
                <code title={a.sha256}>{a.sha256.slice(0, 12)}</code>
              </td>
              <td>
                <a
                  href={model.artifactUrl(a.name)}
                  download={a.name}
                  className="trackrun-Link"
                >
                  download
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {artifact && <ArtifactPreview model={model} artifact={artifact} />}
    </div>
  );
}

function ArtifactPreview(props: {
  model: RunModel;
  artifact: IArtifact;
}): JSX.Element {
  const { model, artifact } = props;
  const kind = previewKind(artifact.name);
  const large = tooLargeToPreview(kind, artifact.size);
  const url = model.artifactUrl(artifact.name);
  const needsText = kind !== 'image' && kind !== 'none' && !large;
  useEffect(() => {
    if (needsText) {
      void model.loadArtifact(artifact.name);
    }
  }, [model, artifact.name, needsText]);
  const download = (
    <a href={url} download={artifact.name} className="trackrun-Link">
      download
    </a>
  );
  let body: JSX.Element;
  if (kind === 'none') {
    body = (
      <div className="trackrun-muted">
        No preview for this kind of file: {download}
      </div>
    );
  } else if (large) {
    body = (
      <div className="trackrun-muted trackrun-ArtifactPreview-large">
        too large to preview ({megabytes(artifact.size)}): {download}
      </div>
    );
  } else if (kind === 'image') {
    body = (
      <img
        className="trackrun-ArtifactPreview-img"
        src={url}
        alt={artifact.name}
      />
    );
  } else {
    const loaded = model.artifact(artifact.name);
    if (!loaded || loaded.state === 'loading') {
      body = <div className="trackrun-muted">Loading…</div>;
    } else if (loaded.state === 'error') {
      body = (
        <div className="trackrun-ErrorText">
          Could not load {artifact.name}: {loaded.message}
        </div>
      );
    } else {
      body = (
        <TextPreview kind={kind} name={artifact.name} text={loaded.text} />
      );
    }
  }
  return (
    <section
      className="trackrun-Section trackrun-ArtifactPreview"
      data-kind={kind}
      aria-label={`Preview of ${artifact.name}`}
    >
      <h3>{artifact.name}</h3>
      {body}
    </section>
  );
}

function TextPreview(props: {
  kind: PreviewKind;
  name: string;
  text: string;
}): JSX.Element {
  const { kind, text } = props;
  if (kind === 'csv') {
    const tab = /\.tsv$/i.test(props.name) ? '\t' : ',';
    return <CsvTable table={parseCsv(text, CSV_ROWS, tab)} />;
  }
  if (kind === 'json') {
    const pretty = prettyJson(text);
    return (
      <>
        {!pretty.valid && (
          <div className="trackrun-muted">Not valid JSON: shown as it is.</div>
        )}
        <pre className="trackrun-Code trackrun-ArtifactPreview-json">
          {pretty.text}
        </pre>
      </>
    );
  }
  return (
    <pre className="trackrun-Code trackrun-ArtifactPreview-text">{text}</pre>
  );
}

function CsvTable(props: { table: ICsvTable }): JSX.Element {
  const { header, rows, more } = props.table;
  if (!header.length) {
    return <div className="trackrun-muted">The file is empty.</div>;
  }
  return (
    <div className="trackrun-TableScroll">
      <table className="trackrun-Table trackrun-ArtifactPreview-csv">
        <thead>
          <tr>
            {header.map((name, i) => (
              <th key={i}>{name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, r) => (
            <tr key={r}>
              {row.map((value, i) => (
                <td key={i}>{value}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {more > 0 && (
        <div className="trackrun-muted">
          … and {more} more {more === 1 ? 'row' : 'rows'}
        </div>
      )}
    </div>
  );
}
