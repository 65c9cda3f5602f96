// Parameter overrides of a rerun: the text a user types per param, read back as values.

/** A param's value as the rerun dialog shows it in its text field. */
export function overrideText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The value a field's text stands for: JSON when it reads as JSON (`0.01`, `true`, `[1, 2]`,
 * `"x"`), else the text itself as a string (`adam`).
 */
export function parseOverride(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

/**
 * The overrides to send: the params whose field no longer reads as their recorded value.
 * `texts` maps each param name to its field's text.
 */
export function changedOverrides(
  params: Record<string, unknown>,
  texts: Record<string, string>
): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(texts)) {
    const value = parseOverride(text);
    if (JSON.stringify(value) !== JSON.stringify(params[name])) {
      changed[name] = value;
    }
  }
  return changed;
}
