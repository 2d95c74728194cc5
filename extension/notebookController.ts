/**
 * The notebook controller: runs Deep Accel cells. Each line of a cell is a command (see
 * core/notebook/cellLanguage); its result becomes a rich output that the renderer draws, plus a plain
 * text line. A bad cell fails with an error output and the next cells still run.
 */
import * as vscode from 'vscode';
import { type CellContext, executeCell, plainSummary } from './core/notebook/executeCell';
import { runBenchCommand } from './bench';
import { CELL_LANGUAGE, NOTEBOOK_TYPE } from './notebookSerializer';
import { isCancellation, searchFoldersFor, type Services } from './services';
import { mimeTypeOf } from './shared/payloads';

export class DeepAccelNotebookController implements vscode.Disposable {
  private readonly controller: vscode.NotebookController;
  private executionOrder = 0;

  constructor(private readonly services: Services) {
    this.controller = vscode.notebooks.createNotebookController('deep-accel-controller', NOTEBOOK_TYPE, 'Deep Accel');
    this.controller.supportedLanguages = [CELL_LANGUAGE];
    this.controller.supportsExecutionOrder = true;
    this.controller.description = 'Winograd, sparsity and benchmark commands';
    this.controller.executeHandler = (cells, notebook) => this.executeAll(cells, notebook);
  }

  private async executeAll(cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument): Promise<void> {
    for (const cell of cells) await this.execute(cell, notebook);
  }

  private async execute(cell: vscode.NotebookCell, notebook: vscode.NotebookDocument): Promise<void> {
    const execution = this.controller.createNotebookCellExecution(cell);
    execution.executionOrder = ++this.executionOrder;
    execution.start(Date.now());
    await execution.clearOutput();
    const abort = new AbortController();
    const subscription = execution.token.onCancellationRequested(() => abort.abort());
    let success = true;
    try {
      const context: CellContext = {
        runner: this.services,
        searchFolders: searchFoldersFor(notebook.uri),
        signal: abort.signal,
        defaultPrecision: this.services.config.get('winograd.precision'),
        runBench: (bench, options) => runBenchCommand(this.services, bench, options),
        workspace: vscode.workspace.getWorkspaceFolder(notebook.uri)?.uri.fsPath,
        allowTiming: vscode.workspace.isTrusted,
      };
      await executeCell(cell.document.getText(), context, {
        started: (command) => this.services.log.info(`cell ${cell.index + 1}, line ${command.line + 1}: ${command.text}`),
        output: (payload) =>
          execution.appendOutput(
            new vscode.NotebookCellOutput([
              vscode.NotebookCellOutputItem.json(payload.data, mimeTypeOf(payload.kind)),
              vscode.NotebookCellOutputItem.text(plainSummary(payload)),
            ]),
          ),
      });
    } catch (error) {
      success = false;
      const message = isCancellation(error) ? 'Cancelled.' : error instanceof Error ? error.message : String(error);
      if (!isCancellation(error)) this.services.log.warn(`cell ${cell.index + 1} failed: ${message}`);
      // The message alone (it names the line): no class name, no stack, since these are the
      // user's mistakes (bad syntax, a missing file), not crashes. VS Code shows a nameless error
      // as its message.
      await execution.appendOutput(new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.error({ name: '', message })]));
    } finally {
      subscription.dispose();
      execution.end(success, Date.now());
    }
  }

  dispose(): void {
    this.controller.dispose();
  }
}
