#!/usr/bin/env node
// `npm test`: every test layer in order, then one summary. First it provisions what the chosen
// layers need beyond node_modules, so that a fresh clone needs only `npm ci && npm test`:
//   setup        Debian packages (scripts/debianPackages.mjs: installed with apt-get when running
//                as root, otherwise it stops at once with the one command to run), the real test
//                models (scripts/fetchTestModels.mjs) and the offline VS Code server cache
//                (scripts/vscodeServer/install.mjs)
//   build        node scripts/build.mjs (also compiles the integration tests)
//   static       tsc --noEmit and eslint
//   unit         node's test runner over test/unit/**/*.test.ts (TypeScript through tsx)
//   browser      node scripts/runBrowserTests.mjs (renderer and webviews in Chromium)
//   integration  node scripts/runIntegration.mjs (offline VS Code server in Chromium), or
//                test/integration/runTest.ts (@vscode/test-electron) when DEEP_ACCEL_TEST_ELECTRON=1
// The last line is always `N passed, N failed`; a layer that could not run counts as one failure.
// Exit code 0 only when nothing failed.
//
// Usage: node scripts/testAll.mjs [--only build,unit,browser,integration]

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIntegrationTests, filesEndingWith, integrationEntry } from './buildTests.mjs';
import { MissingPackagesError, ensureDebianPackages, packagesFor } from './debianPackages.mjs';
import { ensureTestModels } from './fetchTestModels.mjs';
import { ensureCodeServer, isCodeServerInstalled, logsDir } from './vscodeServer/install.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAYERS = ['build', 'static', 'unit', 'browser', 'integration'];
const SUMMARY_LINE = /(\d+) passed, (\d+) failed/g;
const TYPECHECK_PROJECTS = ['extension', 'renderer', 'test', 'scripts'];

function parseArguments(argv) {
  if (argv.length === 0) return new Set(LAYERS);
  const value = argv[0] === '--only' ? argv[1] : argv[0]?.startsWith('--only=') ? argv[0].slice('--only='.length) : undefined;
  const chosen = (value ?? '').split(',').filter(Boolean);
  const unknown = chosen.filter((layer) => !LAYERS.includes(layer));
  if (chosen.length === 0 || unknown.length > 0 || argv.length > (argv[0] === '--only' ? 2 : 1)) {
    console.error(`testAll: usage: node scripts/testAll.mjs [--only ${LAYERS.join(',')}]${unknown.length ? ` (unknown layer: ${unknown.join(', ')})` : ''}`);
    process.exit(2);
  }
  return new Set(chosen);
}

/** Runs a command with its output shown live; resolves with the exit status and the output's tail. */
function runShown(command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk, stream) => {
      stream.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-65536);
    };
    child.stdout.on('data', (chunk) => keep(chunk, process.stdout));
    child.stderr.on('data', (chunk) => keep(chunk, process.stderr));
    child.on('error', (error) => resolve({ status: -1, tail: `${tail}\n${error.message}` }));
    child.on('close', (status, signal) => resolve({ status: status ?? (signal ? 128 : -1), tail }));
  });
}

/** The counts from the last `N passed, N failed` line a layer printed. */
function lastSummary(text) {
  const matches = [...text.matchAll(SUMMARY_LINE)];
  if (matches.length === 0) return undefined;
  const last = matches[matches.length - 1];
  return { passed: Number(last[1]), failed: Number(last[2]) };
}

/** Counts from node's TAP reporter: `# pass N`, `# fail N`, `# cancelled N`, `# skipped N`, `# todo N`. */
function parseTapCounts(tap) {
  const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? NaN);
  return { passed: count('pass'), failed: count('fail') + count('cancelled'), skippedTests: count('skipped') + count('todo') };
}

/** Whether the integration layer runs in the offline code-server (not @vscode/test-electron). */
function usesCodeServer() {
  return process.env.DEEP_ACCEL_TEST_ELECTRON !== '1';
}

/**
 * What the chosen layers need beyond node_modules. Debian packages come first and in one check, so
 * a machine that lacks some and cannot install them stops within seconds with one command to run.
 */
async function setupLayer(chosen) {
  const layers = [...chosen];
  const needsCodeServer = chosen.has('integration') && usesCodeServer();
  const packages = packagesFor(layers, { codeServerBuild: needsCodeServer && !isCodeServerInstalled() });
  const notes = [];
  try {
    const { installed, unchecked } = ensureDebianPackages(packages, { purpose: 'npm test', logFile: path.join(logsDir(), 'apt-get.log') });
    if (packages.length > 0) notes.push(unchecked ? 'Debian packages not checked (no dpkg-query)' : installed.length ? `installed ${installed.join(', ')}` : `${packages.length} Debian packages present`);
  } catch (error) {
    if (!(error instanceof MissingPackagesError)) throw error;
    console.log(error.message);
    return { error: `Debian packages missing: ${error.missing.join(', ')}; install them with: ${error.command}` };
  }
  if (chosen.has('unit')) {
    const { total, fetched } = ensureTestModels();
    notes.push(`${total} test models${fetched ? ` (${fetched} package(s) fetched)` : ''}`);
  }
  if (needsCodeServer) {
    const { seconds } = ensureCodeServer();
    notes.push(seconds ? `code-server installed in ${seconds.toFixed(0)} s` : 'code-server cached');
  }
  return { note: notes.join('; ') || 'nothing needed' };
}

async function buildLayer() {
  const buildScript = path.join(repoRoot, 'scripts', 'build.mjs');
  if (!fs.existsSync(buildScript)) return { notRun: 'scripts/build.mjs does not exist yet' };
  const started = Date.now();
  const { status } = await runShown(process.execPath, [buildScript]);
  if (status !== 0) return { error: `node scripts/build.mjs exited with ${status}` };
  // If the build did not (re)compile the integration tests, do it here so they are never stale.
  if (!fs.existsSync(integrationEntry) || fs.statSync(integrationEntry).mtimeMs < started) await buildIntegrationTests();
  return { note: 'ok' };
}

/** Type checking (tsc --noEmit) and lint (eslint): not tests, but a failure fails the run. */
async function staticLayer() {
  const bin = (name) => path.join(repoRoot, 'node_modules', '.bin', name);
  // One type check per environment: each sees only the types its code may use (DOM for browser code only).
  for (const project of TYPECHECK_PROJECTS) {
    const tsc = await runShown(bin('tsc'), ['--noEmit', '-p', project]);
    if (tsc.status !== 0) return { error: `tsc --noEmit -p ${project} found type errors` };
  }
  const eslint = await runShown(bin('eslint'), ['extension', 'renderer', 'test', 'scripts']);
  if (eslint.status !== 0) return { error: 'eslint found problems' };
  return { note: `tsc --noEmit (${TYPECHECK_PROJECTS.join(', ')}) and eslint (import layers included) clean` };
}

async function unitLayer() {
  const files = filesEndingWith(path.join(repoRoot, 'test', 'unit'), '.test.ts').map((file) => path.relative(repoRoot, file));
  if (files.length === 0) return { error: 'no test/unit/**/*.test.ts files found' };
  const tapFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'deep-accel-unit-')), 'unit.tap');
  try {
    const { status } = await runShown(process.execPath, [
      '--import', 'tsx',
      '--test',
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
      ...files,
    ]);
    const tap = fs.existsSync(tapFile) ? fs.readFileSync(tapFile, 'utf8') : '';
    const counts = parseTapCounts(tap);
    if (Number.isNaN(counts.passed) || Number.isNaN(counts.failed)) return { error: `node --test exited with ${status} and wrote no TAP summary` };
    if (status !== 0 && counts.failed === 0) return { ...counts, error: `node --test exited with ${status} although no test failed` };
    return { ...counts, note: `${files.length} files${counts.skippedTests ? `, ${counts.skippedTests} skipped` : ''}` };
  } finally {
    fs.rmSync(path.dirname(tapFile), { recursive: true, force: true });
  }
}

/** A layer script that prints its own `N passed, N failed` line. */
async function countedScriptLayer(command, args, env) {
  const { status, tail } = await runShown(command, args, env);
  const counts = lastSummary(tail);
  if (!counts) return { error: `${[command, ...args].map((part) => path.relative(repoRoot, part) || part).join(' ')} exited with ${status} without a "N passed, N failed" line` };
  if (status !== 0 && counts.failed === 0) return { ...counts, error: `exited with ${status} although it reported no failure` };
  return counts;
}

async function browserLayer() {
  const script = path.join(repoRoot, 'scripts', 'runBrowserTests.mjs');
  if (!fs.existsSync(script)) return { notRun: 'scripts/runBrowserTests.mjs does not exist yet' };
  return countedScriptLayer(process.execPath, [script]);
}

async function integrationLayer() {
  if (process.env.DEEP_ACCEL_TEST_ELECTRON === '1') {
    return countedScriptLayer(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test', 'integration', 'runTest.ts')]);
  }
  return countedScriptLayer(process.execPath, [path.join(repoRoot, 'scripts', 'runIntegration.mjs')]);
}

const RUNNERS = { build: buildLayer, static: staticLayer, unit: unitLayer, browser: browserLayer, integration: integrationLayer };

async function main() {
  const chosen = parseArguments(process.argv.slice(2));
  const outcomes = [];
  let buildFailed = false;
  for (const layer of ['setup', ...LAYERS.filter((name) => chosen.has(name))]) {
    console.log(`\n=== ${layer} ===`);
    const started = Date.now();
    let outcome;
    if (buildFailed && (layer === 'browser' || layer === 'integration')) outcome = { error: 'not run: the build failed' };
    else {
      try {
        outcome = layer === 'setup' ? await setupLayer(chosen) : await RUNNERS[layer]();
      } catch (error) {
        outcome = { error: error instanceof Error ? error.message : String(error) };
      }
    }
    if (layer === 'build' && outcome.error) buildFailed = true;
    outcomes.push({ layer, seconds: (Date.now() - started) / 1000, ...outcome });
    // Without what the layers need, running them would only fail them one by one, later.
    if (layer === 'setup' && outcome.error) break;
  }

  console.log('\n=== summary ===');
  let passed = 0;
  let failed = 0;
  for (const outcome of outcomes) {
    const counted = Number.isFinite(outcome.passed) && Number.isFinite(outcome.failed);
    if (counted) {
      passed += outcome.passed;
      failed += outcome.failed;
    }
    if (outcome.error) failed += 1;
    const detail = outcome.notRun
      ? `not run (${outcome.notRun})`
      : [counted ? `${outcome.passed} passed, ${outcome.failed} failed` : undefined, outcome.note, outcome.error ? `ERROR: ${outcome.error}` : undefined]
          .filter(Boolean)
          .join('; ');
    console.log(`  ${outcome.layer.padEnd(12)} ${detail} (${outcome.seconds.toFixed(1)} s)`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
