// Code shown read-only with JupyterLab's own editor (CodeMirror, the user's editor settings
// and theme), highlighted by the language of its file name; plain text without an editor.
import { Extension, RangeSetBuilder } from '@codemirror/state';
import { Decoration, EditorView } from '@codemirror/view';
import { CodeEditor, IEditorServices } from '@jupyterlab/codeeditor';
import React, { useEffect, useRef } from 'react';

/** An editor that takes CodeMirror extensions (JupyterLab's CodeMirrorEditor does). */
interface IExtensible {
  injectExtension(extension: Extension): void;
}

/** CodeMirror decorations giving line i (from 0) the class `classes[i]` ('' for none). */
function lineClassExtension(classes: readonly string[]): Extension {
  return EditorView.decorations.of(view => {
    const builder = new RangeSetBuilder<Decoration>();
    const doc = view.state.doc;
    classes.forEach((name, i) => {
      if (name && i < doc.lines) {
        const line = doc.line(i + 1);
        builder.add(line.from, line.from, Decoration.line({ class: name }));
      }
    });
    return builder.finish();
  });
}

export function CodeViewer(props: {
  text: string;
  /** The file's name: its extension chooses the highlighting (`cell.py`: Python). */
  fileName: string;
  /** JupyterLab's editor services; null shows plain text (a frontend without them). */
  editors: IEditorServices | null;
  className?: string;
  /** A class per line (from the first), e.g. to mark lines added or removed. */
  lineClasses?: readonly string[];
  lineNumbers?: boolean;
}): JSX.Element {
  const { text, fileName, editors } = props;
  const host = useRef<HTMLDivElement>(null);
  const lineClasses = (props.lineClasses ?? []).join('\n');
  const lineNumbers = props.lineNumbers ?? true;
  useEffect(() => {
    const node = host.current;
    if (!editors || !node) {
      return;
    }
    const model = new CodeEditor.Model({
      mimeType: editors.mimeTypeService.getMimeTypeByFilePath(fileName)
    });
    model.sharedModel.setSource(text);
    const editor = editors.factoryService.newInlineEditor({
      host: node,
      model,
      config: { readOnly: true, lineNumbers, lineWrap: false }
    });
    if (lineClasses && 'injectExtension' in editor) {
      (editor as unknown as IExtensible).injectExtension(
        lineClassExtension(lineClasses.split('\n'))
      );
    }
    return () => {
      editor.dispose();
      model.dispose();
      node.replaceChildren();
    };
  }, [editors, text, fileName, lineClasses, lineNumbers]);
  const className = props.className ? ` ${props.className}` : '';
  if (!editors) {
    return <pre className={`trackrun-Code${className}`}>{text}</pre>;
  }
  return (
    <div
      ref={host}
      className={`trackrun-CodeViewer${className}`}
      data-file={fileName}
    />
  );
}
