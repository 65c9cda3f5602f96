// Code shown read-only with JupyterLab's own editor (CodeMirror, the user's editor settings
// and theme), highlighted by the language of its file name; plain text without an editor.
import { CodeEditor, IEditorServices } from '@jupyterlab/codeeditor';
import React, { useEffect, useRef } from 'react';

export function CodeViewer(props: {
  text: string;
  /** The file's name: its extension chooses the highlighting (`cell.py`: Python). */
  fileName: string;
  /** JupyterLab's editor services; null shows plain text (a frontend without them). */
  editors: IEditorServices | null;
  className?: string;
}): JSX.Element {
  const { text, fileName, editors } = props;
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const node = host.current;
    if (!editors || !node) {
      return;
    }
    const model = new CodeEditor.Model({
      mimeType: editors.mimeTypeService.getMimeTypeByFilePath(fileName)
    });
    model.sharedModel.setSource(text);
    const editor = editors.factoryService.newDocumentEditor({
      host: node,
      model,
      config: { readOnly: true, lineNumbers: true, lineWrap: false }
    });
    return () => {
      editor.dispose();
      model.dispose();
      node.replaceChildren();
    };
  }, [editors, text, fileName]);
  const className = props.className ? ` ${props.className}` : '';
  if (!editors) {
    return <pre className={`trackrun-Code${className}`}>{text}</pre>;
  }
  return (
    <div
      ref={host}
      className={`trackrun-CodeViewer jp-CodeMirrorEditor${className}`}
      data-file={fileName}
    />
  );
}
