// A unified diff of code shown with JupyterLab's editor: each hunk highlighted as code, its
// lines marked added or removed (the marker column becomes a decoration, not text).
import { IEditorServices } from '@jupyterlab/codeeditor';
import React from 'react';

import { DiffLineKind, parseUnifiedDiff } from '../../models/diff';
import { CodeViewer } from './CodeViewer';
import { DiffText } from './DiffText';

const LINE_CLASS: Record<DiffLineKind, string> = {
  added: 'trackrun-mod-added',
  removed: 'trackrun-mod-removed',
  context: ''
};

export function DiffViewer(props: {
  text: string;
  /** The name of the file diffed: its extension chooses the highlighting. */
  fileName: string;
  editors: IEditorServices | null;
}): JSX.Element {
  const { text, editors } = props;
  const diff = parseUnifiedDiff(text);
  if (!editors || !diff.hunks.length) {
    return <DiffText text={text} />;
  }
  return (
    <div className="trackrun-DiffViewer">
      <div className="trackrun-DiffViewer-files trackrun-muted">
        <div className="trackrun-DiffViewer-from">− {diff.from}</div>
        <div className="trackrun-DiffViewer-to">+ {diff.to}</div>
      </div>
      {diff.hunks.map((hunk, i) => (
        <div key={i} className="trackrun-DiffViewer-hunk">
          <div className="trackrun-DiffViewer-header">{hunk.header}</div>
          <CodeViewer
            text={hunk.lines.map(l => l.text).join('\n')}
            fileName={props.fileName}
            editors={editors}
            lineNumbers={false}
            lineClasses={hunk.lines.map(l => LINE_CLASS[l.kind])}
          />
        </div>
      ))}
    </div>
  );
}
