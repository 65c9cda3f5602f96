// The filter box's text as the server's filter language reads it (free text becomes a search).

/** Words of the filter language that make text a query rather than a search. */
const KEYWORDS = new Set(['and', 'or', 'not', 'in']);
/** Bare boolean fields: `detached` alone is a valid query ("is true"), not a search. */
const BOOLEAN_FIELDS = new Set(['detached', 'dirty', 'git_dirty']);
/** Characters that only the filter language uses (operators, quotes, grouping, lists). */
const SYNTAX = /[=!<>~()'",]/;
const PREFIXES = ['params.', 'metrics.', 'tag:', 'tags:'];

/**
 * Whether `text` is a free-text search (no operator, quote, keyword or field prefix), which
 * the filter language would reject: `resnet` or `resnet cifar`.
 */
export function isFreeText(text: string): boolean {
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (!words.length || SYNTAX.test(text)) {
    return false;
  }
  return words.every(word => {
    const lower = word.toLowerCase();
    return (
      !KEYWORDS.has(lower) &&
      !BOOLEAN_FIELDS.has(lower) &&
      !PREFIXES.some(p => lower.startsWith(p))
    );
  });
}

/**
 * The filter to send for what the user typed: a free-text search becomes "every word in the
 * name, a tag or the note" (`name ~ 'w' or tags ~ 'w' or note ~ 'w'`, words joined by and);
 * anything else is sent as written, so the server's parser reports its errors.
 */
export function toServerFilter(text: string): string {
  const trimmed = text.trim();
  if (!isFreeText(trimmed)) {
    return trimmed;
  }
  const words = trimmed.split(/\s+/);
  const clauses = words.map(word => {
    const quoted = `'${word.replace(/\\/g, '\\\\')}'`;
    return `(name ~ ${quoted} or tags ~ ${quoted} or note ~ ${quoted})`;
  });
  return clauses.join(' and ');
}
