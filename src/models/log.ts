// A bounded window onto a run's output.log: lines as a terminal finally shows them.
import { ILogChunk } from '../api';

/** Most lines kept in memory; older ones are dropped and can be loaded again on demand. */
export const MAX_LINES = 5000;
/** Longest line shown (a progress bar that never printed a newline can be megabytes). */
export const MAX_LINE_CHARS = 10000;

/**
 * The visible text of one log line: its last carriage-return state, as a terminal (and the
 * kernel's %track_run --attach) shows it, so a progress bar that redrew itself is one line.
 */
export function collapseCarriageReturns(line: string): string {
  if (line.indexOf('\r') < 0) {
    return line;
  }
  const parts = line.split('\r').filter(p => p.length > 0);
  return parts.length ? parts[parts.length - 1] : '';
}

/** Bytes of `text` in UTF-8 (offsets in the API are bytes). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      bytes += 1;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4; // a surrogate pair: one 4-byte character
      i++;
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

/**
 * Lines of a log between byte offsets `start` and `end`. Chunks from `GET runs/{id}/log`
 * are appended at the end or prepended ("load earlier"); past MAX_LINES the oldest lines
 * are dropped, so memory stays bounded however long the run prints.
 */
export class LogBuffer {
  /** Byte offset of the first character held (0: the log's beginning). */
  get start(): number {
    return this._start;
  }

  /** Byte offset to read from next. */
  get end(): number {
    return this._end;
  }

  /** Whether there is earlier text than what is held. */
  get hasEarlier(): boolean {
    return this._start > 0;
  }

  /** Whether anything has been loaded yet. */
  get loaded(): boolean {
    return this._loaded;
  }

  /** Sequence number of `lines[0]`; a line keeps its number while it is held. */
  get firstSeq(): number {
    return this._firstSeq;
  }

  /** Complete lines, carriage returns collapsed. */
  get lines(): readonly string[] {
    return this._lines;
  }

  /** The line being written (no newline yet), carriage returns collapsed. */
  get partial(): string {
    return clip(collapseCarriageReturns(this._tail));
  }

  /** Complete lines plus the partial one, last `count` of them (for compact views). */
  lastLines(count: number): string[] {
    const all = this._tail ? [...this._lines, this.partial] : this._lines;
    return all.slice(Math.max(0, all.length - count));
  }

  /** Start over from `chunk` (the first load, usually the tail: offset < 0). */
  reset(chunk: ILogChunk): void {
    this._clear(chunk.offset);
    this._loaded = true;
    this.append(chunk);
  }

  /** Add text read from `end` onwards; returns whether anything changed. */
  append(chunk: ILogChunk): boolean {
    this._loaded = true;
    if (chunk.offset !== this._end) {
      // Not contiguous (the log was replaced, or a request raced): keep the newer text.
      this._clear(chunk.offset);
    }
    this._end = chunk.next_offset;
    if (!chunk.text) {
      return false;
    }
    const pieces = (this._tail + chunk.text).split('\n');
    this._tail = pieces.pop() ?? '';
    if (this._lines.length === 0) {
      this._firstRaw = pieces.length ? pieces[0] : this._tail;
    }
    for (const raw of pieces) {
      this._lines.push(clip(collapseCarriageReturns(raw)));
      this._rawBytes.push(utf8Length(raw) + 1);
    }
    this._dropOverflow();
    return true;
  }

  /** Add the text just before `start` (from a read of `[start - n, start)`). */
  prepend(chunk: ILogChunk): void {
    if (chunk.next_offset !== this._start || !chunk.text) {
      return;
    }
    const pieces = chunk.text.split('\n');
    const last = pieces.pop() ?? '';
    let firstRaw: string;
    if (this._firstPartial) {
      // The held first line was cut by the window's edge: join it to its beginning.
      const joined = last + this._firstRaw;
      if (this._lines.length) {
        this._lines[0] = clip(collapseCarriageReturns(joined));
        this._rawBytes[0] = utf8Length(joined) + 1;
      } else {
        this._tail = joined;
      }
      firstRaw = pieces.length ? pieces[0] : joined;
    } else {
      if (last) {
        pieces.push(last); // cannot happen at a line boundary; keep the text anyway
      }
      firstRaw = pieces.length ? pieces[0] : this._firstRaw;
    }
    this._lines = [
      ...pieces.map(raw => clip(collapseCarriageReturns(raw))),
      ...this._lines
    ];
    this._rawBytes = [
      ...pieces.map(raw => utf8Length(raw) + 1),
      ...this._rawBytes
    ];
    this._firstRaw = firstRaw;
    this._firstPartial = chunk.offset > 0;
    this._start = chunk.offset;
    this._firstSeq -= 1000000 + pieces.length; // new numbers: views redraw everything
    // The window may now exceed MAX_LINES: the user asked for this text, keep it until
    // new output pushes it out.
  }

  private _clear(offset: number): void {
    this._lines = [];
    this._rawBytes = [];
    this._firstRaw = '';
    this._firstPartial = offset > 0;
    this._tail = '';
    this._start = offset;
    this._end = offset;
    this._firstSeq += 1000000; // new numbers: views redraw everything
  }

  private _dropOverflow(): void {
    const extra = this._lines.length - MAX_LINES;
    if (extra <= 0) {
      return;
    }
    let bytes = 0;
    for (let i = 0; i < extra; i++) {
      bytes += this._rawBytes[i];
    }
    this._lines.splice(0, extra);
    this._rawBytes.splice(0, extra);
    this._start += bytes;
    this._firstSeq += extra;
    // A newline precedes the first held line now: nothing to join on "load earlier".
    this._firstPartial = false;
    this._firstRaw = '';
  }

  private _lines: string[] = [];
  private _rawBytes: number[] = [];
  private _firstRaw = '';
  private _firstPartial = false;
  private _tail = '';
  private _start = 0;
  private _end = 0;
  private _firstSeq = 0;
  private _loaded = false;
}

function clip(line: string): string {
  return line.length > MAX_LINE_CHARS
    ? line.slice(0, MAX_LINE_CHARS) + ' … (line cut)'
    : line;
}
