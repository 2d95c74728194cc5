// Starts and stops the offline VS Code server (code-server) for the integration runner and `npm start`.
// Everything it writes (settings, extensions, logs of VS Code itself) goes into a caller-given
// state folder, never into the user's ~/.config or ~/.local.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { codeServerEntry } from './install.mjs';

/** Workbench settings that keep first-run UI (welcome page, tips, update prompts) out of the way. */
const QUIET_WORKBENCH_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The workbench URL that opens `folder` with the extension at `extensionDevelopmentPath` loaded from
 * source and, when `extensionTestsPath` is given, runs that module's `run()` in the extension host.
 * Paths are absolute paths on the server machine.
 */
export function workbenchUrl({ origin, folder, extensionDevelopmentPath, extensionTestsPath }) {
  const remote = (absolutePath) => `vscode-remote://${new URL(origin).host}${absolutePath}`;
  const payload = [['extensionDevelopmentPath', remote(extensionDevelopmentPath)]];
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  return `${origin}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

function tail(file, lines) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitForHealth(origin, child, logFile, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited (${child.exitCode ?? child.signalCode}) before it started listening. Last log lines (${logFile}):\n${tail(logFile, 25)}`);
    }
    try {
      const response = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`code-server did not answer ${origin}/healthz within ${timeoutMs / 1000} s. Last log lines (${logFile}):\n${tail(logFile, 25)}`);
}

/**
 * Starts code-server on 127.0.0.1 without authentication.
 * @param {object} options
 * @param {string} options.installDir   the code-server cache (see install.mjs)
 * @param {string} options.stateDir     empty folder for user data, extensions, config and the log
 * @param {string} options.folder       workspace folder the server opens by default
 * @param {number} [options.port]       default: a free port
 * @param {Record<string,string>} [options.env]  extra environment; the extension host inherits it
 * @param {number} [options.startTimeoutMs]
 * @returns {Promise<{origin: string, port: number, logFile: string, child: import('node:child_process').ChildProcess, stop: () => Promise<void>}>}
 */
export async function startCodeServer({ installDir, stateDir, folder, port, env = {}, startTimeoutMs = 60_000 }) {
  const userDataDir = path.join(stateDir, 'user-data');
  const extensionsDir = path.join(stateDir, 'extensions');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(QUIET_WORKBENCH_SETTINGS, null, 2));
  const configFile = path.join(stateDir, 'code-server.yaml');
  fs.writeFileSync(configFile, 'auth: none\n');
  const logFile = path.join(stateDir, 'code-server.log');
  const log = fs.openSync(logFile, 'a');

  const listenPort = port ?? (await freePort());
  const origin = `http://127.0.0.1:${listenPort}`;
  const args = [
    codeServerEntry(installDir),
    '--config', configFile,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${listenPort}`,
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    folder,
  ];
  // Its own process group, so stop() also ends the extension host and other helpers it spawns.
  const child = spawn(process.execPath, args, {
    cwd: stateDir,
    env: { ...process.env, ...env, XDG_DATA_HOME: path.join(stateDir, 'xdg-data'), XDG_CONFIG_HOME: path.join(stateDir, 'xdg-config') },
    stdio: ['ignore', log, log],
    detached: true,
  });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const signalGroup = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // group already gone
      }
    };
    signalGroup('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    // The server may exit before its children; make sure none of the group outlives it.
    signalGroup('SIGKILL');
  };

  try {
    await waitForHealth(origin, child, logFile, startTimeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { origin, port: listenPort, logFile, child, stop };
}
