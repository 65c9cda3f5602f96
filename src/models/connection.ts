// How the runs sidebar is connected to the server extension, and the store's status counts it last read.
import { IStatusInfo, TrackrunApiError, TrackrunClient } from '../api';

/** How the panel is connected to the server extension. */
export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'ok' }
  /** `trackrun/api/status` answered 404: the server extension is not installed or enabled. */
  | { kind: 'missing'; message: string }
  /** The Jupyter server could not be reached (network down, server stopped). */
  | { kind: 'unreachable'; message: string }
  | { kind: 'error'; message: string };

/**
 * The connection state, told from the requests' fates (`fail`, `watch`), and the status
 * counts of `GET status`, which doubles as the check that the extension answers.
 * `onChange` is called after either changes.
 */
export class Connection {
  constructor(client: TrackrunClient, onChange: () => void) {
    this._client = client;
    this._onChange = onChange;
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** The last status counts read; null when not connected or not read yet. */
  get status(): IStatusInfo | null {
    return this._status;
  }

  /**
   * Unless connected with the counts known, read the status counts, then say connected.
   * Errors: those of `TrackrunClient.status` (pass them to `fail`).
   */
  async check(): Promise<void> {
    if (this._state.kind !== 'ok' || this._status === null) {
      this._status = await this._client.status();
      this._set({ kind: 'ok' });
    }
  }

  /** Read the status counts again (the store changed). Errors: as `check`. */
  async readStatus(): Promise<void> {
    this._status = await this._client.status();
    this._onChange();
  }

  /**
   * A request goes out that should be answered within `ms`: if it is not, say the server is
   * unreachable (a server that stalls never fails the request). Returns the function to call
   * once it is answered, or failed.
   */
  watch(ms: number): () => void {
    const stall = window.setTimeout(
      () =>
        this._set({
          kind: 'unreachable',
          message: 'The Jupyter server has not answered for a while.'
        }),
      ms
    );
    return () => window.clearTimeout(stall);
  }

  /** A request failed with `error`: say why the panel is not connected. */
  fail(error: unknown): void {
    this._status = null;
    if (error instanceof TrackrunApiError) {
      if (error.status === 404 && error.code !== 'run_not_found') {
        this._set({
          kind: 'missing',
          message:
            'The trackrun server extension is not running on this Jupyter server.'
        });
      } else if (error.status === 0) {
        this._set({ kind: 'unreachable', message: error.message });
      } else {
        this._set({ kind: 'error', message: error.message });
      }
    } else {
      this._set({ kind: 'error', message: String(error) });
    }
  }

  private _set(state: ConnectionState): void {
    const same =
      state.kind === this._state.kind &&
      ('message' in state ? state.message : '') ===
        ('message' in this._state ? this._state.message : '');
    if (!same) {
      this._state = state;
      this._onChange();
    }
  }

  private _client: TrackrunClient;
  private _onChange: () => void;
  private _status: IStatusInfo | null = null;
  private _state: ConnectionState = { kind: 'connecting' };
}
