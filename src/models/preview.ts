// Artifact previews: which kind of preview a file gets, and CSV and JSON made readable.

/** Largest artifact previewed inline (text, CSV and JSON are read whole). */
export const PREVIEW_MAX_BYTES = 1024 * 1024;

export type PreviewKind = 'image' | 'csv' | 'json' | 'text' | 'none';

const IMAGE = /\.(png|jpe?g|gif|webp|bmp|svg)$/i;
const CSV = /\.(csv|tsv)$/i;
const JSON_FILE = /\.(json|ipynb|geojson)$/i;
const TEXT =
  /\.(txt|log|md|rst|py|yaml|yml|toml|cfg|ini|jsonl|ndjson|sh|out|err|xml|html?|tex|r|jl|js|ts|c|h|cpp|java|go|rs)$/i;

/** The preview an artifact called `name` gets (by its extension), or 'none'. */
export function previewKind(name: string): PreviewKind {
  if (IMAGE.test(name)) {
    return 'image';
  }
  if (CSV.test(name)) {
    return 'csv';
  }
  if (JSON_FILE.test(name)) {
    return 'json';
  }
  if (TEXT.test(name) || !/\.[^./]+$/.test(name)) {
    return 'text'; // no extension: README, LICENSE, Makefile...
  }
  return 'none';
}

/** Whether a text preview of `size` bytes is too large to load (images load lazily). */
export function tooLargeToPreview(kind: PreviewKind, size: number): boolean {
  return kind !== 'image' && kind !== 'none' && size > PREVIEW_MAX_BYTES;
}

/** A table read from CSV text: its header, the first rows, and how many rows were cut. */
export interface ICsvTable {
  header: string[];
  rows: string[][];
  /** Rows of the file not in `rows`. */
  more: number;
}

/**
 * Parse CSV (RFC 4180: quoted fields, doubled quotes, newlines inside quotes) or TSV when
 * `delimiter` is a tab. Keeps the first `maxRows` data rows; counts the rest.
 */
export function parseCsv(
  text: string,
  maxRows = 100,
  delimiter = ','
): ICsvTable {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let total = 0;
  const endRecord = (): void => {
    record.push(field);
    field = '';
    // A blank line is no record.
    if (!(record.length === 1 && record[0] === '')) {
      total++;
      if (records.length <= maxRows) {
        records.push(record);
      }
    }
    record = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === delimiter) {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') {
        i++;
      }
      endRecord();
    } else {
      field += c;
    }
  }
  if (field !== '' || record.length) {
    endRecord();
  }
  const [header = [], ...rows] = records;
  return { header, rows, more: Math.max(0, total - 1 - rows.length) };
}

/** JSON text pretty-printed with two spaces, or the text as it is when it does not parse. */
export function prettyJson(text: string): { text: string; valid: boolean } {
  try {
    return { text: JSON.stringify(JSON.parse(text), null, 2), valid: true };
  } catch {
    return { text, valid: false };
  }
}

/** A size in megabytes for people: "1.5 MB". */
export function megabytes(size: number): string {
  const mb = size / (1024 * 1024);
  return `${mb >= 10 ? mb.toFixed(0) : mb.toFixed(1)} MB`;
}
