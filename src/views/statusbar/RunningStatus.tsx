// The status bar item: how many runs are running or queued; a click opens the sidebar.
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import React from 'react';

import { RunsModel } from '../../models/runs';
import { trackrunIcon } from '../../icons';

export class RunningStatus extends ReactWidget {
  constructor(model: RunsModel, onClick: () => void) {
    super();
    this._model = model;
    this._onClick = onClick;
    this.addClass('trackrun-RunningStatus');
    this.addClass('jp-mod-highlighted');
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this._model.stateChanged}>
        {() => {
          const status = this._model.serverStatus;
          const running = status?.running ?? 0;
          const queued = status?.queued ?? 0;
          const text = status
            ? running || queued
              ? `${running} running${queued ? `, ${queued} queued` : ''}`
              : 'no runs running'
            : 'runs: –';
          return (
            <div
              className="trackrun-RunningStatus-content"
              title="trackrun: open the runs panel"
              onClick={this._onClick}
              data-running={running}
            >
              <trackrunIcon.react
                tag="span"
                className="trackrun-RunningStatus-icon"
              />
              <span
                className={
                  'trackrun-RunningStatus-text' +
                  (running ? ' trackrun-mod-running' : '')
                }
              >
                {text}
              </span>
            </div>
          );
        }}
      </UseSignal>
    );
  }

  private _model: RunsModel;
  private _onClick: () => void;
}
