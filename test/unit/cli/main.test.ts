import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, usage } from '../../../extension/cli/main';

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
