import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { enableRelaxedSimd, runCli, usage } from '../../../extension/cli/main';
import { supportsRelaxedSimd } from '../../../extension/core/bench/machine';
import type { BenchReport } from '../../../extension/shared/payloads';
import { REPO_ROOT } from '../../paths';

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

test('--help lists the five subcommands', async () => {
  const { code, out } = await cli('--help');
  assert.equal(code, 0);
  assert.equal(out, usage() + '\n');
  for (const name of ['winograd', 'sparsity', 'prune', 'bench', 'conv']) assert.match(out, new RegExp(`^  ${name} `, 'm'));
});

test('no command or an unknown one is a usage error (exit 2)', async () => {
  assert.equal((await cli()).code, 2);
  const unknown = await cli('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /deep-accel: unknown command 'frobnicate'/);
});

test('a broken weight file exits 2 with the file and the problem, and no stack', async () => {
  const { code, err } = await cli('sparsity', 'samples/models/missing.safetensors');
  assert.equal(code, 2);
  assert.match(err, /^deep-accel[ a-z]*: samples\/models\/missing\.safetensors: cannot open: file not found/);
  assert.doesNotMatch(err, /\n\s+at /);
});

test('winograd --json prints the protocol payload', async () => {
  const { code, out } = await cli('winograd', '--m', '2', '--r', '3', '--json');
  assert.equal(code, 0);
  const result = JSON.parse(out);
  assert.deepEqual([result.m, result.r, result.alpha, result.verified], [2, 3, 4, true]);
  assert.deepEqual(result.AT, [['1', '1', '1', '0'], ['0', '1', '-1', '1']]);
});

test('the CLI process runs the relaxed-SIMD engine build, in its workers too, unless node is told --no-experimental-wasm-relaxed-simd', () => {
  // A process of its own: V8's flags belong to the process, and this test runner's stays as node starts it.
  const bench = (nodeFlags: string[]) => {
    const args = ['bench', '--shape', '1,8,10,10,8,3,3,1,1', '--algo', 'im2col,winograd-4x3', '--threads', '2', '--budget-ms', '1', '--warmup-ms', '0', '--json'];
    const run = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(REPO_ROOT, 'extension', 'cli', 'main.ts'), ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as BenchReport;
  };
  const relaxed = bench([]);
  assert.equal(relaxed.machine.simd, 'relaxed-simd');
  // The CLI's workers instantiated the relaxed module and computed the right convolution (asked
  // for 2 threads, the planner keeps this small layer on one of them).
  assert.deepEqual(relaxed.results.map((result) => [result.algo, result.threads]), [['im2col', 2], ['winograd-4x3', 2]]);
  for (const result of relaxed.results) assert.ok(result.maxAbsErr < 1e-5, `${result.algo}: max abs error ${result.maxAbsErr}`);
  assert.equal(bench(['--no-experimental-wasm-relaxed-simd']).machine.simd, 'simd128');
});

test('enableRelaxedSimd leaves the choice to a user who turned relaxed SIMD off', () => {
  // This process was started without the flag; on a Node that has relaxed SIMD on by default there is nothing to turn off.
  if (supportsRelaxedSimd()) return;
  assert.equal(enableRelaxedSimd(['--no-experimental-wasm-relaxed-simd']), false);
  assert.equal(enableRelaxedSimd(['--no_experimental_wasm_relaxed_simd']), false);
  assert.equal(supportsRelaxedSimd(), false);
});
