// Wiring: the API client, the runs model, sidebar, run and compare views, commands,
// palette, context menu, status bar, layout restoration and the output renderer.
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IStatusBar } from '@jupyterlab/statusbar';

import { TrackrunClient } from './api';
import { CONTEXT_MENU, CommandIDs, addCommands } from './commands';
import { trackrunIcon } from './icons';
import { CompareModel } from './models/compare';
import { RunModel } from './models/run';
import { RunsModel } from './models/runs';
import { ITrackrun } from './tokens';
import { CompareView } from './views/compare/CompareView';
import { RUN_MIME_TYPE, RunOutput } from './views/mime/RunOutput';
import { RunsPanel } from './views/runs/RunsPanel';
import { RunView } from './views/runview/RunView';
import { RunningStatus } from './views/statusbar/RunningStatus';

const PANEL_ID = 'trackrun-runs';
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
    INotebookTracker
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    statusBar: IStatusBar | null,
    docManager: IDocumentManager | null,
    notebooks: INotebookTracker | null
  ): ITrackrun => {
    const client = new TrackrunClient(app.serviceManager.serverSettings);
    const runs = new RunsModel(client);

    const runViews = new WidgetTracker<MainAreaWidget<RunView>>({
      namespace: 'trackrun-run'
    });
    const compareViews = new WidgetTracker<MainAreaWidget<CompareView>>({
      namespace: 'trackrun-compare'
    });

    const openBrowser = (): void => {
      app.shell.activateById(PANEL_ID);
    };

    const openRun = (runId: string): void => {
      const open = runViews.find(w => w.content.model.runId === runId);
      if (open) {
        app.shell.activateById(open.id);
        return;
      }
      const model = new RunModel(client, runId, {
        log: true,
        logTailBytes: 131072,
        chart: true
      });
      const content = new RunView(model, {
        kill: id => void app.commands.execute(CommandIDs.kill, { runId: id }),
        rerun: id => void app.commands.execute(CommandIDs.rerun, { runId: id }),
        reattach: id =>
          void app.commands.execute(CommandIDs.reattach, { runId: id }),
        copyId: id =>
          void app.commands.execute(CommandIDs.copyId, { runId: id }),
        artifactUrl: (id, name) => client.artifactUrl(id, name)
      });
      const widget = new MainAreaWidget({ content });
      widget.id = `trackrun-run-${runId}`;
      widget.title.icon = trackrunIcon;
      widget.title.closable = true;
      const setTitle = (): void => {
        const detail = model.detail;
        widget.title.label = detail ? detail.name : runId;
        widget.title.caption = detail
          ? `${detail.name} (${runId}): ${detail.status}`
          : runId;
        widget.title.className = detail
          ? `trackrun-status-${detail.status}`
          : '';
      };
      setTitle();
      let status = '';
      model.changed.connect((_, change) => {
        if (change === 'detail') {
          setTitle();
          if (model.detail && model.detail.status !== status) {
            if (status) {
              runs.refresh(); // the sidebar shows a status change at once
            }
            status = model.detail.status;
          }
        }
      });
      widget.disposed.connect(() => model.dispose());
      model.start();
      void runViews.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    };

    const openCompare = (runIds: string[]): void => {
      const key = runIds.join(',');
      const open = compareViews.find(
        w => w.content.model.runIds.join(',') === key
      );
      if (open) {
        app.shell.activateById(open.id);
        return;
      }
      const model = new CompareModel(client, runIds);
      const content = new CompareView(model, openRun);
      const widget = new MainAreaWidget({ content });
      widget.id = `trackrun-compare-${runIds.join('-')}`;
      widget.title.icon = trackrunIcon;
      widget.title.closable = true;
      widget.title.label = `Compare ${runIds.length} runs`;
      widget.title.caption = runIds
        .map(id => `${runs.row(id)?.name ?? id} (${id})`)
        .join('\n');
      widget.disposed.connect(() => model.dispose());
      model.start();
      void compareViews.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    };

    // The sidebar.
    const panel = new RunsPanel(runs, {
      open: openRun,
      compare: () => void app.commands.execute(CommandIDs.compare),
      refresh: () => runs.refresh()
    });
    panel.id = PANEL_ID;
    panel.title.icon = trackrunIcon;
    panel.title.caption = 'Runs (trackrun)';
    app.shell.add(panel, 'left', { rank: 600 });
    runs.start();

    addCommands({
      app,
      client,
      runs,
      docManager,
      notebooks,
      openBrowser,
      openRun,
      openCompare
    });
    app.commands.addCommand(OPEN_COMPARE, {
      label: 'Compare Runs',
      execute: args => {
        const ids = Array.isArray(args.runIds)
          ? args.runIds.filter((id): id is string => typeof id === 'string')
          : [];
        if (ids.length >= 2) {
          openCompare(ids);
        }
      }
    });

    let rank = 0;
    for (const command of CONTEXT_MENU) {
      app.contextMenu.addItem({
        type: command ? 'command' : 'separator',
        command: command ?? undefined,
        selector: '.trackrun-RunsTable-row',
        rank: rank++
      });
    }

    if (palette) {
      const category = 'trackrun';
      for (const command of [
        CommandIDs.openBrowser,
        CommandIDs.compare,
        CommandIDs.refresh,
        CommandIDs.reattachLatest
      ]) {
        palette.addItem({ command, category });
      }
    }

    if (restorer) {
      restorer.add(panel, PANEL_ID);
      void restorer.restore(runViews, {
        command: CommandIDs.openRun,
        args: widget => ({ runId: widget.content.model.runId }),
        name: widget => widget.content.model.runId
      });
      void restorer.restore(compareViews, {
        command: OPEN_COMPARE,
        args: widget => ({ runIds: [...widget.content.model.runIds] }),
        name: widget => widget.content.model.runIds.join(',')
      });
    }

    if (statusBar) {
      statusBar.registerStatusItem('trackrun:running', {
        item: new RunningStatus(runs, openBrowser),
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
