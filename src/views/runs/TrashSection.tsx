// The sidebar's collapsible Trash section: deleted runs, with Restore and Delete forever.
import {
  UseSignal,
  caretDownIcon,
  caretRightIcon,
  deleteIcon,
  undoIcon
} from '@jupyterlab/ui-components';
import React from 'react';

import { TrashModel } from '../../models/trash';
import { formatFullTime, formatTime } from '../common/format';

/** What the Trash section asks of the application (commands, in plugin.ts). */
export interface ITrashActions {
  restore: (runId: string) => void;
  /** Asks for confirmation first. */
  deleteForever: (runId: string) => void;
}

/** The Trash section at the bottom of the runs sidebar; collapsed until opened. */
export function TrashSection(props: {
  model: TrashModel;
  actions: ITrashActions;
}): JSX.Element {
  const { model, actions } = props;
  return (
    <UseSignal signal={model.changed}>
      {() => {
        const count = model.loaded ? ` (${model.runs.length})` : '';
        const Caret = model.expanded ? caretDownIcon : caretRightIcon;
        return (
          <div
            className={
              'trackrun-Trash' + (model.expanded ? ' trackrun-mod-open' : '')
            }
          >
            <button
              className="trackrun-Trash-toggle"
              aria-expanded={model.expanded}
              title="Runs deleted from this store: restore them, or delete them for good"
              onClick={() => model.setExpanded(!model.expanded)}
            >
              <Caret.react tag="span" className="trackrun-Trash-caret" />
              <span>Trash{count}</span>
            </button>
            {model.expanded && (
              <div className="trackrun-Trash-list" role="list">
                {model.error && (
                  <div className="trackrun-Trash-note trackrun-mod-error">
                    {model.error}
                  </div>
                )}
                {model.loaded && !model.runs.length && !model.error && (
                  <div className="trackrun-Trash-note trackrun-muted">
                    The trash is empty. Deleted runs wait here until deleted for
                    good.
                  </div>
                )}
                {model.runs.map(run => (
                  <div
                    key={run.run_id}
                    className="trackrun-Trash-row"
                    role="listitem"
                    data-run-id={run.run_id}
                  >
                    <span
                      className="trackrun-Trash-name"
                      title={[
                        run.name ?? run.run_id,
                        run.run_id,
                        run.notebook ? `notebook: ${run.notebook}` : '',
                        `deleted: ${formatFullTime(run.deleted_at)}`
                      ]
                        .filter(Boolean)
                        .join('\n')}
                    >
                      {run.name ?? run.run_id}
                    </span>
                    <span className="trackrun-Trash-when trackrun-muted">
                      {formatTime(run.deleted_at)}
                    </span>
                    <button
                      className="trackrun-IconButton trackrun-Trash-restore"
                      title="Restore: move the run back into the run list"
                      aria-label="Restore"
                      onClick={() => actions.restore(run.run_id)}
                    >
                      <undoIcon.react tag="span" />
                    </button>
                    <button
                      className="trackrun-IconButton trackrun-Trash-purge"
                      title="Delete forever: remove the run's folder from disk (asks first)"
                      aria-label="Delete forever"
                      onClick={() => actions.deleteForever(run.run_id)}
                    >
                      <deleteIcon.react tag="span" />
                    </button>
                  </div>
                ))}
              </div>
            )}
          </div>
        );
      }}
    </UseSignal>
  );
}
