// What the runs table's cells say: column titles, default widths, cell text and tooltips.
import { IRunRow } from '../../api';
import { ColumnKey } from '../../models/columns';
import {
  baseName,
  elapsed,
  formatDuration,
  formatFullTime,
  formatMetric,
  formatTime,
  formatValue
} from '../common/format';

const TITLES: Record<string, string> = {
  status: '',
  name: 'Name',
  notebook: 'Notebook',
  started: 'Started',
  duration: 'Duration',
  tags: 'Tags',
  note: 'Note'
};

/** Title of a column header: `lr` for params.lr, `loss` for metrics.loss. */
export function columnTitle(column: ColumnKey): string {
  if (column in TITLES) {
    return TITLES[column];
  }
  return column.replace(/^(params|metrics)\./, '');
}

/** Width of a column (px) until the user gives it one. */
export function columnWidth(column: ColumnKey): number {
  switch (column) {
    case 'status':
      return 26;
    case 'name':
      return 140;
    case 'notebook':
      return 110;
    case 'started':
      return 92;
    case 'duration':
      return 66;
    case 'tags':
      return 90;
    case 'note':
      return 160;
    default:
      return 76;
  }
}

/** The text of one cell (always text: run data is never rendered as HTML). */
export function cellText(row: IRunRow, column: ColumnKey): string {
  switch (column) {
    case 'name':
      return row.name;
    case 'notebook':
      return baseName(row.notebook);
    case 'started':
      return formatTime(row.started_at);
    case 'duration':
      return formatDuration(elapsed(row));
    case 'tags':
      return row.tags.join(', ');
    case 'note':
      return (row.note ?? '').split('\n', 1)[0]; // the whole note is its tooltip
    default:
      if (column.startsWith('params.')) {
        return formatValue(row.params[column.slice(7)]);
      }
      if (column.startsWith('metrics.')) {
        return formatMetric(row.metrics[column.slice(8)]?.last);
      }
      return '';
  }
}

/** The tooltip of one cell: what the cell leaves out (full paths and times, metric range). */
export function cellTitle(row: IRunRow, column: ColumnKey): string {
  switch (column) {
    case 'name':
      return [
        row.name,
        row.run_id,
        row.notebook ? `notebook: ${row.notebook}` : '',
        row.started_at ? `started: ${formatFullTime(row.started_at)}` : '',
        row.tags.length ? `tags: ${row.tags.join(', ')}` : '',
        row.note ? `note: ${row.note}` : ''
      ]
        .filter(Boolean)
        .join('\n');
    case 'notebook':
      return row.notebook ?? '';
    case 'note':
      return row.note ?? '';
    case 'started':
      return formatFullTime(row.started_at);
    case 'status':
      return row.status + (row.detached ? ' (detached)' : '');
    default: {
      if (column.startsWith('metrics.')) {
        const m = row.metrics[column.slice(8)];
        return m
          ? `last ${formatMetric(m.last)}, min ${formatMetric(m.min)}, max ${formatMetric(m.max)}`
          : '';
      }
      return cellText(row, column);
    }
  }
}
