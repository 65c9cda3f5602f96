// Tests of the media views' step logic (models/media.ts).
import { IMediaItem } from '../api';
import {
  groupMedia,
  stepAtOrBefore,
  stepShown,
  unionSteps
} from '../models/media';

function item(key: string, step: number): IMediaItem {
  return {
    key,
    step,
    width: 4,
    height: 4,
    url: `runs/r/media/${key}/${step}.png`
  };
}

describe('groupMedia', () => {
  it('groups by key, keys sorted and steps ascending, whatever the order sent', () => {
    const groups = groupMedia([
      item('val/samples', 10),
      item('mask', 3),
      item('val/samples', 0),
      item('val/samples', 5)
    ]);
    expect(groups.map(g => g.key)).toEqual(['mask', 'val/samples']);
    expect(groups[1].steps).toEqual([0, 5, 10]);
    expect(groups[1].byStep.get(5)?.url).toBe('runs/r/media/val/samples/5.png');
  });

  it('is empty for no media', () => {
    expect(groupMedia([])).toEqual([]);
  });
});

describe('stepAtOrBefore', () => {
  const steps = [0, 5, 10, 20];
  it('finds the step itself, the nearest earlier one, or none', () => {
    expect(stepAtOrBefore(steps, 10)).toBe(10);
    expect(stepAtOrBefore(steps, 19)).toBe(10);
    expect(stepAtOrBefore(steps, 1000)).toBe(20);
    expect(stepAtOrBefore([3, 4], 2)).toBeNull();
    expect(stepAtOrBefore([], 2)).toBeNull();
  });
});

describe('stepShown', () => {
  it('says when a run shows an earlier step than the one chosen', () => {
    expect(stepShown([0, 2, 4], 4)).toEqual({ step: 4, earlier: false });
    expect(stepShown([0, 2, 4], 3)).toEqual({ step: 2, earlier: true });
    expect(stepShown([5], 3)).toEqual({ step: null, earlier: false });
  });
});

describe('unionSteps', () => {
  it('merges the steps of several runs once each, ascending', () => {
    expect(unionSteps([[0, 2, 4], [1, 2, 9], []])).toEqual([0, 1, 2, 4, 9]);
  });
});
