// The compare view's images: one key and one step for all runs, side by side; a run that
// lacks the step shows its nearest earlier one, and says so.
import React, { useState } from 'react';

import { IMediaList, IRunRow } from '../../api';
import { groupMedia, stepShown, unionSteps } from '../../models/media';
import { MediaFigure, StepSlider } from '../common/MediaFigure';

export function CompareMedia(props: {
  runs: IRunRow[];
  media: ReadonlyMap<string, IMediaList>;
  url: (item: IMediaList['media'][number]) => string;
  colors: ReadonlyMap<string, string>;
}): JSX.Element | null {
  const { runs, media } = props;
  const groups = new Map(
    runs.map(run => [
      run.run_id,
      groupMedia(media.get(run.run_id)?.media ?? [])
    ])
  );
  const keys = [
    ...new Set([...groups.values()].flatMap(g => g.map(k => k.key)))
  ].sort();
  const [picked, setPicked] = useState<string | null>(null);
  // null: follow the latest step of any run.
  const [chosen, setChosen] = useState<number | null>(null);
  if (!keys.length) {
    return null; // runs without images: no section at all
  }
  const key = picked !== null && keys.includes(picked) ? picked : keys[0];
  const stepsOf = (runId: string): number[] =>
    groups.get(runId)?.find(g => g.key === key)?.steps ?? [];
  const steps = unionSteps(runs.map(run => stepsOf(run.run_id)));
  const step =
    chosen === null || !steps.includes(chosen)
      ? steps[steps.length - 1]
      : chosen;
  const index = steps.indexOf(step);
  return (
    <section className="trackrun-Section trackrun-CompareView-media">
      <h3>
        Images
        <label className="trackrun-CompareMedia-keyLabel">
          key
          <select
            className="jp-mod-styled trackrun-CompareMedia-key"
            value={key}
            onChange={e => {
              setPicked(e.target.value);
              setChosen(null);
            }}
          >
            {keys.map(k => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <span className="trackrun-CompareMedia-stepLabel">step {step}</span>
      </h3>
      <StepSlider
        steps={steps}
        index={index}
        label={`Step of ${key} in all runs`}
        onChange={i => setChosen(i === steps.length - 1 ? null : steps[i])}
      />
      <div className="trackrun-CompareMedia-row">
        {runs.map(run => {
          const own = stepsOf(run.run_id);
          const shown = stepShown(own, step);
          const group = groups.get(run.run_id)?.find(g => g.key === key);
          const item =
            shown.step === null
              ? null
              : (group?.byStep.get(shown.step) ?? null);
          const note = !own.length
            ? `no ${key} images in this run`
            : shown.step === null
              ? `no image at or before step ${step}`
              : shown.earlier
                ? `no step ${step}: nearest earlier step`
                : undefined;
          return (
            <div
              key={run.run_id}
              className="trackrun-CompareMedia-run"
              data-run={run.run_id}
              style={{ borderTopColor: props.colors.get(run.run_id) }}
            >
              <MediaFigure
                item={item}
                url={item ? props.url(item) : null}
                title={run.name}
                note={note}
              />
            </div>
          );
        })}
      </div>
    </section>
  );
}
