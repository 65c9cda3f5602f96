// Tests of the runs table's parts that compute (views/runs: viewport, geometry, keyboard, cells).
import { IRunRow } from '../api';
import { cellText, cellTitle, columnTitle } from '../views/runs/cells';
import { NARROW, columnGeometry } from '../views/runs/geometry';
import { keyMove, scrollToLine } from '../views/runs/keyboard';
import {
  OVERSCAN,
  ROW_HEIGHT,
  drawnLines,
  groupLines
} from '../views/runs/viewport';
import { row } from './rows';

const ids = (lines: readonly unknown[]): string[] =>
  lines.map(l =>
    'run_id' in (l as IRunRow)
      ? (l as IRunRow).run_id
      : `#${(l as { label: string }).label}`
  );

function runs(from: number, n: number): IRunRow[] {
  return Array.from({ length: n }, (_, i) => row(`r${from + i}`));
}

describe('drawnLines', () => {
  it('draws the lines on screen and a few around them', () => {
    const held = runs(0, 1000);
    const view = { top: 100 * ROW_HEIGHT, height: 10 * ROW_HEIGHT };
    const drawn = drawnLines(view, held, 0, 1000);
    expect([drawn.shownFirst, drawn.shownLast]).toEqual([100, 110]);
    expect(drawn.first).toBe(100 - OVERSCAN);
    expect(drawn.lines).toHaveLength(10 + 2 * OVERSCAN);
    expect(ids(drawn.lines)[0]).toBe(`r${100 - OVERSCAN}`);
  });

  it('draws only the rows of a window that are held', () => {
    // Positions 500..599 of a list of 5000 are held; the screen shows 590..600.
    const view = { top: 590 * ROW_HEIGHT, height: 10 * ROW_HEIGHT };
    const drawn = drawnLines(view, runs(500, 100), 500, 5000);
    expect(drawn.first).toBe(590 - OVERSCAN);
    expect(ids(drawn.lines).at(-1)).toBe('r599');
    // Scrolled past the window: nothing to draw until it comes.
    const past = drawnLines(
      { top: 900 * ROW_HEIGHT, height: 200 },
      runs(500, 100),
      500,
      5000
    );
    expect(past.lines).toEqual([]);
  });
});

describe('groupLines', () => {
  it('puts each group header before its rows and knows each run line', () => {
    const { lines, lineOf } = groupLines([
      { label: 'x', rows: [row('a'), row('b')] },
      { label: 'y', rows: [row('c')] }
    ]);
    expect(ids(lines)).toEqual(['#x', 'a', 'b', '#y', 'c']);
    expect(lineOf.get('c')).toBe(4);
  });
});

describe('keyboard', () => {
  it('moves by one row, or by a page less one row', () => {
    expect(keyMove('ArrowDown', 20)).toBe(1);
    expect(keyMove('ArrowUp', 20)).toBe(-1);
    expect(keyMove('PageDown', 20)).toBe(19);
    expect(keyMove('PageUp', 20)).toBe(-19);
    expect(keyMove('a', 20)).toBeNull();
  });

  it('scrolls only as far as brings the line into view below the header', () => {
    const height = 10 * ROW_HEIGHT;
    expect(scrollToLine(5, 10 * ROW_HEIGHT, height)).toBe(5 * ROW_HEIGHT);
    expect(scrollToLine(12, 10 * ROW_HEIGHT, height)).toBe(10 * ROW_HEIGHT);
    // Line 19 needs its own row and the header's: the top moves to line 11.
    expect(scrollToLine(19, 10 * ROW_HEIGHT, height)).toBe(11 * ROW_HEIGHT);
  });
});

describe('columnGeometry', () => {
  it('gives the name the room left and pins status and name to the left', () => {
    const g = columnGeometry(['status', 'name', 'params.lr'], {}, 600);
    expect(g.widthOf('name')).toBe(600 - 26 - 76);
    expect(g.totalWidth).toBe(600);
    expect(g.template).toBe('26px 498px 76px');
    expect(g.stickyLeft('status')).toBe(0);
    expect(g.stickyLeft('name')).toBe(26);
    expect(g.stickyLeft('params.lr')).toBeUndefined();
  });

  it('keeps widths the user gave, and never squeezes the name below its default', () => {
    const g = columnGeometry(
      ['status', 'name', 'params.lr'],
      { 'params.lr': 300 },
      NARROW
    );
    expect(g.widthOf('params.lr')).toBe(300);
    expect(g.widthOf('name')).toBe(140);
    expect(columnGeometry(['name'], { name: 90 }, 900).widthOf('name')).toBe(
      90
    );
  });
});

describe('cells', () => {
  it('titles columns by their key and tells a metric range in its tooltip', () => {
    expect(columnTitle('metrics.loss')).toBe('loss');
    expect(columnTitle('started')).toBe('Started');
    const r = row('a', { metrics: { loss: { last: 0.5, min: 0.25, max: 1 } } });
    expect(cellTitle(r, 'metrics.loss')).toMatch(
      /^last 0\.5, min 0\.25, max 1/
    );
  });

  it('shows the first line of a note in its cell, the whole note in tooltips', () => {
    const r = row('a', { note: 'the one in Figure 3\nseed 2 of 5' });
    expect(columnTitle('note')).toBe('Note');
    expect(cellText(r, 'note')).toBe('the one in Figure 3');
    expect(cellTitle(r, 'note')).toBe('the one in Figure 3\nseed 2 of 5');
    expect(cellTitle(r, 'name')).toContain(
      'note: the one in Figure 3\nseed 2 of 5'
    );
    expect(cellText(row('b'), 'note')).toBe('');
  });
});
