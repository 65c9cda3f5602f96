// Tests of the edit dialog's logic: what PATCH runs/{id} sends and what is refused (views/dialogs/runEdit.ts).
import {
  MAX_NAME_CHARS,
  MAX_NOTE_CHARS,
  normalizeNote,
  runEdit,
  runEditProblem
} from '../views/dialogs/runEdit';

describe('runEdit', () => {
  const before = { name: 'witty-glacier-96', note: 'at launch' };

  it('sends only the fields that changed', () => {
    expect(runEdit(before, before)).toEqual({});
    expect(runEdit(before, { ...before, name: ' lr too high ' })).toEqual({
      name: 'lr too high'
    });
    expect(runEdit(before, { ...before, note: 'line 1\r\nline 2' })).toEqual({
      note: 'line 1\nline 2'
    });
  });

  it('clears a note with an empty string, and ignores whitespace-only edits', () => {
    expect(runEdit(before, { ...before, note: '   ' })).toEqual({ note: '' });
    expect(runEdit(before, { ...before, note: ' at launch\n' })).toEqual({});
    expect(runEdit({ name: 'a', note: '' }, { name: 'a', note: '' })).toEqual(
      {}
    );
  });
});

describe('runEditProblem', () => {
  const ok = { name: 'fine', note: 'two\nlines\tand a tab' };

  it('accepts names and notes the server accepts', () => {
    expect(runEditProblem(ok)).toBeNull();
    expect(
      runEditProblem({ name: 'é'.repeat(MAX_NAME_CHARS), note: '' })
    ).toBeNull();
    expect(
      runEditProblem({ name: 'x', note: 'n'.repeat(MAX_NOTE_CHARS) })
    ).toBeNull();
  });

  it('names what is wrong', () => {
    expect(runEditProblem({ ...ok, name: '  ' })).toMatch(/cannot be empty/);
    expect(
      runEditProblem({ ...ok, name: 'x'.repeat(MAX_NAME_CHARS + 1) })
    ).toMatch(/201 characters; at most 200/);
    expect(runEditProblem({ ...ok, name: 'a\tb' })).toMatch(/control/);
    expect(
      runEditProblem({ ...ok, note: 'n'.repeat(MAX_NOTE_CHARS + 1) })
    ).toMatch(/at most 10,000/);
    expect(runEditProblem({ ...ok, note: 'red \u001b[31m' })).toMatch(
      /other than newlines/
    );
  });

  it('normalizes line ends as the server does', () => {
    expect(normalizeNote('\r\na\rb\r\n ')).toBe('a\nb');
  });
});
