/**
 * The model report view in real headless Chromium, in the results webview at a narrow panel
 * (400 px) and a full window (1400 px), and as a notebook output: every figure of the hand-written
 * report reaches the page unchanged, the totals row is the sum of the rows, the fastest algorithm
 * over the budget is marked, both charts are drawn in the algorithms' colours and the assumptions
 * are said above them. Each width leaves a screenshot in test/artifacts/.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { mimeTypeOf } from '../../extension/shared/payloads';
import { MODEL_REPORT } from './fixtures';
import { ARTIFACTS, type BrowserSession, canvasColourCount, canvasInkShare, columnCells, startBrowserSession } from './harness';

let session: BrowserSession;

before(async () => {
  session = await startBrowserSession();
});

after(async () => {
  await session?.close();
});

async function webviewAt(width: number, data: unknown): Promise<Page & { problems: string[] }> {
  const page = await session.newPage();
  await page.setViewportSize({ width, height: 1000 });
  await page.goto(`${session.baseUrl}/test/browser/pages/webview.html`);
  await page.evaluate((m) => window.postMessage(m, '*'), { type: 'show', payload: { kind: 'model', data } });
  await page.waitForSelector('#content .da-model');
  await page.waitForTimeout(250);
  return page;
}

/** The tooltips of one column's body cells, by the column's key. */
const cellTitles = (page: Page, key: string) =>
  page.$eval('#content table.da-table', (table, columnKey) => {
    const index = [...table.querySelectorAll('thead th')].findIndex((th) => th.getAttribute('data-key') === columnKey);
    return [...table.querySelectorAll('tbody tr')].map((row) => row.children[index]?.getAttribute('title') ?? null);
  }, key);

const footerCell = (page: Page, key: string) => page.textContent(`#content .da-table tfoot td[data-key="${key}"]`);

for (const width of [400, 1400]) {
  test(`model report at ${width} px: the layer table with its totals row, both charts and the assumptions`, async () => {
    const page = await webviewAt(width, MODEL_REPORT);
    assert.deepEqual(page.problems, [], 'no console errors or CSP violations');
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)) <= 0, 'the page is no wider than the panel');
    // The target and the ranking rule are said above the table, with the other assumptions.
    assert.match((await page.textContent('#content [data-assumption="prune"]')) ?? '', /^Pruning what-if at 50%: each layer loses round\(0\.5 × K\) of its K filters .*smallest L1 norms.* 290\.82M FLOPs removed .*1\.88 ms instead of 4\.13 ms \(2\.2×\)/);
    assert.ok(await page.$eval('#content [data-assumption="prune"]', (li) => Boolean(li.compareDocumentPosition(document.querySelector('#content .da-table')!) & Node.DOCUMENT_POSITION_FOLLOWING)), 'above the table');

    assert.deepEqual(await columnCells(page, '#content', 'name'), ['stem/conv', 'block1/conv', 'block1/dw', 'fc', 'up/convT']);
    assert.deepEqual(await columnCells(page, '#content', 'op'), ['conv', 'conv', 'depthwise', 'linear', 'convTranspose']);
    assert.deepEqual(await columnCells(page, '#content', 'shape'), ['64x56x56 > 64x56x56 3x3 s1 p1', '64x56x56 > 64x56x56 3x3 s1 p1', '64x56x56 > 64x56x56 3x3 s1 p1 g64', '1x512 > 1000', '64x56x56 > 64x56x56 3x3 s1 p1']);
    assert.deepEqual(await columnCells(page, '#content', 'params'), ['36.9k', '36.9k', '576', '513.0k', '36.9k']);
    assert.deepEqual(await columnCells(page, '#content', 'flops'), ['231.21M', '231.21M', '3.61M', '1.02M', '924.84M']);
    assert.deepEqual(await columnCells(page, '#content', 'sparsity'), ['50.0%', '50.0%', '50.0%', '10.0%', '50.0%']);
    assert.deepEqual(await columnCells(page, '#content', 'nm24'), ['75.0%', '75.0%', '75.0%', '0.0%', '75.0%']);
    assert.deepEqual(await columnCells(page, '#content', 'winograd'), ['F(4,3) · 2×', 'F(4,3) · 2×', '–', '–', '–']);
    assert.deepEqual(await columnCells(page, '#content', 'best'), ['winograd-4x3', 'winograd-6x3', 'direct', 'im2col', 'not timed']);
    assert.deepEqual(await columnCells(page, '#content', 'bestMs'), ['2', '1.5', '0.5', '0.125', '']);
    assert.deepEqual(await columnCells(page, '#content', 'bestErr'), ['2', '12', '1', '1', '']);
    assert.deepEqual(await columnCells(page, '#content', 'fastest'), ['', 'winograd-7x3 1.25 ms · 48× ⚠', '', '', '']);
    // Without such a layer the column is left out (here the report's only one is dropped).
    const keysWithout = await page.evaluate((data) => {
      window.postMessage({ type: 'show', payload: { kind: 'model', data } }, '*');
      return new Promise<string[]>((resolve) => setTimeout(() => resolve([...document.querySelectorAll('#content .da-table thead th')].map((th) => th.getAttribute('data-key') ?? '')), 200));
    }, { ...MODEL_REPORT, layers: MODEL_REPORT.layers.map(({ fastest: _f, ...l }) => l) });
    assert.equal(keysWithout.includes('fastest'), false);
    assert.equal(keysWithout.includes('bestMs'), true);
    await page.evaluate((m) => window.postMessage(m, '*'), { type: 'show', payload: { kind: 'model', data: MODEL_REPORT } });
    await page.waitForTimeout(200);
    assert.deepEqual(await columnCells(page, '#content', 'peerMs'), ['1.5', '1.25', '0.25', '', '']);
    // GFLOP/s = FLOPs / best time: 231211008 / 2e6 = 115.6, / 1.5e6 = 154.1.
    assert.deepEqual((await columnCells(page, '#content', 'gflops')).slice(0, 2), ['116', '154']);

    // The totals row is the sum of the rows: 3 x 36864 + 576 + 513000 parameters, 2 + 1.5 + 0.5 + 0.125 ms.
    assert.equal(await footerCell(page, 'params'), '624.2k');
    assert.equal(await footerCell(page, 'flops'), '1.39G');
    assert.equal(await footerCell(page, 'bestMs'), '4.13');
    assert.equal(await page.getAttribute('#content .da-table tfoot td[data-key="bestMs"]', 'title'), '4.125 ms');
    assert.equal(await footerCell(page, 'best'), '4 timed');
    assert.equal(await footerCell(page, 'peerMs'), '3');

    // The pruning what-if, each cell as the report's pruned figures give it, and its totals row the sum of those rows.
    assert.deepEqual(await columnCells(page, '#content', 'prunedShape'), ['64 > 32/64', '32/64 > 32/64', '32/64 > 32/64', '512 > 1000', '']);
    assert.deepEqual(await columnCells(page, '#content', 'prunedFlops'), ['115.61M', '57.80M', '1.81M', '1.02M', '']);
    assert.deepEqual(await columnCells(page, '#content', 'flopsRemoved'), ['115.61M', '173.41M', '1.81M', '0', '']);
    assert.deepEqual(await columnCells(page, '#content', 'prunedMs'), ['1', '0.5', '0.25', '0.125', '']);
    assert.deepEqual(await columnCells(page, '#content', 'prunedSpeedup'), ['2×', '3×', '2×', '1×', '']);
    assert.equal(await page.textContent('#content .da-table thead th[data-key="prunedShape"]'), 'Pruned 50% C > K');
    const pruned = MODEL_REPORT.total.pruned!;
    assert.equal(await page.getAttribute('#content .da-table tfoot td[data-key="prunedFlops"]', 'title'), `${pruned.flops} FLOPs`);
    assert.equal(await page.getAttribute('#content .da-table tfoot td[data-key="flopsRemoved"]', 'title'), `${pruned.flopsRemoved} FLOPs, 62.3% of the layers with sizes`);
    assert.equal(await page.getAttribute('#content .da-table tfoot td[data-key="prunedMs"]', 'title'), `${pruned.msMedian} ms over ${pruned.timedLayers} layers timed both ways (${pruned.bestMs} ms before)`);
    assert.equal(await footerCell(page, 'prunedFlops'), '176.24M');
    assert.equal(await footerCell(page, 'flopsRemoved'), '290.82M');
    assert.equal(await footerCell(page, 'prunedMs'), '1.88');
    assert.equal(await footerCell(page, 'prunedSpeedup'), '2.2×');
    // Why a layer's filters stay, and where its input channels come from, on the cell.
    assert.match((await cellTitles(page, 'prunedShape'))[2] ?? '', /after pruning 'block1\/conv'.*\nfilters kept: depthwise: its channels follow 'block1\/conv'/s);
    assert.match((await cellTitles(page, 'prunedMs'))[3] ?? '', /^im2col \(nchw\) · from the cache$/);
    // Every column fits its header and cells: no text is cut off.
    const clipped = await page.$$eval('#content .da-table th, #content .da-table td', (cells) => cells.filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.textContent));
    assert.deepEqual(clipped, [], 'no cell clips its text');

    await page.screenshot({ path: path.join(ARTIFACTS, `model-view-${width}.png`), fullPage: true });
    // Sorting by best time keeps the totals row last.
    await page.click('#content .da-table th[data-key="bestMs"]');
    assert.deepEqual(await columnCells(page, '#content', 'name'), ['fc', 'block1/dw', 'block1/conv', 'stem/conv', 'up/convT']);
    assert.equal(await footerCell(page, 'bestMs'), '4.13');

    const assumptions = (await page.textContent('#content .da-assumptions')) ?? '';
    assert.match(assumptions, /Input 'x' \[1, 64, 56, 56\], as the file fixes it\./);
    assert.match(assumptions, /1 thread, 40 ms budget and 8 ms warm-up per shape and algorithm: 9 timed now, 2 from the cache/);
    assert.match(assumptions, /random activations in \[-1, 1\)/);
    assert.match(assumptions, /at most 16× direct convolution's/);
    assert.match(assumptions, /Not timed: 1 layer \(up\/convT\): the engine has no transposed convolution\./);
    assert.match(assumptions, /whole model end to end: 2\.5 ms/);
    assert.match(assumptions, /batch size 1 assumed/);
    assert.doesNotMatch(assumptions, /pruned: 50% of each layer's filters/, "the report's shorter pruning note is left out beside the prune line");
    assert.match((await page.textContent('#content .da-subtitle')) ?? '', /best 4\.13 ms over 4 timed layers \(conv 84\.8%, depthwise 12\.1%, linear 3\.0%\)/);

    // Both charts, each in the algorithms' colours: direct blue, im2col orange, F(4,3) purple (slot 3 of CONV_ALGORITHMS).
    const ink = await canvasInkShare(page, '#content canvas');
    assert.equal(ink.length, 2);
    for (const share of ink) assert.ok(share > 0.01, `chart drawn (ink ${share})`);
    const bar = '#content canvas[data-chart="Time per layer, coloured by its best algorithm"]';
    assert.deepEqual(JSON.parse((await page.getAttribute(bar, 'data-series'))!), ['direct', 'im2col', 'winograd-4x3', 'winograd-6x3']);
    assert.ok((await canvasColourCount(page, bar, [0xb1, 0x80, 0xd7])) > 100, 'the F(4,3) layer is drawn in its colour');
    const scatter = '#content canvas[data-chart="Time against error, every algorithm on every layer"]';
    assert.deepEqual(JSON.parse((await page.getAttribute(scatter, 'data-series'))!), ['direct', 'im2col', 'winograd-4x3', 'winograd-6x3', 'winograd-7x3', 'budget 16× direct']);
    assert.ok((await canvasColourCount(page, scatter, [0x37, 0x94, 0xff])) > 20, 'direct points drawn');

    await page.close();
  });
}

test('an untimed model report (no engine run) says so, with no time columns and no charts', async () => {
  const { timing: _timing, machine: _machine, ...rest } = MODEL_REPORT;
  void _timing;
  void _machine;
  const untimed = { ...rest, layers: MODEL_REPORT.layers.map(({ results: _r, best: _b, fastest: _f, peerMs: _p, ...layer }) => layer), total: { layers: 5, params: 624168, flops: 1391902720, flopsUnknown: 0 } };
  const page = await webviewAt(800, untimed);
  assert.equal(await page.$$eval('#content canvas', (canvases) => canvases.length), 0);
  const keys = await page.$$eval('#content .da-table thead th', (cells) => cells.map((c) => c.getAttribute('data-key')));
  assert.deepEqual(keys, ['name', 'index', 'prunedShape', 'prunedFlops', 'flopsRemoved', 'op', 'shape', 'params', 'flops', 'sparsity', 'structured', 'nm24', 'winograd']);
  assert.match((await page.textContent('#content [data-assumption="timing"]')) ?? '', /^Not timed/);
  await page.close();
});

/** The notebook renderer's test page (with renderer messaging unless `query` says otherwise), and a way to draw a model output in it. */
async function rendererPage(query = ''): Promise<{ page: Page; draw(data: unknown, id: string): Promise<number> }> {
  const page = await session.newPage();
  await page.setViewportSize({ width: 900, height: 900 });
  await page.goto(`${session.baseUrl}/test/browser/pages/renderer.html${query}`);
  await page.waitForFunction(() => (window as unknown as { rendererReady?: boolean }).rendererReady === true);
  const draw = (data: unknown, id: string) =>
    page.evaluate(({ mime, data, id }) => (window as unknown as { renderOutput(m: string, d: unknown, i: string): number }).renderOutput(mime, data, id), { mime: mimeTypeOf('model'), data, id });
  return { page, draw };
}

test('the notebook renderer draws a model output from its MIME type, and refuses one without layers', async () => {
  const { page, draw } = await rendererPage();
  await draw(MODEL_REPORT, 'model');
  await page.waitForTimeout(200);
  assert.deepEqual(await columnCells(page, '#model', 'best'), ['winograd-4x3', 'winograd-6x3', 'direct', 'im2col', 'not timed']);
  await draw({ ...MODEL_REPORT, layers: undefined }, 'broken');
  assert.match((await page.textContent('#broken')) ?? '', /the model payload's field 'layers' should be an array, got undefined/);
  await page.close();
});

test('weight inspector: the Layers tab asks for the model report, draws it, times on request at the typed input and cancels', async () => {
  const page = await session.newPage();
  await page.setViewportSize({ width: 1000, height: 900 });
  await page.goto(`${session.baseUrl}/test/browser/pages/webview.html`);
  const posted = () => page.evaluate(() => (window as unknown as { postedToHost: { type: string; requestId?: number; time?: boolean; input?: number[] }[] }).postedToHost);
  const send = async (message: unknown) => {
    await page.evaluate((m) => window.postMessage(m, '*'), message);
    await page.waitForTimeout(150);
  };
  await send({ type: 'weightSummary', summary: { file: '/models/net.onnx', format: 'onnx', fileBytes: 2_500_000, parameters: 624168, tensors: [] } });
  assert.equal(await page.getAttribute('.da-inspector-tabs .da-tab[data-tab="tensors"]', 'aria-selected'), 'true');
  assert.equal(await page.isVisible('.da-layers'), false);
  assert.equal((await posted()).filter((m) => m.type === 'modelReport').length, 0, 'nothing is read before the tab opens');

  await page.click('.da-inspector-tabs .da-tab[data-tab="layers"]');
  assert.equal(await page.isVisible('#content'), false);
  const first = (await posted()).filter((m) => m.type === 'modelReport');
  assert.deepEqual(first, [{ type: 'modelReport', requestId: first[0]!.requestId, time: false }]);
  const { timing: _timing, ...untimedReport } = MODEL_REPORT;
  void _timing;
  const untimed = { ...untimedReport, layers: MODEL_REPORT.layers.map(({ results: _r, best: _b, fastest: _f, ...layer }) => layer) };
  await send({ type: 'modelReport', requestId: first[0]!.requestId, report: untimed, canTime: true });
  assert.deepEqual(await columnCells(page, '.da-layers', 'name'), ['stem/conv', 'block1/conv', 'block1/dw', 'fc', 'up/convT']);
  assert.equal(await page.inputValue('.da-layers [data-model-input]'), '1,64,56,56');
  await page.click('.da-layers [data-read-layers]');
  const unchanged = (await posted()).filter((m) => m.type === 'modelReport').at(-1)!;
  assert.deepEqual(unchanged, { type: 'modelReport', requestId: unchanged.requestId, time: false }, "the file's own shape is not sent as an input");
  await send({ type: 'modelReport', requestId: unchanged.requestId, report: untimed, canTime: true });

  await page.fill('.da-layers [data-model-input]', '1,64,28,28');
  await page.click('.da-layers [data-time-layers]');
  const timedAsk = (await posted()).filter((m) => m.type === 'modelReport').at(-1)!;
  assert.deepEqual(timedAsk, { type: 'modelReport', requestId: timedAsk.requestId, time: true, input: [1, 64, 28, 28] });
  assert.equal(await page.isDisabled('.da-layers [data-time-layers]'), true, 'one report at a time');
  await send({ type: 'progress', message: 'stem/conv: winograd-4x3 (nchw)', fraction: 0.4 });
  assert.equal(await page.textContent('.da-status'), 'stem/conv: winograd-4x3 (nchw)');
  await page.click('.da-layers [data-cancel-model]');
  assert.deepEqual((await posted()).at(-1), { type: 'cancelModel' });
  await send({ type: 'error', requestId: timedAsk.requestId, message: 'Cancelled.' });
  assert.equal(await page.textContent('.da-layers .da-error'), 'Cancelled.');
  assert.deepEqual(await columnCells(page, '.da-layers', 'name'), ['stem/conv', 'block1/conv', 'block1/dw', 'fc', 'up/convT'], 'the last report stays');

  // "Time onnxruntime too" starts as the setting the host sent (off here) and asks for the peer when ticked.
  assert.equal(await page.isChecked('.da-layers [data-time-peer]'), false);
  await page.check('.da-layers [data-time-peer]');
  await page.click('.da-layers [data-time-layers]');
  const again = (await posted()).filter((m) => m.type === 'modelReport').at(-1)!;
  assert.deepEqual(again, { type: 'modelReport', requestId: again.requestId, time: true, peer: true });
  assert.match((await page.textContent('.da-layers p.da-status')) ?? '', /and onnxruntime-node/);
  await send({ type: 'modelReport', requestId: again.requestId, report: MODEL_REPORT, canTime: true, peer: false });
  assert.equal(await page.isChecked('.da-layers [data-time-peer]'), true, "the user's choice stays for the panel");
  assert.deepEqual(await columnCells(page, '.da-layers', 'peerMs'), ['1.5', '1.25', '0.25', '', '']);
  assert.deepEqual(await columnCells(page, '.da-layers', 'best'), ['winograd-4x3', 'winograd-6x3', 'direct', 'im2col', 'not timed']);
  assert.equal((await canvasInkShare(page, '.da-layers canvas')).length, 2);
  await page.screenshot({ path: path.join(ARTIFACTS, 'model-view-inspector-layers.png'), fullPage: true });

  // Back on the Tensors tab the layers are kept, not read again.
  await page.click('.da-inspector-tabs .da-tab[data-tab="tensors"]');
  await page.click('.da-inspector-tabs .da-tab[data-tab="layers"]');
  assert.equal((await posted()).filter((m) => m.type === 'modelReport').length, 4);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('Export for Netron and Model Explorer: the webview pings the host, then asks it for the export of the report it shows, and says what was written or what failed', async () => {
  const page = await webviewAt(900, MODEL_REPORT);
  type Posted = { type: string; requestId: number; target?: string; report?: unknown };
  const posted = () => page.evaluate(() => (window as unknown as { postedToHost: Posted[] }).postedToHost);
  const reply = async (message: unknown) => {
    await page.evaluate((m) => window.postMessage(m, '*'), message);
    await page.waitForTimeout(100);
  };
  const status = () => page.textContent('#content [data-model-export-status]');
  assert.equal(await page.textContent('#content [data-model-export="netron"]'), 'Export for Netron');
  assert.equal(await page.textContent('#content [data-model-export="modelExplorer"]'), 'Export for Model Explorer');
  assert.equal(await page.$('#content [data-model-export-unavailable]'), null, 'a webview always has its host');

  await page.click('#content [data-model-export="netron"]');
  const ping = (await posted()).at(-1)!;
  assert.deepEqual(ping, { type: 'ping', requestId: ping.requestId });
  assert.equal(await page.isDisabled('#content [data-model-export="netron"]'), true, 'one export at a time');
  await reply({ type: 'pong', requestId: ping.requestId });
  const ask = (await posted()).at(-1)!;
  assert.equal(ask.type, 'modelExport');
  assert.equal(ask.target, 'netron');
  assert.deepEqual(ask.report, MODEL_REPORT, 'the report shown, unchanged');
  assert.equal(await status(), 'Choose where to save…');
  await reply({ type: 'modelExport', requestId: ask.requestId, written: 'Netron attachment: /models/net.onnx.netron.json (61 metrics; open it in Netron with the model shown)' });
  assert.equal(await status(), 'Netron attachment: /models/net.onnx.netron.json (61 metrics; open it in Netron with the model shown)');
  assert.equal(await page.isDisabled('#content [data-model-export="netron"]'), false);

  await page.click('#content [data-model-export="modelExplorer"]');
  await reply({ type: 'pong', requestId: (await posted()).at(-1)!.requestId });
  const explorer = (await posted()).at(-1)!;
  assert.equal(explorer.target, 'modelExplorer');
  await reply({ type: 'error', requestId: explorer.requestId, message: 'Export for Model Explorer /models/net.onnx: the output is written as JSON, so its name must end in .json' });
  assert.equal(await status(), 'Export for Model Explorer: Export for Model Explorer /models/net.onnx: the output is written as JSON, so its name must end in .json');
  assert.equal(await page.getAttribute('#content [data-model-export-status]', 'class'), 'da-export-status da-error');

  // The user closes the dialog: nothing is said to have been written.
  await page.click('#content [data-model-export="modelExplorer"]');
  await reply({ type: 'pong', requestId: (await posted()).at(-1)!.requestId });
  await reply({ type: 'modelExport', requestId: (await posted()).at(-1)!.requestId });
  assert.equal(await status(), '');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('in a notebook the export buttons go through renderer messaging; with no extension answering, or no messaging at all, they say they need the extension', async () => {
  const { page, draw: drawReport } = await rendererPage();
  const draw = (id: string) => drawReport(MODEL_REPORT, id);
  type Posted = { type: string; requestId: number; target?: string; report?: unknown };
  const posted = () => page.evaluate(() => (window as unknown as { postedByRenderer: Posted[] }).postedByRenderer);
  const reply = async (message: unknown) => {
    await page.evaluate((m) => (window as unknown as { replyToRenderer(m: unknown): void }).replyToRenderer(m), message);
    await page.waitForTimeout(100);
  };
  await draw('answered');
  await page.click('#answered [data-model-export="modelExplorer"]');
  await reply({ type: 'pong', requestId: (await posted()).at(-1)!.requestId });
  const ask = (await posted()).at(-1)!;
  assert.deepEqual({ ...ask, requestId: 0 }, { type: 'modelExport', requestId: 0, target: 'modelExplorer', report: MODEL_REPORT });
  await reply({ type: 'modelExport', requestId: ask.requestId, written: 'Model Explorer node data: /models/net.onnx.model-explorer.json (best ms of 4 nodes; load it as node data beside the model)' });
  assert.match((await page.textContent('#answered [data-model-export-status]')) ?? '', /^Model Explorer node data: /);

  // Nothing answers the ping: within seconds the button says why, instead of waiting on a dialog that never opens.
  await draw('unanswered');
  const started = Date.now();
  await page.click('#unanswered [data-model-export="netron"]');
  await page.waitForSelector('#unanswered [data-model-export-status].da-error', { timeout: 10_000 });
  assert.ok(Date.now() - started < 8000, `said within seconds (${Date.now() - started} ms)`);
  assert.equal(await page.textContent('#unanswered [data-model-export-status]'), 'Export for Netron: the Deep Accel extension did not answer: it must be installed and running');
  assert.equal((await posted()).at(-1)!.type, 'ping', 'no export was asked for');

  // Where VS Code offers no messaging the buttons are disabled and say so.
  await page.close();
  const alone = await rendererPage('?messaging=none');
  await alone.draw(MODEL_REPORT, 'alone');
  assert.equal(await alone.page.isDisabled('#alone [data-model-export="netron"]'), true);
  assert.equal(await alone.page.isDisabled('#alone [data-model-export="modelExplorer"]'), true);
  assert.match((await alone.page.getAttribute('#alone [data-model-export="netron"]', 'title')) ?? '', /Needs the Deep Accel extension running in VS Code/);
  assert.equal(await alone.page.textContent('#alone [data-model-export-unavailable]'), 'Exports for Netron and Model Explorer need the Deep Accel extension running in VS Code.');
  assert.deepEqual(await columnCells(alone.page, '#alone', 'prunedSpeedup'), ['2×', '3×', '2×', '1×', ''], 'the rest of the view stands');
  await alone.page.close();
});
