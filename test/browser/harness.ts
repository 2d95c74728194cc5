/**
 * Browser-test harness: serves the repository over loopback and drives Debian's Chromium through
 * playwright-core (no browser download). Pages under test/browser/pages load the real bundles from
 * dist/, exactly as VS Code would.
 */
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const ARTIFACTS = path.join(REPO_ROOT, 'test/artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};

export interface BrowserSession {
  baseUrl: string;
  browser: Browser;
  /** A fresh page that records console errors, page errors and CSP violations. */
  newPage(): Promise<Page & { problems: string[] }>;
  close(): Promise<void>;
}

export async function startBrowserSession(): Promise<BrowserSession> {
  for (const bundle of ['dist/renderer.js', 'dist/webview.js', 'dist/styles.css']) {
    if (!existsSync(path.join(REPO_ROOT, bundle))) throw new Error(`${bundle} is missing: run 'npm run build' first`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    const file = path.normalize(path.join(REPO_ROOT, decodeURIComponent(url.pathname)));
    if (!file.startsWith(REPO_ROOT) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    baseUrl,
    browser,
    async newPage() {
      const page = (await browser.newPage({ viewport: { width: 1280, height: 900 } })) as Page & { problems: string[] };
      page.problems = [];
      page.on('console', (message) => {
        if (message.type() === 'error') page.problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
      return page;
    },
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Share of a canvas's pixels that are not transparent: a drawn chart covers a good part of its box. */
export async function canvasInkShare(page: Page, selector: string): Promise<number[]> {
  return page.$$eval(selector, (canvases) =>
    (canvases as HTMLCanvasElement[]).map((canvas) => {
      const context = canvas.getContext('2d');
      if (!context || canvas.width === 0 || canvas.height === 0) return 0;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      let ink = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
      return ink / (canvas.width * canvas.height);
    }),
  );
}

/** Counts pixels of one colour (within a tolerance) in a canvas: tells which series were drawn. */
export async function canvasColourCount(page: Page, selector: string, rgb: [number, number, number]): Promise<number> {
  return page.$eval(
    selector,
    (canvas, colour) => {
      const c = canvas as HTMLCanvasElement;
      const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - colour[0]) < 8 && Math.abs(data[i + 1] - colour[1]) < 8 && Math.abs(data[i + 2] - colour[2]) < 8 && data[i + 3] > 200) count++;
      }
      return count;
    },
    rgb,
  );
}

/** The cells of one column (found by its header's data-key) of the first table under `scope`, row by row. */
export async function columnCells(page: Page, scope: string, key: string): Promise<(string | null)[]> {
  return page.$eval(
    `${scope} table.da-table`,
    (table, columnKey) => {
      const headers = [...table.querySelectorAll('thead th')];
      const index = headers.findIndex((th) => th.getAttribute('data-key') === columnKey);
      if (index < 0) throw new Error(`no column ${columnKey} (columns: ${headers.map((th) => th.getAttribute('data-key')).join(', ')})`);
      return [...table.querySelectorAll('tbody tr')].map((row) => row.children[index]?.textContent ?? null);
    },
    key,
  );
}
