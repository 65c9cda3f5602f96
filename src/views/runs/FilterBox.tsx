// The filter box: applies after a pause in typing or on Enter, completes names, shows errors.
import React, { useEffect, useRef, useState } from 'react';

import {
  ICompletions,
  IFilterKeys,
  applyCompletion,
  complete
} from '../../models/completion';
import { IFilterError } from '../../models/runs';

/** The filter box with its completion list (Up/Down, Enter or Tab to insert, Escape). */
export function FilterBox(props: {
  value: string;
  error: IFilterError | null;
  keys: IFilterKeys;
  onFocus: () => void;
  onChange: (text: string) => void;
}): JSX.Element {
  const [text, setText] = useState(props.value);
  const [shown, setShown] = useState<ICompletions | null>(null);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const timer = useRef(0);
  // The value this box last applied: a different one came from elsewhere (a restored
  // filter after a reload) and replaces the text; our own never clobbers typing.
  const applied = useRef(props.value);
  useEffect(() => {
    if (props.value !== applied.current) {
      applied.current = props.value;
      setText(props.value);
    }
  }, [props.value]);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const apply = (value: string, delay: number): void => {
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => {
      applied.current = value;
      props.onChange(value);
    }, delay);
  };
  const suggest = (value: string, cursor: number): void => {
    const found = complete(value, cursor, props.keys);
    setShown(found.items.length ? found : null);
    setActive(0);
  };
  // Keys that arrive after typing started (the first focus reads them) update the list.
  useEffect(() => {
    const node = input.current;
    if (shown && node && document.activeElement === node) {
      suggest(text, node.selectionStart ?? text.length);
    }
  }, [props.keys]);
  const accept = (index: number): void => {
    if (!shown) {
      return;
    }
    const item = shown.items[index];
    const done = applyCompletion(text, shown, item.insert);
    setText(done.text);
    apply(done.text, 400);
    // A prefix (params.) goes on completing; a full name closes the list.
    const node = input.current;
    window.requestAnimationFrame(() => {
      // Keys typed before this frame (a fast typist, a busy machine) already moved on:
      // putting the cursor back would send the rest of the typing into the middle.
      if (!node || node.value !== done.text) {
        return;
      }
      node.setSelectionRange(done.cursor, done.cursor);
      if (item.insert.endsWith('.') || item.insert.endsWith(':')) {
        suggest(done.text, done.cursor);
      }
    });
    setShown(null);
  };
  const { error } = props;
  const listId = 'trackrun-filter-completions';
  return (
    <div className="trackrun-FilterBox">
      <input
        ref={input}
        className={
          'jp-mod-styled trackrun-FilterBox-input' +
          (error ? ' trackrun-mod-invalid' : '')
        }
        type="search"
        spellCheck={false}
        autoComplete="off"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={!!shown}
        aria-controls={listId}
        aria-activedescendant={shown ? `${listId}-${active}` : undefined}
        placeholder="Search, or filter: params.lr < 0.01"
        title={
          'Words alone search names, tags and notes (resnet cifar). Or filter: ' +
          'status = finished, params.lr < 1e-3, metrics.val_acc > 0.9, tag:baseline, ' +
          'started > -7d, name ~ resnet (and, or, not, parentheses)'
        }
        aria-invalid={!!error}
        value={text}
        onFocus={() => props.onFocus()}
        onBlur={() => setShown(null)}
        onChange={e => {
          setText(e.target.value);
          apply(e.target.value, 400);
          suggest(
            e.target.value,
            e.target.selectionStart ?? e.target.value.length
          );
        }}
        onKeyDown={e => {
          if (shown) {
            const n = shown.items.length;
            if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
              e.preventDefault();
              setActive((active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
              return;
            }
            if (e.key === 'Enter' || e.key === 'Tab') {
              e.preventDefault();
              accept(active);
              return;
            }
            if (e.key === 'Escape') {
              e.preventDefault();
              e.stopPropagation();
              setShown(null);
              return;
            }
          }
          if (e.key === 'Enter') {
            apply(text, 0);
          } else if (e.key === 'Escape') {
            setText('');
            apply('', 0);
          }
        }}
      />
      {shown && (
        <ul className="trackrun-Completions" id={listId} role="listbox">
          {shown.items.map((item, i) => (
            <li
              key={item.label}
              id={`${listId}-${i}`}
              className={
                'trackrun-Completions-item' +
                (i === active ? ' jp-mod-active' : '')
              }
              role="option"
              aria-selected={i === active}
              // mousedown, not click: the input must keep the focus.
              onMouseDown={e => {
                e.preventDefault();
                accept(i);
              }}
              onMouseEnter={() => setActive(i)}
            >
              <span className="trackrun-Completions-label">{item.label}</span>
              <span className="trackrun-Completions-kind">{item.kind}</span>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <div className="trackrun-FilterBox-error" role="alert">
          {error.column !== null && (
            <pre className="trackrun-FilterBox-pointer">
              {text + '\n' + ' '.repeat(Math.max(0, error.column - 1)) + '^'}
            </pre>
          )}
          <span>{error.message}</span>
        </div>
      )}
    </div>
  );
}
