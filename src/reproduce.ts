// The Reproduce command: start a reproduction on the server, show its progress as a
// notification, and end it with the verdict and a way to the reproducing run.
import { Notification } from '@jupyterlab/apputils';

import { ACTIVE_STATUSES } from './api';
import {
  CommandIDs,
  ICommandContext,
  editTarget,
  explain,
  report
} from './commands';
import { ReproductionTracker, outcomeNotice } from './models/reproduction';

/**
 * Add `trackrun:reproduce`: it acts on `args.runId`, else the run view in front (the
 * palette), else the one selected (or right-clicked) run.
 */
export function addReproduceCommand(
  ctx: ICommandContext,
  tracker: ReproductionTracker
): void {
  const { app } = ctx;
  const view = (runId: string) =>
    ctx.opener.runViews.find(w => w.content.model.runId === runId);
  const nameOf = (runId: string): string =>
    ctx.runs.row(runId)?.name ??
    view(runId)?.content.model.detail?.name ??
    runId;
  const canStart = (runId: string): boolean => {
    const status =
      ctx.runs.row(runId)?.status ?? view(runId)?.content.model.detail?.status;
    return !ACTIVE_STATUSES.has(status ?? '') && !tracker.isFollowing(runId);
  };

  app.commands.addCommand(CommandIDs.reproduce, {
    label: 'Reproduce Run',
    caption:
      'Re-run the run from its record (a standalone script) in a fresh process on the ' +
      'server and compare the numbers: identical, within tolerance or different',
    // Enabled in the palette so that running it explains what is missing.
    isEnabled: args => {
      if (args.fromContextMenu !== true) {
        return true;
      }
      const runId = editTarget(ctx, args);
      return runId !== null && canStart(runId);
    },
    execute: async args => {
      const runId = editTarget(ctx, args);
      if (!runId) {
        explain(
          'Open a run, or select one run in the runs panel, to reproduce it.'
        );
        return;
      }
      const name = nameOf(runId);
      let startedAt: number;
      try {
        startedAt = (await tracker.start(runId)).started_at;
      } catch (error) {
        report(`Reproduce ${name}`, error);
        return;
      }
      const id = Notification.emit(`Reproducing ${name}…`, 'in-progress', {
        autoClose: false
      });
      // An open view follows the run again until the verdict is in (it had stopped).
      view(runId)?.content.model.refresh();
      const outcome = await tracker.follow(runId, startedAt);
      view(runId)?.content.model.refresh();
      const notice = outcomeNotice(name, outcome);
      const other = notice.reproductionId;
      Notification.update({
        id,
        message: notice.message,
        type: notice.type,
        autoClose: notice.type === 'success' ? 15000 : false,
        actions: other
          ? [
              {
                label: 'Open',
                caption: 'Open the reproducing run',
                callback: () => ctx.opener.openRun(other, { pinned: true })
              },
              {
                label: 'Compare',
                caption: 'Compare the run with its reproduction',
                callback: () => ctx.opener.openCompare([runId, other])
              }
            ]
          : [
              {
                label: 'Show run',
                caption: 'Open the run: its Reproduction line says more',
                callback: () => ctx.opener.openRun(runId, { pinned: true })
              }
            ]
      });
    }
  });
}
