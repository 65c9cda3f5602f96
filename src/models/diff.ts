// A unified diff read into hunks of code lines, each marked added, removed or context, so
// the code can be shown highlighted without the diff's marker column.

export type DiffLineKind = 'added' | 'removed' | 'context';

/** One hunk: its `@@` header and its lines without the marker column. */
export interface IDiffHunk {
  header: string;
  lines: { kind: DiffLineKind; text: string }[];
}

/** The hunks of a unified diff, and its file labels (`--- a`, `+++ b`). */
export interface IDiff {
  from: string;
  to: string;
  hunks: IDiffHunk[];
}

/** Read `text` (difflib's or git's unified diff). Lines before the first hunk are labels. */
export function parseUnifiedDiff(text: string): IDiff {
  const diff: IDiff = { from: '', to: '', hunks: [] };
  let hunk: IDiffHunk | null = null;
  for (const line of text.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('@@')) {
      hunk = { header: line, lines: [] };
      diff.hunks.push(hunk);
    } else if (!hunk) {
      if (line.startsWith('--- ')) {
        diff.from = line.slice(4).trim();
      } else if (line.startsWith('+++ ')) {
        diff.to = line.slice(4).trim();
      }
    } else if (line.startsWith('+')) {
      hunk.lines.push({ kind: 'added', text: line.slice(1) });
    } else if (line.startsWith('-')) {
      hunk.lines.push({ kind: 'removed', text: line.slice(1) });
    } else if (!line.startsWith('\\')) {
      // "\ No newline at end of file" is no line of code.
      hunk.lines.push({ kind: 'context', text: line.slice(1) });
    }
  }
  return diff;
}
