/** The NotebookSerializer of .deepaccel files; the file format itself is in core/notebook/notebookFile. */
import * as vscode from 'vscode';
import { decodeItem, encodeItem, NOTEBOOK_FORMAT_VERSION, parseNotebook, stringifyNotebook, type StoredCell } from './core/notebook/notebookFile';

export const NOTEBOOK_TYPE = 'deep-accel-notebook';
export const CELL_LANGUAGE = 'deep-accel';

export class DeepAccelNotebookSerializer implements vscode.NotebookSerializer {
  deserializeNotebook(content: Uint8Array): vscode.NotebookData {
    const stored = parseNotebook(new TextDecoder().decode(content));
    const cells = stored.cells.map((cell) => {
      const data = new vscode.NotebookCellData(
        cell.kind === 'markdown' ? vscode.NotebookCellKind.Markup : vscode.NotebookCellKind.Code,
        cell.source,
        cell.kind === 'markdown' ? 'markdown' : cell.language || CELL_LANGUAGE,
      );
      data.outputs = (cell.outputs ?? []).map(
        (output) => new vscode.NotebookCellOutput(output.items.map((item) => new vscode.NotebookCellOutputItem(decodeItem(item), item.mime)), output.metadata),
      );
      data.metadata = cell.metadata;
      return data;
    });
    const notebook = new vscode.NotebookData(cells);
    notebook.metadata = stored.metadata;
    return notebook;
  }

  serializeNotebook(data: vscode.NotebookData): Uint8Array {
    const cells: StoredCell[] = data.cells.map((cell) => ({
      kind: cell.kind === vscode.NotebookCellKind.Markup ? 'markdown' : 'code',
      language: cell.languageId,
      source: cell.value,
      outputs: cell.outputs?.map((output) => ({ items: output.items.map((item) => encodeItem(item.mime, item.data)), metadata: output.metadata })),
      metadata: cell.metadata && Object.keys(cell.metadata).length ? cell.metadata : undefined,
    }));
    return new TextEncoder().encode(stringifyNotebook({ deepAccelNotebook: NOTEBOOK_FORMAT_VERSION, metadata: data.metadata, cells }));
  }
}
