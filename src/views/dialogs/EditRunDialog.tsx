// The body of "Edit Run Name and Note…": a name field and a note textarea.
import { ReactWidget } from '@jupyterlab/apputils';
import React, { useState } from 'react';

import { IRunText, runEditProblem } from './runEdit';

/** Dialog body whose value is the name and note as typed. */
export class EditRunDialogBody extends ReactWidget {
  constructor(runId: string, initial: IRunText) {
    super();
    this.addClass('trackrun-EditRunDialog');
    this._runId = runId;
    this._text = initial;
  }

  /** The name and note as typed (the command sends what changed). */
  getValue(): IRunText {
    return this._text;
  }

  protected render(): JSX.Element {
    return (
      <EditRunFields
        runId={this._runId}
        initial={this._text}
        onChange={text => (this._text = text)}
      />
    );
  }

  private _runId: string;
  private _text: IRunText;
}

function EditRunFields(props: {
  runId: string;
  initial: IRunText;
  onChange: (text: IRunText) => void;
}): JSX.Element {
  const [text, setText] = useState(props.initial);
  const update = (next: IRunText): void => {
    setText(next);
    props.onChange(next);
  };
  const problem = runEditProblem(text);
  return (
    <div>
      <label className="trackrun-EditRunDialog-label">
        Name
        <input
          className="jp-mod-styled trackrun-EditRunDialog-name"
          value={text.name}
          spellCheck={false}
          maxLength={400}
          onChange={e => update({ ...text, name: e.target.value })}
        />
      </label>
      <label className="trackrun-EditRunDialog-label">
        Note
        <textarea
          className="jp-mod-styled trackrun-EditRunDialog-note"
          value={text.note}
          rows={6}
          placeholder="Why this run matters: what changed, what you learned…"
          onChange={e => update({ ...text, note: e.target.value })}
        />
      </label>
      <p
        className={
          'trackrun-EditRunDialog-hint' + (problem ? ' trackrun-mod-error' : '')
        }
        role={problem ? 'alert' : undefined}
      >
        {problem ??
          `Run ${props.runId}. The note is plain text; newlines are kept.`}
      </p>
    </div>
  );
}
