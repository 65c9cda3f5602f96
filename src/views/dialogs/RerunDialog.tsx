// The body of the rerun confirmation: the run's params as fields, changed ones as overrides.
import { ReactWidget } from '@jupyterlab/apputils';
import React, { useState } from 'react';

import { changedOverrides, overrideText } from '../../models/overrides';

/** Dialog body whose value is the overrides the user typed (empty: the same params). */
export class RerunDialogBody extends ReactWidget {
  constructor(runName: string, params: Record<string, unknown>) {
    super();
    this.addClass('trackrun-RerunDialog');
    this._runName = runName;
    this._params = params;
    this._texts = Object.fromEntries(
      Object.entries(params).map(([name, value]) => [name, overrideText(value)])
    );
  }

  /** The overrides to send with the rerun. */
  getValue(): Record<string, unknown> {
    return changedOverrides(this._params, this._texts);
  }

  protected render(): JSX.Element {
    return (
      <RerunFields
        runName={this._runName}
        params={this._params}
        initial={this._texts}
        onChange={texts => (this._texts = texts)}
      />
    );
  }

  private _runName: string;
  private _params: Record<string, unknown>;
  private _texts: Record<string, string>;
}

function RerunFields(props: {
  runName: string;
  params: Record<string, unknown>;
  initial: Record<string, string>;
  onChange: (texts: Record<string, string>) => void;
}): JSX.Element {
  const [texts, setTexts] = useState(props.initial);
  const names = Object.keys(props.params).sort();
  const changed = Object.keys(changedOverrides(props.params, texts));
  const update = (name: string, text: string): void => {
    const next = { ...texts, [name]: text };
    setTexts(next);
    props.onChange(next);
  };
  return (
    <div>
      <p>
        A new detached run of <strong>{props.runName}</strong>’s frozen cell
        {names.length
          ? ', with these params (edit a value to override it):'
          : '.'}
      </p>
      {names.length > 0 && (
        <table className="trackrun-RerunDialog-params">
          <tbody>
            {names.map(name => (
              <tr
                key={name}
                className={changed.includes(name) ? 'trackrun-mod-changed' : ''}
              >
                <th scope="row">
                  <label htmlFor={`trackrun-rerun-${name}`}>{name}</label>
                </th>
                <td>
                  <input
                    id={`trackrun-rerun-${name}`}
                    className="jp-mod-styled trackrun-RerunDialog-input"
                    value={texts[name]}
                    spellCheck={false}
                    onChange={e => update(name, e.target.value)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="trackrun-RerunDialog-summary">
        {changed.length
          ? `Overrides: ${changed.map(n => `${n} = ${texts[n].trim()}`).join(', ')}`
          : 'No overrides: the same params as the original run.'}
      </p>
    </div>
  );
}
