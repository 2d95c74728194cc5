// The Debian packages the tests and the offline VS Code server need, checked with dpkg-query and
// installed with apt-get when this process runs as root; otherwise the caller gets the one command
// to run. A fresh clone then needs only `npm ci && npm test`: nothing has to be installed by hand
// first, and a machine that cannot install stops within seconds instead of failing layers later.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Every package, the test layers that need it and why. `codeServerBuild` marks what only building
 * the code-server cache needs (scripts/vscodeServer/install.mjs), so a machine that already has the
 * cache does not need it.
 */
export const DEBIAN_PACKAGES = [
  { name: 'chromium', layers: ['browser', 'integration'], why: 'the headless browser of the browser and integration tests' },
  { name: 'fonts-dejavu-core', layers: ['browser', 'integration'], why: 'fonts, so that screenshots show text' },
  { name: 'fonts-liberation', layers: ['browser', 'integration'], why: 'metric-compatible Arial/Times/Courier for screenshots' },
  { name: 'python3', layers: ['unit'], why: "Debian's /usr/bin/python3 for the unit tests' independent references" },
  { name: 'python3-numpy', layers: ['unit'], why: 'runs the exported NumPy code; writes the .npy/.npz fixtures (make_fixtures.py)' },
  { name: 'python3-h5py', layers: ['unit'], why: 'writes the HDF5/Keras reference files (test/fixtures/hdf5)' },
  { name: 'python3-onnx', layers: ['unit'], why: 'writes the ONNX reference files (test/fixtures/onnx)' },
  { name: 'gcc', layers: ['unit'], why: 'compiles and runs the exported C code' },
  { name: 'ripgrep', layers: ['integration'], codeServerBuild: true, why: "VS Code's search (rg, copied into the code-server cache)" },
  { name: 'libkrb5-dev', layers: ['integration'], codeServerBuild: true, why: "headers of VS Code's kerberos native module" },
  { name: 'g++', layers: ['integration'], codeServerBuild: true, why: "compiles VS Code's native modules (node-gyp)" },
  { name: 'make', layers: ['integration'], codeServerBuild: true, why: "compiles VS Code's native modules (node-gyp)" },
  { name: 'python3', layers: ['integration'], codeServerBuild: true, why: 'node-gyp runs on python3' },
];

/** What the layers need; `codeServerBuild: false` leaves out what only a new code-server cache needs. */
export function packagesFor(layers, { codeServerBuild = true } = {}) {
  const wanted = DEBIAN_PACKAGES.filter((pkg) => pkg.layers.some((layer) => layers.includes(layer)) && (codeServerBuild || !pkg.codeServerBuild));
  const byName = new Map();
  for (const pkg of wanted) byName.set(pkg.name, byName.has(pkg.name) ? { ...pkg, why: `${byName.get(pkg.name).why}; ${pkg.why}` } : pkg);
  return [...byName.values()];
}

export class MissingPackagesError extends Error {
  constructor(message, missing, command) {
    super(message);
    this.missing = missing;
    this.command = command;
  }
}

/** A package whose job is already done without it (CHROMIUM_PATH names a browser). */
function providedOtherwise(name) {
  if (name === 'chromium' && process.env.CHROMIUM_PATH) return fs.existsSync(process.env.CHROMIUM_PATH);
  return false;
}

/**
 * The names among `names` that dpkg does not list as installed, or undefined when this is not a
 * Debian system (no dpkg-query on PATH): then nothing can be checked and the layers report what
 * they lack themselves.
 */
export function notInstalled(names) {
  if (names.length === 0) return [];
  const query = spawnSync('dpkg-query', ['-W', '-f=${Package}\\t${db:Status-Abbrev}\\n', ...names], { encoding: 'utf8' });
  if (query.error) return undefined;
  const installed = new Set();
  for (const line of query.stdout.split('\n')) {
    const [name, status = ''] = line.split('\t');
    // The second letter of the status is the current state: 'i' installed (ii, hi), not 'c' config-files only.
    if (name && status[1] === 'i') installed.add(name);
  }
  return names.filter((name) => !installed.has(name));
}

function onPath(command) {
  return (process.env.PATH || '').split(path.delimiter).some((folder) => {
    if (!folder) return false;
    try {
      fs.accessSync(path.join(folder, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The one command that installs `names` (with sudo unless already root). */
export function installCommand(names, { root = process.getuid?.() === 0 } = {}) {
  const sudo = root ? '' : 'sudo ';
  return `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${names.join(' ')}`;
}

function describe(packages) {
  const width = Math.max(...packages.map((pkg) => pkg.name.length));
  return packages.map((pkg) => `  ${pkg.name.padEnd(width)}  ${pkg.why}`).join('\n');
}

/** Runs apt-get with its output in the log file; throws with the log's tail when it fails. */
function aptGet(args, logFile) {
  fs.appendFileSync(logFile, `\n$ apt-get ${args.join(' ')}\n`);
  const log = fs.openSync(logFile, 'a');
  try {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', log, log], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.error) throw new Error(`apt-get could not start: ${result.error.message}`);
    if (result.status !== 0) {
      const tail = fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
      throw new Error(`apt-get ${args[0]} exited with ${result.status}; last lines of ${logFile}:\n${tail}`);
    }
  } finally {
    fs.closeSync(log);
  }
}

/**
 * Makes sure the packages are installed: returns at once when they are; installs the missing ones
 * when running as root with apt-get; otherwise throws a MissingPackagesError whose message lists
 * them and gives the one command to run.
 * @param {{name: string, why: string}[]} packages
 * @param {{ purpose: string, logFile: string, log?: (line: string) => void, root?: boolean }} options
 * @returns {{ installed: string[], unchecked?: boolean }}
 */
export function ensureDebianPackages(packages, { purpose, logFile, log = (line) => console.log(line), root = process.getuid?.() === 0 }) {
  const missingNames = notInstalled(packages.map((pkg) => pkg.name).filter((name) => !providedOtherwise(name)));
  if (missingNames === undefined) {
    log(`${purpose}: not a Debian system (no dpkg-query), so these cannot be checked: ${packages.map((pkg) => pkg.name).join(', ')}`);
    return { installed: [], unchecked: true };
  }
  if (missingNames.length === 0) return { installed: [] };
  const missing = packages.filter((pkg) => missingNames.includes(pkg.name));
  if (!root || !onPath('apt-get')) {
    const command = installCommand(missingNames, { root });
    const why = !root ? 'not running as root' : 'apt-get is not on PATH';
    throw new MissingPackagesError(
      `${purpose} needs Debian packages that are not installed (${why}, so they are not installed automatically):\n${describe(missing)}\nInstall them with:\n  ${command}`,
      missingNames,
      command,
    );
  }
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.writeFileSync(logFile, `Installing for ${purpose}: ${missingNames.join(' ')}\n`);
  log(`${purpose}: installing Debian packages ${missingNames.join(', ')} with apt-get (log: ${logFile}) ...`);
  const started = Date.now();
  aptGet(['update', '-q'], logFile);
  // Another apt-get (or unattended-upgrades) may hold the lock for a while: wait for it rather than fail.
  aptGet(['install', '-y', '-q', '--no-install-recommends', '-oDPkg::Lock::Timeout=300', ...missingNames], logFile);
  const stillMissing = notInstalled(missingNames) ?? [];
  if (stillMissing.length > 0) {
    throw new MissingPackagesError(
      `${purpose}: apt-get install finished but dpkg still does not list ${stillMissing.join(', ')} as installed (log: ${logFile})`,
      stillMissing,
      installCommand(stillMissing, { root }),
    );
  }
  log(`${purpose}: installed ${missingNames.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { installed: missingNames };
}
