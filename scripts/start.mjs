#!/usr/bin/env node
// `npm start`: builds, then opens VS Code on samples/ with the extension loaded from this repository.
//   - VS Code desktop when its `code` command is on PATH;
//   - otherwise (or with --server) VS Code's server build (code-server, installed offline into the
//     cache on first use), bound to 127.0.0.1; open the printed URL in a browser (from another
//     machine: ssh -L PORT:127.0.0.1:PORT).
// Stays in the foreground until Ctrl-C (desktop: until the window closes).
//
// Usage: node scripts/start.mjs [--server] [--port N] [--no-build]

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCodeServer } from './vscodeServer/install.mjs';
import { startCodeServer, workbenchUrl } from './vscodeServer/server.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node scripts/start.mjs [--server] [--port N] [--no-build]';

function parseArguments(argv) {
  const options = { server: false, port: undefined, build: true };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (argument === '--server') options.server = true;
    else if (argument === '--no-build') options.build = false;
    else if (argument === '--port') {
      const port = Number(argv[++i]);
      if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--port needs a port number between 1 and 65535, got ${argv[i] ?? 'nothing'}`);
      options.port = port;
    } else fail(`unknown argument ${argument}; ${USAGE}`);
  }
  return options;
}

function fail(message) {
  console.error(`start: ${message}`);
  process.exit(1);
}

function desktopCodeCommand() {
  const probe = spawnSync('code', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? 'code' : undefined;
}

function build() {
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build.mjs')], { cwd: repoRoot, stdio: 'inherit' });
  if (result.status !== 0) fail(`the build failed (node scripts/build.mjs exited with ${result.status})`);
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'extension.js'))) fail('the build did not produce dist/extension.js');
}

function workspaceFolder() {
  const samples = path.join(repoRoot, 'samples');
  if (!fs.existsSync(samples)) fail(`${samples} does not exist`);
  return samples;
}

async function runDesktop(code, folder) {
  console.log(`Opening VS Code desktop on ${path.relative(repoRoot, folder)}/ with the extension from ${repoRoot} (close the window to end)`);
  // --wait keeps this process until the window closes, so Ctrl-C here has something to stop.
  const child = spawn(code, ['--new-window', '--wait', `--extensionDevelopmentPath=${repoRoot}`, folder], { stdio: 'inherit' });
  const status = await new Promise((resolve) => child.on('close', (exitCode) => resolve(exitCode ?? 0)));
  process.exitCode = status;
}

async function runServer(folder, port) {
  const install = ensureCodeServer();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deep-accel-start-'));
  let server;
  const cleanUp = async () => {
    await server?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    server = await startCodeServer({ installDir: install.dir, stateDir, folder, port });
  } catch (error) {
    await cleanUp();
    fail(error instanceof Error ? error.message : String(error));
  }
  const url = workbenchUrl({ origin: server.origin, folder, extensionDevelopmentPath: repoRoot });
  console.log(`\nVS Code (code-server) is running with the extension loaded on ${path.relative(repoRoot, folder)}/:\n\n  ${url}\n`);
  console.log(`Open that URL in a browser (it only listens on 127.0.0.1; from another machine use ssh -L ${server.port}:127.0.0.1:${server.port}).`);
  console.log(`After a rebuild (node scripts/build.mjs), run "Developer: Reload Window". Server log: ${server.logFile}. Ctrl-C to stop.`);

  const stopped = new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => resolve(`received ${signal}`));
    server.child.once('exit', (code, signal) => resolve(`code-server exited (${code ?? signal})`));
  });
  const reason = await stopped;
  console.log(`\nstopping: ${reason}`);
  await cleanUp();
  process.exitCode = reason.startsWith('code-server exited') ? 1 : 0;
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  if (options.build) build();
  const folder = workspaceFolder();
  const code = options.server ? undefined : desktopCodeCommand();
  if (code) await runDesktop(code, folder);
  else await runServer(folder, options.port);
}

await main();
