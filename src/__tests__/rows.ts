// A runs-table row for the panel's model tests: a finished run called `id`, with `fields`.
import { IRunRow } from '../api';

export function row(id: string, fields: Partial<IRunRow> = {}): IRunRow {
  return {
    run_id: id,
    name: id,
    status: 'finished',
    notebook: null,
    note: null,
    started_at: null,
    ended_at: null,
    duration: null,
    attempts: null,
    detached: false,
    tags: [],
    params: {},
    metrics: {},
    ...fields
  };
}
