// How values read in the panel: times, durations, metric numbers, params.
import { MetricValue } from '../../api';

/** Elapsed seconds as `4.2s`, `3m 05s`, `2h 04m`, `3d 2h`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '';
  }
  if (seconds < 0) {
    seconds = 0;
  }
  if (seconds < 10) {
    return `${seconds.toFixed(1)}s`;
  }
  if (seconds < 60) {
    return `${Math.floor(seconds)}s`;
  }
  const m = Math.floor(seconds / 60);
  if (m < 60) {
    return `${m}m ${pad(Math.floor(seconds % 60))}s`;
  }
  const h = Math.floor(m / 60);
  if (h < 48) {
    return `${h}h ${pad(m % 60)}m`;
  }
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

// Intl formatters are costly to create: one of each, made on first use.
let clockFormat: Intl.DateTimeFormat | null = null;
let dayFormat: Intl.DateTimeFormat | null = null;
let yearFormat: Intl.DateTimeFormat | null = null;
let fullFormat: Intl.DateTimeFormat | null = null;

/** An epoch time as a short local time: today `14:03:12`, else `Nov 26 14:03`. */
export function formatTime(epoch: number | null | undefined): string {
  if (!epoch) {
    return '';
  }
  const date = new Date(epoch * 1000);
  const now = new Date();
  if (
    date.getDate() === now.getDate() &&
    date.getMonth() === now.getMonth() &&
    date.getFullYear() === now.getFullYear()
  ) {
    clockFormat ??= new Intl.DateTimeFormat(undefined, {
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false
    });
    return clockFormat.format(date);
  }
  if (date.getFullYear() === now.getFullYear()) {
    dayFormat ??= new Intl.DateTimeFormat(undefined, {
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false
    });
    return dayFormat.format(date);
  }
  yearFormat ??= new Intl.DateTimeFormat(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric'
  });
  return yearFormat.format(date);
}

/** An epoch time in full, for tooltips and detail views. */
export function formatFullTime(epoch: number | null | undefined): string {
  if (!epoch) {
    return '';
  }
  fullFormat ??= new Intl.DateTimeFormat(undefined, {
    dateStyle: 'medium',
    timeStyle: 'medium'
  });
  return fullFormat.format(new Date(epoch * 1000));
}

/** A metric value in about 4 significant digits; non-finite values as sent. */
export function formatMetric(value: MetricValue | undefined): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
    return value.toExponential(3);
  }
  return String(Number(value.toPrecision(4)));
}

/** Any JSON value (a param, a table cell) as one line of text. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    return formatMetric(value);
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

/** Bytes as `512 B`, `3.4 KB`, `1.2 GB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${value} ${units[0]}`
    : `${value.toFixed(1)} ${units[unit]}`;
}

/** The last path component of a notebook path. */
export function baseName(path: string | null | undefined): string {
  if (!path) {
    return '';
  }
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1];
}

/** Seconds a run has taken so far (ended: its duration; running: since it started). */
export function elapsed(run: {
  status: string;
  started_at: number | null;
  ended_at: number | null;
  duration: number | null;
}): number | null {
  if (run.status === 'running' && run.started_at) {
    return Math.max(0, Date.now() / 1000 - run.started_at);
  }
  if (run.duration !== null && run.duration !== undefined) {
    return run.duration;
  }
  if (run.started_at && run.ended_at) {
    return run.ended_at - run.started_at;
  }
  return null;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
