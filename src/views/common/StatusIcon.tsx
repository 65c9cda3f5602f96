// A run's status as a small coloured mark (running: animated) with its name for screen readers.
import React from 'react';

const SYMBOLS: Record<string, string> = {
  queued: '◷',
  running: '',
  finished: '✓',
  failed: '✕',
  killed: '■',
  lost: '?'
};

export function StatusIcon(props: { status: string }): JSX.Element {
  const { status } = props;
  return (
    <span
      className={`trackrun-StatusIcon trackrun-status-${status in SYMBOLS ? status : 'unknown'}`}
      role="img"
      aria-label={status}
      title={status}
    >
      {SYMBOLS[status] ?? '?'}
    </span>
  );
}

/** A status as a labelled badge (run view, MIME view). */
export function StatusBadge(props: { status: string }): JSX.Element {
  return (
    <span
      className={`trackrun-StatusBadge trackrun-status-${props.status}`}
      data-status={props.status}
    >
      <StatusIcon status={props.status} />
      <span className="trackrun-StatusBadge-label">{props.status}</span>
    </span>
  );
}
