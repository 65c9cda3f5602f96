// ANSI SGR colour codes in log lines turned into styled text segments (never HTML).

/** A piece of a line with one style; `classes` are CSS class names. */
export interface ISegment {
  text: string;
  classes: string;
}

// CSI sequences: ESC [ params final-byte. Only SGR (final byte m) is styled; the rest are
// cursor movements and erasures a log view cannot replay, so they are dropped.
const CSI = /\x1b\[([0-9;?]*)([@-~])/g;
// Other escapes (OSC titles and hyperlinks, single-character escapes).
const OTHER_ESCAPES = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

interface IStyle {
  fg: string;
  bg: string;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const PLAIN: IStyle = {
  fg: '',
  bg: '',
  bold: false,
  dim: false,
  italic: false,
  underline: false
};

/** Split `line` into segments styled by its SGR codes; other escapes are removed. */
export function ansiSegments(line: string): ISegment[] {
  if (line.indexOf('\x1b') < 0) {
    return [{ text: line, classes: '' }];
  }
  line = line.replace(OTHER_ESCAPES, '');
  const segments: ISegment[] = [];
  let style: IStyle = { ...PLAIN };
  let last = 0;
  CSI.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = CSI.exec(line)) !== null) {
    if (match.index > last) {
      segments.push({
        text: line.slice(last, match.index),
        classes: classesOf(style)
      });
    }
    last = CSI.lastIndex;
    if (match[2] === 'm') {
      style = applySgr(style, match[1]);
    }
  }
  if (last < line.length) {
    segments.push({ text: line.slice(last), classes: classesOf(style) });
  }
  return segments.filter(s => s.text.length > 0);
}

/** A line without any escape sequences (for copying, searching, compact views). */
export function stripAnsi(line: string): string {
  return line.indexOf('\x1b') < 0
    ? line
    : line.replace(OTHER_ESCAPES, '').replace(CSI, '');
}

function applySgr(style: IStyle, params: string): IStyle {
  const codes =
    params === '' ? [0] : params.split(';').map(p => parseInt(p, 10) || 0);
  const next = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (code === 0) {
      Object.assign(next, PLAIN);
    } else if (code === 1) {
      next.bold = true;
    } else if (code === 2) {
      next.dim = true;
    } else if (code === 3) {
      next.italic = true;
    } else if (code === 4) {
      next.underline = true;
    } else if (code === 22) {
      next.bold = false;
      next.dim = false;
    } else if (code === 23) {
      next.italic = false;
    } else if (code === 24) {
      next.underline = false;
    } else if (code >= 30 && code <= 37) {
      next.fg = String(code - 30);
    } else if (code >= 90 && code <= 97) {
      next.fg = String(code - 90 + 8);
    } else if (code === 39) {
      next.fg = '';
    } else if (code >= 40 && code <= 47) {
      next.bg = String(code - 40);
    } else if (code >= 100 && code <= 107) {
      next.bg = String(code - 100 + 8);
    } else if (code === 49) {
      next.bg = '';
    } else if ((code === 38 || code === 48) && codes[i + 1] === 5) {
      // 256 colours: the 16 base ones map to classes; others fall back to the default.
      const n = codes[i + 2] ?? 0;
      const value = n < 16 ? String(n) : '';
      if (code === 38) {
        next.fg = value;
      } else {
        next.bg = value;
      }
      i += 2;
    } else if ((code === 38 || code === 48) && codes[i + 1] === 2) {
      i += 4; // true colour: not mapped onto the theme's palette
    }
  }
  return next;
}

function classesOf(style: IStyle): string {
  const classes: string[] = [];
  if (style.fg) {
    classes.push(`trackrun-ansi-fg${style.fg}`);
  }
  if (style.bg) {
    classes.push(`trackrun-ansi-bg${style.bg}`);
  }
  if (style.bold) {
    classes.push('trackrun-ansi-bold');
  }
  if (style.dim) {
    classes.push('trackrun-ansi-dim');
  }
  if (style.italic) {
    classes.push('trackrun-ansi-italic');
  }
  if (style.underline) {
    classes.push('trackrun-ansi-underline');
  }
  return classes.join(' ');
}
