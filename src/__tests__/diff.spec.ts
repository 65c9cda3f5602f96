// Tests of reading a unified diff into hunks (models/diff.ts).
import { parseUnifiedDiff } from '../models/diff';

describe('parseUnifiedDiff', () => {
  it('reads labels, hunks and lines without their marker column', () => {
    const text = [
      '--- run-a/cell.py',
      '+++ run-b/cell.py',
      '@@ -1,3 +1,3 @@',
      ' for epoch in range(5):',
      '-    acc = train(lr)',
      '+    acc = train(lr, momentum=0.9)',
      ' ',
      '@@ -9 +9 @@',
      '-x = 1',
      '\\ No newline at end of file',
      '+x = 2',
      ''
    ].join('\n');
    const diff = parseUnifiedDiff(text);
    expect(diff.from).toBe('run-a/cell.py');
    expect(diff.to).toBe('run-b/cell.py');
    expect(diff.hunks.map(h => h.header)).toEqual([
      '@@ -1,3 +1,3 @@',
      '@@ -9 +9 @@'
    ]);
    expect(diff.hunks[0].lines).toEqual([
      { kind: 'context', text: 'for epoch in range(5):' },
      { kind: 'removed', text: '    acc = train(lr)' },
      { kind: 'added', text: '    acc = train(lr, momentum=0.9)' },
      { kind: 'context', text: '' }
    ]);
    expect(diff.hunks[1].lines.map(l => l.kind)).toEqual(['removed', 'added']);
  });

  it('has no hunks for an empty diff', () => {
    expect(parseUnifiedDiff('')).toEqual({ from: '', to: '', hunks: [] });
  });
});
