// Tests of attempts and exits in words (views/common/attempts.ts).
import { IAttempt } from '../api';
import { attemptRows, exitWords } from '../views/common/attempts';

describe('attemptRows', () => {
  it('counts an attempt once though it has a started and an ended event', () => {
    const events: IAttempt[] = [
      { attempt: 1, state: 'started', exit_code: null, time: 10 },
      { attempt: 1, state: 'ended', exit_code: 1, time: 20 },
      { attempt: 2, state: 'started', exit_code: null, time: 21 }
    ];
    expect(attemptRows(events)).toEqual([
      { attempt: 1, started: 10, ended: 20, exitCode: 1 },
      { attempt: 2, started: 21, ended: null, exitCode: null }
    ]);
  });
});

describe('exitWords', () => {
  it('says what ended the process, and whether the user asked for it', () => {
    expect(exitWords(-15, true)).toBe('terminated by the user (SIGTERM)');
    expect(exitWords(-15)).toBe('terminated (SIGTERM)');
    expect(exitWords(137, true)).toBe('killed by the user (SIGKILL)');
    expect(exitWords(-11)).toBe('crashed (segmentation fault) (SIGSEGV)');
    expect(exitWords(0)).toBe('finished normally');
    expect(exitWords(3)).toBe('failed with exit code 3');
    expect(exitWords(null)).toBe('still running');
  });
});
