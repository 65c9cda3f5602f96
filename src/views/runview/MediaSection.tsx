// The run view's Media tab: one card per image key, each with a step slider; follows the run.
import React, { useEffect, useState } from 'react';

import { ACTIVE_STATUSES } from '../../api';
import { IMediaKey, groupMedia, stepAtOrBefore } from '../../models/media';
import { RunModel } from '../../models/run';
import { MediaFigure, StepSlider } from '../common/MediaFigure';

export function MediaSection(props: { model: RunModel }): JSX.Element {
  const { model } = props;
  useEffect(() => model.followMedia(), [model]);
  const media = model.media;
  if (media === null) {
    return <div className="trackrun-muted">Loading images…</div>;
  }
  const keys = groupMedia(media.media);
  const live = model.detail ? ACTIVE_STATUSES.has(model.detail.status) : false;
  if (!keys.length) {
    return (
      <div className="trackrun-muted trackrun-Media-empty">
        No images {live ? 'yet' : 'were logged in this run'}. Log one with{' '}
        <code>trackrun.log_image("samples", image, step=step)</code>, or show a
        matplotlib figure in a tracked cell: it is kept here too.
      </div>
    );
  }
  return (
    <div className="trackrun-Media">
      <div className="trackrun-muted trackrun-Media-summary">
        {keys.length} {keys.length === 1 ? 'key' : 'keys'}
        {live
          ? ' · following the run: new steps appear as they are logged'
          : ''}
      </div>
      <div className="trackrun-Media-grid">
        {keys.map(group => (
          <MediaCard key={group.key} group={group} model={model} />
        ))}
      </div>
    </div>
  );
}

/** One key: the image at the chosen step (the latest until the user moves the slider). */
function MediaCard(props: { group: IMediaKey; model: RunModel }): JSX.Element {
  const { group, model } = props;
  // null: follow the latest step; else the step chosen (or the nearest earlier one left).
  const [chosen, setChosen] = useState<number | null>(null);
  const steps = group.steps;
  const step =
    chosen === null
      ? steps[steps.length - 1]
      : (stepAtOrBefore(steps, chosen) ?? steps[0]);
  const index = steps.indexOf(step);
  const item = group.byStep.get(step) ?? null;
  return (
    <div className="trackrun-Media-card" data-key={group.key}>
      <MediaFigure
        item={item}
        url={item ? model.mediaUrl(item) : null}
        title={group.key}
        note={
          steps.length > 1
            ? chosen === null
              ? `latest of ${steps.length} steps`
              : `${index + 1} of ${steps.length} steps`
            : undefined
        }
      />
      <StepSlider
        steps={steps}
        index={index}
        label={`Step of ${group.key}`}
        onChange={i => setChosen(i === steps.length - 1 ? null : steps[i])}
      />
    </div>
  );
}
