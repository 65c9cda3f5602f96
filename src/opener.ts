// Opening views in the main area: run views (one reused preview tab unless pinned) and compare views.
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { SplitPanel, Widget } from '@lumino/widgets';

import { TrackrunClient } from './api';
import { trackrunIcon } from './icons';
import { CompareModel } from './models/compare';
import { RunModel } from './models/run';
import { RunsModel } from './models/runs';
import { SweepCompareModel } from './models/sweepcompare';
import { CompareView } from './views/compare/CompareView';
import { SweepView } from './views/compare/SweepView';
import { IRunViewActions, RunView } from './views/runview/RunView';

/** The runs sidebar's id in the left area. */
export const PANEL_ID = 'trackrun-runs';
/** Class of a run view's tab while it is the preview (the next open replaces it). */
const PREVIEW_CLASS = 'trackrun-mod-preview';

export interface IOpenRunOptions {
  /** Keep the tab: a later open does not replace it (restored and multi-run opens). */
  pinned?: boolean;
}

export interface IViewOpenerOptions {
  app: JupyterFrontEnd;
  client: TrackrunClient;
  runs: RunsModel;
  /** What a run view's buttons do (commands, wired in plugin.ts). */
  actions: Omit<IRunViewActions, 'pin' | 'open' | 'compare'>;
  /** Show only a sweep's runs in the sidebar (a sweep view's button). */
  filterToSweep?: (name: string) => void;
  /** JupyterLab's editors, to show code highlighted (plain text without them). */
  editorServices?: IEditorServices | null;
}

/**
 * Opens or reveals views. Opening a run that has no tab replaces the preview tab (the last
 * run opened and not kept), as the file browser's single-click preview does, so browsing
 * runs does not pile up tabs; "Keep open" on the view, or opening several runs, pins it.
 */
export class ViewOpener {
  constructor(options: IViewOpenerOptions) {
    this._options = options;
    // Double-clicking a preview tab's title keeps it, as in the file browser and editors.
    document.addEventListener(
      'dblclick',
      event => {
        const tab = (event.target as HTMLElement | null)?.closest?.(
          '.lm-TabBar-tab[data-trackrun-run]'
        ) as HTMLElement | null;
        const runId = tab?.dataset.trackrunRun;
        if (runId) {
          this.pinRun(runId);
        }
      },
      true
    ); // capture: seen even if a handler on the way stops the event
  }

  readonly runViews = new WidgetTracker<MainAreaWidget<RunView>>({
    namespace: 'trackrun-run'
  });

  readonly compareViews = new WidgetTracker<MainAreaWidget<CompareView>>({
    namespace: 'trackrun-compare'
  });

  readonly sweepViews = new WidgetTracker<MainAreaWidget<SweepView>>({
    namespace: 'trackrun-sweep'
  });

  /** The run view the next open replaces, if any. */
  get preview(): MainAreaWidget<RunView> | null {
    return this._preview;
  }

  /** Show the runs sidebar. */
  openBrowser(): void {
    this._options.app.shell.activateById(PANEL_ID);
  }

  /** Open (or reveal) the run view of `runId`. */
  openRun(runId: string, options: IOpenRunOptions = {}): void {
    const { app } = this._options;
    const open = this.runViews.find(w => w.content.model.runId === runId);
    if (open) {
      if (options.pinned) {
        this.pin(open);
      }
      app.shell.activateById(open.id);
      return;
    }
    const widget = this._createRunView(runId);
    const replaced = this._preview;
    if (replaced && !replaced.isDisposed) {
      this._show(widget, { ref: replaced.id, mode: 'tab-after' });
      replaced.dispose();
    } else {
      this._show(widget);
    }
    this._preview = null;
    if (!options.pinned) {
      this._preview = widget;
      widget.content.setPreview(true);
      widget.title.className = `${widget.title.className} ${PREVIEW_CLASS}`;
    }
    app.shell.activateById(widget.id);
  }

  /** Keep a run view's tab: the next open no longer replaces it. */
  pin(widget: MainAreaWidget<RunView>): void {
    if (this._preview === widget) {
      this._preview = null;
    }
    widget.content.setPreview(false);
    widget.title.className = widget.title.className
      .replace(PREVIEW_CLASS, '')
      .trim();
  }

  /** Keep the tab of `runId`'s view, if it is open. */
  pinRun(runId: string): void {
    const open = this.runViews.find(w => w.content.model.runId === runId);
    if (open) {
      this.pin(open);
    }
  }

  /** Open (or reveal) the comparison of `runIds` (2 or more). */
  openCompare(runIds: string[]): void {
    const { app, client, runs } = this._options;
    const key = runIds.join(',');
    const open = this.compareViews.find(
      w => w.content.model.runIds.join(',') === key
    );
    if (open) {
      app.shell.activateById(open.id);
      return;
    }
    const model = new CompareModel(client, runIds);
    const content = new CompareView(
      model,
      id => this.openRun(id),
      this._options.editorServices ?? null
    );
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
    void this.compareViews.add(widget);
    this._show(widget);
    app.shell.activateById(widget.id);
  }

  /** Open (or reveal) the compare view of the whole sweep `sweepId`. */
  openSweep(sweepId: string): void {
    const { app, client, runs } = this._options;
    const open = this.sweepViews.find(w => w.content.model.sweepId === sweepId);
    if (open) {
      app.shell.activateById(open.id);
      return;
    }
    const model = new SweepCompareModel(client, sweepId);
    const content = new SweepView(model, {
      open: id => this.openRun(id),
      filter: name => this._options.filterToSweep?.(name)
    });
    const widget = new MainAreaWidget({ content });
    widget.id = `trackrun-sweep-${sweepId}`;
    widget.title.icon = trackrunIcon;
    widget.title.closable = true;
    const setTitle = (): void => {
      const name = model.detail?.name ?? runs.sweeps.summary(sweepId)?.name;
      widget.title.label = `Sweep ${name ?? sweepId}`;
      widget.title.caption = `Compare sweep ${name ?? ''} (${sweepId})`;
    };
    setTitle();
    model.changed.connect(setTitle);
    widget.disposed.connect(() => model.dispose());
    model.start();
    void this.sweepViews.add(widget);
    this._show(widget);
    app.shell.activateById(widget.id);
  }

  /**
   * Add a view to the main area. Notebook 7's shell holds one widget there (the notebook)
   * and ignores the request: the view then goes to its bottom panel, under the notebook.
   */
  private _show(
    widget:
      | MainAreaWidget<RunView>
      | MainAreaWidget<CompareView>
      | MainAreaWidget<SweepView>,
    options?: Parameters<JupyterFrontEnd['shell']['add']>[2]
  ): void {
    const { shell } = this._options.app;
    shell.add(widget, 'main', options);
    if (widget.isAttached || widget.isDisposed) {
      return;
    }
    shell.add(widget, 'down');
    let area: Widget | null = widget.parent;
    while (area && !(area.parent instanceof SplitPanel)) {
      area = area.parent;
    }
    const opening = area !== null && area.isHidden;
    shell.activateById(widget.id);
    // That panel, when it opens, is only a tab bar tall: give it the lower half of the page.
    const split = area?.parent;
    if (opening && split instanceof SplitPanel) {
      split.setRelativeSizes(
        split.widgets.map(w => (w === area ? 0.55 : 0.45))
      );
    }
  }

  private _createRunView(runId: string): MainAreaWidget<RunView> {
    const { client, runs, actions } = this._options;
    const model = new RunModel(client, runId, {
      log: true,
      logTailBytes: 131072,
      chart: true
    });
    const content = new RunView(
      model,
      {
        ...actions,
        pin: id => this.pinRun(id),
        // Following a link keeps this view: the other run gets a tab of its own.
        open: id => {
          this.pinRun(runId);
          this.openRun(id, { pinned: true });
        },
        compare: ids => this.openCompare(ids)
      },
      this._options.editorServices ?? null
    );
    const widget = new MainAreaWidget({ content });
    widget.id = `trackrun-run-${runId}`;
    widget.title.icon = trackrunIcon;
    widget.title.closable = true;
    widget.title.dataset = { 'trackrun-run': runId }; // Lumino writes data-KEY as given
    const setTitle = (): void => {
      const detail = model.detail;
      const preview = this._preview === widget ? ` ${PREVIEW_CLASS}` : '';
      widget.title.label = detail ? detail.name : runId;
      widget.title.caption = detail
        ? `${detail.name} (${runId}): ${detail.status}`
        : runId;
      widget.title.className =
        (detail ? `trackrun-status-${detail.status}` : '') + preview;
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
    widget.disposed.connect(() => {
      if (this._preview === widget) {
        this._preview = null;
      }
      model.dispose();
    });
    model.start();
    void this.runViews.add(widget);
    return widget;
  }

  private _options: IViewOpenerOptions;
  private _preview: MainAreaWidget<RunView> | null = null;
}
