#!/usr/bin/env node
// Offline integration runner: runs the mocha suite in test/integration inside a real VS Code
// (the server build from the `code-server` npm package, driven in Debian's Chromium by
// playwright-core). Same suite as test/integration/runTest.ts (@vscode/test-electron), which needs
// a network to download VS Code.
//
// Expects a built extension (dist/extension.js, from `node scripts/build.mjs`). Compiles the
// integration tests itself only when out/test/integration/index.js is missing.
//
// Usage: node scripts/runIntegration.mjs [--grep REGEX] [--keep-temp]
// Environment: DEEP_ACCEL_CACHE (code-server cache), CHROMIUM_PATH (browser binary,
//   default /usr/bin/chromium), DEEP_ACCEL_INTEGRATION_TIMEOUT_S (whole run, default 420: the suite takes about 240 s on a loaded 2-core machine),
//   DEEP_ACCEL_HEADED=1 (show the browser; needs a display), DEEP_ACCEL_EXTENSION_DIR (extension
//   folder to load, default the repository; e.g. an unpacked .vsix).
// Prints one line per test and ends with `N passed, N failed`; exit code 1 on any failure.

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ensureCodeServer } from './vscodeServer/install.mjs';
import { startCodeServer, workbenchUrl } from './vscodeServer/server.mjs';
import { buildIntegrationTests, integrationEntry } from './buildTests.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const artifactsDir = path.join(repoRoot, 'test', 'artifacts');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

class RunnerError extends Error {}

/** Console errors that only say the machine is offline (marketplace lookups, missing optional assets). */
const OFFLINE_NOISE = /Failed to load resource|ENOTFOUND|ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED/;

function parseArguments(argv) {
  const options = { grep: undefined, keepTemp: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--grep' && i + 1 < argv.length) options.grep = argv[++i];
    else if (argv[i] === '--keep-temp') options.keepTemp = true;
    else throw new RunnerError(`unknown argument ${argv[i]}; usage: node scripts/runIntegration.mjs [--grep REGEX] [--keep-temp]`);
  }
  return options;
}

export function chromiumExecutable() {
  const executable = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!fs.existsSync(executable)) {
    throw new RunnerError(`Chromium not found at ${executable}: apt-get install -y chromium (or set CHROMIUM_PATH to a Chromium binary)`);
  }
  return executable;
}

/** A scratch copy of samples/, so tests may write into their workspace without touching the repo. */
function prepareWorkspace(tempRoot) {
  const workspace = path.join(tempRoot, 'workspace');
  const samples = path.join(repoRoot, 'samples');
  if (fs.existsSync(samples)) fs.cpSync(samples, workspace, { recursive: true });
  else fs.mkdirSync(workspace);
  return workspace;
}

function safeArtifactName(name) {
  const cleaned = String(name).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80);
  if (!cleaned) throw new RunnerError(`screenshot name ${JSON.stringify(name)} has no usable characters`);
  return cleaned;
}

const MAX_HTML_CHARS = 4000;

/** Every frame of the page (webview and notebook output iframes included) searched for `selector`. */
async function queryFrames(page, { selector, frameUrlIncludes, textIncludes }) {
  const matches = [];
  for (const frame of page.frames()) {
    if (frame.isDetached()) continue;
    const frameUrl = frame.url();
    if (frameUrlIncludes && !frameUrl.includes(frameUrlIncludes)) continue;
    try {
      const found = await frame.$$eval(
        selector,
        (elements, maxHtml) =>
          elements.map((element) => ({
            text: (element.textContent || '').replace(/\s+/g, ' ').trim(),
            html: element.outerHTML.slice(0, maxHtml),
          })),
        MAX_HTML_CHARS,
      );
      for (const match of found) {
        if (typeof textIncludes !== 'string' || match.text.includes(textIncludes)) matches.push({ frameUrl, ...match });
      }
    } catch (error) {
      // Frames come and go while the workbench renders; an invalid selector is the caller's error.
      if (/is not a valid selector|SyntaxError/.test(String(error))) throw new RunnerError(`invalid selector ${JSON.stringify(selector)}`);
    }
  }
  return matches;
}

async function pollFrames(page, request) {
  const minCount = Number.isInteger(request.minCount) && request.minCount > 0 ? request.minCount : 1;
  const timeoutMs = Number.isFinite(request.timeoutMs) ? Math.max(0, request.timeoutMs) : 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const matches = await queryFrames(page, request);
    if (matches.length >= minCount || Date.now() >= deadline) return matches;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The first element in `frame` matching `request.selector` whose text (whitespace collapsed, as
 * queryFrames reports it) contains `request.textIncludes` when that is given.
 */
async function matchingHandle(frame, request) {
  const handles = await frame.$$(request.selector).catch(() => []);
  for (const handle of handles) {
    if (typeof request.textIncludes !== 'string') return handle;
    const text = await handle.evaluate((element) => (element.textContent || '').replace(/\s+/g, ' ').trim()).catch(() => '');
    if (text.includes(request.textIncludes)) return handle;
  }
  return null;
}

async function clickFirst(page, request) {
  const handle = await firstHandle(page, request);
  await handle.click({ timeout: 30_000 });
  return { clicked: true };
}

/** The first element matching `request.selector` (and `request.textIncludes`) in any frame, polling until `request.timeoutMs`. */
async function firstHandle(page, request) {
  const timeoutMs = Number.isFinite(request.timeoutMs) ? Math.max(0, request.timeoutMs) : 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      if (frame.isDetached()) continue;
      if (request.frameUrlIncludes && !frame.url().includes(request.frameUrlIncludes)) continue;
      const handle = await matchingHandle(frame, request);
      if (handle) return handle;
    }
    if (Date.now() >= deadline) throw new RunnerError(`no element matches ${JSON.stringify(request.selector)}${typeof request.textIncludes === 'string' ? ` with text ${JSON.stringify(request.textIncludes)}` : ''} in any frame after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Types into a text field as a user would (its input events fire), then presses `key` if given. */
async function typeInto(page, request) {
  if (typeof request.text !== 'string' && typeof request.key !== 'string') throw new RunnerError('type: give "text", "key" or both');
  const handle = await firstHandle(page, request);
  if (typeof request.text === 'string') {
    await handle.fill('');
    await handle.type(request.text);
  }
  if (typeof request.key === 'string') await handle.press(request.key);
  return { typed: true };
}

/**
 * HTTP endpoint through which the suite in the extension host asks about the browser page
 * (test/integration/pageBridge.ts). The random token keeps other local processes from driving it.
 */
function startPageBridge(getPage) {
  const token = randomBytes(16).toString('hex');
  const handlers = {
    query: (page, request) => pollFrames(page, request).then((matches) => ({ matches })),
    click: clickFirst,
    type: typeInto,
    screenshot: async (page, request) => {
      const file = path.join(artifactsDir, `${safeArtifactName(request.name)}.png`);
      await page.screenshot({ path: file });
      return { path: file };
    },
    // The browser window's size, so a suite can look at a view in a narrow and a wide window.
    viewport: async (page, request) => {
      const { width, height } = request;
      if (![width, height].every((n) => Number.isInteger(n) && n >= 200 && n <= 4000)) throw new RunnerError('viewport: "width" and "height" must be whole numbers of pixels from 200 to 4000');
      await page.setViewportSize({ width, height });
      return { width, height };
    },
  };
  const server = http.createServer(async (req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const [, requestToken, action] = (req.url || '').split('/');
    if (req.method !== 'POST' || requestToken !== token || !Object.hasOwn(handlers, action)) return reply(404, { error: `unknown bridge request ${req.method} ${req.url}` });
    let body = '';
    for await (const chunk of req) {
      body += chunk;
      if (body.length > 65536) return reply(413, { error: 'request body over 64 KiB' });
    }
    try {
      const request = JSON.parse(body || '{}');
      if (action !== 'screenshot' && action !== 'viewport' && (typeof request.selector !== 'string' || request.selector === '')) {
        return reply(400, { error: `${action}: "selector" must be a non-empty string` });
      }
      const page = getPage();
      if (!page) return reply(503, { error: 'the browser page is not open' });
      reply(200, await handlers[action](page, request));
    } catch (error) {
      reply(error instanceof RunnerError || error instanceof SyntaxError ? 400 : 500, { error: String(error instanceof Error ? error.message : error) });
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/${token}`,
        close: () => new Promise((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      }),
    );
  });
}

/** Reads the lines appended to the progress file since the last call. */
function progressReader(file) {
  let offset = 0;
  let pending = '';
  return () => {
    let chunk = '';
    try {
      const fd = fs.openSync(file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        if (size > offset) {
          const buffer = Buffer.alloc(size - offset);
          fs.readSync(fd, buffer, 0, buffer.length, offset);
          offset = size;
          chunk = buffer.toString('utf8');
        }
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return [];
    }
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    return lines.filter(Boolean).map((line) => JSON.parse(line));
  };
}

function printEvent(event, timing) {
  switch (event.event) {
    case 'start':
      timing.testsLoadedAt = Date.now();
      console.log(`  suite loaded in the extension host ${((timing.testsLoadedAt - timing.pageOpenedAt) / 1000).toFixed(1)} s after opening the page: ${event.total} test(s) in ${event.files.join(', ')}`);
      break;
    case 'pass':
      console.log(`  ✔ ${event.fullTitle} (${event.durationMs} ms)`);
      break;
    case 'fail':
      console.log(`  ✘ ${event.fullTitle}\n      ${event.message.split('\n').join('\n      ')}`);
      break;
    case 'pending':
      console.log(`  - ${event.fullTitle} (skipped)`);
      break;
  }
}

/**
 * Runs the suite once; returns { passed, failed, pending, failures } where failures lists the
 * failing test names with messages. Throws RunnerError when the suite could not run at all.
 */
export async function runIntegration({ grep, keepTemp = false } = {}) {
  const timeoutS = Number(process.env.DEEP_ACCEL_INTEGRATION_TIMEOUT_S || 420);
  const extensionDir = path.resolve(process.env.DEEP_ACCEL_EXTENSION_DIR || repoRoot);
  const extensionMain = path.join(extensionDir, 'dist', 'extension.js');
  if (!fs.existsSync(extensionMain)) throw new RunnerError(`${extensionMain} is missing: build the extension first (node scripts/build.mjs)`);
  if (!fs.existsSync(integrationEntry)) {
    console.log('  compiling integration tests (out/test/integration is missing) ...');
    await buildIntegrationTests();
  }
  const executablePath = chromiumExecutable();
  const install = ensureCodeServer();
  fs.mkdirSync(artifactsDir, { recursive: true });

  const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'deep-accel-integration-'));
  const resultsFile = path.join(tempRoot, 'results.json');
  const progressFile = path.join(tempRoot, 'progress.jsonl');
  const workspace = prepareWorkspace(tempRoot);
  const timing = { startedAt: Date.now(), serverReadyAt: 0, pageOpenedAt: 0, testsLoadedAt: 0, hostExitSeenAt: 0 };
  let server;
  let browser;
  let page;
  const bridge = await startPageBridge(() => page);
  const pageErrors = [];
  let cleanedUp;
  const cleanUp = () =>
    (cleanedUp ??= (async () => {
      await browser?.close().catch(() => {});
      await server?.stop();
      await bridge.close();
      saveLogs(tempRoot);
      if (keepTemp || process.env.DEEP_ACCEL_KEEP_TEMP === '1') console.log(`  kept temporary files in ${tempRoot}`);
      else fs.rmSync(tempRoot, { recursive: true, force: true });
    })());
  // code-server runs in its own process group (so it can be stopped with its extension host), which
  // also means Ctrl-C does not reach it: stop it here.
  const onSignal = (signal) => {
    console.error(`\n  interrupted (${signal}): stopping code-server and the browser`);
    cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    server = await startCodeServer({
      installDir: install.dir,
      stateDir: path.join(tempRoot, 'server'),
      folder: workspace,
      env: {
        DEEP_ACCEL_TEST_RESULTS: resultsFile,
        DEEP_ACCEL_TEST_PROGRESS: progressFile,
        DEEP_ACCEL_PAGE_BRIDGE: bridge.url,
        ...(grep ? { DEEP_ACCEL_TEST_GREP: grep } : {}),
      },
    });
    timing.serverReadyAt = Date.now();
    console.log(`  code-server listening at ${server.origin} after ${((timing.serverReadyAt - timing.startedAt) / 1000).toFixed(1)} s`);

    // Signals are handled above, so that code-server is stopped too; Playwright would just exit.
    browser = await chromium.launch({
      executablePath,
      headless: process.env.DEEP_ACCEL_HEADED !== '1',
      args: CHROMIUM_ARGS,
      handleSIGINT: false,
      handleSIGTERM: false,
    });
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // The workbench reports extension host and test-module failures on its console.
    page.on('console', (message) => {
      if (message.type() === 'error' && !OFFLINE_NOISE.test(message.text())) pageErrors.push(`console: ${message.text().slice(0, 2000)}`);
    });
    let crashed = false;
    page.on('crash', () => {
      crashed = true;
    });
    const url = workbenchUrl({ origin: server.origin, folder: workspace, extensionDevelopmentPath: extensionDir, extensionTestsPath: integrationEntry });
    timing.pageOpenedAt = Date.now();
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });

    const readProgress = progressReader(progressFile);
    const deadline = timing.startedAt + timeoutS * 1000;
    for (;;) {
      for (const event of readProgress()) printEvent(event, timing);
      if (fs.existsSync(resultsFile)) break;
      const hostExit = extensionHostExit(server.logFile);
      if (hostExit && !timing.hostExitSeenAt) timing.hostExitSeenAt = Date.now();
      const problem = crashed
        ? 'the browser page crashed'
        : server.child.exitCode !== null || server.child.signalCode !== null
          ? `code-server exited (${server.child.exitCode ?? server.child.signalCode})`
          : timing.hostExitSeenAt && Date.now() - timing.hostExitSeenAt > HOST_EXIT_GRACE_MS
            ? `the extension host exited (${hostExit}) without writing results (${timing.testsLoadedAt ? 'the suite started but did not finish' : 'the test module never ran: does it load?'})`
            : Date.now() > deadline
            ? `no results after ${timeoutS} s (${timing.testsLoadedAt ? 'the suite started but did not finish' : 'the suite never started in the extension host'})`
            : undefined;
      if (problem) {
        const screenshot = await saveScreenshot(page, 'integration-failure');
        throw new RunnerError(
          `${problem}.${screenshot ? ` Screenshot: ${screenshot}.` : ''}` +
            (pageErrors.length ? `\nPage errors:\n  ${pageErrors.slice(-10).join('\n  ')}` : '') +
            `\nLast code-server/extension host log lines:\n${logTail(server.logFile, tempRoot, 15)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    for (const event of readProgress()) printEvent(event, timing);
    const screenshot = await saveScreenshot(page, 'workbench-final');
    const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
    const finishedAt = Date.now();
    console.log(
      `  timings: server start ${seconds(timing.serverReadyAt - timing.startedAt)}, page open to tests loaded ${timing.testsLoadedAt ? seconds(timing.testsLoadedAt - timing.pageOpenedAt) : 'n/a'}, total ${seconds(finishedAt - timing.startedAt)}`,
    );
    if (screenshot) console.log(`  screenshot: ${path.relative(repoRoot, screenshot)}; logs: ${path.relative(repoRoot, artifactsDir)}/integration-logs/`);
    if (results.failed.length > 0) {
      console.log('  failures:');
      for (const failure of results.failed) console.log(`    ${failure.fullTitle}\n      ${(failure.stack || failure.message).split('\n').join('\n      ')}`);
      if (pageErrors.length) console.log(`  page errors seen meanwhile:\n    ${pageErrors.slice(-10).join('\n    ')}`);
    }
    return { passed: results.passed.length, failed: results.failed.length, pending: results.pending.length, failures: results.failed };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}

/** The results file is written before run() returns; allow for a slow disk before calling it lost. */
const HOST_EXIT_GRACE_MS = 3000;

/**
 * Keeps the server's and VS Code's logs (extension host included) of the last run under
 * test/artifacts/integration-logs/, since the temporary folder goes away.
 */
function saveLogs(tempRoot) {
  const target = path.join(artifactsDir, 'integration-logs');
  fs.rmSync(target, { recursive: true, force: true });
  const serverDir = path.join(tempRoot, 'server');
  for (const source of ['code-server.log', path.join('user-data', 'logs')]) {
    if (fs.existsSync(path.join(serverDir, source))) fs.cpSync(path.join(serverDir, source), path.join(target, source), { recursive: true });
  }
}

/** code-server logs the extension host's exit; the test run is over once that happens. */
function extensionHostExit(serverLog) {
  try {
    const match = /Extension Host Process exited with (code: \S+, signal: \S+?)\.?$/m.exec(fs.readFileSync(serverLog, 'utf8'));
    return match ? match[1] : undefined;
  } catch {
    return undefined;
  }
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** code-server's own log plus the extension host's, which VS Code writes under the user data dir. */
function logTail(serverLog, tempRoot, lines) {
  const logs = [serverLog];
  const logsRoot = path.join(tempRoot, 'server', 'user-data', 'logs');
  if (fs.existsSync(logsRoot)) {
    for (const name of fs.readdirSync(logsRoot, { recursive: true, encoding: 'utf8' })) {
      if (/remoteexthost\.log$|exthost\.log$/.test(name)) logs.push(path.join(logsRoot, name));
    }
  }
  return logs
    .map((file) => {
      try {
        return `--- ${file}\n${fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`;
      } catch {
        return `--- ${file} (unreadable)`;
      }
    })
    .join('\n');
}

async function saveScreenshot(page, name) {
  if (!page || page.isClosed()) return undefined;
  const file = path.join(artifactsDir, `${name}.png`);
  try {
    await page.screenshot({ path: file, timeout: 10_000 });
    return file;
  } catch {
    return undefined;
  }
}

async function main() {
  const started = Date.now();
  try {
    const options = parseArguments(process.argv.slice(2));
    console.log('Integration tests (offline VS Code server in Chromium)');
    const { passed, failed, pending } = await runIntegration(options);
    console.log(`integration: ${pending ? `${pending} skipped, ` : ''}done in ${seconds(Date.now() - started)}`);
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed > 0 ? 1 : 0;
  } catch (error) {
    console.error(`runIntegration: ${error instanceof RunnerError ? error.message : error instanceof Error ? error.stack : error}`);
    console.log('0 passed, 1 failed');
    process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
