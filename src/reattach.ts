// Reattaching from the browser: open the run's notebook and run `%track_run --attach ID` in it.
import { PageConfig } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';

/**
 * The path of `notebook` (absolute, as a run records it) relative to the server root, or
 * null when it lies outside the root (or the root is unknown).
 */
export function serverRelativePath(
  notebook: string,
  root: string
): string | null {
  const norm = (p: string): string => p.replace(/\\/g, '/').replace(/\/+$/, '');
  const path = norm(notebook);
  let base = norm(root);
  if (!base) {
    return null;
  }
  if (base.startsWith('~')) {
    // A root written from the home folder: find its tail inside the absolute path.
    const tail = base.slice(1);
    const at = tail ? path.indexOf(tail + '/') : -1;
    if (at < 0) {
      return null;
    }
    base = path.slice(0, at + tail.length);
  }
  if (path === base || !path.startsWith(base + '/')) {
    return base === '' ? path.replace(/^\//, '') : null;
  }
  return path.slice(base.length + 1);
}

/** The cell source inserted to reattach to `runId`. */
export function attachSource(runId: string): string {
  return `%track_run --attach ${runId}`;
}

/**
 * Open `notebook` (or use the current notebook when it is unknown or outside the server
 * root), insert an attach cell below the launching cell `cellId` (else the active cell)
 * and run it. Resolves to the panel,
 * or null when there is no notebook to use.
 */
export async function reattachInNotebook(
  runId: string,
  notebook: string | null,
  cellId: string | null,
  docManager: IDocumentManager,
  tracker: INotebookTracker
): Promise<NotebookPanel | null> {
  let panel: NotebookPanel | null = null;
  const root = PageConfig.getOption('serverRoot');
  const path = notebook ? serverRelativePath(notebook, root) : null;
  if (path) {
    const widget = docManager.openOrReveal(path);
    if (widget instanceof NotebookPanel) {
      panel = widget;
    }
  }
  panel = panel ?? tracker.currentWidget;
  if (!panel) {
    return null;
  }
  await panel.context.ready;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session?.kernel;
  if (kernel) {
    // Load the magics without output first: the inserted cell stays one line, and a
    // kernel that already has them loaded prints nothing either.
    await kernel.requestExecute({
      code: 'get_ipython().extension_manager.load_extension("trackrun")',
      silent: true,
      store_history: false
    }).done;
  }
  const content = panel.content;
  // Below the cell that launched the run, when this notebook still has it.
  const launching = cellId
    ? content.widgets.findIndex(c => c.model.id === cellId)
    : -1;
  if (launching >= 0) {
    content.activeCellIndex = launching;
  }
  NotebookActions.insertBelow(content);
  const cell = content.activeCell;
  if (cell) {
    cell.model.sharedModel.setSource(attachSource(runId));
  }
  await NotebookActions.run(content, panel.sessionContext);
  return panel;
}
