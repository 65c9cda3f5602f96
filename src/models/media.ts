// A run's images grouped by key, and the step choices of the media views (pure logic).
import { IMediaItem } from '../api';

/** The images of one key, by step (ascending). */
export interface IMediaKey {
  key: string;
  steps: number[];
  byStep: ReadonlyMap<number, IMediaItem>;
}

/** Group a run's media list by key (keys sorted, steps ascending). */
export function groupMedia(items: readonly IMediaItem[]): IMediaKey[] {
  const byKey = new Map<string, Map<number, IMediaItem>>();
  for (const item of items) {
    let steps = byKey.get(item.key);
    if (!steps) {
      steps = new Map();
      byKey.set(item.key, steps);
    }
    steps.set(item.step, item);
  }
  return [...byKey.keys()].sort().map(key => {
    const byStep = byKey.get(key)!;
    return { key, steps: [...byStep.keys()].sort((a, b) => a - b), byStep };
  });
}

/** The largest of the ascending `steps` at or before `step`, or null when all come after. */
export function stepAtOrBefore(
  steps: readonly number[],
  step: number
): number | null {
  let lo = 0;
  let hi = steps.length - 1;
  let found: number | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] <= step) {
      found = steps[mid];
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** Every step of any of the lists, ascending and once each. */
export function unionSteps(lists: readonly (readonly number[])[]): number[] {
  const all = new Set<number>();
  for (const steps of lists) {
    for (const step of steps) {
      all.add(step);
    }
  }
  return [...all].sort((a, b) => a - b);
}

/** What one run shows for a chosen step in compare: its own step, and whether it is earlier. */
export interface IStepShown {
  /** The step whose image is shown, or null when the run has none at or before `step`. */
  step: number | null;
  /** Whether the run lacks the chosen step and shows an earlier one instead. */
  earlier: boolean;
}

/** The image a run shows at `step`: that step, else its nearest earlier one. */
export function stepShown(steps: readonly number[], step: number): IStepShown {
  const shown = stepAtOrBefore(steps, step);
  return { step: shown, earlier: shown !== null && shown !== step };
}
