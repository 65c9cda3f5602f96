// Wiring: the API client, the runs model, sidebar, run and compare views, commands,
// palette, context menu, status bar, layout restoration and the output renderer.
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IStateDB } from '@jupyterlab/statedb';
import { IStatusBar } from '@jupyterlab/statusbar';

import { TrackrunClient } from './api';
import { CONTEXT_MENU, CommandIDs, addCommands } from './commands';
import { trackrunIcon } from './icons';
import { RunModel } from './models/run';
import { RunsModel } from './models/runs';
import { TrashModel } from './models/trash';
import { ReproductionTracker } from './models/reproduction';
import { persistTableState } from './models/viewstate';
import { PANEL_ID, ViewOpener } from './opener';
import { addReproduceCommand } from './reproduce';
import { ITrackrun } from './tokens';
import { RUN_MIME_TYPE, RunOutput } from './views/mime/RunOutput';
import { RunsPanel } from './views/runs/RunsPanel';
import { RunsTableView } from './views/runs/TableView';
import {
  SWEEP_CONTEXT_MENU,
  SweepCommandIDs,
  addSweepCommands
} from './sweepcommands';
import { RunningStatus } from './views/statusbar/RunningStatus';

const OPEN_COMPARE = 'trackrun:open-compare';

/** The runs panel, run and compare views, commands and status bar item. */
export const mainPlugin: JupyterFrontEndPlugin<ITrackrun> = {
  id: 'trackrun:plugin',
  description: 'Runs sidebar, run view, compare view and commands of trackrun.',
  autoStart: true,
  provides: ITrackrun,
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    IStatusBar,
    IDocumentManager,
    INotebookTracker,
    IStateDB,
    IEditorServices
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    statusBar: IStatusBar | null,
    docManager: IDocumentManager | null,
    notebooks: INotebookTracker | null,
    stateDB: IStateDB | null,
    editorServices: IEditorServices | null
  ): ITrackrun => {
    const client = new TrackrunClient(app.serviceManager.serverSettings);
    const runs = new RunsModel(client);
    const trash = new TrashModel(client, runs);
    if (stateDB) {
      persistTableState(runs, stateDB);
    }
    const run = (command: string) => (runId: string) =>
      void app.commands.execute(command, { runId });
    const opener = new ViewOpener({
      app,
      client,
      runs,
      actions: {
        kill: run(CommandIDs.kill),
        rerun: run(CommandIDs.rerun),
        edit: run(CommandIDs.editRun),
        reattach: run(CommandIDs.reattach),
        copyId: run(CommandIDs.copyId),
        reproduce: run(CommandIDs.reproduce)
      },
      filterToSweep: name =>
        void app.commands.execute(SweepCommandIDs.filterToSweep, { name }),
      editorServices
    });
    const compareSweep = (sweepId: string): void =>
      void app.commands.execute(SweepCommandIDs.compareSweep, { sweepId });
    const openRun = (runId: string): void => opener.openRun(runId);

    // The sidebar.
    const panel = new RunsPanel(runs, trash, {
      open: openRun,
      compareSweep,
      openTable: () => void app.commands.execute(CommandIDs.openTable),
      restore: runId =>
        void app.commands.execute(CommandIDs.restore, { runId }),
      deleteForever: runId =>
        void app.commands.execute(CommandIDs.deleteForever, { runId }),
      compare: () =>
        void app.commands.execute(CommandIDs.compare, {
          runIds: runs.selectedRows.map(r => r.run_id)
        }),
      refresh: () => runs.refresh()
    });
    panel.id = PANEL_ID;
    panel.title.icon = trackrunIcon;
    panel.title.caption = 'Runs (trackrun)';
    app.shell.add(panel, 'left', { rank: 600 });
    runs.start();

    const commandContext = {
      app,
      client,
      runs,
      trash,
      docManager,
      notebooks,
      opener
    };
    addCommands(commandContext);
    addReproduceCommand(commandContext, new ReproductionTracker(client));
    addSweepCommands({ app, client, runs, opener });
    app.commands.addCommand(OPEN_COMPARE, {
      label: 'Compare Runs',
      execute: args => {
        const ids = Array.isArray(args.runIds)
          ? args.runIds.filter((id): id is string => typeof id === 'string')
          : [];
        if (ids.length >= 2) {
          opener.openCompare(ids);
        }
      }
    });

    // The same table full-width in the main area: one tab, brought forward when open.
    let tableView: MainAreaWidget<RunsTableView> | null = null;
    app.commands.addCommand(CommandIDs.openTable, {
      label: 'Open Runs as Table',
      caption: 'The runs table full-width in the main area, with grouping',
      icon: trackrunIcon,
      execute: args => {
        if (!tableView || tableView.isDisposed) {
          const content = new RunsTableView(runs, {
            open: openRun,
            compareSweep
          });
          tableView = new MainAreaWidget({ content });
          tableView.id = 'trackrun-table';
          tableView.title.label = 'Runs';
          tableView.title.icon = trackrunIcon;
          tableView.title.closable = true;
          app.shell.add(tableView, 'main');
        }
        if (typeof args.groupBy === 'string') {
          tableView.content.groupBy = args.groupBy;
        }
        app.shell.activateById(tableView.id);
      }
    });

    let rank = 0;
    for (const command of CONTEXT_MENU) {
      app.contextMenu.addItem({
        type: command ? 'command' : 'separator',
        command: command ?? undefined,
        selector: '.trackrun-RunsTable-row',
        args: { fromContextMenu: true },
        rank: rank++
      });
    }
    for (const command of SWEEP_CONTEXT_MENU) {
      app.contextMenu.addItem({
        type: command ? 'command' : 'separator',
        command: command ?? undefined,
        selector: '.trackrun-RunsTable-sweep',
        args: { fromContextMenu: true },
        rank: rank++
      });
    }

    if (palette) {
      const category = 'trackrun';
      for (const command of [
        CommandIDs.openBrowser,
        CommandIDs.compare,
        CommandIDs.refresh,
        CommandIDs.openTable,
        CommandIDs.reattachLatest,
        CommandIDs.editRun,
        CommandIDs.reproduce,
        SweepCommandIDs.compareSweep
      ]) {
        palette.addItem({ command, category });
      }
    }

    if (restorer) {
      restorer.add(panel, PANEL_ID);
      void restorer.restore(opener.runViews, {
        command: CommandIDs.openRun,
        args: widget => ({ runId: widget.content.model.runId, pinned: true }),
        name: widget => widget.content.model.runId
      });
      void restorer.restore(opener.sweepViews, {
        command: SweepCommandIDs.compareSweep,
        args: widget => ({ sweepId: widget.content.model.sweepId }),
        name: widget => widget.content.model.sweepId
      });
      void restorer.restore(opener.compareViews, {
        command: OPEN_COMPARE,
        args: widget => ({ runIds: [...widget.content.model.runIds] }),
        name: widget => widget.content.model.runIds.join(',')
      });
    }

    if (statusBar) {
      statusBar.registerStatusItem('trackrun:running', {
        item: new RunningStatus(runs, () => opener.openBrowser()),
        align: 'left',
        rank: 4,
        isActive: () => true,
        activeStateChanged: runs.stateChanged
      });
    }

    return { client, runs, openRun };
  }
};

/** The renderer of the run bundle that %%track_run puts in cell outputs. */
export const outputPlugin: JupyterFrontEndPlugin<void> = {
  id: 'trackrun:output',
  description:
    'Renders application/vnd.trackrun.run+json outputs as a live run view.',
  autoStart: true,
  requires: [IRenderMimeRegistry, ITrackrun],
  activate: (
    _app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    trackrun: ITrackrun
  ): void => {
    rendermime.addFactory(
      {
        safe: true, // text only: it renders nothing from the bundle as HTML
        mimeTypes: [RUN_MIME_TYPE],
        defaultRank: 40,
        createRenderer: () =>
          new RunOutput({
            createModel: runId =>
              new RunModel(trackrun.client, runId, {
                log: true,
                logTailBytes: 16384,
                chart: false,
                chartPoints: 300
              }),
            open: runId => trackrun.openRun(runId)
          })
      },
      40
    );
  }
};
