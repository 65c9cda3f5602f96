// The runs table's look (filter, sort, columns, widths) kept per store in JupyterLab's state database.
import { IStateDB } from '@jupyterlab/statedb';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { ITableState, RunsModel } from './runs';

/** Key of a store's table state: one per store, as two projects want different columns. */
export function stateKey(store: string): string {
  return `trackrun:runs-table:${store}`;
}

/** Wait this long after the last change before writing (a column drag is many changes). */
const SAVE_DELAY = 500;

/**
 * Restores the table's look once the store is known (from the first `GET status`), then
 * saves it whenever the user changes it. A failed read or write only loses the look.
 */
export function persistTableState(runs: RunsModel, state: IStateDB): void {
  let key: string | null = null;
  let timer = 0;
  // The saved look arrives late on a busy page (the state database answers once the
  // application is restored): what the user changed meanwhile (a filter typed) wins.
  let fetching = false;
  let changedWhileFetching = false;

  const save = (): void => {
    if (key === null) {
      return; // not restored yet: a save now would overwrite the saved look
    }
    if (fetching) {
      changedWhileFetching = true;
    }
    const target = key;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      const value = runs.tableState as unknown as ReadonlyPartialJSONObject;
      state.save(target, value).catch(error => {
        console.warn('trackrun: could not save the runs table state', error);
      });
    }, SAVE_DELAY);
  };

  const restore = (): void => {
    const store = runs.serverStatus?.store;
    if (!store || key !== null) {
      return;
    }
    key = stateKey(store);
    runs.stateChanged.disconnect(restore);
    fetching = true;
    state
      .fetch(key)
      .then(saved => {
        fetching = false;
        if (changedWhileFetching) {
          return; // the user's look of now, saved already, beats the one read
        }
        if (saved && typeof saved === 'object' && !Array.isArray(saved)) {
          runs.restoreTableState(saved as Partial<ITableState>);
        }
      })
      .catch(error => {
        fetching = false;
        console.warn('trackrun: could not read the runs table state', error);
      });
  };

  runs.stateChanged.connect(restore);
  runs.tableStateChanged.connect(save);
  restore();
}
