/**
 * The model report in the real extension host: the palette command times every layer in the worker
 * pool and its figures equal the CLI's JSON for the same model once both share the workspace's
 * timing cache; the command asks for the input shape of a file without a graph; the Weight
 * Inspector's Layers tab draws the report and times it on request; the view's Export for Netron
 * and Export for Model Explorer buttons (in the panel and in a notebook output) write, through the
 * save dialog, the files the CLI's --export-netron and --export-model-explorer write.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import type { ModelReport } from '../../../extension/shared/payloads';
import { clickInPage, DEFAULT_VIEWPORT, pageBridgeAvailable, queryPage, screenshotPage, setPageViewport, typeInPage } from '../pageBridge';
import { activeApi, EXTENSION_ID, sampleModel, waitFor, workspaceRoot } from './helpers';

const run = promisify(execFile);

function extensionRoot(): string {
  return vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
}

/** The small CNN of test/fixtures (conv, strided conv, depthwise, two linear layers), copied into the workspace. */
function smallCnn(): string {
  const target = path.join(workspaceRoot(), 'models', 'small_cnn.onnx');
  if (!existsSync(target)) copyFileSync(path.join(extensionRoot(), 'test', 'fixtures', 'onnx', 'small_cnn.onnx'), target);
  return target;
}

/** The figures a user compares: per layer the shape, size, sparsity, Winograd pick and every timing; the totals. */
function figures(report: ModelReport): unknown {
  return {
    layers: report.layers.map((l) => ({
      name: l.name,
      op: l.op,
      shape: l.shape,
      params: l.params,
      flops: l.flops,
      sparsity: l.sparsity,
      winograd: l.winograd.chosen,
      results: l.results?.map((r) => ({ algo: r.algo, layout: r.layout, msMedian: r.msMedian, maxAbsErr: r.maxAbsErr, errorVsDirect: r.errorVsDirect })),
      best: l.best,
      fastest: l.fastest,
    })),
    total: { params: report.total.params, flops: report.total.flops, bestMs: report.total.bestMs, timedLayers: report.total.timedLayers },
    engineBuild: report.timing?.engineBuild,
  };
}


const SMALL_CNN_ALGOS = ['im2col', 'winograd-2x3'];

/** The CLI's model report of the small CNN in the workspace (its timing cache), with `flags` added; the engine build the extension host ran. */
async function cliModel(report: ModelReport, flags: string[]): Promise<string> {
  const cli = path.join(extensionRoot(), 'dist', 'cli.js');
  const engine = report.timing!.engineBuild.startsWith('relaxed') ? [] : ['--no-experimental-wasm-relaxed-simd'];
  const { stdout } = await run(process.execPath, [...engine, cli, 'model', smallCnn(), '--algos', SMALL_CNN_ALGOS.join(','), '--budget-ms', '10', ...flags], { cwd: workspaceRoot(), maxBuffer: 16 << 20 });
  return stdout;
}

/** The text of the CLI's export of the small CNN (`flag`: --export-netron or --export-model-explorer), written in a folder of its own. */
async function cliExport(report: ModelReport, flag: string): Promise<string> {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-export-'));
  try {
    const file = path.join(folder, 'cli.json');
    await cliModel(report, [flag, file]);
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * Clicks a model view's export button and accepts the save dialog's default (beside the model),
 * as a user would; waits for the file and the view's note of what was written.
 */
async function exportThroughDialog(scope: string, target: 'netron' | 'modelExplorer', expected: string, title: string): Promise<string> {
  rmSync(expected, { force: true });
  await clickInPage(`${scope} [data-model-export="${target}"]`);
  const dialog = await queryPage('.quick-input-widget .quick-input-title', { textIncludes: title, timeoutMs: 30_000 });
  assert.equal(dialog.length, 1, `the save dialog '${title}' opened`);
  // The dialog offers the name beside the model: accepting it writes `expected`.
  await typeInPage('.quick-input-widget .quick-input-box input', { key: 'Enter' });
  await waitFor(`${expected} to be written`, () => (existsSync(expected) ? true : undefined), 30_000);
  const note = await queryPage(`${scope} [data-model-export-status]`, { textIncludes: expected, timeoutMs: 10_000 });
  assert.equal(note.length >= 1, true, 'the view says what was written');
  return readFileSync(expected, 'utf8');
}

suite('model report', () => {
  suiteSetup(async () => {
    await activeApi();
  });

  test('Analyze Model: every layer timed in the worker pool, the figures equal the CLI JSON of the same model with the cache, and the panel draws them', async () => {
    const file = smallCnn();
    const report = await vscode.commands.executeCommand<ModelReport>('deepAccel.analyzeModel', { file, algos: ['im2col', 'winograd-2x3'], budgetMs: 10, threads: 1 });
    assert.ok(report, 'the command returned its report');
    assert.ok(report.timing!.measured > 0, 'the extension timed the layers itself');
    assert.equal(report.timing?.cacheFile, path.join(workspaceRoot(), '.deep-accel', 'model-timings.json'));
    // The CLI on the same model in the same workspace, with the engine build the extension host ran
    // (Node 20 validates relaxed SIMD only behind a flag the CLI sets; VS Code's Electron has it on).
    const cli = path.join(extensionRoot(), 'dist', 'cli.js');
    const flags = report.timing!.engineBuild.startsWith('relaxed') ? [] : ['--no-experimental-wasm-relaxed-simd'];
    const { stdout } = await run(process.execPath, [...flags, cli, 'model', file, '--algos', 'im2col,winograd-2x3', '--budget-ms', '10', '--json'], { cwd: workspaceRoot(), maxBuffer: 16 << 20 });
    const fromCli = JSON.parse(stdout) as ModelReport;
    assert.equal(fromCli.timing?.engineBuild, report.timing!.engineBuild);
    assert.equal(fromCli.timing?.measured, 0, 'the CLI timed nothing again: every figure came from the cache');
    assert.equal(fromCli.timing?.cacheHits, report.timing!.measured + report.timing!.cacheHits);
    assert.deepEqual(figures(fromCli), figures(report));
    assert.equal(report.total.bestMs, report.layers.reduce((sum, l) => sum + (l.best?.msMedian ?? 0), 0), 'total best = the sum of the rows');
    assert.deepEqual(report.layers.map((l) => l.name), ['c1', 'c2', 'c3', 'logits', 'y']);
    if (pageBridgeAvailable()) {
      const rows = await queryPage('.da-model tbody tr', { minCount: 5, timeoutMs: 30_000 });
      assert.equal(rows.length, 5);
      for (const layer of report.layers) assert.ok(rows.some((row) => row.text.startsWith(layer.name) && row.text.includes(layer.best!.algo)), `${layer.name} drawn with its best, ${layer.best!.algo}`);
      const total = await queryPage('.da-model tfoot td[data-key="bestMs"]');
      assert.match(total[0]?.html ?? '', new RegExp(`title="${String(report.total.bestMs).replace('.', '\\.')} ms"`));
      assert.equal((await queryPage('.da-model canvas', { minCount: 2 })).length, 2, 'the time bar and the time-against-error scatter');
      await screenshotPage('command-model-panel');
    }
  });

  test('Analyze Model on weights without a graph asks for the input shape, refusing a bad one as typed, then times the layers', async function () {
    if (!pageBridgeAvailable()) this.skip();
    const config = vscode.workspace.getConfiguration('deepAccel');
    await config.update('model.budgetMs', 10, vscode.ConfigurationTarget.Global);
    try {
      const pending = vscode.commands.executeCommand<ModelReport | undefined>('deepAccel.analyzeModel', vscode.Uri.file(sampleModel()));
      const input = '.quick-input-widget .quick-input-box input';
      const title = await queryPage('.quick-input-widget .quick-input-title', { textIncludes: 'Input shape of tiny-cnn.safetensors', timeoutMs: 30_000 });
      assert.equal(title.length, 1, 'the command asks for the input shape');
      await typeInPage(input, { text: '1,3,h' });
      const problem = await queryPage('.quick-input-widget .quick-input-message', { textIncludes: 'whole numbers', timeoutMs: 10_000 });
      assert.ok(problem.length >= 1, 'the box says what is wrong while typing');
      await typeInPage(input, { key: 'Control+a' });
      await typeInPage(input, { text: '1,3,16,16', key: 'Enter' });
      const report = await pending;
      assert.ok(report, 'the report was made');
      assert.deepEqual(report.input, { shape: [1, 3, 16, 16], from: 'option' });
      // tiny-cnn (scripts/makeSamples.ts): conv1 [8,3,3,3] and conv2 [16,8,3,3] at 16x16 (stride 1, same padding assumed), fc [10,64].
      const byWeight = new Map(report.layers.map((l) => [l.weight, l]));
      assert.equal(byWeight.get('conv1.weight')?.flops, 2 * 8 * 3 * 9 * 16 * 16);
      assert.equal(byWeight.get('conv2.weight')?.flops, 2 * 16 * 8 * 9 * 16 * 16);
      assert.ok(byWeight.get('conv2.weight')?.best, 'conv2 was timed');
      assert.equal(report.timing?.budgetMs, 10, 'the budget setting was used');
    } finally {
      await config.update('model.budgetMs', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('the Weight Inspector has a Layers tab: the layers of the file at once, timed on the engine on request, and onnxruntime beside it when asked', async function () {
    if (!pageBridgeAvailable()) this.skip();
    this.timeout(240_000);
    const config = vscode.workspace.getConfiguration('deepAccel');
    await config.update('model.budgetMs', 10, vscode.ConfigurationTarget.Global);
    try {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(smallCnn()), 'deepAccel.weightInspector');
      const view = '[data-deep-accel-view="weightInspector"]';
      await queryPage(`${view} .da-sparsity header`, { textIncludes: 'small_cnn.onnx', timeoutMs: 30_000 });
      await clickInPage(`${view} .da-inspector-tabs .da-tab`, { textIncludes: 'Layers' });
      const rows = await queryPage(`${view} .da-layers .da-model tbody tr`, { minCount: 5, timeoutMs: 30_000 });
      // Each row starts with the layer's name, then its place in the file.
      assert.deepEqual(rows.map((r, i) => r.text.startsWith(`${['c1', 'c2', 'c3', 'logits', 'y'][i]}${i + 1}`)), [true, true, true, true, true], rows.map((r) => r.text).join(' | '));
      const note = await queryPage(`${view} .da-layers [data-assumption="timing"]`);
      assert.match(note[0]?.text ?? '', /^Not timed/);
      await clickInPage(`${view} .da-layers [data-time-layers]`);
      const timed = await queryPage(`${view} .da-layers .da-model tfoot td`, { textIncludes: '5 timed', timeoutMs: 60_000 });
      assert.equal(timed.length, 1, 'every layer timed');
      const assumption = await queryPage(`${view} .da-layers [data-assumption="timing"]`, { textIncludes: 'Timed on the engine' });
      assert.match(assumption[0]?.text ?? '', /from the cache \(.*model-timings\.json\)/);
      await screenshotPage('custom-editor-layers-tab');
      // onnxruntime-node (an optional dependency, installed here) timed beside the engine in a child process, on request.
      await clickInPage(`${view} .da-layers [data-time-peer]`);
      await clickInPage(`${view} .da-layers [data-time-layers]`);
      const peer = await queryPage(`${view} .da-layers [data-assumption="peer"]`, { textIncludes: 'onnxruntime-node', timeoutMs: 90_000 });
      assert.match(peer[0]?.text ?? '', /^Peer: onnxruntime-node [\d.]+ \(1 thread\) on the same layers; the whole model end to end: [\d.e-]+ ms\.$/);
      const peerTotal = await queryPage(`${view} .da-layers .da-model tfoot td[data-key="peerMs"]`);
      assert.match(peerTotal[0]?.html ?? '', /title="[\d.e-]+ ms over 5 layers"/, 'every layer timed by the peer, summed in the totals row');
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    } finally {
      await config.update('model.budgetMs', undefined, vscode.ConfigurationTarget.Global);
    }
  });
  test('Export for Netron in the Analyze Model panel writes, through the save dialog, the attachment the CLI writes with --export-netron', async function () {
    if (!pageBridgeAvailable()) this.skip();
    this.timeout(180_000);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const file = smallCnn();
    const report = await vscode.commands.executeCommand<ModelReport>('deepAccel.analyzeModel', { file, algos: SMALL_CNN_ALGOS, budgetMs: 10, threads: 1 });
    assert.ok(report?.total.pruned, 'the report has the pruning what-if');
    const written = await exportThroughDialog('.da-model', 'netron', `${file}.netron.json`, 'Export for Netron: small_cnn.onnx');
    assert.equal(written, await cliExport(report, '--export-netron'), 'the same file as the CLI export, byte for byte');
    const attachment = JSON.parse(written) as { signature: string; metrics: { target: string; name: string; value: number | string }[] };
    assert.equal(attachment.signature, 'netron:attachment');
    const c2 = report.layers.find((l) => l.name === 'c2')!;
    assert.deepEqual(attachment.metrics.find((m) => m.target === 'c2' && m.name === 'deep-accel best ms')?.value, c2.best!.msMedian);
    assert.deepEqual(attachment.metrics.find((m) => m.target === 'c2' && m.name === 'deep-accel pruned 50% FLOPs')?.value, c2.pruned!.flops);
  });

  test('the model panel in a narrow and a wide window: the pruned columns and export buttons drawn, screenshots at about 500 and 1400 px', async function () {
    if (!pageBridgeAvailable()) this.skip();
    this.timeout(120_000);
    const file = smallCnn();
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    try {
      const report = await vscode.commands.executeCommand<ModelReport>('deepAccel.analyzeModel', { file, algos: SMALL_CNN_ALGOS, budgetMs: 10, threads: 1 });
      await vscode.commands.executeCommand('workbench.action.joinAllGroups');
      for (const width of [550, 1450]) {
        await setPageViewport(width, 1000);
        const speedups = await queryPage('.da-model tbody tr', { minCount: 5, timeoutMs: 30_000 });
        assert.equal(speedups.length, 5);
        const total = await queryPage('.da-model tfoot td[data-key="flopsRemoved"]');
        assert.match(total[0]?.html ?? '', new RegExp(`title="${report!.total.pruned!.flopsRemoved} FLOPs`), 'the totals row: the FLOPs the what-if removes, the sum of the rows');
        assert.equal((await queryPage('.da-model [data-model-export]', { minCount: 2 })).length, 2);
        await screenshotPage(`model-panel-${width - 50}px`);
        // Clicking the table's heading scrolls the panel to it, as a user scrolls down to the layers.
        await clickInPage('.da-model .da-section h3', { textIncludes: 'Layers' });
        await screenshotPage(`model-panel-${width - 50}px-table`);
      }
    } finally {
      await setPageViewport(DEFAULT_VIEWPORT.width, DEFAULT_VIEWPORT.height);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  test('Export for Model Explorer from a notebook output goes through renderer messaging and writes what the CLI writes with --export-model-explorer', async function () {
    if (!pageBridgeAvailable()) this.skip();
    this.timeout(180_000);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const file = smallCnn();
    const notebookFile = path.join(workspaceRoot(), 'model-export.deepaccel');
    writeFileSync(notebookFile, JSON.stringify({ deepAccelNotebook: 1, cells: [{ kind: 'code', language: 'deep-accel', source: `model models/small_cnn.onnx algos=${SMALL_CNN_ALGOS.join(',')} budget=10` }] }));
    const notebook = await vscode.workspace.openNotebookDocument(vscode.Uri.file(notebookFile));
    await vscode.window.showNotebookDocument(notebook);
    await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start: 0, end: 1 }], document: notebook.uri });
    await waitFor('the model cell to finish', () => (notebook.cellAt(0).executionSummary?.success !== undefined ? true : undefined), 120_000);
    assert.equal(notebook.cellAt(0).executionSummary?.success, true);
    const item = notebook.cellAt(0).outputs.flatMap((o) => o.items).find((i) => i.mime === 'application/vnd.deep-accel.model+json');
    const report = JSON.parse(new TextDecoder().decode(item!.data)) as ModelReport;
    await queryPage('.da-model tbody tr', { minCount: 5, timeoutMs: 30_000 });
    // A window tall enough for the whole output: the notebook scrolls its own list, which a click inside the output frame does not.
    await setPageViewport(DEFAULT_VIEWPORT.width, 2400);
    let written: string;
    try {
      written = await exportThroughDialog('.da-model', 'modelExplorer', `${file}.model-explorer.json`, 'Export for Model Explorer: small_cnn.onnx');
      await screenshotPage('notebook-model-export');
    } finally {
      await setPageViewport(DEFAULT_VIEWPORT.width, DEFAULT_VIEWPORT.height);
    }
    assert.equal(written!, await cliExport(report, '--export-model-explorer'), 'the same file as the CLI export, byte for byte');
    const data = JSON.parse(written) as { results: Record<string, { value: number }> };
    assert.deepEqual(Object.keys(data.results), ['c1', 'c2', 'c3', 'logits', 'y']);
    assert.equal(data.results.c1!.value, report.layers[0]!.best!.msMedian);
    await notebook.save();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
