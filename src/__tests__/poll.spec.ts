// Tests of the models' polling (models/poll.ts): steps never overlap, null stops, errors back off.
import { StepPoll } from '../models/poll';

/** A promise and the functions that settle it. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('StepPoll', () => {
  it('runs a refresh asked for during a step after that step, never beside it', async () => {
    let running = 0;
    let most = 0;
    let calls = 0;
    const gates: ReturnType<typeof deferred<number | null>>[] = [];
    const poll = new StepPoll({
      name: 'test',
      step: async () => {
        calls++;
        running++;
        most = Math.max(most, running);
        const gate = deferred<number | null>();
        gates.push(gate);
        try {
          return await gate.promise;
        } finally {
          running--;
        }
      }
    });
    poll.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    poll.refresh();
    poll.refresh();
    await jest.advanceTimersByTimeAsync(10);
    expect(calls).toBe(1); // the refresh waits for the step that is out
    gates[0].resolve(60000);
    await jest.advanceTimersByTimeAsync(10);
    expect(calls).toBe(2);
    expect(most).toBe(1);
    gates[1].resolve(null);
    await jest.advanceTimersByTimeAsync(10);
    expect(poll.isActive).toBe(false); // null stops
    poll.dispose();
  });

  it('waits at least a second before retrying a failed step, even after a 0 ms step', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const poll = new StepPoll({
      name: 'test',
      step: async () => {
        calls++;
        if (calls === 1) {
          return 0; // "read on at once"
        }
        throw new Error('server gone');
      },
      onError: error => errors.push(error)
    });
    poll.start();
    for (let i = 0; i < 10 && errors.length === 0; i++) {
      await jest.advanceTimersByTimeAsync(1);
    }
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2); // not retried at once
    await jest.advanceTimersByTimeAsync(5000);
    expect(calls).toBeGreaterThan(2);
    expect(calls).toBeLessThan(10);
    poll.dispose();
  });
});
