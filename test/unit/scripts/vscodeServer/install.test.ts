import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { REPO_ROOT } from '../../../paths';

// A stand-in `npm` first on PATH plays the code-server install: it lays out the files each step
// produces, and the native-module rebuild ends the way node-pty's helper does offline, with dozens
// of `npm error` lines and exit 1 after the .node files exist. The rest (Debian's ripgrep, Node's
// headers, dpkg) is this machine's own, as `npm test` provisions it.
const NPM_ERROR_LINES = 75;
const FAKE_NPM = `#!/bin/sh
case "$1 $2" in
  "install code-server@"*)
    mkdir -p node_modules/code-server/out/node node_modules/code-server/lib/vscode/bin/remote-cli node_modules/code-server/lib/vscode/bin/helpers node_modules/code-server/lib/vscode/extensions
    echo '{}' > node_modules/code-server/lib/vscode/package.json
    echo '// entry' > node_modules/code-server/out/node/entry.js
    echo "added 1 package" ;;
  "rebuild kerberos")
    for module in kerberos/build/Release/kerberos node-pty/build/Release/pty @vscode/spdlog/build/Release/spdlog native-watchdog/build/Release/watchdog; do
      mkdir -p "node_modules/$(dirname "$module")" && echo native > "node_modules/$module.node"
    done
    i=0
    while [ $i -lt ${NPM_ERROR_LINES} ]; do echo "npm error gyp ERR! stack Error: getaddrinfo ENOTFOUND nodejs.org (line $i)" >&2; i=$((i + 1)); done
    exit 1 ;;
  "rebuild argon2")
    mkdir -p node_modules/argon2 && echo 'module.exports = {};' > node_modules/argon2/index.js ;;
  *) echo "up to date" ;;
esac
`;

test('the first code-server install keeps npm\'s output in a log file and tells the console each step and where the log is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deep-accel-install-'));
  try {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'npm'), FAKE_NPM);
    chmodSync(join(bin, 'npm'), 0o755);
    const cache = join(dir, 'cache');
    const run = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'vscodeServer', 'install.mjs')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}`, DEEP_ACCEL_CACHE: cache },
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const shown = run.stdout + run.stderr;
    const logFile = join(cache, 'logs', 'code-server-4.100.3-install.log');
    assert.doesNotMatch(shown, /npm error/);
    assert.equal(run.stderr, '');
    const lines = shown.trimEnd().split('\n');
    assert.ok(lines.length <= 10, `${lines.length} console lines:\n${shown}`);
    assert.ok(lines[0].includes(logFile), `the first line names the log: ${lines[0]}`);
    assert.match(shown, /2 native modules: [\d.]+ s \(exit 1 tolerated: /);
    assert.match(lines[lines.length - 1], /^code-server 4\.100\.3 installed in [\d.]+ s$/);
    const log = readFileSync(logFile, 'utf8');
    assert.equal(log.match(/^npm error gyp ERR!/gm)?.length, NPM_ERROR_LINES);
    assert.ok(existsSync(join(cache, 'code-server-4.100.3', '.deep-accel-install.json')));
    // A second run finds the stamp and does nothing.
    const again = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'vscodeServer', 'install.mjs')], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}`, DEEP_ACCEL_CACHE: cache } });
    assert.equal(again.stdout.trim(), `code-server 4.100.3 already installed in ${join(cache, 'code-server-4.100.3')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
