/**
 * The palette flows as a user goes through them: keys typed into the quick input, problems shown
 * under the text while typing, Enter refused until the text is right, and no error notification
 * for a typo. Needs the page (the offline runner); skipped under @vscode/test-electron.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { BenchComparison, BenchReport, PruneReport, WinogradResult } from '../../../extension/shared/payloads';
import { pageBridgeAvailable, queryPage, screenshotPage, typeInPage } from '../pageBridge';
import { activeApi, sampleModel } from './helpers';

const INPUT = '.quick-input-widget .quick-input-box input';

/** Waits for the quick input to show `title`; fails with what it shows instead. */
async function expectTitle(title: string): Promise<void> {
  const titles = await queryPage('.quick-input-widget .quick-input-title', { textIncludes: title, timeoutMs: 20_000 });
  if (titles.length === 0) {
    const shown = await queryPage('.quick-input-widget .quick-input-title', { timeoutMs: 0 });
    assert.fail(`the quick input should ask "${title}", it shows "${shown.map((t) => t.text).join(' | ')}"`);
  }
}

/** The problem shown under the input box (waits for text containing `expected`). */
async function expectProblem(expected: string): Promise<void> {
  const messages = await queryPage('.quick-input-widget .quick-input-message', { textIncludes: expected, timeoutMs: 10_000 });
  if (messages.length === 0) {
    const shown = await queryPage('.quick-input-widget .quick-input-message', { timeoutMs: 0 });
    assert.fail(`the input box should say "${expected}", it says "${shown.map((m) => m.text).join(' | ')}"`);
  }
}

/** Waits for the quick input to ask `title`, then types `text` and presses Enter. */
async function answer(title: string, text: string): Promise<void> {
  await expectTitle(title);
  await typeInPage(INPUT, { text, key: 'Enter' });
}

async function errorToasts(): Promise<string[]> {
  return (await queryPage('.notifications-toasts .notification-toast', { timeoutMs: 500 })).map((toast) => toast.text).filter((text) => /error|failed/i.test(text));
}

suite('palette input, typed', () => {
  suiteSetup(async function () {
    if (!pageBridgeAvailable()) this.skip();
    await activeApi();
  });

  test('Generate Winograd: points are checked as typed (repeat, count for F(4,3)); the placeholder has 5 points; Enter waits for valid text', async () => {
    const pending = vscode.commands.executeCommand<WinogradResult | undefined>('deepAccel.generateWinograd');
    await answer('Output tile size m', '4');
    await answer('Filter size r of F(4, r)', '3');
    await answer('Interpolation points of F(4, 3)', 'Enter points');
    await expectTitle('F(4, 3): 5 distinct finite points');
    const [box] = await queryPage(INPUT);
    assert.match(box.html, /placeholder="0, 5\/8, -5\/8, 3\/2, -3\/2"/, 'the placeholder shows as many points as F(4,3) needs');
    await typeInPage(INPUT, { text: '0, 1, 1' });
    await expectProblem('"1" appears twice');
    await typeInPage(INPUT, { text: '0, 1, -1, 1/x' });
    await expectProblem('point 4 "1/x" is not a number');
    await typeInPage(INPUT, { text: '0, 1, -1', key: 'Enter' });
    await expectProblem('F(4, 3) needs 5 distinct points (the point at infinity is added): 3 given');
    await screenshotPage('palette-points-typed');
    // Enter did not accept the box: it still asks for the points, and nothing failed.
    await expectTitle('F(4, 3): 5 distinct finite points');
    assert.deepEqual(await errorToasts(), []);
    await typeInPage(INPUT, { text: '0, 1, -1, 2, -2', key: 'Enter' });
    await answer('Precision to highlight', 'fp16');
    const result = await pending;
    assert.ok(result, 'the command ran with the typed points');
    assert.deepEqual(result.points, ['0', '1', '-1', '2', '-2']);
    assert.equal(result.verified, true);
  });

  test('Run Convolution Benchmark: a typo in the custom shape is shown while typing, never a modal error; threads are asked for', async () => {
    const settings = vscode.workspace.getConfiguration('deepAccel');
    const budget = settings.inspect<number>('bench.budgetMs')?.globalValue;
    await settings.update('bench.budgetMs', 20, vscode.ConfigurationTarget.Global);
    try {
      const pending = vscode.commands.executeCommand<BenchReport | undefined>('deepAccel.runBenchmark');
      await answer('Layers to benchmark', 'Custom shape');
      await answer('Layer shape', '1,8,12,12,8,3');
      await expectProblem('7, 9, 10 or 11 integers');
      await typeInPage(INPUT, { text: '1,8,12,12,8,3,3,1,y', key: 'Enter' });
      await expectProblem("item 9 ('y')");
      await expectTitle('Layer shape');
      assert.deepEqual(await errorToasts(), [], 'no error notification for a typo');
      await typeInPage(INPUT, { text: '1,8,12,12,8,3,3,1,1', key: 'Enter' });
      await expectTitle('Threads for the benchmark');
      const rows = await queryPage('.quick-input-widget .quick-input-list .monaco-list-row', { minCount: 2 });
      assert.match(rows[0].text, /default/, `the setting's count comes first (saw ${rows.map((r) => r.text).join(' | ')})`);
      await screenshotPage('palette-bench-threads');
      await typeInPage(INPUT, { text: '1', key: 'Enter' });
      await expectTitle('Algorithms');
      await typeInPage(INPUT, { key: 'Enter' });
      const report = await pending;
      assert.ok(report, 'the benchmark ran');
      assert.ok(report.results.length >= 2);
      assert.ok(report.results.every((r) => r.threads === 1), 'every result ran on the 1 thread chosen');
      assert.deepEqual(report.results[0].shape, { N: 1, C: 8, H: 12, W: 12, K: 8, R: 3, S: 3, stride: 1, pad: 1 });
      const subtitle = await queryPage('.da-bench .da-subtitle', { textIncludes: '· 1 thread' });
      assert.equal(subtitle.length, 1, 'the dashboard says how many threads ran');
    } finally {
      await settings.update('bench.budgetMs', budget, vscode.ConfigurationTarget.Global);
    }
  });

  test('Compare Saved Benchmark Runs: pick A, then B, each listed by date, threads and layers; opened in the active group', async () => {
    // Two runs of their own, so the test does not depend on the others: 1 thread, then 2.
    for (const threads of [1, 2]) {
      await vscode.commands.executeCommand('deepAccel.runBenchmark', { shape: { N: 1, C: 8, H: 12, W: 12, K: 8, R: 3, S: 3, stride: 1, pad: 1 }, algos: ['im2col'], threads, budgetMs: 20 });
    }
    const pending = vscode.commands.executeCommand<BenchComparison | undefined>('deepAccel.compareBenchmarks');
    await expectTitle('Run A, the baseline');
    const rows = await queryPage('.quick-input-widget .quick-input-list .monaco-list-row', { minCount: 2 });
    for (const row of rows) {
      assert.match(row.text, /\d{4}-\d\d-\d\d \d\d:\d\d UTC/, `each run says when it ran (saw ${row.text})`);
      assert.match(row.text, /\d+ threads?/, `each run says its threads (saw ${row.text})`);
      assert.match(row.text, /algorithms?/, `each run says its layers and algorithms (saw ${row.text})`);
    }
    await screenshotPage('palette-compare-pick');
    await typeInPage(INPUT, { key: 'Enter' });
    await expectTitle('Run B, compared with A');
    const remaining = await queryPage('.quick-input-widget .quick-input-list .monaco-list-row', { minCount: 1 });
    assert.equal(remaining.length, rows.length - 1, 'A is not offered again as B');
    await typeInPage(INPUT, { key: 'Enter' });
    const comparison = await pending;
    assert.ok(comparison);
    assert.notEqual(comparison.a.label, comparison.b.label);
    const group = vscode.window.tabGroups.activeTabGroup;
    assert.equal(group.activeTab?.label, 'Benchmark comparison', 'the comparison opened in the active editor group');
    const header = await queryPage('.da-bench-compare [data-run]', { minCount: 2 });
    assert.match(header[0].text, /^A: /);
    await screenshotPage('palette-compare-panel');
  });

  test('Prune Weight File from the palette: the input size is asked for and checked as typed, so FLOPs are reported; linear layers cut rows', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    // With the Weight Inspector active, the command prunes the file it shows (no file pick).
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(sampleModel()), 'deepAccel.weightInspector');
    const pending = vscode.commands.executeCommand<PruneReport | undefined>('deepAccel.pruneWeights');
    await answer('Target sparsity for tiny-cnn.safetensors', '0.5');
    await answer('Pruning method', 'filter-l1');
    await answer('Per-layer profile', 'uniform');
    await answer('Input size H×W', '32x');
    await expectProblem("the input size must be HxW such as 224x224, not '32x'");
    await expectTitle('Input size H×W');
    assert.deepEqual(await errorToasts(), [], 'no error notification for a typo');
    await typeInPage(INPUT, { text: '32x32', key: 'Enter' });
    await answer('The original file is never modified', 'What-if only');
    const report = await pending;
    assert.ok(report, 'the what-if ran');
    // Hand count: 2 FLOPs per multiply-add, every conv output 32 x 32, the linear layer once:
    // conv1 [8, 3, 3, 3] 2 * 216 * 1024, conv2 [16, 8, 3, 3] 2 * 1152 * 1024, fc [10, 64] 2 * 640.
    assert.equal(report.total.flops, 442_368 + 2_359_296 + 1_280);
    assert.deepEqual(report.inputSize, { height: 32, width: 32 });
    const byName = new Map(report.tensors.map((t) => [t.name, t]));
    const removed = (name: string, flops: number) => (flops * byName.get(name)!.filtersRemoved!) / byName.get(name)!.filters!;
    assert.equal(report.total.flopsRemoved, removed('conv1.weight', 442_368) + removed('conv2.weight', 2_359_296) + removed('fc.weight', 1_280));
    const header = await queryPage('.da-prune header', { textIncludes: 'of 2.80M FLOPs removed' });
    assert.ok(header.length >= 1, 'the panel reports the FLOPs removed');
    assert.match(header[0]!.text, /every conv output taken as 32×32/);
    const fc = await queryPage('.da-prune tbody tr', { textIncludes: 'fc.weight' });
    assert.match(fc[0]?.text ?? '', new RegExp(`${byName.get('fc.weight')!.filtersRemoved} of 10 rows`), 'a linear layer cuts rows');
    const conv2 = await queryPage('.da-prune tbody tr', { textIncludes: 'conv2.weight' });
    assert.match(conv2[0]?.text ?? '', new RegExp(`${byName.get('conv2.weight')!.filtersRemoved} of 16 filters`));
    const legend = await queryPage('.da-prune .da-legend', { textIncludes: 'Target' });
    assert.match(legend[0]?.text ?? '', /Target: .*After: /, 'Target and After are explained');
    await screenshotPage('palette-prune-panel');
  });
});
