// A unified diff with added, removed and hunk lines coloured (as text, never HTML).
import React from 'react';

export function DiffText(props: {
  text: string;
  className?: string;
}): JSX.Element {
  const lines = props.text.replace(/\n$/, '').split('\n');
  return (
    <pre className={'trackrun-Diff ' + (props.className ?? '')}>
      {lines.map((line, i) => (
        <div key={i} className={`trackrun-Diff-line ${diffClass(line)}`}>
          {line || '\u200b'}
        </div>
      ))}
    </pre>
  );
}

function diffClass(line: string): string {
  if (line.startsWith('+++') || line.startsWith('---')) {
    return 'trackrun-mod-file';
  }
  if (line.startsWith('+')) {
    return 'trackrun-mod-added';
  }
  if (line.startsWith('-')) {
    return 'trackrun-mod-removed';
  }
  if (line.startsWith('@@')) {
    return 'trackrun-mod-hunk';
  }
  return '';
}
