// A two-column table of names and values (params, environment facts).
import React from 'react';

import { formatValue } from './format';

export function KeyValues(props: {
  values: Record<string, unknown> | null | undefined;
  empty?: string;
  className?: string;
}): JSX.Element {
  const entries = Object.entries(props.values ?? {});
  if (!entries.length) {
    return (
      <div className="trackrun-muted">{props.empty ?? 'None recorded.'}</div>
    );
  }
  return (
    <table
      className={'trackrun-Table trackrun-KeyValues ' + (props.className ?? '')}
    >
      <tbody>
        {entries.map(([key, value]) => (
          <tr key={key}>
            <th scope="row">{key}</th>
            <td>{formatValue(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
