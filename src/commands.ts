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
import { TrashModel } from './models/trash';
import { ViewOpener } from './opener';
import { reattachInNotebook } from './reattach';
import { EditRunDialogBody } from './views/dialogs/EditRunDialog';
import { RerunDialogBody } from './views/dialogs/RerunDialog';
import { IRunText, runEdit, runEditProblem } from './views/dialogs/runEdit';

export namespace CommandIDs {
  export const openBrowser = 'trackrun:open-browser';
  export const openRun = 'trackrun:open-run';
  export const compare = 'trackrun:compare';
  export const refresh = 'trackrun:refresh';
  export const reattach = 'trackrun:reattach';
  export const reattachLatest = 'trackrun:reattach-latest';
  export const kill = 'trackrun:kill';
  export const rerun = 'trackrun:rerun';
  export const editRun = 'trackrun:edit-run';
  export const remove = 'trackrun:delete';
  export const copyId = 'trackrun:copy-id';
  export const pin = 'trackrun:keep-run-open';
  export const restore = 'trackrun:restore-run';
  export const deleteForever = 'trackrun:delete-forever';
  export const openTable = 'trackrun:open-table';
  export const reproduce = 'trackrun:reproduce';
}

export interface ICommandContext {
  app: JupyterFrontEnd;
  client: TrackrunClient;
  runs: RunsModel;
  trash: TrashModel;
  docManager: IDocumentManager | null;
  notebooks: INotebookTracker | null;
  opener: ViewOpener;
}

/**
 * The runs a command acts on: `args.runId(s)` when given; else the selection. Only the runs
 * table's context menu (which passes `fromContextMenu`) looks at the right-clicked row: the
 * selection if that row is in it, else the row. (JupyterLab keeps the last right-click's
 * target forever, so reading it elsewhere acted on a row right-clicked long ago.)
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
  if (args.fromContextMenu === true) {
    const node = ctx.app.contextMenuHitTest(n => !!n.dataset.runId);
    const clicked = node?.dataset.runId;
    if (clicked && !ctx.runs.selected.ids.has(clicked)) {
      return [clicked];
    }
  }
  return ctx.runs.selectedRows.map(r => r.run_id);
}

/**
 * The one run an edit acts on: `args.runId`; else, outside the context menu, the run view
 * in front (the palette opened over it); else the one selected (or right-clicked) run.
 */
export function editTarget(
  ctx: ICommandContext,
  args: Record<string, unknown>
): string | null {
  if (typeof args.runId === 'string') {
    return args.runId;
  }
  if (args.fromContextMenu !== true) {
    const view = ctx.opener.runViews.currentWidget;
    if (view && ctx.app.shell.currentWidget === view) {
      return view.content.model.runId;
    }
  }
  const ids = targets(ctx, args);
  return ids.length === 1 ? ids[0] : null;
}

/** Tell the user why a command did nothing. */
export function explain(message: string): void {
  Notification.warning(message, { autoClose: 6000 });
}

/** Tell the user that `action` failed, and why (the server's message). */
export function report(action: string, error: unknown): void {
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
    execute: () => ctx.opener.openBrowser()
  });

  commands.addCommand(CommandIDs.openRun, {
    label: args => plural(targets(ctx, args).length, 'Open Run'),
    isEnabled: args => targets(ctx, args).length > 0,
    execute: args => {
      const ids = targets(ctx, args);
      if (!ids.length) {
        explain('Select a run to open in the runs panel.');
        return;
      }
      // Several runs get a tab each; one run (re)uses the preview tab unless asked to keep it.
      const pinned = args.pinned === true || ids.length > 1;
      for (const id of ids.slice(0, 10)) {
        ctx.opener.openRun(id, { pinned });
      }
    }
  });

  commands.addCommand(CommandIDs.pin, {
    label: 'Keep Run Tab Open',
    caption: 'Keep the previewed run view: the next run opened gets a new tab',
    isEnabled: () => ctx.opener.preview !== null,
    execute: () => {
      const preview = ctx.opener.preview;
      if (preview) {
        ctx.opener.pin(preview);
      }
    }
  });

  commands.addCommand(CommandIDs.compare, {
    label: args => {
      const n = targets(ctx, args).length;
      return n >= 2
        ? `Compare Selected Runs (${n})`
        : 'Compare Selected Runs (select 2 or more)';
    },
    caption: 'Compare 2 or more runs selected in the runs panel',
    // Enabled in the palette so that running it explains what is missing.
    isEnabled: args =>
      args.fromContextMenu !== true || targets(ctx, args).length >= 2,
    execute: args => {
      const ids = targets(ctx, args);
      if (ids.length < 2) {
        explain(
          `Compare needs 2 or more runs; ${ids.length} selected. ` +
            'Ctrl-click or Shift-click rows in the runs panel to select more.'
        );
        return;
      }
      ctx.opener.openCompare(ids);
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
      if (!ids.length) {
        explain('Nothing to kill: none of these runs is running or queued.');
        return;
      }
      if (args.confirmed !== true) {
        const names = ids.map(id => runs.row(id)?.name ?? id);
        const result = await showDialog({
          title: ids.length === 1 ? 'Kill run?' : `Kill ${ids.length} runs?`,
          body:
            `${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''} ` +
            'will be stopped (SIGTERM, then SIGKILL) and recorded as killed. ' +
            'Metrics and output logged so far are kept.',
          buttons: [
            Dialog.cancelButton(),
            Dialog.warnButton({ label: 'Kill' })
          ],
          defaultButton: 0
        });
        if (!result.button.accept) {
          return;
        }
      }
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
      const ids = targets(ctx, args);
      if (!ids.length) {
        return;
      }
      // Confirmed first: one run shows its params, editable as overrides; several are
      // rerun each with its own params.
      let overrides: Record<string, unknown> = {};
      if (args.confirmed !== true) {
        const row = ids.length === 1 ? runs.row(ids[0]) : undefined;
        const body =
          ids.length === 1
            ? new RerunDialogBody(row?.name ?? ids[0], row?.params ?? {})
            : `Start ${ids.length} new detached runs, each with the params of the run it repeats?`;
        const result = await showDialog({
          title: plural(ids.length, 'Rerun'),
          body,
          buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Rerun' })],
          defaultButton: 1
        });
        if (!result.button.accept) {
          return;
        }
        overrides = (result.value as Record<string, unknown> | null) ?? {};
      }
      for (const id of ids) {
        try {
          const { run_id } = await client.rerun(id, overrides);
          const changed = Object.keys(overrides);
          Notification.success(
            `Started rerun ${run_id}` +
              (changed.length ? ` with ${changed.join(', ')} changed` : ''),
            { autoClose: 4000 }
          );
        } catch (error) {
          report(`Rerun ${id}`, error);
        }
      }
      runs.refresh();
    }
  });

  commands.addCommand(CommandIDs.editRun, {
    label: 'Edit Run Name and Note…',
    caption: 'Rename the run and write down why it matters',
    // Enabled in the palette so that running it explains what is missing.
    isEnabled: args =>
      args.fromContextMenu !== true || editTarget(ctx, args) !== null,
    execute: async args => {
      const runId = editTarget(ctx, args);
      if (!runId) {
        explain(
          'Open a run, or select one run in the runs panel, to edit its name and note.'
        );
        return;
      }
      let before: IRunText;
      try {
        const detail = await client.run(runId);
        before = { name: detail.name, note: detail.note ?? '' };
      } catch (error) {
        report('Edit run', error);
        return;
      }
      // Asked again, with what was typed, until it can be saved or is cancelled.
      let typed = before;
      for (;;) {
        const result = await showDialog({
          title: 'Edit Run Name and Note',
          body: new EditRunDialogBody(runId, typed),
          buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Save' })],
          focusNodeSelector: '.trackrun-EditRunDialog-name',
          defaultButton: 1
        });
        if (!result.button.accept || !result.value) {
          return;
        }
        typed = result.value;
        const problem = runEditProblem(typed);
        if (!problem) {
          break;
        }
        explain(problem);
      }
      const change = runEdit(before, typed);
      if (!Object.keys(change).length) {
        return;
      }
      try {
        await client.editRun(runId, change);
      } catch (error) {
        report(`Edit ${before.name}`, error);
        return;
      }
      // The open view shows it at once; the runs list gets the row from the change feed.
      ctx.opener.runViews
        .find(w => w.content.model.runId === runId)
        ?.content.model.refresh();
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
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: 'Delete' })
        ],
        // Enter must not delete: the focus starts on Cancel.
        defaultButton: 0
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

  const trashed = (args: Record<string, unknown>): string | null =>
    typeof args.runId === 'string' ? args.runId : null;
  const trashName = (runId: string): string =>
    ctx.trash.runs.find(r => r.run_id === runId)?.name ?? runId;

  commands.addCommand(CommandIDs.restore, {
    label: 'Restore Run from Trash',
    caption: 'Move a deleted run back into the run list',
    isEnabled: args => trashed(args) !== null,
    execute: async args => {
      const runId = trashed(args);
      if (!runId) {
        return;
      }
      try {
        await ctx.trash.restore(runId);
        Notification.success(`Restored ${trashName(runId)}`, {
          autoClose: 4000
        });
      } catch (error) {
        report(`Restore ${trashName(runId)}`, error);
      }
    }
  });

  commands.addCommand(CommandIDs.deleteForever, {
    label: 'Delete Run Forever',
    caption: 'Delete a run in the trash from disk (asks first)',
    isEnabled: args => trashed(args) !== null,
    execute: async args => {
      const runId = trashed(args);
      if (!runId) {
        return;
      }
      if (args.confirmed !== true) {
        const result = await showDialog({
          title: 'Delete run forever?',
          body:
            `${trashName(runId)} (${runId}) will be deleted from disk: its metrics, ` +
            'logs, code and artifacts. This cannot be undone.',
          buttons: [
            Dialog.cancelButton(),
            Dialog.warnButton({ label: 'Delete Forever' })
          ],
          // Enter must not delete: the focus starts on Cancel.
          defaultButton: 0
        });
        if (!result.button.accept) {
          return;
        }
      }
      try {
        await ctx.trash.deleteForever(runId);
      } catch (error) {
        report(`Delete ${trashName(runId)} forever`, error);
      }
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
  CommandIDs.reproduce,
  CommandIDs.editRun,
  CommandIDs.remove,
  null,
  CommandIDs.copyId
];
