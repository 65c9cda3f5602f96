// What an edit of a run's name and note sends, and what is wrong with it (pure, for the dialog).
import { IRunEdit } from '../../api';

/** The server's limits (python_pkg/trackrun/values.py): checked there too. */
export const MAX_NAME_CHARS = 200;
export const MAX_NOTE_CHARS = 10000;

/** A run's name and note as the dialog edits them (a missing note is ''). */
export interface IRunText {
  name: string;
  note: string;
}

/** The fields that differ from `before`, as PATCH runs/{id} takes them ({} if none). */
export function runEdit(before: IRunText, typed: IRunText): IRunEdit {
  const edit: IRunEdit = {};
  const name = typed.name.trim();
  if (name !== before.name.trim()) {
    edit.name = name;
  }
  const note = normalizeNote(typed.note);
  if (note !== normalizeNote(before.note)) {
    edit.note = note;
  }
  return edit;
}

/** Why the typed text cannot be saved, in words that say the fix; null when it can. */
export function runEditProblem(typed: IRunText): string | null {
  const name = typed.name.trim();
  if (!name) {
    return 'The name cannot be empty.';
  }
  if ([...name].length > MAX_NAME_CHARS) {
    return `The name is ${[...name].length} characters; at most ${MAX_NAME_CHARS}.`;
  }
  if (hasControl(name, '')) {
    return 'The name cannot contain control characters (such as a tab).';
  }
  const note = normalizeNote(typed.note);
  if ([...note].length > MAX_NOTE_CHARS) {
    return `The note is ${[...note].length.toLocaleString()} characters; at most ${MAX_NOTE_CHARS.toLocaleString()}.`;
  }
  if (hasControl(note, '\n\t')) {
    return 'The note cannot contain control characters other than newlines and tabs.';
  }
  return null;
}

/** The note as the server stores it: one kind of line end, no surrounding whitespace. */
export function normalizeNote(note: string): string {
  return note.replace(/\r\n?/g, '\n').trim();
}

function hasControl(text: string, allowed: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (
      (code < 0x20 || (code >= 0x7f && code < 0xa0)) &&
      !allowed.includes(char)
    ) {
      return true;
    }
  }
  return false;
}
