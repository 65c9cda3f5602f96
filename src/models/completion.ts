// Completions for the filter box: fields, params./metrics. keys, tags and statuses at the cursor.
import { quoteKey } from './order';

/** The names in the store that the filter box completes (`GET keys`). */
export interface IFilterKeys {
  params: readonly string[];
  metrics: readonly string[];
  tags: readonly string[];
}

/** One completion: what the list shows, and the text that replaces the word at the cursor. */
export interface ICompletion {
  label: string;
  insert: string;
  /** What it is: field, param, metric, tag or status (shown beside it). */
  kind: string;
}

/** What to offer at the cursor: the word from `from` to `to` is replaced by an item's insert. */
export interface ICompletions {
  from: number;
  to: number;
  items: ICompletion[];
}

/** The filter language's fields (store/filters.py), and the prefixes that take a key. */
export const FIELDS: readonly string[] = [
  'name',
  'status',
  'notebook',
  'note',
  'tag',
  'sweep',
  'started',
  'ended',
  'created',
  'duration',
  'detached',
  'attempts',
  'error',
  'host',
  'user',
  'commit',
  'branch',
  'dirty',
  'id'
];
const PREFIXES = ['params.', 'metrics.', 'tag:'];
export const STATUSES: readonly string[] = [
  'queued',
  'running',
  'finished',
  'failed',
  'killed',
  'lost'
];
/** Most items shown at once. */
const MAX_ITEMS = 50;
/** Characters of a word being completed (fields, keys with dots and slashes, tag:NAME). */
const WORD = /[\w.:\-/]/;

/**
 * The completions at `cursor` in `text`: the word ending at the cursor is a field being typed
 * (`sta` → status), a key after `params.` or `metrics.`, a tag after `tag:`, or a status
 * after `status =`, `status !=` or `status in (`. Items already typed in full are left out.
 */
export function complete(
  text: string,
  cursor: number,
  keys: IFilterKeys
): ICompletions {
  let from = cursor;
  while (from > 0 && WORD.test(text[from - 1])) {
    from--;
  }
  let to = cursor;
  while (to < text.length && WORD.test(text[to])) {
    to++;
  }
  const word = text.slice(from, cursor);
  const lower = word.toLowerCase();
  const none = { from, to, items: [] };
  let items: ICompletion[];
  if (afterStatusOperator(text.slice(0, from))) {
    items = STATUSES.filter(s => s.startsWith(lower)).map(s => ({
      label: s,
      insert: s + ' ',
      kind: 'status'
    }));
  } else if (lower.startsWith('params.') || lower.startsWith('metrics.')) {
    const prefix = lower.startsWith('params.') ? 'params.' : 'metrics.';
    const typed = word.slice(prefix.length).toLowerCase();
    const source = prefix === 'params.' ? keys.params : keys.metrics;
    items = source
      .filter(k => k.toLowerCase().startsWith(typed))
      .map(k => ({
        label: prefix + k,
        insert: prefix + quoteKey(k) + ' ',
        kind: prefix === 'params.' ? 'param' : 'metric'
      }));
  } else if (lower.startsWith('tag:')) {
    const typed = word.slice(4).toLowerCase();
    items = keys.tags
      .filter(t => t.toLowerCase().startsWith(typed))
      .map(t => ({
        label: 'tag:' + t,
        insert: 'tag:' + (/^[\w.\-/]+$/.test(t) ? t : quoteTag(t)) + ' ',
        kind: 'tag'
      }));
  } else {
    if (!word) {
      return none;
    }
    items = [
      ...PREFIXES.filter(p => p.startsWith(lower)).map(p => ({
        label: p,
        insert: p,
        kind: p === 'tag:' ? 'tag' : p === 'params.' ? 'param' : 'metric'
      })),
      ...FIELDS.filter(f => f.startsWith(lower)).map(f => ({
        label: f,
        insert: f + ' ',
        kind: 'field'
      }))
    ];
  }
  items = items.filter(item => item.insert.trimEnd() !== word);
  return { from, to, items: items.slice(0, MAX_ITEMS) };
}

/** `text` with the word `from`..`to` replaced by `insert`, and where the cursor goes. */
export function applyCompletion(
  text: string,
  completions: Pick<ICompletions, 'from' | 'to'>,
  insert: string
): { text: string; cursor: number } {
  const rest = text.slice(completions.to);
  // No doubled space when the text after the word already starts with one.
  const fitted = rest.startsWith(' ') ? insert.trimEnd() : insert;
  return {
    text: text.slice(0, completions.from) + fitted + rest,
    cursor: completions.from + fitted.length
  };
}

/** Whether `before` (the text before the word) ends with `status =`, `!=`, or `in (a, `. */
function afterStatusOperator(before: string): boolean {
  return /\bstatus\s*(=|!=|\s+in\s*\((\s*[\w]+\s*,)*)\s*$/i.test(before);
}

function quoteTag(tag: string): string {
  return '"' + tag.replace(/[\\"]/g, c => '\\' + c) + '"';
}
