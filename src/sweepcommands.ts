// The commands of sweeps (palette and the sweep line's context menu): compare a sweep, kill it, filter the runs to it.
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  InputDialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';

import { ISweepSummary, TrackrunClient } from './api';
import { RunsModel } from './models/runs';
import { activeOf } from './models/sweeps';
import { ViewOpener } from './opener';

export namespace SweepCommandIDs {
  export const compareSweep = 'trackrun:compare-sweep';
  export const killSweep = 'trackrun:kill-sweep';
  export const filterToSweep = 'trackrun:filter-to-sweep';
}

/** Context menu of a sweep's line in the runs table, in order. */
export const SWEEP_CONTEXT_MENU: (string | null)[] = [
  SweepCommandIDs.compareSweep,
  SweepCommandIDs.filterToSweep,
  null,
  SweepCommandIDs.killSweep
];

export interface ISweepCommandContext {
  app: JupyterFrontEnd;
  client: TrackrunClient;
  runs: RunsModel;
  opener: ViewOpener;
}

/**
 * The sweep a command acts on: `args.sweepId`; in the context menu, the sweep line
 * right-clicked; else the sweep line the runs table's cursor is on. Null when none.
 */
function sweepTarget(
  ctx: ISweepCommandContext,
  args: Record<string, unknown>
): string | null {
  if (typeof args.sweepId === 'string') {
    return args.sweepId;
  }
  if (args.fromContextMenu === true) {
    const node = ctx.app.contextMenuHitTest(n => !!n.dataset.sweepId);
    return node?.dataset.sweepId ?? null;
  }
  return ctx.runs.cursorSweep;
}

/** The sweep's name, as the panel knows it (its id until its summary came). */
function nameOf(ctx: ISweepCommandContext, sweepId: string): string {
  return ctx.runs.sweeps.summary(sweepId)?.name ?? sweepId;
}

/** Ask which sweep, newest first; null when cancelled or there is none. */
async function chooseSweep(
  ctx: ISweepCommandContext,
  title: string
): Promise<ISweepSummary | null> {
  await ctx.runs.sweeps.refresh();
  const sweeps = ctx.runs.sweeps.all;
  if (!sweeps.length) {
    Notification.info(
      'No sweeps in this store yet: run a cell with %%track_run --sweep "lr=[1e-3, 1e-2] seed=range(3)".',
      { autoClose: 6000 }
    );
    return null;
  }
  const items = sweeps.map(s => `${s.name} (${s.total} runs)`);
  const result = await InputDialog.getItem({
    title,
    items,
    current: 0
  });
  if (!result.button.accept || result.value === null) {
    return null;
  }
  return sweeps[items.indexOf(result.value)] ?? null;
}

function report(action: string, error: unknown): void {
  Notification.error(
    `${action}: ${error instanceof Error ? error.message : String(error)}`,
    { autoClose: 8000 }
  );
}

export function addSweepCommands(ctx: ISweepCommandContext): void {
  const { app, client, runs } = ctx;

  app.commands.addCommand(SweepCommandIDs.compareSweep, {
    label: args => {
      if (args.fromContextMenu === true) {
        return 'Compare Sweep';
      }
      // From the palette: the sweep line the runs table's cursor is on, else ask.
      const sweepId = sweepTarget(ctx, args);
      return sweepId
        ? `Compare Sweep ${nameOf(ctx, sweepId)}`
        : 'Compare a Sweep…';
    },
    caption:
      'Compare a whole sweep: params against the metric, seed groups and which setting is better',
    execute: async args => {
      let sweepId = sweepTarget(ctx, args);
      if (!sweepId) {
        sweepId =
          (await chooseSweep(ctx, 'Compare which sweep?'))?.sweep_id ?? null;
      }
      if (sweepId) {
        ctx.opener.openSweep(sweepId);
      }
    }
  });

  app.commands.addCommand(SweepCommandIDs.filterToSweep, {
    label: 'Filter to Sweep',
    caption: 'Show only this sweep in the runs panel, its runs listed',
    isEnabled: args =>
      sweepTarget(ctx, args) !== null || typeof args.name === 'string',
    execute: args => {
      const sweepId = sweepTarget(ctx, args);
      const name =
        typeof args.name === 'string'
          ? args.name
          : sweepId
            ? nameOf(ctx, sweepId)
            : null;
      if (!name) {
        return;
      }
      runs.setFilter(`sweep:${name}`); // sweep names are [\w.-]+: no quoting
      const id = sweepId ?? runs.sweeps.byName(name)?.sweep_id;
      if (id) {
        runs.toggleSweep(id, true);
      }
      ctx.opener.openBrowser();
    }
  });

  app.commands.addCommand(SweepCommandIDs.killSweep, {
    label: 'Kill Sweep…',
    caption: 'Cancel the sweep’s queued runs, then kill its running ones',
    isEnabled: args => {
      const sweepId = sweepTarget(ctx, args);
      const summary = sweepId ? runs.sweeps.summary(sweepId) : undefined;
      return !summary || activeOf(summary.counts) > 0;
    },
    execute: async args => {
      const sweepId = sweepTarget(ctx, args);
      if (!sweepId) {
        return;
      }
      await runs.sweeps.refresh();
      const summary = runs.sweeps.summary(sweepId);
      const name = summary?.name ?? sweepId;
      const { queued, running } = summary?.counts ?? { queued: 0, running: 0 };
      if (summary && queued + running === 0) {
        Notification.info(`Sweep ${name} has no queued or running run.`, {
          autoClose: 5000
        });
        return;
      }
      if (args.confirmed !== true) {
        const result = await showDialog({
          title: `Kill sweep ${name}?`,
          body:
            `${queued} queued run${queued === 1 ? '' : 's'} will be cancelled and ` +
            `${running} running run${running === 1 ? '' : 's'} killed (SIGTERM, then ` +
            'SIGKILL), each recorded as killed. Runs that ended, and what every run ' +
            'logged, are kept.',
          buttons: [
            Dialog.cancelButton(),
            Dialog.warnButton({ label: 'Kill Sweep' })
          ],
          // Enter must not kill: the focus starts on Cancel.
          defaultButton: 0
        });
        if (!result.button.accept) {
          return;
        }
      }
      // Killing running runs waits for each to be recorded killed: say it is under way.
      const id = Notification.emit(`Stopping sweep ${name}…`, 'in-progress', {
        autoClose: false
      });
      try {
        const done = await client.killSweep(sweepId);
        Notification.update({
          id,
          message:
            `Sweep ${name}: cancelled ${done.cancelled.length} queued and killed ` +
            `${done.killed.length} running run${done.killed.length === 1 ? '' : 's'}`,
          type: 'success',
          autoClose: 5000
        });
      } catch (error) {
        Notification.dismiss(id);
        report(`Kill sweep ${name}`, error);
      }
      runs.refresh();
      void runs.sweeps.refresh();
    }
  });
}
