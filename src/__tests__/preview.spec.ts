// Tests of artifact previews (models/preview.ts).
import {
  PREVIEW_MAX_BYTES,
  megabytes,
  parseCsv,
  prettyJson,
  previewKind,
  tooLargeToPreview
} from '../models/preview';

describe('previewKind', () => {
  it('chooses by extension, case-insensitively', () => {
    expect(previewKind('confusion.PNG')).toBe('image');
    expect(previewKind('plot.svg')).toBe('image');
    expect(previewKind('results.csv')).toBe('csv');
    expect(previewKind('metrics.json')).toBe('json');
    expect(previewKind('notes.txt')).toBe('text');
    expect(previewKind('README')).toBe('text');
    expect(previewKind('model.pt')).toBe('none');
    expect(previewKind('data.csv.gz')).toBe('none');
  });
});

describe('tooLargeToPreview', () => {
  it('refuses text over 1 MB but never images or unknown files', () => {
    expect(tooLargeToPreview('csv', PREVIEW_MAX_BYTES)).toBe(false);
    expect(tooLargeToPreview('csv', PREVIEW_MAX_BYTES + 1)).toBe(true);
    expect(tooLargeToPreview('image', 50 * PREVIEW_MAX_BYTES)).toBe(false);
    expect(tooLargeToPreview('none', 50 * PREVIEW_MAX_BYTES)).toBe(false);
  });
});

describe('parseCsv', () => {
  it('reads a header and rows, quoted fields with commas, quotes and newlines', () => {
    const table = parseCsv(
      'a,b,c\r\n1,"x, y",3\n2,"say ""hi""","two\nlines"\n'
    );
    expect(table.header).toEqual(['a', 'b', 'c']);
    expect(table.rows).toEqual([
      ['1', 'x, y', '3'],
      ['2', 'say "hi"', 'two\nlines']
    ]);
    expect(table.more).toBe(0);
  });

  it('keeps the first rows and counts the rest; skips blank lines', () => {
    const lines = ['n'];
    for (let i = 0; i < 10; i++) {
      lines.push(String(i), '');
    }
    const table = parseCsv(lines.join('\n'), 3);
    expect(table.rows).toEqual([['0'], ['1'], ['2']]);
    expect(table.more).toBe(7);
  });

  it('reads a last line without a newline, and TSV', () => {
    expect(parseCsv('a\tb\n1\t2', 10, '\t')).toEqual({
      header: ['a', 'b'],
      rows: [['1', '2']],
      more: 0
    });
    expect(parseCsv('')).toEqual({ header: [], rows: [], more: 0 });
  });
});

describe('prettyJson', () => {
  it('indents valid JSON and leaves invalid text as it is', () => {
    expect(prettyJson('{"a":[1,2]}')).toEqual({
      text: '{\n  "a": [\n    1,\n    2\n  ]\n}',
      valid: true
    });
    expect(prettyJson('{oops')).toEqual({ text: '{oops', valid: false });
  });
});

describe('megabytes', () => {
  it('rounds for people', () => {
    expect(megabytes(1.5 * 1024 * 1024)).toBe('1.5 MB');
    expect(megabytes(23.4 * 1024 * 1024)).toBe('23 MB');
  });
});
