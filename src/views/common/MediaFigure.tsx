// One logged image with its key and step as captions, and a keyboard-accessible step slider.
import React from 'react';

import { IMediaItem } from '../../api';

/** An image of a run (or a note in its place), captioned with its key and step. */
export function MediaFigure(props: {
  item: IMediaItem | null;
  url: string | null;
  /** The caption's first line (the key, or the run's name in compare). */
  title: string;
  /** A note under the step (e.g. "nearest earlier step"), or why there is no image. */
  note?: string;
}): JSX.Element {
  const { item, url } = props;
  const tiny = item !== null && Math.max(item.width, item.height) < 96;
  return (
    <figure className="trackrun-MediaFigure" data-step={item?.step ?? ''}>
      <div className="trackrun-MediaFigure-frame">
        {item && url ? (
          <img
            className={
              'trackrun-MediaFigure-img' + (tiny ? ' trackrun-mod-tiny' : '')
            }
            src={url}
            alt={`${item.key} at step ${item.step}`}
            width={item.width}
            height={item.height}
          />
        ) : (
          <div className="trackrun-muted trackrun-MediaFigure-none">
            {props.note ?? 'no image'}
          </div>
        )}
      </div>
      <figcaption className="trackrun-MediaFigure-caption">
        <span className="trackrun-MediaFigure-title" title={props.title}>
          {props.title}
        </span>
        {item && (
          <span className="trackrun-MediaFigure-step">step {item.step}</span>
        )}
        {item && props.note && (
          <span className="trackrun-MediaFigure-note">{props.note}</span>
        )}
      </figcaption>
    </figure>
  );
}

/** A slider over `steps` (ascending); `index` is the position shown. */
export function StepSlider(props: {
  steps: readonly number[];
  index: number;
  label: string;
  onChange: (index: number) => void;
}): JSX.Element | null {
  const { steps, index } = props;
  if (steps.length < 2) {
    return null;
  }
  return (
    <div className="trackrun-StepSlider">
      <input
        type="range"
        className="trackrun-StepSlider-input"
        min={0}
        max={steps.length - 1}
        step={1}
        value={index}
        aria-label={props.label}
        aria-valuetext={`step ${steps[index]}`}
        onChange={e => props.onChange(Number(e.target.value))}
      />
      <span className="trackrun-StepSlider-position trackrun-muted">
        {index + 1} / {steps.length}
      </span>
    </div>
  );
}
