// The run view's Reproduction line: a reproduction running, failed, or its verdict, with a link
// to the other run and to the comparison of the two.
import React from 'react';

import { IRunDetail } from '../../api';
import { reproductionLine } from '../../models/reproduction';
import { formatFullTime } from '../common/format';

export function ReproductionLine(props: {
  detail: IRunDetail;
  open: (runId: string) => void;
  compare: (runIds: string[]) => void;
}): JSX.Element | null {
  const { detail, open, compare } = props;
  const line = reproductionLine(detail.reproduction, detail.run_id, epoch =>
    formatFullTime(epoch)
  );
  if (!line) {
    return null;
  }
  const other = line.other;
  const verdict = detail.reproduction?.last?.verdict ?? '';
  return (
    <div
      className={`trackrun-RunView-reproduction trackrun-mod-${line.state}`}
      data-state={line.state}
      data-verdict={line.state === 'done' ? verdict : undefined}
    >
      <span className="trackrun-RunView-reproductionLabel">Reproduction:</span>{' '}
      <span
        className="trackrun-RunView-reproductionText"
        title={line.at ? `recorded ${formatFullTime(line.at)}` : undefined}
      >
        {line.text}
      </span>
      {other && (
        <>
          {' · '}
          {other.relation}{' '}
          <button
            className="trackrun-LinkButton trackrun-RunView-reproductionRun"
            title="Open this run"
            onClick={() => open(other.runId)}
          >
            {other.runId}
          </button>
          {' · '}
          <button
            className="trackrun-LinkButton trackrun-RunView-reproductionCompare"
            title="Compare the two runs side by side"
            onClick={() => compare([detail.run_id, other.runId])}
          >
            compare
          </button>
        </>
      )}
      {line.reasons.length > 0 && (
        <ul className="trackrun-RunView-reproductionReasons">
          {line.reasons.map(reason => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
