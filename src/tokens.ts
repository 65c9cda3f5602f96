// The service other plugins (the output renderer) get from the main plugin.
import { Token } from '@lumino/coreutils';

import { TrackrunClient } from './api';
import { RunsModel } from './models/runs';

export interface ITrackrun {
  readonly client: TrackrunClient;
  readonly runs: RunsModel;
  /** Open (or reveal) the run view of `runId`. */
  openRun(runId: string): void;
}

export const ITrackrun = new Token<ITrackrun>(
  'trackrun:ITrackrun',
  'The trackrun API client, the runs list and the run view opener.'
);
