#!/usr/bin/env node
// Installs VS Code's server build (npm package `code-server`) into a cache folder outside the
// repository, fully offline apart from the npm registry. @vscode/test-electron needs Microsoft's
// download service, which these machines cannot reach; this server is how the integration suite
// runs here. The recipe follows the one verified by hand (see README / .ci/run):
//   - the package's own postinstall refuses root and downloads ripgrep from GitHub, so every
//     install runs with --ignore-scripts and the few native modules are rebuilt explicitly;
//   - ripgrep comes from Debian (/usr/bin/rg) instead of GitHub.
// A stamp file records a finished install, so a second run returns at once.
//
// Usage: node scripts/vscodeServer/install.mjs [--force] [--quiet]
// Environment: DEEP_ACCEL_CACHE (default ~/.cache/deep-accel)

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEBIAN_PACKAGES, MissingPackagesError, ensureDebianPackages } from '../debianPackages.mjs';

export const CODE_SERVER_VERSION = '4.100.3';
/** Bump when the recipe below changes, so existing caches are rebuilt. */
const RECIPE_REVISION = 1;
const STAMP_NAME = '.deep-accel-install.json';

/** Native modules that code-server's VS Code loads at start-up; their compiled outputs prove a build worked. */
const VSCODE_NATIVE_MODULES = [
  { name: 'kerberos', output: 'build/Release/kerberos.node' },
  { name: 'node-pty', output: 'build/Release/pty.node' },
  { name: '@vscode/spdlog', output: 'build/Release/spdlog.node' },
  { name: 'native-watchdog', output: 'build/Release/watchdog.node' },
];

export function cacheRoot() {
  return process.env.DEEP_ACCEL_CACHE || path.join(os.homedir(), '.cache', 'deep-accel');
}

/** Where install and apt-get output goes, so the console keeps to one line per step. */
export function logsDir() {
  return path.join(cacheRoot(), 'logs');
}

export function codeServerDir() {
  return path.join(cacheRoot(), `code-server-${CODE_SERVER_VERSION}`);
}

/** The Node entry point that starts the server (`node <entry> --auth none ...`). */
export function codeServerEntry(dir = codeServerDir()) {
  return path.join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

function readStamp(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, STAMP_NAME), 'utf8'));
  } catch {
    return undefined;
  }
}

export function isCodeServerInstalled(dir = codeServerDir()) {
  const stamp = readStamp(dir);
  return (
    stamp !== undefined &&
    stamp.version === CODE_SERVER_VERSION &&
    stamp.recipe === RECIPE_REVISION &&
    fs.existsSync(codeServerEntry(dir))
  );
}

class InstallError extends Error {}

function findOnPath(command) {
  for (const folder of (process.env.PATH || '').split(path.delimiter)) {
    if (!folder) continue;
    const candidate = path.join(folder, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Node's own headers, so node-gyp never tries to download them (nodejs.org is unreachable). */
function localNodeHeadersDir() {
  const prefix = path.dirname(path.dirname(process.execPath));
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node.h')) ? prefix : undefined;
}

function checkPrerequisites(log) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 20) {
    throw new InstallError(`Node ${process.versions.node}: code-server ${CODE_SERVER_VERSION} is built for Node 20 (its native modules and engines field); run this with Node 20.`);
  }
  // On Debian: installed here when running as root, else one apt-get command to run.
  ensureDebianPackages(
    DEBIAN_PACKAGES.filter((pkg) => pkg.codeServerBuild),
    { purpose: `the code-server ${CODE_SERVER_VERSION} build`, logFile: path.join(logsDir(), 'apt-get.log'), log },
  );
  // What the build uses, found the way it will be used (also on systems without dpkg).
  const problems = [];
  const ripgrep = fs.existsSync('/usr/bin/rg') ? '/usr/bin/rg' : findOnPath('rg');
  if (!ripgrep) problems.push('ripgrep (rg) not found (Debian: ripgrep)');
  for (const tool of ['g++', 'make', 'python3']) {
    if (!findOnPath(tool)) problems.push(`${tool} not found (needed to compile native modules; Debian: g++ make python3)`);
  }
  if (!fs.existsSync('/usr/include/gssapi/gssapi.h') && !findOnPath('krb5-config')) {
    problems.push('Kerberos headers not found (needed by the `kerberos` module; Debian: libkrb5-dev)');
  }
  if (!localNodeHeadersDir()) {
    problems.push(
      `Node headers not found under ${path.dirname(path.dirname(process.execPath))}/include/node: node-gyp would try to download them, which cannot work offline. Install Node with its headers (e.g. the nodejs package from NodeSource).`,
    );
  }
  if (problems.length > 0) {
    throw new InstallError(`Cannot install code-server ${CODE_SERVER_VERSION}:\n  - ${problems.join('\n  - ')}`);
  }
  return { ripgrep };
}

function npmEnvironment() {
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  const headers = localNodeHeadersDir();
  if (headers) env.npm_config_nodedir = headers;
  return env;
}

/**
 * Runs one npm step with its output appended to the install log (node-pty's tolerated failure alone
 * prints some 70 lines of `npm error`); the console gets the step and its duration.
 * allowFailure: false, or the reason a non-zero exit is expected and checked some other way.
 */
function run(step, command, args, cwd, { log, logFile, allowFailure = false } = {}) {
  fs.appendFileSync(logFile, `\n[${step}] ${command} ${args.join(' ')}   (in ${cwd})\n`);
  const started = Date.now();
  const output = fs.openSync(logFile, 'a');
  let result;
  try {
    result = spawnSync(command, args, { cwd, env: npmEnvironment(), stdio: ['ignore', output, output] });
  } finally {
    fs.closeSync(output);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.error) throw new InstallError(`step "${step}" could not start ${command}: ${result.error.message}`);
  if (result.status !== 0 && !allowFailure) {
    throw new InstallError(`step "${step}" failed (exit ${result.status}) after ${seconds} s: ${command} ${args.join(' ')}\nLast lines of ${logFile}:\n${tail(logFile, 30)}`);
  }
  const tolerated = result.status !== 0 ? ` (exit ${result.status} tolerated: ${allowFailure})` : '';
  fs.appendFileSync(logFile, `[${step}] done in ${seconds} s${tolerated}\n`);
  log(`  ${step}: ${seconds} s${tolerated}`);
  return result.status;
}

function tail(file, lines) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function silent() {}

function requireFile(file, why) {
  if (!fs.existsSync(file)) throw new InstallError(`${why}: expected ${file} to exist after the build, but it is missing`);
}

function installInto(staging, ripgrep, log, logFile) {
  const npm = 'npm';
  fs.mkdirSync(staging, { recursive: true });
  // A package.json of our own keeps npm from walking up and installing into some parent project.
  fs.writeFileSync(
    path.join(staging, 'package.json'),
    JSON.stringify({ name: 'deep-accel-code-server-cache', private: true, description: 'offline VS Code server for Deep Accel integration tests' }, null, 2),
  );
  run('1 code-server', npm, ['install', `code-server@${CODE_SERVER_VERSION}`, '--ignore-scripts'], staging, { log, logFile });

  const codeServer = path.join(staging, 'node_modules', 'code-server');
  const vscode = path.join(codeServer, 'lib', 'vscode');
  requireFile(path.join(vscode, 'package.json'), 'code-server package');
  run('2 vscode deps', npm, ['install', '--omit=dev', '--ignore-scripts'], vscode, { log, logFile });
  // node-pty's install script ends with an `npx node-gyp` download that fails offline after
  // pty.node has been compiled; the compiled outputs are checked instead of the exit code.
  run('2 native modules', npm, ['rebuild', ...VSCODE_NATIVE_MODULES.map((m) => m.name)], vscode, {
    log,
    logFile,
    allowFailure: "node-pty's post-build `npx node-gyp` cannot download offline; the compiled .node files are verified next",
  });
  for (const module of VSCODE_NATIVE_MODULES) {
    requireFile(path.join(vscode, 'node_modules', module.name, module.output), `native module ${module.name}`);
  }

  const ripgrepTarget = path.join(vscode, 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg');
  fs.appendFileSync(logFile, `\n[3 ripgrep] ${ripgrep} -> ${ripgrepTarget}\n`);
  fs.mkdirSync(path.dirname(ripgrepTarget), { recursive: true });
  fs.copyFileSync(ripgrep, ripgrepTarget);
  fs.chmodSync(ripgrepTarget, 0o755);

  fs.appendFileSync(logFile, '\n[4 links] node_modules.asar, remote-cli/code-server, helpers/browser.sh\n');
  // VS Code's server resolves its modules through node_modules.asar even when not packed.
  forceSymlink('node_modules', path.join(vscode, 'node_modules.asar'));
  forceSymlink('code-linux.sh', path.join(vscode, 'bin', 'remote-cli', 'code-server'));
  forceSymlink('browser-linux.sh', path.join(vscode, 'bin', 'helpers', 'browser.sh'));

  run('5 built-in extensions', npm, ['install', '--omit=dev', '--ignore-scripts'], path.join(vscode, 'extensions'), { log, logFile });
  // code-server loads argon2 at start-up even with --auth none.
  run('6 argon2', npm, ['rebuild', 'argon2'], staging, { log, logFile });
  const argon2 = path.join(staging, 'node_modules', 'argon2');
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(argon2)})`], { encoding: 'utf8' });
  if (probe.status !== 0) throw new InstallError(`argon2 does not load after rebuild:\n${probe.stderr.trim()}`);
  requireFile(codeServerEntry(staging), 'code-server entry point');
}

function forceSymlink(target, linkPath) {
  fs.rmSync(linkPath, { force: true, recursive: false });
  fs.symlinkSync(target, linkPath);
}

/**
 * Makes sure the code-server cache exists and is complete; returns its folder and entry point.
 * Instant when the stamp file says a previous run finished.
 */
export function ensureCodeServer({ force = false, quiet = false } = {}) {
  const log = quiet ? silent : (line) => console.log(line);
  const dir = codeServerDir();
  if (!force && isCodeServerInstalled(dir)) {
    log(`code-server ${CODE_SERVER_VERSION} already installed in ${dir}`);
    return { dir, entry: codeServerEntry(dir), seconds: 0 };
  }
  const { ripgrep } = checkPrerequisites(log);
  const started = Date.now();
  fs.mkdirSync(logsDir(), { recursive: true });
  const logFile = path.join(logsDir(), `code-server-${CODE_SERVER_VERSION}-install.log`);
  fs.writeFileSync(logFile, `code-server ${CODE_SERVER_VERSION} into ${dir}, ${new Date().toISOString()}\n`);
  log(`Installing VS Code's server (code-server ${CODE_SERVER_VERSION}) into ${dir}: first use only, a few minutes (it compiles native modules). npm's output: ${logFile}`);
  // Build in a private staging folder and rename at the end, so an interrupted run never leaves
  // a half-built cache that looks complete, and two concurrent installs cannot mix their files.
  const staging = `${dir}.partial-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    installInto(staging, ripgrep, log, logFile);
    const seconds = (Date.now() - started) / 1000;
    fs.writeFileSync(
      path.join(staging, STAMP_NAME),
      JSON.stringify({ version: CODE_SERVER_VERSION, recipe: RECIPE_REVISION, node: process.versions.node, installedAt: new Date().toISOString(), seconds }, null, 2),
    );
    if (isCodeServerInstalled(dir) && !force) {
      log('  another process finished the same install first; keeping its copy');
      fs.rmSync(staging, { recursive: true, force: true });
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(staging, dir);
    }
    log(`code-server ${CODE_SERVER_VERSION} installed in ${seconds.toFixed(1)} s`);
    return { dir, entry: codeServerEntry(dir), seconds };
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (error instanceof InstallError) error.message += `\n(full log: ${logFile})`;
    throw error;
  }
}

function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--force' && a !== '--quiet');
  if (unknown.length > 0) {
    console.error(`install.mjs: unknown argument(s) ${unknown.join(' ')}; usage: node scripts/vscodeServer/install.mjs [--force] [--quiet]`);
    process.exit(2);
  }
  try {
    const { entry } = ensureCodeServer({ force: args.includes('--force'), quiet: args.includes('--quiet') });
    if (args.includes('--quiet')) console.log(entry);
  } catch (error) {
    console.error(error instanceof InstallError || error instanceof MissingPackagesError ? `install.mjs: ${error.message}` : error);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
