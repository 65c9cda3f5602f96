// A sweep's line in the runs table: expand toggle, name, progress bar and counts, best value so far.
import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { ISweepSummary } from '../../api';
import { progressText } from '../../models/sweeps';
import { formatMetric } from '../common/format';
import { ROW_HEIGHT } from './viewport';

export interface ISweepLineProps {
  sweepId: string;
  /** The sweep's name (from its runs' tags) while its summary has not come. */
  name: string;
  /** Progress and best value; undefined until `GET sweeps` answered (or without a record). */
  summary: ISweepSummary | undefined;
  /** The line's place in the table (sets its position and stripe). */
  index: number;
  width: number;
  expanded: boolean;
  selected: boolean;
  onMouseDown: (event: React.MouseEvent, key: string) => void;
  onToggle: (sweepId: string) => void;
  onOpen: (sweepId: string) => void;
  onContextMenu: (key: string) => void;
}

/** One sweep as one line: click selects it, the caret (or Right/Left) shows its runs. */
export const SweepLine = React.memo(function SweepLine(
  props: ISweepLineProps
): JSX.Element {
  const { summary, expanded, selected, sweepId } = props;
  const key = `sweep:${sweepId}`;
  const counts = summary?.counts;
  const total = counts
    ? counts.queued + counts.running + counts.done + counts.failed
    : 0;
  const Caret = expanded ? caretDownIcon : caretRightIcon;
  const best =
    summary && summary.metric && summary.best_value !== null
      ? `best ${summary.metric} ${formatMetric(summary.best_value)}`
      : '';
  return (
    <div
      className={
        'trackrun-RunsTable-sweep' +
        (selected ? ' trackrun-mod-selected' : '') +
        (props.index % 2 ? ' trackrun-mod-odd' : '')
      }
      role="row"
      aria-selected={selected}
      aria-expanded={expanded}
      data-sweep-id={sweepId}
      data-sweep-name={summary?.name ?? props.name}
      style={{
        transform: `translateY(${props.index * ROW_HEIGHT}px)`,
        width: props.width
      }}
      title={
        summary
          ? `Sweep ${summary.name} (${sweepId}): ${counts ? progressText(counts) : ''}` +
            (best ? `; ${best}` : '') +
            '\nEnter: compare the sweep · Right/Left: show/hide its runs'
          : `Sweep ${props.name} (${sweepId})`
      }
      onMouseDown={event => {
        if (event.button === 0) {
          props.onMouseDown(event, key);
        }
      }}
      onDoubleClick={() => props.onOpen(sweepId)}
      onContextMenu={() => props.onContextMenu(key)}
    >
      <div className="trackrun-SweepLine-head">
        <button
          className="trackrun-SweepLine-toggle"
          aria-label={expanded ? 'Hide the runs' : 'Show the runs'}
          tabIndex={-1}
          onMouseDown={event => event.stopPropagation()}
          onClick={() => props.onToggle(sweepId)}
        >
          <Caret.react tag="span" />
        </button>
        <span className="trackrun-SweepLine-name">
          {summary?.name ?? props.name}
        </span>
      </div>
      {counts && total > 0 && (
        <span
          className="trackrun-SweepLine-bar"
          role="img"
          aria-label={progressText(counts)}
        >
          {(['done', 'failed', 'running', 'queued'] as const).map(part =>
            counts[part] ? (
              <span
                key={part}
                className={`trackrun-SweepLine-${part}`}
                style={{ width: `${(100 * counts[part]) / total}%` }}
              />
            ) : null
          )}
        </span>
      )}
      {/* The best value before the counts: in a narrow sidebar it is what shows. */}
      {best && <span className="trackrun-SweepLine-best">{best}</span>}
      <span className="trackrun-SweepLine-counts">
        {counts ? progressText(counts) : 'sweep'}
      </span>
    </div>
  );
});
