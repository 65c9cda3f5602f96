// The panel's commands (palette, context menu, buttons) and which runs each one acts on.
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Clipboard,
  Dialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';

import { ACTIVE_STATUSES, TrackrunClient } from './api';
import { RunsModel } from './models/runs';
import { reattachInNotebook } from './reattach';

export namespace CommandIDs {
  export const openBrowser = 'trackrun:open-browser';
  export const openRun = 'trackrun:open-run';
  export const compare = 'trackrun:compare';
  export const refresh = 'trackrun:refresh';
  export const reattach = 'trackrun:reattach';
  export const reattachLatest = 'trackrun:reattach-latest';
  export const kill = 'trackrun:kill';
  export const rerun = 'trackrun:rerun';
  export const remove = 'trackrun:delete';
  export const copyId = 'trackrun:copy-id';
}

export interface ICommandContext {
  app: JupyterFrontEnd;
  client: TrackrunClient;
  runs: RunsModel;
  docManager: IDocumentManager | null;
  notebooks: INotebookTracker | null;
  openBrowser: () => void;
  openRun: (runId: string) => void;
  openCompare: (runIds: string[]) => void;
}

/**
 * The runs a command acts on: `args.runId(s)` when given; from the runs table's context
 * menu, the selection if the clicked row is in it, else the clicked row; else the selection.
 */
function targets(
  ctx: ICommandContext,
  args: Record<string, unknown>
): string[] {
  if (typeof args.runId === 'string') {
    return [args.runId];
  }
  if (Array.isArray(args.runIds)) {
    return args.runIds.filter((id): id is string => typeof id === 'string');
  }
  const node = ctx.app.contextMenuHitTest(n => !!n.dataset.runId);
  const clicked = node?.dataset.runId;
  if (clicked) {
    return ctx.runs.selection.has(clicked)
      ? [...ctx.runs.selection]
      : [clicked];
  }
  return ctx.runs.selectedRows.map(r => r.run_id);
}

function report(action: string, error: unknown): void {
  Notification.error(
    `${action}: ${error instanceof Error ? error.message : String(error)}`,
    { autoClose: 8000 }
  );
}

export function addCommands(ctx: ICommandContext): void {
  const { app, client, runs } = ctx;
  const commands = app.commands;
  const plural = (n: number, word: string): string =>
    n === 1 ? word : `${word} (${n} runs)`;

  commands.addCommand(CommandIDs.openBrowser, {
    label: 'Open Run Browser',
    caption: 'Show the trackrun runs panel',
    execute: () => ctx.openBrowser()
  });

  commands.addCommand(CommandIDs.openRun, {
    label: args => plural(targets(ctx, args).length, 'Open Run'),
    isEnabled: args => targets(ctx, args).length > 0,
    execute: args => {
      for (const id of targets(ctx, args).slice(0, 10)) {
        ctx.openRun(id);
      }
    }
  });

  commands.addCommand(CommandIDs.compare, {
    label: args =>
      args.runId || args.runIds || runs.selection.size >= 2
        ? `Compare Selected Runs (${targets(ctx, args).length})`
        : 'Compare Selected Runs',
    caption: 'Compare 2 or more runs selected in the runs panel',
    isEnabled: args => targets(ctx, args).length >= 2,
    execute: args => {
      const ids = targets(ctx, args);
      if (ids.length >= 2) {
        ctx.openCompare(ids);
      }
    }
  });

  commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh Runs',
    execute: () => runs.refresh()
  });

  commands.addCommand(CommandIDs.reattach, {
    label: 'Reattach in Notebook',
    caption: 'Insert and run %track_run --attach in the run’s notebook',
    isEnabled: args => targets(ctx, args).length === 1 && !!ctx.docManager,
    execute: async args => {
      const [runId] = targets(ctx, args);
      if (!runId || !ctx.docManager || !ctx.notebooks) {
        return;
      }
      try {
        const detail = await client.run(runId);
        const panel = await reattachInNotebook(
          runId,
          detail.notebook,
          detail.cell_id,
          ctx.docManager,
          ctx.notebooks
        );
        if (!panel) {
          Notification.warning(
            'Open a notebook to reattach in: the run’s notebook is not under the ' +
              'Jupyter server’s root.',
            { autoClose: 8000 }
          );
        }
      } catch (error) {
        report('Reattach', error);
      }
    }
  });

  commands.addCommand(CommandIDs.reattachLatest, {
    label: 'Reattach to Latest Run',
    caption:
      'Follow the newest running run (else the newest run) in its notebook',
    execute: async () => {
      try {
        const page = await client.runs(
          { filter: 'status in (running, queued)', limit: 1 },
          null
        );
        let runId = page?.page.runs[0]?.run_id;
        if (!runId) {
          const any = await client.runs({ limit: 1 }, null);
          runId = any?.page.runs[0]?.run_id;
        }
        if (!runId) {
          Notification.info('No runs yet: start one with %%track_run.', {
            autoClose: 5000
          });
          return;
        }
        await commands.execute(CommandIDs.reattach, { runId });
      } catch (error) {
        report('Reattach', error);
      }
    }
  });

  commands.addCommand(CommandIDs.kill, {
    label: args => plural(targets(ctx, args).length, 'Kill Run'),
    isEnabled: args =>
      targets(ctx, args).some(id => {
        const row = runs.row(id);
        return !row || ACTIVE_STATUSES.has(row.status);
      }),
    execute: async args => {
      const ids = targets(ctx, args).filter(id => {
        const row = runs.row(id);
        return !row || ACTIVE_STATUSES.has(row.status);
      });
      for (const id of ids) {
        try {
          await client.kill(id);
        } catch (error) {
          report(`Kill ${id}`, error);
        }
      }
      runs.refresh();
    }
  });

  commands.addCommand(CommandIDs.rerun, {
    label: args => plural(targets(ctx, args).length, 'Rerun'),
    caption: 'Start a new detached run of the same frozen job',
    isEnabled: args =>
      targets(ctx, args).length > 0 &&
      targets(ctx, args).every(id => {
        const row = runs.row(id);
        return !row || row.detached === true;
      }),
    execute: async args => {
      for (const id of targets(ctx, args)) {
        try {
          const { run_id } = await client.rerun(id);
          Notification.success(`Started rerun ${run_id}`, { autoClose: 4000 });
        } catch (error) {
          report(`Rerun ${id}`, error);
        }
      }
      runs.refresh();
    }
  });

  commands.addCommand(CommandIDs.remove, {
    label: args => plural(targets(ctx, args).length, 'Delete Run'),
    isEnabled: args => targets(ctx, args).length > 0,
    execute: async args => {
      const ids = targets(ctx, args);
      const active = ids.filter(id =>
        ACTIVE_STATUSES.has(runs.row(id)?.status ?? '')
      );
      const names = ids.map(id => runs.row(id)?.name ?? id);
      const result = await showDialog({
        title: ids.length === 1 ? 'Delete run?' : `Delete ${ids.length} runs?`,
        body:
          `${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''} will move to ` +
          'the store’s trash.' +
          (active.length
            ? ` ${active.length} still running will be killed.`
            : ''),
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
      });
      if (!result.button.accept) {
        return;
      }
      for (const id of ids) {
        try {
          await client.delete(id, active.includes(id));
        } catch (error) {
          report(`Delete ${id}`, error);
        }
      }
      runs.refresh();
    }
  });

  commands.addCommand(CommandIDs.copyId, {
    label: args => plural(targets(ctx, args).length, 'Copy Run ID'),
    isEnabled: args => targets(ctx, args).length > 0,
    execute: args => {
      Clipboard.copyToSystem(targets(ctx, args).join('\n'));
    }
  });
}

/** Context menu of the runs table, in order. */
export const CONTEXT_MENU: (string | null)[] = [
  CommandIDs.openRun,
  CommandIDs.compare,
  null,
  CommandIDs.reattach,
  CommandIDs.kill,
  CommandIDs.rerun,
  CommandIDs.remove,
  null,
  CommandIDs.copyId
];
