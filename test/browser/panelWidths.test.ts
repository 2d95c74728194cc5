/**
 * Views at the widths people open them at: a results panel beside an editor (500 and 800 px) and a
 * full window (1400 px). Wide tables must scroll inside their own box with the name column held in
 * place, the figures people come for must be in view without scrolling, and the page itself must
 * never be wider than the panel. Each width leaves a screenshot in test/artifacts/.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { helpPayload } from '../../extension/core/notebook/cellLanguage';
import { mimeTypeOf } from '../../extension/shared/payloads';
import type { HostToWebviewMessage } from '../../extension/shared/webviewProtocol';
import { BENCH_REPORT, PRUNE_REPORT, SPARSITY_REPORT } from './fixtures';
import { ARTIFACTS, type BrowserSession, startBrowserSession } from './harness';

const WIDTHS = [500, 800, 1400];

let session: BrowserSession;

before(async () => {
  session = await startBrowserSession();
});

after(async () => {
  await session?.close();
});

async function webviewAt(width: number, message: HostToWebviewMessage): Promise<Page & { problems: string[] }> {
  const page = await session.newPage();
  await page.setViewportSize({ width, height: 900 });
  await page.goto(`${session.baseUrl}/test/browser/pages/webview.html`);
  await page.evaluate((m) => window.postMessage(m, '*'), message);
  await page.waitForSelector('#content .da-view');
  await page.waitForTimeout(200);
  return page;
}

async function rendererAt(width: number, kind: 'help' | 'bench', data: unknown): Promise<Page & { problems: string[] }> {
  const page = await session.newPage();
  await page.setViewportSize({ width, height: 900 });
  await page.goto(`${session.baseUrl}/test/browser/pages/renderer.html`);
  await page.waitForFunction(() => (window as unknown as { rendererReady?: boolean }).rendererReady === true);
  await page.evaluate(({ mime, data }) => (window as unknown as { renderOutput(m: string, d: unknown, i: string): number }).renderOutput(mime, data, 'out'), { mime: mimeTypeOf(kind), data });
  await page.waitForTimeout(200);
  return page;
}

/** How wide the page is against its viewport: a view that fits never makes the page scroll sideways. */
const pageOverflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

/** Header cells of the first table under `scope`, with whether each lies wholly inside the viewport. */
async function headerVisibility(page: Page, scope: string): Promise<Record<string, boolean>> {
  return page.$$eval(`${scope} .da-table thead th`, (cells) =>
    Object.fromEntries(
      cells.map((cell) => {
        const box = cell.getBoundingClientRect();
        return [(cell.textContent ?? '').replace(/[▲▼]/g, '').trim(), box.left >= 0 && box.right <= window.innerWidth + 0.5];
      }),
    ),
  );
}

/** Scrolls a table's own scroller to its right end; returns how far it scrolled and where the first column is then. */
async function scrollTableToEnd(page: Page, scope: string): Promise<{ scrolled: number; firstColumnShift: number; lastHeaderVisible: boolean }> {
  return page.$eval(`${scope} .da-table-scroll`, (scroller) => {
    const first = scroller.querySelector('tbody tr td:first-child')!;
    const before = first.getBoundingClientRect().left;
    scroller.scrollLeft = scroller.scrollWidth;
    const headers = scroller.querySelectorAll('thead th');
    const last = headers[headers.length - 1].getBoundingClientRect();
    return { scrolled: scroller.scrollLeft, firstColumnShift: first.getBoundingClientRect().left - before, lastHeaderVisible: last.right <= window.innerWidth + 0.5 };
  });
}

for (const width of WIDTHS) {
  test(`benchmark panel at ${width} px: layer, algorithm, GFLOP/s, time and peer ratio in view; the table scrolls by itself`, async () => {
    const page = await webviewAt(width, { type: 'show', payload: { kind: 'bench', data: BENCH_REPORT } });
    assert.ok((await pageOverflow(page)) <= 0, 'the page is no wider than the panel');
    const headers = await headerVisibility(page, '#content');
    // The figures first; Shape is gone (the suite's layer names are kept, each cell's tooltip has
    // the shape) only when names say the shape, so for a suite it stays, at the end.
    assert.deepEqual(Object.keys(headers).slice(0, 5), ['Layer', 'Algorithm', 'GFLOP/s', 'ms median', '× peer']);
    assert.ok(!('Threads' in headers), 'one thread count for the whole run is said in the subtitle, not in a column');
    for (const title of ['Layer', 'Algorithm', 'GFLOP/s', 'ms median', '× peer']) assert.ok(headers[title], `${title} is in view at ${width} px`);
    assert.match((await page.textContent('#content .da-subtitle')) ?? '', /· 1 thread ·/);
    const overflowing = await page.$eval('#content .da-table-scroll', (s) => s.scrollWidth > s.clientWidth);
    if (width <= 800) {
      assert.ok(overflowing, 'at this width the table is wider than the panel and scrolls');
      const scrolled = await scrollTableToEnd(page, '#content');
      assert.ok(scrolled.scrolled > 0, 'the table scrolls inside its own box');
      assert.equal(scrolled.firstColumnShift, 0, 'the layer column stays where it was');
      assert.ok(scrolled.lastHeaderVisible, 'the last column can be scrolled into view');
      await page.screenshot({ path: path.join(ARTIFACTS, `panel-bench-${width}-scrolled.png`) });
      await page.$eval('#content .da-table-scroll', (s) => (s.scrollLeft = 0));
    } else {
      assert.ok(!overflowing, `at ${width} px every column fits`);
      for (const [title, visible] of Object.entries(headers)) assert.ok(visible, `${title} is in view at ${width} px`);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, `panel-bench-${width}.png`), fullPage: true });
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test(`notebook help and bench outputs at ${width} px: no text hidden past the right edge`, async () => {
    const help = await rendererAt(width, 'help', helpPayload());
    assert.ok((await pageOverflow(help)) <= 0, 'the help output is no wider than the notebook');
    const cells = await help.$$eval('#out .da-table td', (tds) => tds.map((td) => td.getBoundingClientRect().right <= window.innerWidth + 0.5));
    assert.ok(cells.length >= 12 && cells.every(Boolean), 'every usage and description wraps inside the output');
    await help.screenshot({ path: path.join(ARTIFACTS, `notebook-help-${width}.png`), fullPage: true });
    await help.close();

    const bench = await rendererAt(width, 'bench', BENCH_REPORT);
    assert.ok((await pageOverflow(bench)) <= 0, 'the bench output is no wider than the notebook');
    const headers = await headerVisibility(bench, '#out');
    for (const title of ['Layer', 'Algorithm', 'GFLOP/s', 'ms median']) assert.ok(headers[title], `${title} is in view at ${width} px`);
    await bench.screenshot({ path: path.join(ARTIFACTS, `notebook-bench-${width}.png`), fullPage: true });
    await bench.close();
  });
}

test('a custom layer, named by its shape, has no Shape column saying it again; several thread counts get a column and "N threads" series', async () => {
  const shape = { N: 1, C: 16, H: 14, W: 14, K: 16, R: 3, S: 3, stride: 1, pad: 1 };
  const results = [1, 2].map((threads) => ({ ...BENCH_REPORT.results[0], layer: '1x16x14x14-k16-3x3-s1p1', shape, threads, peer: undefined }));
  const page = await webviewAt(800, { type: 'show', payload: { kind: 'bench', data: { ...BENCH_REPORT, suite: undefined, results, skipped: [] } } });
  const headers = Object.keys(await headerVisibility(page, '#content'));
  assert.ok(!headers.some((title) => title.startsWith('Shape')), `no Shape column (saw ${headers.join(', ')})`);
  assert.ok(headers.includes('Threads'));
  const series = JSON.parse((await page.getAttribute('#content canvas', 'data-series')) ?? '[]');
  assert.deepEqual(series, ['im2col · 1 thread', 'im2col · 2 threads']);
  assert.match((await page.textContent('#content .da-subtitle')) ?? '', /· 1 thread, 2 threads/);
  await page.close();
});

test('sparsity and prune tables at 500 px put the figures first and keep the name column in place', async () => {
  const sparsity = await webviewAt(500, { type: 'show', payload: { kind: 'sparsity', data: SPARSITY_REPORT } });
  assert.ok((await pageOverflow(sparsity)) <= 0);
  const headers = await headerVisibility(sparsity, '#content section:nth-of-type(2)');
  assert.deepEqual(Object.keys(headers).slice(0, 3), ['Tensor', 'Sparsity', 'Params']);
  assert.ok(headers.Sparsity && headers.Params);
  const scrolled = await scrollTableToEnd(sparsity, '#content section:nth-of-type(2)');
  assert.ok(scrolled.scrolled > 0 && scrolled.firstColumnShift === 0);
  await sparsity.screenshot({ path: path.join(ARTIFACTS, 'panel-sparsity-500-scrolled.png') });
  await sparsity.close();

  const prune = await webviewAt(500, { type: 'show', payload: { kind: 'prune', data: PRUNE_REPORT } });
  assert.ok((await pageOverflow(prune)) <= 0);
  const pruneHeaders = await headerVisibility(prune, '#content section');
  assert.deepEqual(Object.keys(pruneHeaders).slice(0, 4), ['Tensor', 'After', 'Target', 'Removed']);
  assert.ok(pruneHeaders.After && pruneHeaders.Target);
  await prune.screenshot({ path: path.join(ARTIFACTS, 'panel-prune-500.png'), fullPage: true });
  await prune.close();
});

test('the Weight Inspector tensor preview fits a 500 px panel: values and heat-map scroll in their own boxes, the page never sideways', async () => {
  for (const width of [500, 1400]) {
    const page = await webviewAt(width, { type: 'show', payload: { kind: 'sparsity', data: SPARSITY_REPORT } });
    await page.click('#content .da-previewable tbody tr:first-child td:first-child');
    const asked = await page.evaluate(() => (window as unknown as { postedToHost: { type: string; requestId?: number }[] }).postedToHost);
    const slice = asked.find((m) => m.type === 'tensorSlice')!;
    const values = asked.find((m) => m.type === 'previewTensor')!;
    // A 64 x 128 window (every cell drawn) and a page of 64 values whose lines are wider than 500 px.
    const cells = Array.from({ length: 64 * 128 }, (_, i) => (i % 5 === 0 ? 0 : ((i % 17) - 8) / 8));
    const replies: HostToWebviewMessage[] = [
      { type: 'tensorSlice', requestId: slice.requestId!, slice: { name: 'conv1.weight', tap: 0, rowOffset: 0, colOffset: 0, rows: 64, cols: 128, outputs: 64, inputs: 128, kernel: [3, 3], layout: 'OIHW', values: cells } },
      { type: 'tensorPreview', requestId: values.requestId!, name: 'conv1.weight', offset: 0, values: Array.from({ length: 64 }, (_, i) => -1234.5678 + i), total: 73_728 },
    ];
    for (const reply of replies) await page.evaluate((m) => window.postMessage(m, '*'), reply);
    await page.waitForSelector('.da-preview .da-values');
    await page.waitForTimeout(200);
    assert.ok((await pageOverflow(page)) <= 0, `the page is no wider than the ${width} px panel`);
    const box = await page.$eval('.da-preview .da-values', (pre) => ({ scroll: pre.scrollWidth, client: pre.clientWidth, right: pre.getBoundingClientRect().right }));
    assert.ok(box.right <= width + 0.5, 'the values box ends inside the panel');
    if (width === 500) assert.ok(box.scroll > box.client, 'at 500 px the value lines scroll inside their box');
    const controls = await page.$$eval('.da-preview select, .da-preview input, .da-preview button', (elements) =>
      elements.map((e) => e.getBoundingClientRect()).map((r) => r.right),
    );
    assert.ok(controls.length >= 6 && controls.every((right) => right <= width + 0.5), `every control is in view at ${width} px (right edges ${controls.map(Math.round).join(', ')})`);
    await page.$eval('.da-preview .da-tensor-preview', (section) => section.scrollIntoView());
    await page.screenshot({ path: path.join(ARTIFACTS, `panel-tensor-preview-${width}.png`) });
    await page.close();
  }
});
