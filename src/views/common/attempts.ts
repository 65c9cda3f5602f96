// A detached run's attempts as people read them: one row per attempt, exits in words.
import { IAttempt, IRunDetail } from '../../api';

/** Signal numbers (Linux) and what ending by each one usually means. */
const SIGNALS: Record<number, [string, string]> = {
  1: ['SIGHUP', 'hung up'],
  2: ['SIGINT', 'interrupted'],
  6: ['SIGABRT', 'aborted'],
  9: ['SIGKILL', 'killed'],
  11: ['SIGSEGV', 'crashed (segmentation fault)'],
  15: ['SIGTERM', 'terminated']
};

/** One attempt: when it started and ended, and how. */
export interface IAttemptRow {
  attempt: number;
  started: number | null;
  ended: number | null;
  exitCode: number | null;
}

/**
 * The attempts of a run, one row each: the supervisor records two events per attempt
 * (started, then ended with its exit code), which the API lists as they are.
 */
export function attemptRows(attempts: readonly IAttempt[]): IAttemptRow[] {
  const rows = new Map<number, IAttemptRow>();
  for (const a of attempts) {
    const row = rows.get(a.attempt) ?? {
      attempt: a.attempt,
      started: null,
      ended: null,
      exitCode: null
    };
    if (a.state === 'started') {
      row.started = a.time;
    } else {
      row.ended = a.time;
      row.exitCode = a.exit_code;
    }
    rows.set(a.attempt, row);
  }
  return [...rows.values()].sort((x, y) => x.attempt - y.attempt);
}

/**
 * How a process ended, in words: `code` as Python's subprocess reports it (negative: the
 * signal that ended it; 128 + n: a shell's report of signal n). `byUser` says the run was
 * killed on request, so a SIGTERM or SIGKILL was the user's doing.
 */
export function exitWords(code: number | null, byUser = false): string {
  if (code === null) {
    return 'still running';
  }
  if (code === 0) {
    return 'finished normally';
  }
  const signal = code < 0 ? -code : code > 128 && code < 160 ? code - 128 : 0;
  if (signal) {
    const [name, meaning] = SIGNALS[signal] ?? [`signal ${signal}`, 'ended'];
    const who = byUser && (signal === 15 || signal === 9) ? ' by the user' : '';
    return `${meaning}${who} (${name})`;
  }
  return `failed with exit code ${code}`;
}

/** One line saying why a run ended the way it did, or null when there is nothing to add. */
export function statusDetail(detail: IRunDetail): string | null {
  const rows = attemptRows(detail.attempts ?? []);
  const last = rows[rows.length - 1];
  const killed = detail.status === 'killed';
  if (last && last.ended !== null) {
    return exitWords(last.exitCode, killed);
  }
  if (killed) {
    return 'killed by the user';
  }
  if (detail.status === 'lost') {
    return 'lost: its process ended without recording how';
  }
  return null;
}
