// Tests of reproducing a run from the panel (models/reproduction.ts): when a reproduction has
// settled, the words shown for it, and following one through a real TrackrunClient.
import { ServerConnection } from '@jupyterlab/services';

import {
  IReproductionInfo,
  IReproductionVerdict,
  TrackrunApiError,
  TrackrunClient
} from '../api';
import {
  NOTICE_CHARS,
  ReproductionTracker,
  outcomeNotice,
  reproductionLine,
  settledOutcome,
  verdictSentence
} from '../models/reproduction';

const ORIGINAL = '20261130-100000-aaaaaa';
const REPRO = '20261130-100100-bbbbbb';
const STARTED = 1800000000.25;

function verdict(
  extra: Partial<IReproductionVerdict> = {}
): IReproductionVerdict {
  return {
    verdict: 'identical',
    text: 'identical',
    original: ORIGINAL,
    reproduction: REPRO,
    max_rel_diff: 0,
    rtol: 0.0001,
    reasons: [],
    at: STARTED + 5,
    ...extra
  };
}

const running: IReproductionInfo = {
  state: 'running',
  started_at: STARTED,
  message: null,
  last: null
};

describe('settledOutcome', () => {
  it('waits while the server says the reproduction runs, even over an old verdict', () => {
    expect(settledOutcome(running, STARTED)).toBeNull();
    const old = verdict({ at: STARTED - 100 });
    expect(settledOutcome({ ...running, last: old }, STARTED)).toBeNull();
  });

  it('settles on a verdict recorded after the start', () => {
    const info: IReproductionInfo = {
      state: 'done',
      started_at: null,
      message: null,
      last: verdict()
    };
    expect(settledOutcome(info, STARTED)).toEqual({
      kind: 'verdict',
      verdict: verdict()
    });
  });

  it('settles on a failure of this reproduction, with the server’s words', () => {
    const info: IReproductionInfo = {
      state: 'failed',
      started_at: STARTED,
      message: 'reproduce.py started no run (exit status 1)',
      last: verdict({ at: STARTED - 100 })
    };
    expect(settledOutcome(info, STARTED)).toEqual({
      kind: 'failed',
      message: 'reproduce.py started no run (exit status 1)'
    });
  });

  it('does not wait forever when the server forgot the reproduction (restarted)', () => {
    const stale: IReproductionInfo = {
      state: 'done',
      started_at: null,
      message: null,
      last: verdict({ at: STARTED - 100 })
    };
    for (const info of [null, stale]) {
      const outcome = settledOutcome(info, STARTED);
      expect(outcome?.kind).toBe('failed');
      expect(outcome?.kind === 'failed' && outcome.message).toContain(
        'no longer follows'
      );
    }
  });
});

describe('outcomeNotice', () => {
  it('says the verdict in plain words, and names the reproducing run', () => {
    expect(
      outcomeNotice('brisk-otter', { kind: 'verdict', verdict: verdict() })
    ).toEqual({
      type: 'success',
      message: 'Reproduced brisk-otter: identical',
      reproductionId: REPRO
    });
    const within = verdict({
      verdict: 'within tolerance',
      text: 'within tolerance (max rel. diff 3e-06, rtol 0.0001)',
      max_rel_diff: 3e-6
    });
    expect(outcomeNotice('x', { kind: 'verdict', verdict: within })).toEqual({
      type: 'info',
      message:
        'Reproduced x: within tolerance (max rel. diff 3e-06, rtol 0.0001)',
      reproductionId: REPRO
    });
  });

  it('gives the first reason of a different verdict, cut to what a notification shows', () => {
    const different = verdict({
      verdict: 'different',
      text: 'different (max rel. diff 0.2, rtol 0.0001)',
      reasons: [
        'loss: different steps (10 vs 4 points)',
        'acc: only in the original'
      ]
    });
    expect(verdictSentence(different)).toBe(
      'different (max rel. diff 0.2, rtol 0.0001): loss: different steps (10 vs 4 points)'
    );
    const notice = outcomeNotice('a-long-run-name-'.repeat(6), {
      kind: 'verdict',
      verdict: different
    });
    expect(notice.type).toBe('warning');
    expect(notice.message.length).toBe(NOTICE_CHARS);
    expect(notice.message.endsWith('…')).toBe(true);
  });

  it('reports a failure as an error with no run to open', () => {
    expect(
      outcomeNotice('tiny', {
        kind: 'failed',
        message: 'run x is already being reproduced'
      })
    ).toEqual({
      type: 'error',
      message: 'Could not reproduce tiny: run x is already being reproduced',
      reproductionId: null
    });
  });
});

describe('reproductionLine', () => {
  const time = (epoch: number | null) => `@${epoch}`;

  it('shows nothing for a run never reproduced', () => {
    expect(reproductionLine(null, ORIGINAL, time)).toBeNull();
  });

  it('links the original to its reproduction and back', () => {
    const info: IReproductionInfo = {
      state: 'done',
      started_at: null,
      message: null,
      last: verdict()
    };
    expect(reproductionLine(info, ORIGINAL, time)).toEqual({
      state: 'done',
      text: 'identical',
      reasons: [],
      other: { runId: REPRO, relation: 'reproduced by' },
      at: STARTED + 5
    });
    expect(reproductionLine(info, REPRO, time)?.other).toEqual({
      runId: ORIGINAL,
      relation: 'reproduces'
    });
  });

  it('links nowhere when the script failed before its run started', () => {
    const reason =
      'the script failed before its run started (exit status 1): boom';
    const info: IReproductionInfo = {
      state: 'done',
      started_at: null,
      message: null,
      last: verdict({
        verdict: 'different',
        text: 'different',
        reproduction: null,
        reasons: [reason]
      })
    };
    expect(reproductionLine(info, ORIGINAL, time)).toEqual({
      state: 'done',
      text: 'different',
      reasons: [reason],
      other: null,
      at: STARTED + 5
    });
  });

  it('says since when one runs, and why one failed', () => {
    expect(reproductionLine(running, ORIGINAL, time)?.text).toBe(
      `running since @${STARTED}…`
    );
    const failed = reproductionLine(
      {
        state: 'failed',
        started_at: STARTED,
        message: 'reproduce.py started no run (exit status 1)',
        last: null
      },
      ORIGINAL,
      time
    );
    expect(failed?.text).toBe(
      'failed: reproduce.py started no run (exit status 1)'
    );
    expect(failed?.other).toBeNull();
  });
});

/** A server answering POST runs/{id}/reproduce and, in turn, the details given. */
class ReproducingServer {
  constructor(details: (IReproductionInfo | 'down')[]) {
    this.details = details;
  }

  details: (IReproductionInfo | 'down')[];
  /** What POST answers: 202, or an error status with its message. */
  post: { status: number; message?: string } = { status: 202 };
  readonly seen: string[] = [];

  client(): TrackrunClient {
    return new TrackrunClient(
      ServerConnection.makeSettings({
        baseUrl: 'http://trackrun.test/',
        fetch: ((request: Request) => this._answer(request)) as typeof fetch
      })
    );
  }

  private async _answer(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname.replace(
      /^\/trackrun\/api\//,
      ''
    );
    this.seen.push(`${request.method} ${path}`);
    if (request.method === 'POST' && path === `runs/${ORIGINAL}/reproduce`) {
      if (this.post.status !== 202) {
        return json(
          { message: this.post.message, code: 'invalid_run_state' },
          this.post.status
        );
      }
      return json(
        { run_id: ORIGINAL, state: 'started', started_at: STARTED },
        202
      );
    }
    if (request.method === 'GET' && path === `runs/${ORIGINAL}`) {
      const next =
        this.details.length > 1 ? this.details.shift() : this.details[0];
      if (next === 'down') {
        throw new TypeError('Failed to fetch');
      }
      return json({ run_id: ORIGINAL, reproduction: next });
    }
    return json({ message: `no run ${path}`, code: 'run_not_found' }, 404);
  }
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

describe('ReproductionTracker', () => {
  const done: IReproductionInfo = {
    state: 'done',
    started_at: null,
    message: null,
    last: verdict()
  };

  it('starts a reproduction and follows it through a lost connection to its verdict', async () => {
    const server = new ReproducingServer([running, 'down', running, done]);
    const tracker = new ReproductionTracker(server.client(), {
      interval: 1,
      maxBackoff: 4
    });
    const changed: string[] = [];
    tracker.changed.connect((_, runId) => changed.push(runId));
    const started = await tracker.start(ORIGINAL);
    expect(started).toEqual({
      run_id: ORIGINAL,
      state: 'started',
      started_at: STARTED
    });
    const follow = tracker.follow(ORIGINAL, started.started_at);
    expect(tracker.isFollowing(ORIGINAL)).toBe(true);
    expect(tracker.follow(ORIGINAL, started.started_at)).toBe(follow); // one follow per run
    expect(await follow).toEqual({ kind: 'verdict', verdict: verdict() });
    expect(tracker.isFollowing(ORIGINAL)).toBe(false);
    expect(server.seen).toEqual([
      `POST runs/${ORIGINAL}/reproduce`,
      ...Array(4).fill(`GET runs/${ORIGINAL}`)
    ]);
    expect(changed).toEqual([ORIGINAL, ORIGINAL]);
    tracker.dispose();
  });

  it('rejects a start the server refuses, with the server’s message', async () => {
    const server = new ReproducingServer([running]);
    server.post = {
      status: 409,
      message: `run ${ORIGINAL} is already being reproduced (since 10:00:00)`
    };
    const tracker = new ReproductionTracker(server.client(), { interval: 1 });
    const refused = tracker.start(ORIGINAL);
    await expect(refused).rejects.toBeInstanceOf(TrackrunApiError);
    await expect(refused).rejects.toThrow('already being reproduced');
    expect(tracker.isFollowing(ORIGINAL)).toBe(false);
    tracker.dispose();
  });

  it('stops following, with a reason, when disposed', async () => {
    const server = new ReproducingServer([running]);
    const tracker = new ReproductionTracker(server.client(), {
      interval: 60000
    });
    const follow = tracker.follow(ORIGINAL, STARTED);
    tracker.dispose();
    expect(await follow).toEqual({
      kind: 'failed',
      message: 'the page stopped following it'
    });
  });
});
