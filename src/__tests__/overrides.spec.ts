// Tests of the rerun dialog's params as text and back (models/overrides.ts).
import {
  changedOverrides,
  overrideText,
  parseOverride
} from '../models/overrides';

describe('parseOverride', () => {
  it('reads JSON where the text is JSON, else keeps the text', () => {
    expect(parseOverride('0.01')).toBe(0.01);
    expect(parseOverride(' true ')).toBe(true);
    expect(parseOverride('[64, 128]')).toEqual([64, 128]);
    expect(parseOverride('"3"')).toBe('3');
    expect(parseOverride('adam')).toBe('adam');
  });
});

describe('changedOverrides', () => {
  const params = { lr: 0.01, opt: 'adam', hidden: [64, 128], flag: false };
  const texts = (): Record<string, string> =>
    Object.fromEntries(
      Object.entries(params).map(([k, v]) => [k, overrideText(v)])
    );

  it('is empty while every field reads as its recorded value', () => {
    expect(changedOverrides(params, texts())).toEqual({});
    expect(changedOverrides(params, { ...texts(), lr: ' 0.010 ' })).toEqual({});
  });

  it('holds only the params whose field changed, as values', () => {
    expect(
      changedOverrides(params, { ...texts(), lr: '0.003', opt: 'sgd' })
    ).toEqual({ lr: 0.003, opt: 'sgd' });
    expect(changedOverrides(params, { ...texts(), flag: 'true' })).toEqual({
      flag: true
    });
  });
});
