// A run's log as a terminal shows it: ANSI colours, progress bars at their last state,
// new lines appended without redrawing the rest, following the end while scrolled there.
import React, { useEffect, useRef } from 'react';

import { LogBuffer } from '../../models/log';
import { ansiSegments } from './ansi';

export interface ILogTextProps {
  buffer: LogBuffer;
  /** Subscribe to changes of the buffer: `reset` when earlier text was added or it restarted. */
  subscribe: (listener: (reset: boolean) => void) => () => void;
  /** Most recent lines only (compact views); all held lines when absent. */
  maxLines?: number;
  className?: string;
}

interface IRendered {
  firstSeq: number;
  count: number;
}

/** Renders a LogBuffer into a scrolling <pre>, incrementally. */
export function LogText(props: ILogTextProps): JSX.Element {
  const { buffer, subscribe, maxLines } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const lines = useRef<HTMLDivElement>(null);
  const partial = useRef<HTMLDivElement>(null);
  const rendered = useRef<IRendered>({ firstSeq: 0, count: 0 });

  useEffect(() => {
    const sync = (reset: boolean): void => {
      const box = scroller.current;
      const list = lines.current;
      const tail = partial.current;
      if (!box || !list || !tail) {
        return;
      }
      const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
      let all = buffer.lines;
      let first = buffer.firstSeq;
      if (maxLines !== undefined && all.length > maxLines) {
        first += all.length - maxLines;
        all = all.slice(all.length - maxLines);
      }
      const r = rendered.current;
      const gap = first < r.firstSeq || first > r.firstSeq + r.count;
      if (reset || gap) {
        list.textContent = '';
        r.firstSeq = first;
        r.count = 0;
      }
      // Lines that left the buffer's window leave the DOM.
      const drop = Math.min(first - r.firstSeq, r.count);
      for (let i = 0; i < drop; i++) {
        list.firstChild?.remove();
      }
      r.firstSeq += drop;
      r.count -= drop;
      const fragment = document.createDocumentFragment();
      for (let i = r.count; i < all.length; i++) {
        fragment.appendChild(lineNode(all[i]));
      }
      list.appendChild(fragment);
      r.count = all.length;
      fillLine(tail, buffer.partial);
      tail.style.display = buffer.partial ? '' : 'none';
      if (atBottom || reset) {
        box.scrollTop = box.scrollHeight;
      }
    };
    sync(true);
    return subscribe(sync);
  }, [buffer, subscribe, maxLines]);

  return (
    <div
      className={'trackrun-LogText ' + (props.className ?? '')}
      ref={scroller}
      tabIndex={0}
    >
      <div className="trackrun-LogText-lines" ref={lines} />
      <div className="trackrun-LogText-line" ref={partial} />
    </div>
  );
}

function lineNode(text: string): HTMLDivElement {
  const node = document.createElement('div');
  node.className = 'trackrun-LogText-line';
  fillLine(node, text);
  return node;
}

/** Put `text` into `node` as styled text spans (textContent only: never parsed as HTML). */
function fillLine(node: HTMLElement, text: string): void {
  node.textContent = '';
  for (const segment of ansiSegments(text)) {
    if (!segment.classes) {
      node.appendChild(document.createTextNode(segment.text));
    } else {
      const span = document.createElement('span');
      span.className = segment.classes;
      span.textContent = segment.text;
      node.appendChild(span);
    }
  }
}
