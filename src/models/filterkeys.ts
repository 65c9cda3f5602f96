// The store's params and metric keys and tags that the filter box completes, read at most every few seconds.
import { TrackrunClient } from '../api';
import { IFilterKeys } from './completion';

/** The filter box's completion names are read again at most this often (ms). */
const KEYS_MAX_AGE = 10000;

/** The names `GET keys` last gave; `onChange` is called when new ones arrive. */
export class FilterKeys {
  constructor(client: TrackrunClient, onChange: () => void) {
    this._client = client;
    this._onChange = onChange;
  }

  get keys(): IFilterKeys {
    return this._keys;
  }

  /** Read the keys from the store, unless read in the last few seconds. Never throws. */
  load(): void {
    const now = Date.now();
    if (now - this._at < KEYS_MAX_AGE) {
      return;
    }
    this._at = now;
    this._client
      .keys()
      .then(keys => {
        this._keys = keys;
        this._onChange();
      })
      .catch(() => {
        this._at = 0; // completions are a help: try again on the next focus
      });
  }

  private _client: TrackrunClient;
  private _onChange: () => void;
  private _keys: IFilterKeys = { params: [], metrics: [], tags: [] };
  private _at = 0;
}
