import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BenchComparison, BenchReport, PruneReport, SparsityReport, WinogradResult } from '../../../extension/shared/payloads';
import { pageBridgeAvailable, queryPage, screenshotPage } from '../pageBridge';
import { activeApi, F23, sampleModel, TINY_CNN, workspaceRoot } from './helpers';

suite('palette commands', () => {
  suiteSetup(async () => {
    await activeApi();
  });

  test('Generate Winograd Matrices: F(2,3) equals the hand-derived transforms and is drawn in the results panel', async () => {
    const result = await vscode.commands.executeCommand<WinogradResult>('deepAccel.generateWinograd', { m: 2, r: 3 });
    assert.ok(result, 'the command returned its result');
    assert.deepEqual(result.AT, F23.AT);
    assert.deepEqual(result.G, F23.G);
    assert.deepEqual(result.BT, F23.BT);
    assert.equal(result.verified, true);
    assert.equal(result.multiplications.saving, 36 / 16);
    if (pageBridgeAvailable()) {
      const cells = await queryPage('[data-matrix="G"] td', { minCount: 12 });
      assert.deepEqual(cells.slice(0, 12).map((c) => c.text), F23.G.flat(), 'the webview shows G entry for entry');
      await screenshotPage('command-winograd-panel');
    }
  });

  test('Inspect Model Sparsity: the sample CNN has 524 zeros of 2018 weights, also in the panel', async () => {
    const report = await vscode.commands.executeCommand<SparsityReport>('deepAccel.inspectSparsity', vscode.Uri.file(sampleModel()));
    assert.ok(report);
    assert.equal(report.format, 'safetensors');
    assert.equal(report.total.numel, TINY_CNN.numel);
    assert.equal(report.total.zeros, TINY_CNN.zeros);
    const byName = new Map(report.tensors.map((t) => [t.name, t]));
    assert.equal(byName.get('conv2.weight')?.filters, TINY_CNN.conv2Filters);
    assert.equal(byName.get('fc.weight')?.rows, TINY_CNN.fcRows);
    if (pageBridgeAvailable()) {
      const header = await queryPage('.da-sparsity header', { textIncludes: '26.0% sparse' });
      assert.equal(header.length, 1, 'the panel header shows the overall sparsity');
      await screenshotPage('command-sparsity-panel');
    }
  });

  test('Prune Weight File: a verified pruned copy is written and the original is left byte for byte', async () => {
    const out = path.join(workspaceRoot(), 'models', 'tiny-cnn.pruned.safetensors');
    const before = readFileSync(sampleModel());
    const report = await vscode.commands.executeCommand<PruneReport>('deepAccel.pruneWeights', { file: sampleModel(), sparsity: 0.5, out });
    assert.ok(report, 'the command returned its report');
    // Hand count (scripts/makeSamples.ts): 50% per prunable tensor removes 0 + 288 + 192 weights.
    assert.equal(report.total.paramsRemoved, 480);
    assert.equal(report.export?.verified, true);
    assert.ok(existsSync(out));
    assert.deepEqual(readFileSync(sampleModel()), before, 'the original is unchanged');
    if (pageBridgeAvailable()) {
      const verdict = await queryPage('.da-prune [data-export-verified="true"]');
      assert.ok(verdict.length >= 1, 'the panel shows the verified copy');
      await screenshotPage('command-prune-panel');
    }
  });

  test('Run Convolution Benchmark: one small layer, checked against fp64, saved under .deep-accel/bench', async () => {
    const folder = path.join(workspaceRoot(), '.deep-accel', 'bench');
    const before = existsSync(folder) ? readdirSync(folder).length : 0;
    const report = await vscode.commands.executeCommand<BenchReport>('deepAccel.runBenchmark', {
      shape: { N: 1, C: 16, H: 14, W: 14, K: 16, R: 3, S: 3, stride: 1, pad: 1 },
      algos: ['im2col', 'winograd-2x3'],
      threads: 1,
      budgetMs: 60,
    });
    assert.ok(report, 'the command returned its report');
    assert.deepEqual(report.results.map((r) => r.algo).sort(), ['im2col', 'winograd-2x3']);
    for (const result of report.results) {
      assert.ok(result.gflops > 0 && Number.isFinite(result.gflops), `${result.algo} has a speed`);
      assert.ok(result.maxRelErr < 1e-3, `${result.algo} agrees with the fp64 reference (${result.maxRelErr})`);
      assert.ok(result.msMin <= result.msMedian && result.msMedian <= result.msP90);
    }
    assert.equal(readdirSync(folder).length, before + 1, 'the run was saved');
    if (pageBridgeAvailable()) {
      const rows = await queryPage('.da-bench tbody tr', { minCount: 2 });
      assert.ok(rows.some((row) => row.text.includes('winograd-2x3')), 'the dashboard lists the winograd result');
      await screenshotPage('command-bench-panel');
    }
  });

  test('Compare Saved Benchmark Runs: two saved runs are matched by layer and algorithm', async () => {
    const folder = path.join(workspaceRoot(), '.deep-accel', 'bench');
    // The same layer again, so the two runs share (layer, im2col).
    await vscode.commands.executeCommand('deepAccel.runBenchmark', { shape: { N: 1, C: 16, H: 14, W: 14, K: 16, R: 3, S: 3, stride: 1, pad: 1 }, algos: ['im2col'], threads: 1, budgetMs: 30 });
    const runs = readdirSync(folder).sort().slice(-2).map((name) => path.join(folder, name));
    assert.equal(runs.length, 2);
    const comparison = await vscode.commands.executeCommand<BenchComparison>('deepAccel.compareBenchmarks', runs);
    assert.ok(comparison);
    assert.equal(comparison.a.label, path.basename(runs[0], '.json'));
    assert.ok(comparison.b.report.results.length >= 1);
    if (pageBridgeAvailable()) {
      const matched = await queryPage('.da-bench-compare tbody tr', { textIncludes: 'im2col' });
      assert.equal(matched.length, 1, 'the im2col result of both runs is matched in one row');
      await screenshotPage('command-compare-panel');
    }
  });

  test('New Deep Accel Notebook opens a notebook of our type with runnable cells', async () => {
    const editor = await vscode.commands.executeCommand<vscode.NotebookEditor>('deepAccel.newNotebook');
    assert.equal(editor.notebook.notebookType, 'deep-accel-notebook');
    assert.ok(editor.notebook.getCells().some((cell) => cell.document.languageId === 'deep-accel'));
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('the command palette lists the Deep Accel commands under their category', async function () {
    if (!pageBridgeAvailable()) this.skip();
    await vscode.commands.executeCommand('workbench.action.quickOpen', '>Deep Accel: ');
    const rows = await queryPage('.quick-input-list .monaco-list-row', { minCount: 8, timeoutMs: 20_000 });
    const labels = rows.map((row) => row.text);
    for (const title of ['Generate Winograd Matrices', 'Inspect Model Sparsity', 'Run Convolution Benchmark', 'Prune Weight File']) {
      assert.ok(labels.some((label) => label.includes(`Deep Accel: ${title}`)), `the palette offers "Deep Accel: ${title}" (saw ${labels.join(' | ')})`);
    }
    await screenshotPage('command-palette');
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  });

  test('Show Log reveals the Deep Accel log channel', async () => {
    await vscode.commands.executeCommand('deepAccel.showLog');
    if (pageBridgeAvailable()) {
      // Only the visible lines are in the page; every line of our log carries a level such as [info].
      const lines = await queryPage('.output-view .view-line', { textIncludes: '[info]', timeoutMs: 20_000 });
      assert.ok(lines.length >= 1, 'the Deep Accel log is shown in the Output panel');
    }
    await vscode.commands.executeCommand('workbench.action.closePanel');
  });
});
