// A whole sweep compared (GET sweeps/{id}): its seed groups and significance, refreshed while its runs go on.
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { ISweepDetail, ISweepTest, TrackrunClient } from '../api';
import { StepPoll } from './poll';
import { activeOf } from './sweeps';

/** Seconds between reads while the sweep still has queued or running runs. */
const ACTIVE_INTERVAL = 5000;

/** Loads the comparison of sweep `sweepId` on a metric; polls while its runs go on. */
export class SweepCompareModel implements IDisposable {
  constructor(client: TrackrunClient, sweepId: string) {
    this._client = client;
    this.sweepId = sweepId;
    this._poll = new StepPoll({
      name: 'trackrun:compare-sweep',
      standbyWhenHidden: true,
      step: () => this._step(),
      onError: error => {
        this._error = error instanceof Error ? error.message : String(error);
        this._changed.emit();
      }
    });
  }

  readonly sweepId: string;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get detail(): ISweepDetail | null {
    return this._detail;
  }

  get error(): string | null {
    return this._error;
  }

  /** The metric asked for (null: the sweep's own). */
  get metric(): string | null {
    return this._metric;
  }

  /** The goal asked for (null: the sweep's own). */
  get goal(): 'max' | 'min' | null {
    return this._goal;
  }

  /** Compare on `metric` toward `goal` (null: the sweep's own); reads it again at once. */
  choose(metric: string | null, goal: 'max' | 'min' | null): void {
    this._metric = metric;
    this._goal = goal;
    this._changed.emit();
    this._poll.refresh();
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  start(): void {
    this._poll.start();
  }

  /** Read it again now. */
  refresh(): void {
    this._poll.refresh();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _step(): Promise<number | null> {
    const detail = await this._client.sweep(this.sweepId, {
      ...(this._metric ? { metric: this._metric } : {}),
      ...(this._goal ? { goal: this._goal } : {})
    });
    const text = JSON.stringify(detail);
    if (text !== this._text || this._error) {
      this._text = text;
      this._detail = detail;
      this._error = null;
      this._changed.emit();
    }
    return activeOf(detail.counts) > 0 ? ACTIVE_INTERVAL : null;
  }

  private _client: TrackrunClient;
  private _poll: StepPoll;
  private _detail: ISweepDetail | null = null;
  private _metric: string | null = null;
  private _goal: 'max' | 'min' | null = null;
  private _text = '';
  private _error: string | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}

/** Decimals that show a confidence interval's half-width to two significant digits. */
export function decimalsFor(halfWidth: number): number {
  if (!Number.isFinite(halfWidth) || halfWidth <= 0) {
    return 4;
  }
  return Math.min(12, Math.max(0, 1 - Math.floor(Math.log10(halfWidth))));
}

/** A p-value in two significant digits (`p=0.004`), or `p<0.0001`. */
export function formatP(p: number): string {
  return p < 1e-4 ? 'p<0.0001' : `p=${Number(p.toPrecision(2))}`;
}

/**
 * The significance line of a sweep's test, in the direction of its goal:
 * `lr=0.003, hidden=128 beats lr=0.01, hidden=128 by 0.021 (95% CI 0.008 to 0.034, Welch
 * p=0.004, n=3 vs 3)`. The margin is how much better the best group is (for `min`, how
 * much lower), with its interval. When the interval holds 0 the line says the difference
 * is not significant at 5 %; when the test could not run, the server's reason.
 */
export function significanceLine(
  test: ISweepTest,
  goal: 'max' | 'min'
): string {
  const { difference, ci_low, ci_high, p_value } = test;
  if (
    difference === null ||
    ci_low === null ||
    ci_high === null ||
    p_value === null
  ) {
    return test.message;
  }
  const sign = goal === 'min' ? -1 : 1;
  const margin = sign * difference;
  const [low, high] = goal === 'min' ? [-ci_high, -ci_low] : [ci_low, ci_high];
  const d = decimalsFor((high - low) / 2);
  const n = `n=${test.n_best} vs ${test.n_runner_up}`;
  const stats = `(95% CI ${low.toFixed(d)} to ${high.toFixed(d)}, Welch ${formatP(p_value)}, ${n})`;
  if (low > 0) {
    return `${test.best} beats ${test.runner_up} by ${margin.toFixed(d)} ${stats}`;
  }
  return (
    `${test.best} is ahead of ${test.runner_up} by ${margin.toFixed(d)} ${stats}: ` +
    'not significant at the 5% level'
  );
}
