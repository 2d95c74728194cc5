import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SparsityReport, WinogradResult } from '../../../extension/shared/payloads';
import { pageBridgeAvailable, queryPage, screenshotPage } from '../pageBridge';
import { activeApi, sampleModel, workspaceRoot } from './helpers';

/**
 * A Jupyter notebook whose outputs carry Deep Accel payloads, exactly as a Python kernel writes them
 * with IPython.display.display({mime: payload}, raw=True) (the README's snippet): our renderer must
 * draw them inside VS Code's Jupyter notebook too.
 */
suite('Jupyter: our renderer draws payloads that a Python kernel displayed', () => {
  test('an .ipynb with winograd and sparsity display_data outputs is drawn by the Deep Accel renderer', async function () {
    if (!pageBridgeAvailable()) this.skip();
    await activeApi();
    const winograd = await vscode.commands.executeCommand<WinogradResult>('deepAccel.generateWinograd', { m: 4, r: 3, errorTrials: 50 });
    const sparsity = await vscode.commands.executeCommand<SparsityReport>('deepAccel.inspectSparsity', { file: sampleModel() });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const output = (mime: string, data: unknown) => ({ output_type: 'display_data', metadata: {}, data: { [mime]: data, 'text/plain': ['<Deep Accel output>'] } });
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }, language_info: { name: 'python' } },
      cells: [
        {
          cell_type: 'code',
          id: 'deep-accel-winograd',
          metadata: {},
          execution_count: 1,
          source: ["deep_accel('winograd', '--m', '4', '--r', '3')"],
          outputs: [output('application/vnd.deep-accel.winograd+json', winograd)],
        },
        {
          cell_type: 'code',
          id: 'deep-accel-sparsity',
          metadata: {},
          execution_count: 2,
          source: ["deep_accel('sparsity', 'models/tiny-cnn.safetensors')"],
          outputs: [output('application/vnd.deep-accel.sparsity+json', sparsity)],
        },
      ],
    };
    const file = path.join(workspaceRoot(), 'from-python-kernel.ipynb');
    writeFileSync(file, JSON.stringify(notebook, null, 1));
    const document = await vscode.workspace.openNotebookDocument(vscode.Uri.file(file));
    assert.equal(document.notebookType, 'jupyter-notebook');
    await vscode.window.showNotebookDocument(document);
    const verdict = await queryPage('.da-winograd [data-verified="true"]', { timeoutMs: 30_000 });
    assert.ok(verdict.length >= 1, 'the winograd output of the .ipynb is drawn by our renderer');
    const header = await queryPage('.da-sparsity header', { textIncludes: '26.0% sparse', timeoutMs: 30_000 });
    assert.ok(header.length >= 1, 'the sparsity output of the .ipynb is drawn by our renderer');
    await screenshotPage('jupyter-notebook-outputs');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
