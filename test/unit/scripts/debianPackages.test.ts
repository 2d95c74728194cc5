import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT as repoRoot } from '../../paths';

// The package check is driven through fake `dpkg-query` and `apt-get` on a PATH of their own (never
// the machine's real packages): dpkg-query lists as installed exactly the names in a state file,
// and apt-get logs its arguments and adds what it "installs" to that file.

const FAKE_DPKG_QUERY = `#!/bin/sh
# dpkg-query -W -f=FORMAT NAME...: prints "NAME<tab>ii " for each NAME listed in $FAKE_DPKG_STATE
read -r installed < "$FAKE_DPKG_STATE"
shift 2
status=0
for name in "$@"; do
  case " $installed " in
    *" $name "*) printf '%s\\tii \\n' "$name" ;;
    *) echo "dpkg-query: no packages found matching $name" >&2; status=1 ;;
  esac
done
exit $status
`;

const FAKE_APT_GET = `#!/bin/sh
echo "apt-get $*" >> "$FAKE_APT_LOG"
[ "$1" = install ] || exit 0
[ -n "$FAKE_APT_INSTALLS_NOTHING" ] && exit 0
read -r installed < "$FAKE_DPKG_STATE"
shift
for name in "$@"; do
  case "$name" in -*) ;; *) installed="$installed $name" ;; esac
done
echo "$installed" > "$FAKE_DPKG_STATE"
`;

const moduleUrl = pathToFileURL(join(repoRoot, 'scripts', 'debianPackages.mjs')).href;

interface Machine {
  dir: string;
  env: NodeJS.ProcessEnv;
  aptLog: string;
  state: string;
}

/** A folder with fake tools and a package state; PATH is that folder alone. */
function fakeMachine(installed: string[], { aptGet = true, dpkgQuery = true } = {}): Machine {
  const dir = mkdtempSync(join(tmpdir(), 'deep-accel-fake-dpkg-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const tool = (name: string, text: string) => {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  };
  if (dpkgQuery) tool('dpkg-query', FAKE_DPKG_QUERY);
  if (aptGet) tool('apt-get', FAKE_APT_GET);
  const state = join(dir, 'installed');
  writeFileSync(state, `${installed.join(' ')}\n`);
  const aptLog = join(dir, 'apt.log');
  const env = { PATH: bin, FAKE_DPKG_STATE: state, FAKE_APT_LOG: aptLog, DEEP_ACCEL_CACHE: join(dir, 'cache'), HOME: dir };
  return { dir, env, aptLog, state };
}

/** Runs ensureDebianPackages in a child process; the result or the error as JSON. */
function ensure(machine: Machine, names: string[], options: { root: boolean }, extraEnv: NodeJS.ProcessEnv = {}) {
  const script = `
    import { DEBIAN_PACKAGES, ensureDebianPackages } from ${JSON.stringify(moduleUrl)};
    const packages = ${JSON.stringify(names)}.map((name) => DEBIAN_PACKAGES.find((pkg) => pkg.name === name));
    const lines = [];
    try {
      const result = ensureDebianPackages(packages, { purpose: 'the tests', logFile: ${JSON.stringify(join(machine.dir, 'logs', 'apt-get.log'))}, log: (line) => lines.push(line), root: ${options.root} });
      console.log(JSON.stringify({ result, lines }));
    } catch (error) {
      console.log(JSON.stringify({ error: { name: error.constructor.name, message: error.message, missing: error.missing, command: error.command }, lines }));
    }`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...machine.env, ...extraEnv }, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as {
    result?: { installed: string[]; unchecked?: boolean };
    error?: { name: string; message: string; missing?: string[]; command?: string };
    lines: string[];
  };
}

const UNIT_PACKAGES = ['python3', 'python3-numpy', 'python3-h5py', 'python3-onnx', 'gcc'];

test('everything installed: returns at once, runs no apt-get', () => {
  const machine = fakeMachine(UNIT_PACKAGES);
  try {
    const { result, error } = ensure(machine, UNIT_PACKAGES, { root: true });
    assert.equal(error, undefined);
    assert.deepEqual(result, { installed: [] });
    assert.equal(existsSync(machine.aptLog), false);
  } finally {
    rmSync(machine.dir, { recursive: true, force: true });
  }
});

test('not root: stops with the missing packages, why each is needed, and one sudo command', () => {
  const machine = fakeMachine(['python3', 'python3-onnx', 'gcc']);
  try {
    const { result, error } = ensure(machine, UNIT_PACKAGES, { root: false });
    assert.equal(result, undefined);
    assert.equal(error?.name, 'MissingPackagesError');
    assert.deepEqual(error?.missing, ['python3-numpy', 'python3-h5py']);
    assert.equal(error?.command, 'sudo apt-get update && sudo apt-get install -y --no-install-recommends python3-numpy python3-h5py');
    assert.match(error?.message ?? '', /not running as root/);
    assert.match(error?.message ?? '', /python3-numpy +runs the exported NumPy code/);
    assert.match(error?.message ?? '', /python3-h5py +writes the HDF5\/Keras reference files/);
    assert.doesNotMatch(error?.message ?? '', /python3-onnx/);
    assert.equal(existsSync(machine.aptLog), false, 'apt-get must not run without root');
  } finally {
    rmSync(machine.dir, { recursive: true, force: true });
  }
});

test('root with apt-get: updates, installs exactly the missing packages, checks again', () => {
  const machine = fakeMachine(['python3', 'python3-h5py', 'python3-onnx']);
  try {
    const { result, error, lines } = ensure(machine, UNIT_PACKAGES, { root: true });
    assert.equal(error, undefined);
    assert.deepEqual(result, { installed: ['python3-numpy', 'gcc'] });
    assert.deepEqual(readFileSync(machine.aptLog, 'utf8').trim().split('\n'), [
      'apt-get update -q',
      'apt-get install -y -q --no-install-recommends -oDPkg::Lock::Timeout=300 python3-numpy gcc',
    ]);
    assert.deepEqual(readFileSync(machine.state, 'utf8').trim().split(/\s+/).sort(), [...UNIT_PACKAGES].sort());
    assert.match(lines.join('\n'), /installing Debian packages python3-numpy, gcc with apt-get \(log: .*apt-get\.log\)/);
  } finally {
    rmSync(machine.dir, { recursive: true, force: true });
  }
});

test('root, but apt-get leaves a package uninstalled: an error, not a pass', () => {
  const machine = fakeMachine(['python3']);
  try {
    const { error } = ensure(machine, ['python3', 'gcc'], { root: true }, { FAKE_APT_INSTALLS_NOTHING: '1' });
    assert.equal(error?.name, 'MissingPackagesError');
    assert.deepEqual(error?.missing, ['gcc']);
    assert.match(error?.message ?? '', /dpkg still does not list gcc as installed/);
  } finally {
    rmSync(machine.dir, { recursive: true, force: true });
  }
});

test('root without apt-get on PATH: stops with the command instead of trying', () => {
  const machine = fakeMachine([], { aptGet: false });
  try {
    const { error } = ensure(machine, ['chromium'], { root: true });
    assert.equal(error?.command, 'apt-get update && apt-get install -y --no-install-recommends chromium');
    assert.match(error?.message ?? '', /apt-get is not on PATH/);
  } finally {
    rmSync(machine.dir, { recursive: true, force: true });
  }
});

test('no dpkg-query (not Debian): says the packages are unchecked and goes on', () => {
  const machine = fakeMachine([], { dpkgQuery: false });
  try {
    const { result, lines } = ensure(machine, ['chromium', 'gcc'], { root: true });
    assert.deepEqual(result, { installed: [], unchecked: true });
    assert.match(lines.join('\n'), /cannot be checked: chromium, gcc/);
    assert.equal(existsSync(machine.aptLog), false);
  } finally {
    rmSync(machine.dir, { recursive: true, force: true });
  }
});

test('npm test stops within seconds, before any layer, with the one command to run', () => {
  // Every package but python3-h5py; no apt-get, so even as root nothing can be installed.
  const machine = fakeMachine(['chromium', 'fonts-dejavu-core', 'fonts-liberation', 'python3', 'python3-numpy', 'python3-onnx', 'gcc'], { aptGet: false });
  try {
    const started = Date.now();
    const child = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'testAll.mjs'), '--only', 'unit,browser'], {
      cwd: repoRoot,
      env: machine.env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(child.status, 1, child.stderr);
    assert.ok(seconds < 15, `took ${seconds} s`);
    assert.match(child.stdout, /python3-h5py +writes the HDF5\/Keras reference files/);
    assert.match(child.stdout, /Install them with:\n {2}(sudo )?apt-get update && (sudo )?apt-get install -y --no-install-recommends python3-h5py\n/);
    assert.doesNotMatch(child.stdout, /=== unit ===|=== browser ===/);
    assert.match(child.stdout, /\n0 passed, 1 failed\n$/);
  } finally {
    rmSync(machine.dir, { recursive: true, force: true });
  }
});
