/**
 * The webview bundle (dist/webview.js) in real headless Chromium, under the same strict CSP as in VS
 * Code, with a stand-in for acquireVsCodeApi that records what the page posts to the host.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { TensorStats } from '../../extension/shared/payloads';
import type { HostToWebviewMessage, WebviewToHostMessage } from '../../extension/shared/webviewProtocol';
import { exportWinograd, generateWinograd } from '../../extension/core/winograd';
import { BENCH_REPORT, SPARSITY_REPORT } from './fixtures';
import { ARTIFACTS, type BrowserSession, canvasColourCount, canvasInkShare, columnCells, startBrowserSession } from './harness';

let session: BrowserSession;
let page: Page & { problems: string[] };

const posted = () => page.evaluate(() => (window as unknown as { postedToHost: WebviewToHostMessage[] }).postedToHost);
const send = async (message: HostToWebviewMessage) => {
  await page.evaluate((m) => window.postMessage(m, '*'), message);
  await page.waitForTimeout(150);
};

before(async () => {
  session = await startBrowserSession();
  page = await session.newPage();
  await page.goto(`${session.baseUrl}/test/browser/pages/webview.html`);
});

after(async () => {
  await session?.close();
});

test('the webview announces it is ready', async () => {
  await page.waitForFunction(() => (window as unknown as { postedToHost: unknown[] }).postedToHost.length > 0);
  assert.deepEqual((await posted())[0], { type: 'ready' });
});

test('weight inspector: the header summary shows at once, then the statistics replace it', async () => {
  await send({
    type: 'weightSummary',
    summary: { file: '/m/tiny.safetensors', format: 'safetensors', fileBytes: 14024, parameters: 3456, tensors: SPARSITY_REPORT.tensors.map(({ name, dtype, shape, numel }) => ({ name, dtype, shape, numel })) },
  });
  assert.match((await page.textContent('#content header')) ?? '', /safetensors · 13\.7 KiB · 3 tensors · 3456 parameters · computing statistics/);
  await send({ type: 'progress', message: 'Scanning… 50%', fraction: 0.5 });
  assert.equal(await page.textContent('.da-status'), 'Scanning… 50%');
  assert.equal(await page.$eval('.da-progress', (bar) => (bar as HTMLElement).style.width), '50%');
  await send({ type: 'show', payload: { kind: 'sparsity', data: SPARSITY_REPORT } });
  assert.match((await page.textContent('#content header')) ?? '', /29\.2% sparse/);
  assert.equal((await canvasInkShare(page, '#content canvas')).filter((ink) => ink > 0.01).length, 3);
  await page.screenshot({ path: path.join(ARTIFACTS, 'webview-weight-inspector.png'), fullPage: true });
});

test('the filter box is there however few tensors the Weight Inspector lists', async () => {
  assert.equal(SPARSITY_REPORT.tensors.length, 3);
  assert.equal(await page.isVisible('#content input.da-filter[placeholder="Filter tensors"]'), true);
});

test("clicking a tensor's name pages through its values and draws a |w| heat-map of one kernel tap, zeros marked", async () => {
  const before = (await posted()).length;
  await page.click('#content section:nth-of-type(2) tbody tr:first-child td:first-child');
  const asked = (await posted()).slice(before) as ({ type: string; requestId: number } & Record<string, unknown>)[];
  const slice = asked.find((m) => m.type === 'tensorSlice')!;
  const first = asked.find((m) => m.type === 'previewTensor')!;
  assert.deepEqual(slice, { type: 'tensorSlice', requestId: slice.requestId, name: 'conv1.weight', slice: { tap: 0, rowOffset: 0, colOffset: 0, rows: 128, cols: 128 } });
  assert.deepEqual(first, { type: 'previewTensor', requestId: first.requestId, name: 'conv1.weight', offset: 0, count: 64 });
  assert.notEqual(slice.requestId, first.requestId);
  // A late reply to another request is not drawn as the answer to this one.
  await send({ type: 'tensorPreview', requestId: first.requestId + 50, name: 'conv2.weight', offset: 0, values: [9], total: 9 });
  assert.doesNotMatch((await page.textContent('.da-preview')) ?? '', /conv2\.weight/);
  const page0 = Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? 0 : i / 64));
  await send({ type: 'tensorPreview', requestId: first.requestId, name: 'conv1.weight', offset: 0, values: page0, total: 1152 });
  assert.match((await page.textContent('.da-tensor-values .da-note')) ?? '', /conv1\.weight: values 1–64 of 1152, in stored order/);
  assert.match((await page.textContent('.da-values')) ?? '', /^\[ {3}0\] +0\.00000 +0\.0156250 +0\.0312500/);
  assert.equal(await page.isDisabled('.da-preview [data-control="previous"]'), true);
  // Next asks for the following page; the last page disables Next.
  await page.click('.da-preview [data-control="next"]');
  const second = (await posted()).at(-1) as { type: string; requestId: number; offset: number; count: number };
  assert.deepEqual([second.type, second.offset, second.count], ['previewTensor', 64, 64]);
  await page.selectOption('.da-preview [data-control="page-size"]', '1024');
  const third = (await posted()).at(-1) as { requestId: number; offset: number; count: number };
  assert.deepEqual([third.offset, third.count], [64, 1024]);
  // The reply to the superseded request (second) arrives late and is not drawn.
  await send({ type: 'tensorPreview', requestId: second.requestId, name: 'conv1.weight', offset: 64, values: [7], total: 1152 });
  await send({ type: 'tensorPreview', requestId: third.requestId, name: 'conv1.weight', offset: 64, values: Array.from({ length: 1088 }, () => 0.5), total: 1152 });
  assert.match((await page.textContent('.da-values')) ?? '', /^\[ {2}64\]/);
  assert.equal(await page.isDisabled('.da-preview [data-control="next"]'), true);
  assert.equal(await page.isDisabled('.da-preview [data-control="previous"]'), false);

  // The heat-map: 16 outputs x 8 inputs of the 3x3 kernel's tap (0, 0); w = 0 on the diagonal o = i,
  // w = 2 at (5, 3), the others within [-0.5, 0.4].
  const values: number[] = [];
  for (let o = 0; o < 16; o++) for (let i = 0; i < 8; i++) values.push(o === i ? 0 : o === 5 && i === 3 ? 2 : (((o * 8 + i) % 10) - 5) * 0.1 || 0.05);
  await send({ type: 'tensorSlice', requestId: slice.requestId, slice: { name: 'conv1.weight', tap: 0, rowOffset: 0, colOffset: 0, rows: 16, cols: 8, outputs: 16, inputs: 8, kernel: [3, 3], layout: 'OIHW', values } });
  assert.match((await page.textContent('.da-tensor-heatmap .da-note[role="status"]')) ?? '', /output channels 0–15 \(rows\) × input channels 0–7 \(columns\) at kernel position \(0, 0\) of 3×3, of 16×8; read as OIHW\. 8 of 128 exactly zero; largest \|w\| 2\./);
  assert.equal(await page.getAttribute('.da-heatmap', 'data-zeros'), '8');
  const cell = Number(await page.getAttribute('.da-heatmap', 'data-cell'));
  assert.deepEqual(await page.$eval('.da-heatmap', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]), [8 * cell, 16 * cell]);
  // Zeros are magenta (230, 40, 140): 8 cells; only the largest |w| is yellow.
  assert.equal(await canvasColourCount(page, '.da-heatmap', [230, 40, 140]), 8 * cell * cell);
  assert.equal(await canvasColourCount(page, '.da-heatmap', [250, 230, 60]), cell * cell);
  assert.equal(await page.$$eval('.da-tensor-heatmap [data-control="tap"] option', (o) => o.length), 9);
  // Choosing another tap asks for that slice.
  await page.selectOption('.da-tensor-heatmap [data-control="tap"]', '4');
  const tap = (await posted()).at(-1) as { type: string; slice: { tap: number } };
  assert.deepEqual([tap.type, tap.slice.tap], ['tensorSlice', 4]);
  // A tensor with no 2-D view (a bias) says so in place of the heat-map.
  await send({ type: 'error', requestId: (tap as unknown as { requestId: number }).requestId, message: 'conv1.bias [16] is not a conv or linear weight' });
  assert.match((await page.textContent('.da-tensor-heatmap .da-note[role="status"]')) ?? '', /No heat-map: conv1\.bias \[16\] is not a conv or linear weight/);
  await page.selectOption('.da-tensor-heatmap [data-control="tap"]', '0');
  const again = (await posted()).at(-1) as { type: string; requestId: number };
  assert.equal(again.type, 'tensorSlice');
  await send({ type: 'tensorSlice', requestId: again.requestId, slice: { name: 'conv1.weight', tap: 0, rowOffset: 0, colOffset: 0, rows: 16, cols: 8, outputs: 16, inputs: 8, kernel: [3, 3], layout: 'OIHW', values } });
  assert.equal(await page.getAttribute('.da-heatmap', 'data-zeros'), '8');
  await page.screenshot({ path: path.join(ARTIFACTS, 'webview-tensor-preview.png'), fullPage: true });
});

test('weight inspector: each tensor says its layout and what it rests on, and the layout picker asks the host to scan again', async () => {
  const [conv1, conv2, fc] = SPARSITY_REPORT.tensors as [TensorStats, TensorStats, TensorStats];
  const tensors = [
    { ...conv1, layout: 'OIHW', layoutBasis: 'name' as const },
    { ...conv2, layout: 'HWIO', layoutBasis: 'assumed' as const },
    { ...fc, layout: 'OI', layoutBasis: 'format' as const },
  ];
  await send({ type: 'show', payload: { kind: 'sparsity', data: { ...SPARSITY_REPORT, format: 'hdf5', tensors } } });
  assert.deepEqual(await columnCells(page, '#content section:nth-of-type(2)', 'layout'), ['OIHW (name)', 'HWIO (assumed)', 'OI']);
  assert.match((await page.textContent('#content [data-layout-note]')) ?? '', /assumed = no evidence/);
  assert.equal(await page.$eval('#content [data-layout-picker]', (select) => (select as HTMLSelectElement).value), '', 'as the file suggests');
  await page.selectOption('#content [data-layout-picker]', 'HWIO');
  assert.deepEqual((await posted()).at(-1), { type: 'chooseLayout', layout: 'HWIO' });
  // The host's next report says which override it read: the picker shows it.
  await send({ type: 'show', payload: { kind: 'sparsity', data: { ...SPARSITY_REPORT, layoutOverride: 'HWIO', tensors: tensors.map((t) => ({ ...t, layout: t.shape.length === 4 ? 'HWIO' : 'IO', layoutBasis: 'override' as const })) } } });
  assert.equal(await page.$eval('#content [data-layout-picker]', (select) => (select as HTMLSelectElement).value), 'HWIO');
  assert.deepEqual(await columnCells(page, '#content section:nth-of-type(2)', 'layout'), ['HWIO (override)', 'HWIO (override)', 'IO (override)']);
  await page.screenshot({ path: path.join(ARTIFACTS, 'webview-weight-inspector-layout.png'), fullPage: true });
});

test('export buttons post the report as JSON and CSV to the host', async () => {
  await send({ type: 'show', payload: { kind: 'bench', data: BENCH_REPORT } });
  await page.click('text=Export CSV');
  const csv = (await posted()).at(-1) as Extract<WebviewToHostMessage, { type: 'export' }>;
  assert.equal(csv.type, 'export');
  assert.equal(csv.format, 'csv');
  assert.equal(csv.suggestedName, 'bench.csv');
  const lines = csv.text.trim().split('\n');
  assert.equal(lines.length, 4, 'header and three results');
  assert.match(lines[2], /^conv2_x,.*,winograd-4x3,nchw,1,1,2,3,120,/);
  // The CSV keeps the peer's name on every row (the table shows it once, in the column title).
  assert.match(lines[0], /,Workspace,Peer,Peer GFLOP\/s,× peer$/);
  assert.match(lines[2], /,4096,onnxruntime-node,190,0\.6315789\d*$/);
  await page.click('text=Export JSON');
  const json = (await posted()).at(-1) as Extract<WebviewToHostMessage, { type: 'export' }>;
  assert.deepEqual(JSON.parse(json.text), JSON.parse(JSON.stringify(BENCH_REPORT)));
  await page.screenshot({ path: path.join(ARTIFACTS, 'webview-bench.png'), fullPage: true });
});

test('an error from the host is shown as an alert', async () => {
  await send({ type: 'error', message: '/m/bad.onnx: invalid protobuf at byte 12' });
  assert.equal(await page.textContent('.da-status [role="alert"]'), '/m/bad.onnx: invalid protobuf at byte 12');
});

test('a winograd panel asks the host for an export, and Save offers it as winograd-F4-3.h', async () => {
  const result = generateWinograd({ m: 4, r: 3, errorTrials: 20 });
  await send({ type: 'show', payload: { kind: 'winograd', data: result } });
  const request = (await posted()).at(-1) as { type: string; requestId: number; format: string };
  assert.equal(request.type, 'winogradExport');
  assert.equal(request.format, 'c');
  const text = exportWinograd(result, 'c');
  await send({ type: 'winogradExport', requestId: request.requestId, format: 'c', text });
  assert.equal(await page.textContent('#content .da-code'), text);
  await page.click('#content .da-toolbar button:has-text("Save…")');
  assert.deepEqual((await posted()).at(-1), { type: 'export', format: 'c', text, suggestedName: 'winograd-F4-3.h' });
});

test('nothing violated the Content-Security-Policy and no errors were logged', async () => {
  assert.deepEqual(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations), []);
  assert.deepEqual(page.problems, []);
});
