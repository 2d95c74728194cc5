import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SparsityReport, WinogradResult } from '../../../extension/shared/payloads';
import { pageBridgeAvailable, queryPage, screenshotPage } from '../pageBridge';
import { activeApi, F23, TINY_CNN, waitFor, workspaceRoot } from './helpers';

const WINOGRAD_MIME = 'application/vnd.deep-accel.winograd+json';
const SPARSITY_MIME = 'application/vnd.deep-accel.sparsity+json';
const ERROR_MIME = 'application/vnd.code.notebook.error';

function outputJson<T>(cell: vscode.NotebookCell, mime: string): T | undefined {
  for (const output of cell.outputs) {
    const item = output.items.find((i) => i.mime === mime);
    if (item) return JSON.parse(new TextDecoder().decode(item.data)) as T;
  }
  return undefined;
}

async function runCells(notebook: vscode.NotebookDocument, start: number, end: number): Promise<void> {
  await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start, end }], document: notebook.uri });
  // The command resolves when execution is queued; wait until every cell has finished.
  await waitFor('cells to finish', () => (notebook.getCells().slice(start, end).every((cell) => cell.executionSummary?.success !== undefined) ? true : undefined), 60_000);
}

suite('notebook: serializer, controller, renderer', () => {
  suiteSetup(async () => {
    await activeApi();
  });

  test('a Winograd cell runs through the controller and the renderer draws it in the page', async () => {
    const file = path.join(workspaceRoot(), 'run-winograd.deepaccel');
    copyFileSync(path.join(workspaceRoot(), 'demo.deepaccel'), file);
    const notebook = await vscode.workspace.openNotebookDocument(vscode.Uri.file(file));
    await vscode.window.showNotebookDocument(notebook);
    await runCells(notebook, 1, 2);
    const cell = notebook.cellAt(1);
    assert.equal(cell.executionSummary?.success, true);
    const result = outputJson<WinogradResult>(cell, WINOGRAD_MIME);
    assert.ok(result, 'the cell has a winograd output');
    assert.equal(result.m, 4);
    assert.equal(result.alpha, 6);
    assert.equal(result.verified, true);
    assert.equal(result.multiplications.saving, 4);
    if (pageBridgeAvailable()) {
      const verdict = await queryPage('.da-winograd [data-verified="true"]', { timeoutMs: 30_000 });
      assert.ok(verdict.length >= 1, 'the renderer drew the verdict inside the notebook output frame');
      const matrices = await queryPage('.da-winograd [data-matrix="AT"] tr', { minCount: 4 });
      assert.equal(matrices.length >= 4, true, 'AT of F(4,3) has 4 rows in the page');
      await screenshotPage('notebook-winograd-output');
    }
    // Outputs are saved with the notebook.
    await notebook.save();
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    const items = saved.cells[1].outputs[0].items as { mime: string; data: WinogradResult }[];
    const stored = items.find((item) => item.mime === WINOGRAD_MIME);
    assert.ok(stored, 'the saved file holds the winograd output');
    assert.equal(stored.data.m, 4);
    assert.deepEqual(stored.data.AT, result.AT);
  });

  test('a bad cell fails with a clear error and the other cells still run', async () => {
    const data = new vscode.NotebookData([
      new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'winograd F(2,3)', 'deep-accel'),
      new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'bogus command', 'deep-accel'),
      new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'sparsity models/does-not-exist.onnx', 'deep-accel'),
      new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'sparsity models/tiny-cnn.safetensors', 'deep-accel'),
    ]);
    const notebook = await vscode.workspace.openNotebookDocument('deep-accel-notebook', data);
    const editor = await vscode.window.showNotebookDocument(notebook);
    await runCells(notebook, 0, 4);
    const [winograd, bogus, missing, sparsity] = notebook.getCells();
    assert.deepEqual(outputJson<WinogradResult>(winograd, WINOGRAD_MIME)?.G, F23.G);
    assert.equal(bogus.executionSummary?.success, false);
    assert.match(outputJson<{ message: string }>(bogus, ERROR_MIME)?.message ?? '', /line 1: unknown command 'bogus'/);
    assert.equal(missing.executionSummary?.success, false);
    assert.match(outputJson<{ message: string }>(missing, ERROR_MIME)?.message ?? '', /models\/does-not-exist\.onnx: no such file/);
    const report = outputJson<SparsityReport>(sparsity, SPARSITY_MIME);
    assert.equal(sparsity.executionSummary?.success, true);
    assert.equal(report?.total.zeros, TINY_CNN.zeros);
    if (pageBridgeAvailable()) {
      // The notebook draws only the outputs in view: bring the last cell into view.
      editor.revealRange(new vscode.NotebookRange(3, 4), vscode.NotebookEditorRevealType.InCenter);
      editor.selection = new vscode.NotebookRange(3, 4);
      const header = await queryPage('.da-sparsity header', { textIncludes: 'tiny-cnn.safetensors', timeoutMs: 45_000 });
      assert.ok(header.length >= 1, 'the sparsity output is drawn');
      await screenshotPage('notebook-errors-and-sparsity');
    }
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('the cell language offers completion and hover', async () => {
    const data = new vscode.NotebookData([new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'bench resnet18 al', 'deep-accel')]);
    const notebook = await vscode.workspace.openNotebookDocument('deep-accel-notebook', data);
    const cellUri = notebook.cellAt(0).document.uri;
    const commands = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', cellUri, new vscode.Position(0, 0));
    const labels = commands.items.map((item) => (typeof item.label === 'string' ? item.label : item.label.label));
    for (const name of ['winograd', 'sparsity', 'bench', 'help']) assert.ok(labels.includes(name), `completion offers ${name}`);
    const options = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', cellUri, new vscode.Position(0, 17));
    assert.ok(options.items.some((item) => item.label === 'algos='), 'completion offers the algos= option of bench');
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', cellUri, new vscode.Position(0, 2));
    const text = hovers.flatMap((hover) => hover.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /\*\*bench\*\*: Benchmark convolution algorithms/);
  });
});
