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
import { ARTIFACTS, type BrowserSession, canvasInkShare, columnCells, startBrowserSession } from './harness';

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

test('double-clicking a tensor asks the host for a preview, and the preview is drawn', async () => {
  await page.dblclick('#content section:nth-of-type(2) tbody tr:first-child td:first-child');
  const request = (await posted()).at(-1) as { requestId: number };
  assert.deepEqual(request, { type: 'previewTensor', requestId: request.requestId, name: 'conv1.weight', count: 64 });
  assert.ok(Number.isInteger(request.requestId) && request.requestId > 0);
  // A late reply to an earlier request is not drawn as the answer to this one.
  await send({ type: 'tensorPreview', requestId: request.requestId - 1, name: 'conv2.weight', values: [9], total: 9 });
  assert.doesNotMatch((await page.textContent('.da-preview')) ?? '', /conv2\.weight/);
  await send({ type: 'tensorPreview', requestId: request.requestId, name: 'conv1.weight', values: [0.5, -0.25, 0], total: 1152 });
  assert.match((await page.textContent('.da-preview')) ?? '', /conv1\.weight: first 3 of 1152 values\s*0\.500000\s+-0\.250000\s+0\.00000/);
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
