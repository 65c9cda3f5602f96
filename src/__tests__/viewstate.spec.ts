// Tests of the runs table's saved look (models/viewstate.ts): restored once, never over the user.
import { IStateDB } from '@jupyterlab/statedb';
import { ReadonlyPartialJSONValue } from '@lumino/coreutils';

import { RunsModel } from '../models/runs';
import { persistTableState, stateKey } from '../models/viewstate';
import { row } from './rows';
import { FakeServer } from './server';

(globalThis as unknown as { window: typeof globalThis }).window = globalThis;

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (condition()) {
      return;
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** A state database whose reads wait until `answer()` (a page still restoring), and whose
 * writes land at once, as JupyterLab's in-memory database does. */
class SlowStateDB {
  saved = new Map<string, ReadonlyPartialJSONValue>();
  private _waiting: (() => void)[] = [];

  fetch(id: string): Promise<ReadonlyPartialJSONValue | undefined> {
    return new Promise(resolve =>
      this._waiting.push(() => resolve(this.saved.get(id)))
    );
  }

  save(id: string, value: ReadonlyPartialJSONValue): Promise<void> {
    this.saved.set(id, value);
    return Promise.resolve();
  }

  get reads(): number {
    return this._waiting.length;
  }

  answer(): void {
    this._waiting.splice(0).forEach(resolve => resolve());
  }
}

let model: RunsModel | null = null;

afterEach(() => {
  model?.dispose();
  model = null;
});

describe('persistTableState', () => {
  it('restores the saved filter when nothing changed meanwhile', async () => {
    const server = new FakeServer([row('a')]);
    const db = new SlowStateDB();
    model = new RunsModel(server.client());
    persistTableState(model, db as unknown as IStateDB);
    model.start();
    await until(() => db.reads === 1, 'the saved look was asked for');
    const key = stateKey(model.serverStatus!.store);
    db.saved.set(key, { filter: 'tag:baseline' });
    db.answer();
    await until(() => model!.filter === 'tag:baseline', 'the filter came back');
  });

  it('never puts back a saved filter over one typed while it was being read', async () => {
    const server = new FakeServer([row('a')]);
    const db = new SlowStateDB();
    model = new RunsModel(server.client());
    persistTableState(model, db as unknown as IStateDB);
    model.start();
    await until(() => db.reads === 1, 'the saved look was asked for');
    // Typed while the page restores; the save lands before the read answers, which then
    // returns that very save (or an older look): neither may replace what is typed now.
    model.setFilter('status = finished ');
    await until(() => db.saved.size === 1, 'the typed filter was saved');
    model.setFilter('tag:ba');
    db.answer();
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(model.filter).toBe('tag:ba');
  });
});
