/**
 * The notebook renderer bundle (dist/renderer.js) in real headless Chromium: every MIME type is drawn
 * and its DOM and canvas content checked.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { exportWinograd, generateWinograd } from '../../extension/core/winograd';
import { errorByTileSize } from '../../extension/core/winograd/compareTiles';
import { helpPayload } from '../../extension/core/notebook/cellLanguage';
import { mimeTypeOf, PAYLOAD_KINDS, type PayloadKind, type WinogradResult } from '../../extension/shared/payloads';
import type { HostToRendererMessage, WinogradExportRequest } from '../../extension/shared/webviewProtocol';
import { BENCH_COMPARISON, BENCH_REPORT, PRUNE_REPORT, SPARSITY_NM_REPORT, SPARSITY_REPORT } from './fixtures';
import { ARTIFACTS, type BrowserSession, canvasColourCount, canvasInkShare, columnCells, startBrowserSession } from './harness';

let session: BrowserSession;
let page: Page & { problems: string[] };
let winograd: WinogradResult;

before(async () => {
  session = await startBrowserSession();
  page = await session.newPage();
  await page.goto(`${session.baseUrl}/test/browser/pages/renderer.html`);
  await page.waitForFunction(() => (window as unknown as { rendererReady?: boolean }).rendererReady === true);
  winograd = generateWinograd({ m: 2, r: 3, exports: ['c', 'numpy', 'ts', 'latex', 'markdown', 'json'], errorTrials: 100 });
  winograd.errorByTile = errorByTileSize(3, { sizes: [2, 4, 6] });
});

after(async () => {
  await session?.close();
});

async function render(kind: PayloadKind | string, data: unknown, id: string): Promise<void> {
  const mime = PAYLOAD_KINDS.includes(kind as PayloadKind) ? mimeTypeOf(kind as PayloadKind) : kind;
  await page.evaluate(({ mime, data, id }) => (window as unknown as { renderOutput(m: string, d: unknown, i: string): number }).renderOutput(mime, data, id), { mime, data, id });
  // Charts are created on the next frame.
  await page.waitForTimeout(150);
}

async function screenshot(id: string): Promise<void> {
  await page.locator(`#${id}`).screenshot({ path: path.join(ARTIFACTS, `renderer-${id}.png`) });
}

test('winograd output shows the exact matrices, the verdict, the cost and an error chart', async () => {
  await render('winograd', winograd, 'winograd');
  for (const name of ['AT', 'G', 'BT'] as const) {
    const cells = await page.$$eval(`#winograd [data-matrix="${name}"] tr`, (rows) => rows.map((row) => Array.from(row.querySelectorAll('td')).map((td) => td.textContent)));
    assert.deepEqual(cells, winograd[name], `${name} drawn entry for entry`);
  }
  assert.equal(await page.textContent('#winograd [data-verified]'), '✓ verified exactly');
  const costCells = await page.$$eval('#winograd .da-cost tbody tr:first-child td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(costCells, ['Element-wise multiplications per tile', '16', '36']);
  const ink = await canvasInkShare(page, '#winograd canvas');
  assert.equal(ink.length, 2, 'error by precision, and error against tile size');
  for (const share of ink) assert.ok(share > 0.02, `each error chart has bars and axes drawn (ink ${share})`);
  // F(2,3), F(4,3), F(6,3): fp32 (blue), fp16 (orange) and bf16 (green) series are all drawn.
  const tileChart = '#winograd canvas[data-chart="Error against tile size"]';
  for (const rgb of [[0x37, 0x94, 0xff], [0xd1, 0x86, 0x16], [0x89, 0xd1, 0x85]] as [number, number, number][]) {
    assert.ok((await canvasColourCount(page, tileChart, rgb)) > 100, `series ${rgb} drawn`);
  }
  // The first export tab is C and the code holds the matrices as float constants.
  assert.match((await page.textContent('#winograd .da-code')) ?? '', /0\.5f?/);
  await page.click('#winograd .da-tab[data-format="latex"]');
  assert.match((await page.textContent('#winograd .da-code')) ?? '', /\\begin\{bmatrix\}/);
  await screenshot('winograd');
});

const postedByRenderer = () => page.evaluate(() => (window as unknown as { postedByRenderer: WinogradExportRequest[] }).postedByRenderer);
const replyToRenderer = async (message: HostToRendererMessage) => {
  await page.evaluate((m) => (window as unknown as { replyToRenderer(m: unknown): void }).replyToRenderer(m), message);
  await page.waitForTimeout(100);
};

test('a saved winograd output carries no exports: a tab asks the extension for its text, matched by requestId', async () => {
  const { exports: _exports, ...saved } = winograd;
  void _exports;
  saved.precision = 'fp16';
  await render('winograd', saved, 'winograd-on-demand');
  const scope = '#winograd-on-demand';
  assert.deepEqual(await page.$$eval(`${scope} .da-tab`, (tabs) => tabs.map((tab) => tab.getAttribute('data-format'))), ['c', 'numpy', 'ts', 'latex', 'markdown', 'json']);
  const [request] = await postedByRenderer();
  assert.equal(request?.type, 'winogradExport');
  assert.equal(request.format, 'c');
  assert.equal(request.result.exports, undefined);
  assert.deepEqual(request.result.G, saved.G);
  assert.match((await page.textContent(`${scope} .da-status`)) ?? '', /Making the C export/);
  assert.equal(await page.isDisabled(`${scope} .da-copy`), true, 'nothing to copy yet');
  // A reply to another request is not taken for this one.
  await replyToRenderer({ type: 'winogradExport', requestId: request.requestId + 100, format: 'c', text: 'stale' });
  assert.equal(await page.textContent(`${scope} .da-code`), '');
  const c = exportWinograd(saved, 'c');
  await replyToRenderer({ type: 'winogradExport', requestId: request.requestId, format: 'c', text: c });
  assert.equal(await page.textContent(`${scope} .da-code`), c);
  assert.equal(await page.isDisabled(`${scope} .da-copy`), false);
  // The next tab is another request; a failure is said in the view, in place of the code.
  await page.click(`${scope} .da-tab[data-format="latex"]`);
  const latex = (await postedByRenderer()).at(-1)!;
  assert.equal(latex.format, 'latex');
  assert.notEqual(latex.requestId, request.requestId);
  await replyToRenderer({ type: 'error', requestId: latex.requestId, message: 'no exporter' });
  assert.match((await page.textContent(`${scope} .da-status`)) ?? '', /The LaTeX export failed: no exporter/);
  // Back on C: the text is kept, no new request.
  const count = (await postedByRenderer()).length;
  await page.click(`${scope} .da-tab[data-format="c"]`);
  assert.equal(await page.textContent(`${scope} .da-code`), c);
  assert.equal((await postedByRenderer()).length, count);
  // The chosen precision's row is the highlighted one, and the note says why.
  assert.deepEqual(await page.$$eval(`${scope} tr.da-highlight td:first-child`, (tds) => tds.map((td) => td.textContent)), ['fp16']);
  assert.match((await page.textContent(`${scope} .da-note[data-precision]`)) ?? '', /fp16, the precision of interest/);
});

test('sparsity output shows totals, a sortable and filterable tensor table, and three charts', async () => {
  await render('sparsity', SPARSITY_REPORT, 'sparsity');
  assert.equal(await page.getAttribute('#sparsity [data-total-sparsity]', 'data-total-sparsity'), String(1008 / 3456));
  assert.match((await page.textContent('#sparsity header')) ?? '', /29\.2% sparse/);
  const names = await page.$$eval('#sparsity section:nth-of-type(2) tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(names, ['conv1.weight', 'conv2.weight', 'fc.weight']);
  // Sorting by sparsity, ascending, puts fc (12.5%) first.
  await page.click('#sparsity section:nth-of-type(2) th[data-key="sparsity"]');
  const sorted = await page.$$eval('#sparsity section:nth-of-type(2) tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(sorted, ['fc.weight', 'conv2.weight', 'conv1.weight']);
  const sparsityCells = await columnCells(page, '#sparsity section:nth-of-type(2)', 'sparsity');
  assert.deepEqual(sparsityCells, ['12.5%', '25.0%', '50.0%']);
  const ink = await canvasInkShare(page, '#sparsity canvas');
  assert.equal(ink.length, 3, 'per-tensor sparsity, histogram and threshold curve');
  for (const share of ink) assert.ok(share > 0.01, `every chart is drawn (ink ${share})`);
  // The per-tensor chart's bars use the theme's --vscode-charts-blue (#3794ff).
  assert.ok((await canvasColourCount(page, '#sparsity canvas[data-chart^="Sparsity per tensor"]', [0x37, 0x94, 0xff])) > 200);
  assert.match((await page.textContent('#sparsity .da-warnings')) ?? '', /conv1\.weight_mask/);
  assert.match((await page.textContent('#sparsity .da-note')) ?? '', /last group is padded with zeros, as ASP pads it/);
  await screenshot('sparsity');
});

test('sparsity output with N:M patterns and a permutation: a column per pattern, kept before and after, and a before/after chart', async () => {
  await render('sparsity', SPARSITY_NM_REPORT, 'sparsityNm');
  const table = '#sparsityNm section:nth-of-type(2)';
  assert.deepEqual(await columnCells(page, table, 'nm:2:4'), ['75.0%', '50.0%', '25.0%']);
  const keys = await page.$$eval(`${table} thead th`, (ths) => ths.map((th) => th.getAttribute('data-key')));
  assert.ok(!keys.includes('nm24'), 'one 2:4 column, not two');
  assert.deepEqual(await columnCells(page, table, 'kept:4:8'), ['95.0%', '85.0%', '75.0%']);
  assert.deepEqual(await columnCells(page, table, 'permuted'), ['100.0% ✓', '87.5%', '75.0%']);
  assert.match((await page.getAttribute(`${table} td[title*="cut short"]`, 'title')) ?? '', /70\.0% → 75\.0% kept \(cut short by the time bound, 1\.25 s\)/);
  assert.equal(await page.getAttribute('#sparsityNm [data-permutation-total]', 'data-permutation-total'), '0.875');
  assert.match((await page.textContent('#sparsityNm header')) ?? '', /2:4 keeps 80\.0% of Σ\|w\|, 87\.5% with the channels permuted/);
  const chart = '#sparsityNm canvas[data-chart^="What 2:4 pruning keeps, per layer"]';
  assert.ok((await canvasColourCount(page, chart, [0x37, 0x94, 0xff])) > 100, 'kept-before bars');
  assert.ok((await canvasColourCount(page, chart, [0xd1, 0x86, 0x16])) > 100, 'kept-after bars');
  await screenshot('sparsityNm');
});

test('bench output shows best algorithm per layer, peer ratio, a grouped bar chart and skipped pairs', async () => {
  await render('bench', BENCH_REPORT, 'bench');
  const best = await page.$$eval('#bench .da-best li', (items) => items.map((li) => li.textContent));
  assert.deepEqual(best, ['conv2_x: winograd-4x3 120 GFLOP/s (0.632× onnxruntime-node)', 'conv3_x: im2col 42 GFLOP/s']);
  const gflops = await columnCells(page, '#bench', 'gflops');
  assert.deepEqual(gflops, ['40', '120', '42']);
  // One peer: its name is said once above the table, and the peer cells hold only numbers.
  const headers = await page.$$eval('#bench thead th', (ths) => ths.map((th) => th.textContent?.replace(/[▲▼]/g, '').trim()));
  assert.deepEqual(headers.filter((title) => /peer/i.test(title ?? '')), ['× peer', 'Peer GFLOP/s']);
  assert.ok(!headers.includes('Peer'), 'no per-row peer name column');
  assert.equal(await page.textContent('#bench .da-note'), 'Peer: onnxruntime-node, timed on the same layers.');
  const peerCells = await columnCells(page, '#bench', 'peer');
  assert.deepEqual(peerCells, ['190', '190', '']);
  assert.match((await page.textContent('#bench details')) ?? '', /winograd needs stride 1/);
  const ink = await canvasInkShare(page, '#bench canvas');
  assert.equal(ink.length, 1);
  assert.ok(ink[0] > 0.02);
  // Three series: im2col (blue), winograd-4x3 (orange), the peer (green).
  assert.ok((await canvasColourCount(page, '#bench canvas', [0x37, 0x94, 0xff])) > 100, 'im2col bars');
  assert.ok((await canvasColourCount(page, '#bench canvas', [0xd1, 0x86, 0x16])) > 100, 'winograd bars');
  assert.ok((await canvasColourCount(page, '#bench canvas', [0x89, 0xd1, 0x85])) > 100, 'peer bars');
  await screenshot('bench');
});

test('bench output names the fastest within the error budget, and the fastest when it is over the budget', async () => {
  const [im2col, winograd, conv3] = BENCH_REPORT.results;
  const results = [
    { ...im2col, errorVsDirect: 1.2 },
    { ...winograd, algo: 'winograd-7x3', errorVsDirect: 47 },
    { ...conv3, errorVsDirect: 1 },
  ];
  await render('bench', { ...BENCH_REPORT, results, maxErrorVsDirect: 16, best: undefined }, 'bench-budget');
  const best = await page.$$eval('#bench-budget .da-best li', (items) => items.map((li) => li.textContent));
  assert.deepEqual(best, [
    "conv2_x: im2col 40 GFLOP/s, 1.2× direct's error (0.211× onnxruntime-node); fastest: winograd-7x3 120 GFLOP/s, 47× direct's error (0.632× onnxruntime-node), over the 16× budget",
    "conv3_x: im2col 42 GFLOP/s, 1× direct's error",
  ]);
  assert.match((await page.textContent('#bench-budget .da-budget')) ?? '', /fastest within 16× direct convolution's max error .*deepAccel\.bench\.maxErrorVsDirect/);
  assert.deepEqual(await columnCells(page, '#bench-budget', 'errorVsDirect'), ['1.2', '47', '1']);
});

test('bench output says which whole layers were left out and why, outside the collapsed details', async () => {
  const reason = 'a depthwise 3x3 convolution (groups = C); the engine implements groups = 1 only';
  const skipped = [...(BENCH_REPORT.skipped ?? []), ...['dw1', 'dw2'].map((layer) => ({ layer, algo: 'every algorithm', reason }))];
  await render('bench', { ...BENCH_REPORT, suite: 'mobilenet-v1', skipped }, 'bench-left-out');
  assert.equal(await page.textContent('#bench-left-out [data-layers-left-out]'), `Left out: 2 layers (dw1, dw2): ${reason}.`);
  assert.ok(await page.isVisible('#bench-left-out [data-layers-left-out]'));
});

test('bench chart gives the 7th and 8th algorithms colours of their own', async () => {
  const algos = ['direct', 'im2col', 'winograd-2x3', 'winograd-4x3', 'winograd-6x3', 'winograd-7x3', 'fft', 'strassen'];
  const results = algos.map((algo, i) => ({ ...BENCH_REPORT.results[0], algo, gflops: 100 + 10 * i, peer: undefined }));
  await render('bench', { ...BENCH_REPORT, results, skipped: [] }, 'bench-colours');
  // Series 0 and 6 share the blue hue, 1 and 7 the orange one: the second use is mixed half-way into
  // the editor background (#1f1f1f in the test page): blue (0x37, 0x94, 0xff) -> (43, 90, 143) and
  // orange (0xd1, 0x86, 0x16) -> (120, 83, 27).
  assert.ok((await canvasColourCount(page, '#bench-colours canvas', [0x37, 0x94, 0xff])) > 100, 'direct bars, blue');
  assert.ok((await canvasColourCount(page, '#bench-colours canvas', [43, 90, 143])) > 100, 'fft bars, muted blue');
  assert.ok((await canvasColourCount(page, '#bench-colours canvas', [120, 83, 27])) > 100, 'strassen bars, muted orange');
  await screenshot('bench-colours');
});

test('bench output without the peer installed says once how to install it, with no peer columns', async () => {
  const results = BENCH_REPORT.results.map((result) => ({ ...result, peer: undefined }));
  const peerUnavailable = 'onnxruntime-node is not installed, so no peer was timed. It is optional; to time it beside the engine: ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node';
  await render('bench', { ...BENCH_REPORT, results, skipped: [], peerUnavailable }, 'bench-no-peer');
  assert.deepEqual(await page.$$eval('#bench-no-peer .da-note', (notes) => notes.map((note) => note.textContent)), [peerUnavailable]);
  const headers = await page.$$eval('#bench-no-peer thead th', (ths) => ths.map((th) => th.textContent?.replace(/[▲▼]/g, '').trim()));
  assert.deepEqual(headers.filter((header) => /peer/i.test(header ?? '')), []);
  assert.equal(await page.$('#bench-no-peer details'), null, 'no skipped list');
});

test('prune output shows what was removed, the read-back check, before/after bars and the tensor table', async () => {
  await render('prune', PRUNE_REPORT, 'prune');
  assert.match((await page.textContent('#prune header')) ?? '', /432 of 2336 parameters removed · prunable tensors 50\.0% sparse after · whole model 49\.3% · 250\.0k of 1\.00M FLOPs removed \(25\.0%, from the input size\)/);
  assert.equal(await page.getAttribute('#prune [data-export-verified]', 'data-export-verified'), 'true');
  const after = await columnCells(page, '#prune', 'after');
  assert.deepEqual(after, ['50.0%', '50.0%']);
  const cuts = await columnCells(page, '#prune', 'cut');
  // conv1.weight is 50% zeros already: nothing to cut for a 50% target.
  assert.deepEqual(cuts, ['none: at target already', '|w| < 0.25']);
  // Before (blue) and after (orange) bars.
  assert.ok((await canvasColourCount(page, '#prune canvas', [0x37, 0x94, 0xff])) > 100, 'before bars');
  assert.ok((await canvasColourCount(page, '#prune canvas', [0xd1, 0x86, 0x16])) > 100, 'after bars');
  await screenshot('prune');
});

test('benchmark comparison output matches results by layer and algorithm', async () => {
  await render('benchCompare', BENCH_COMPARISON, 'compare');
  // B doubled every speed: each (layer, algorithm) pair shows 2x, with A and B side by side.
  assert.deepEqual(await columnCells(page, '#compare', 'pair'), ['conv2_x · im2col', 'conv2_x · winograd-4x3', 'conv3_x · im2col']);
  assert.deepEqual(await columnCells(page, '#compare', 'speedup'), ['2×', '2×', '2×']);
  assert.deepEqual(await columnCells(page, '#compare', 'a'), ['40', '120', '42']);
  assert.deepEqual(await columnCells(page, '#compare', 'b'), ['80', '240', '84']);
  // Each run is told apart by date, machine, threads and layers.
  const runs = await page.$$eval('#compare [data-run]', (items) => items.map((li) => li.textContent));
  assert.deepEqual(runs, [
    'A: 2026-11-28 00:00 UTC · Test CPU (2 cores, simd128) · 1 thread · resnet18, 2 layers × 2 algorithms (before)',
    'B: 2026-11-28 00:00 UTC · Test CPU (2 cores, simd128) · 1 thread · resnet18, 2 layers × 2 algorithms (after)',
  ]);
  assert.deepEqual(JSON.parse((await page.getAttribute('#compare canvas', 'data-series')) ?? '[]'), ['A', 'B'], 'one bar for A beside one for B in every group');
  assert.equal((await canvasInkShare(page, '#compare canvas')).length, 1);
  // A is blue, B orange.
  assert.ok((await canvasColourCount(page, '#compare canvas', [0x37, 0x94, 0xff])) > 100, 'A bars');
  assert.ok((await canvasColourCount(page, '#compare canvas', [0xd1, 0x86, 0x16])) > 100, 'B bars');
  await screenshot('compare');
});

test('a 1-thread run against a 2-thread run pairs the same layer and algorithm and shows both thread counts', async () => {
  const one = { ...BENCH_REPORT, results: [BENCH_REPORT.results[0]] };
  const two = { ...BENCH_REPORT, results: [{ ...BENCH_REPORT.results[0], threads: 2, gflops: 70 }, { ...BENCH_REPORT.results[1], threads: 2 }] };
  await render('benchCompare', { a: { label: 'one', report: one }, b: { label: 'two', report: two } }, 'compare-threads');
  assert.deepEqual(await columnCells(page, '#compare-threads', 'pair'), ['im2col']);
  assert.deepEqual(await columnCells(page, '#compare-threads', 'speedup'), ['1.75×']);
  assert.deepEqual(await columnCells(page, '#compare-threads', 'threadsA'), ['1']);
  assert.deepEqual(await columnCells(page, '#compare-threads', 'threadsB'), ['2']);
  assert.match((await page.textContent('#compare-threads .da-section')) ?? '', /1 result measured in only one of the runs is left out/);
});

test('help output lists every command of the cell language', async () => {
  await render('help', helpPayload(), 'help');
  const usages = await page.$$eval('#help code', (codes) => codes.map((code) => code.textContent?.split(' ')[0]));
  assert.deepEqual(usages, ['winograd', 'sparsity', 'prune', 'bench', 'compare', 'model', 'help']);
});

test('a malformed payload (for example from a Jupyter kernel) shows a clear error instead of a blank cell', async () => {
  await render('winograd', { m: 2, r: 3 }, 'broken');
  assert.match((await page.textContent('#broken [role="alert"]')) ?? '', /field 'alpha' should be a number, got undefined/);
  await render('application/vnd.deep-accel.nonsense+json', {}, 'unknown');
  assert.match((await page.textContent('#unknown [role="alert"]')) ?? '', /unknown MIME type/);
});

test('the renderer page logged no errors', () => {
  assert.deepEqual(page.problems, []);
});
