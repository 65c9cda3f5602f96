// Tests of the log window's byte offsets (models/log.ts).
import { ILogChunk } from '../api';
import {
  LogBuffer,
  MAX_LINES,
  collapseCarriageReturns,
  utf8Length
} from '../models/log';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const byteLength = (text: string): number => encoder.encode(text).length;

/** A chunk of a log whose whole text is `log`, read from byte `offset` (as the API answers). */
function chunkOf(log: string, offset: number, length: number): ILogChunk {
  const bytes = encoder.encode(log);
  const start = offset < 0 ? Math.max(0, bytes.length + offset) : offset;
  const end = Math.min(bytes.length, start + length);
  return {
    text: decoder.decode(bytes.subarray(start, end)),
    offset: start,
    next_offset: end,
    size: bytes.length,
    live: true,
    status: 'running'
  };
}

describe('utf8Length', () => {
  it('counts bytes as the server does', () => {
    for (const text of ['abc', 'é', '€', '😀', 'a😀é€\n']) {
      expect(utf8Length(text)).toBe(byteLength(text));
    }
  });
});

describe('collapseCarriageReturns', () => {
  it('keeps what a terminal shows last', () => {
    expect(collapseCarriageReturns('10%\r50%\r100%')).toBe('100%');
    expect(collapseCarriageReturns('done\r')).toBe('done');
  });
});

describe('LogBuffer', () => {
  it('appends contiguous chunks and advances end by bytes, not characters', () => {
    const log = 'héllo\nwörld 😀\npartial';
    const buffer = new LogBuffer();
    buffer.reset(chunkOf(log, 0, 8));
    buffer.append(chunkOf(log, buffer.end, 100));
    expect(buffer.end).toBe(byteLength(log));
    expect(buffer.lines).toEqual(['héllo', 'wörld 😀']);
    expect(buffer.partial).toBe('partial');
    expect(buffer.start).toBe(0);
    expect(buffer.hasEarlier).toBe(false);
  });

  it('starts over when a chunk is not contiguous (the log was replaced)', () => {
    const buffer = new LogBuffer();
    buffer.reset(chunkOf('a\nb\n', 0, 100));
    const seq = buffer.firstSeq;
    expect(buffer.append(chunkOf('xxxxxxxx\nnew\n', 9, 100))).toBe(true);
    expect(buffer.lines).toEqual(['new']);
    expect(buffer.start).toBe(9);
    expect(buffer.firstSeq).not.toBe(seq); // views redraw everything
  });

  it('loads earlier text from a tail read and joins the line cut by the window', () => {
    const log = 'first line\nsecond line\nthird\n';
    const buffer = new LogBuffer();
    buffer.reset(chunkOf(log, -10, 10)); // "ond line\nthird\n" minus the start
    expect(buffer.hasEarlier).toBe(true);
    const start = buffer.start;
    buffer.prepend(chunkOf(log, 0, start));
    expect(buffer.start).toBe(0);
    expect(buffer.hasEarlier).toBe(false);
    expect(buffer.lines).toEqual(['first line', 'second line', 'third']);
  });

  it('ignores an earlier chunk that does not end where the window starts', () => {
    const log = 'one\ntwo\nthree\n';
    const buffer = new LogBuffer();
    buffer.reset(chunkOf(log, 8, 100));
    buffer.prepend(chunkOf(log, 0, 3));
    expect(buffer.start).toBe(8);
    expect(buffer.lines).toEqual(['three']);
  });

  it('drops the oldest lines past MAX_LINES and moves start by their bytes', () => {
    const lines = Array.from(
      { length: MAX_LINES + 10 },
      (_, i) => `line ${i} ä`
    );
    const log = lines.join('\n') + '\n';
    const buffer = new LogBuffer();
    buffer.reset(chunkOf(log, 0, byteLength(log)));
    expect(buffer.lines.length).toBe(MAX_LINES);
    expect(buffer.lines[0]).toBe('line 10 ä');
    const dropped = lines.slice(0, 10).join('\n') + '\n';
    expect(buffer.start).toBe(byteLength(dropped));
    expect(buffer.end).toBe(byteLength(log));
    // What was dropped can be read again, and fits exactly before the window.
    buffer.prepend(chunkOf(log, 0, buffer.start));
    expect(buffer.lines.length).toBe(MAX_LINES + 10);
    expect(buffer.lines[0]).toBe('line 0 ä');
  });
});
