import { test } from 'node:test';
import assert from 'node:assert/strict';
import { winogradCommand } from '../../../extension/cli/winograd';
import { CliUsageError } from '../../../extension/cli/io';
import type { WinogradResult } from '../../../extension/shared/payloads';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await winogradCommand(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

test('--json prints the WinogradResult with exact string entries and all protocol fields', async () => {
  const { code, out } = await run(['--m', '4', '--r', '3', '--points', '0,1,-1,1/2,-1/2', '--json', '--trials', '30', '--layer', '64,64,56,56']);
  assert.equal(code, 0);
  const result = JSON.parse(out) as WinogradResult;
  assert.equal(result.m, 4);
  assert.equal(result.r, 3);
  assert.equal(result.alpha, 6);
  assert.deepEqual(result.points, ['0', '1', '-1', '1/2', '-1/2']);
  assert.equal(result.fractionsIn, 'G');
  assert.equal(result.infinity, true);
  assert.equal(result.verified, true);
  assert.equal(result.verification.verified, true);
  assert.ok(result.G.flat().includes('-2/3'));
  for (const matrix of [result.AT, result.G, result.BT]) for (const entry of matrix.flat()) assert.match(entry, /^-?\d+(\/\d+)?$/);
  assert.deepEqual(result.multiplications, { winograd: 36, direct: 144, saving: 4 });
  assert.ok(result.transformOps.input.adds > 0);
  assert.equal(result.cost.layer?.C, 64);
  assert.deepEqual(result.error.map((e) => e.precision), ['fp32', 'fp16', 'bf16']);
  assert.equal(result.error[0]!.trials, 30);
});

test('human-readable output: aligned matrices, verdict, cost and error tables', async () => {
  const { code, out } = await run(['--m', '2', '--r', '3', '--trials', '20']);
  assert.equal(code, 0);
  assert.ok(out.includes('G (4x3) =\n  [   1     0    0 ]\n  [ 1/2   1/2  1/2 ]\n  [ 1/2  -1/2  1/2 ]\n  [   0     0    1 ]'));
  assert.ok(out.includes('Verification: VERIFIED exactly'));
  assert.ok(out.includes('16 element-wise multiplications vs 36 direct (2.25x fewer)'));
  assert.match(out, /input\s+32\s+0/);
  assert.match(out, /fp16\s+\d\.\d{3}e-\d+\s+\d+\.\d\d/);
});

test('--precision is the precision of interest: every precision is measured, its row is marked *, and --json says which', async () => {
  const { out } = await run(['--m', '2', '--r', '3', '--trials', '20', '--precision', 'bf16']);
  assert.match(out, /seed \d+; \* --precision bf16\):/);
  assert.match(out, /\n {2}bf16 \*\s+\d\.\d{3}e-\d+/);
  assert.match(out, /\n {2}fp16\s+\d\.\d{3}e-\d+/);
  assert.doesNotMatch(out, /fp16 \*|fp32 \*/);
  const json = JSON.parse((await run(['--m', '2', '--r', '3', '--trials', '20', '--precision', 'bf16', '--json'])).out) as WinogradResult;
  assert.equal(json.precision, 'bf16');
  assert.deepEqual(json.error.map((e) => e.precision), ['fp32', 'fp16', 'bf16']);
  assert.equal((JSON.parse((await run(['--m', '2', '--r', '3', '--trials', '0', '--json'])).out) as WinogradResult).precision, 'fp32');
});

test('--export prints the exported text; --fractions-in, --finite, --n/--s reach the generator', async () => {
  const c = await run(['--m', '2', '--r', '3', '--export', 'c', '--trials', '0']);
  assert.ok(c.out.includes('static void winograd_f2x2_3x3_input_transform(const float *d, float *v)'));
  const json = await run(['--m', '3', '--r', '2', '--n', '2', '--s', '2', '--finite', '--fractions-in', 'B', '--trials', '0', '--json']);
  const result = JSON.parse(json.out) as WinogradResult;
  assert.equal(result.infinity, false);
  assert.equal(result.fractionsIn, 'B');
  assert.equal(result.n, 2);
  assert.equal(result.points.length, 4);
  assert.equal(result.verified, true);
});

test('bad flags and bad input are usage errors that name the problem', async () => {
  const cases: [string[], RegExp][] = [
    [['--r', '3'], /--m and --r are required/],
    [['--m', 'four', '--r', '3'], /--m must be a whole number, got "four"/],
    [['--m', '0', '--r', '3'], /--m must be >= 1, got 0/],
    [['--m', '4', '--r', '3', '--bogus'], /unknown option --bogus/],
    [['--m', '4', '--r', '3', '--fractions-in', 'C'], /--fractions-in must be G, A or B, got "C"/],
    [['--m', '4', '--r', '3', '--precision', 'fp8'], /--precision must be fp32, fp16 or bf16, got "fp8"/],
    [['--m', '4', '--r', '3', '--export', 'pdf'], /--export must be one of c, numpy, ts, latex, markdown, json, got "pdf"/],
    [['--m', '4', '--r', '3', '--layer', '1,2,3'], /--layer must be four whole numbers/],
    [['--m', '4', '--r', '3', '--points', '0,1,1,2,-2'], /duplicate interpolation points: "1" appears twice/],
    [['--m', '4', '--r', '3', '--points', '0,1,-1'], /too few interpolation points/],
    [['--m', '4', '--r', '3', '--points', '0,1,x,2,-2'], /interpolation point 3 "x" is not a number/],
    [['--m', '30', '--r', '4'], /alpha = m \+ r - 1 = 33 is too large/],
    [['--m', '4', '--m', '3', '--r', '3'], /--m given twice/],
    [['4', '3'], /unexpected argument "4"/],
  ];
  for (const [argv, message] of cases) {
    await assert.rejects(run(argv), (error: unknown) => error instanceof CliUsageError && message.test(error.message), argv.join(' '));
  }
});

test('--help prints the usage', async () => {
  const { code, out } = await run(['--help']);
  assert.equal(code, 0);
  assert.ok(out.startsWith('Usage: deep-accel winograd --m M --r R'));
});

test('an fp16 tile whose every output overflows is shown as overflow, not as numbers', async () => {
  const { code, out } = await run(['--m', '20', '--r', '3', '--trials', '2']);
  assert.equal(code, 0);
  assert.match(out, /fp16 \(800 outputs overflowed\)\s+overflow\s+overflow\s+overflow\s+overflow/);
  const json = JSON.parse((await run(['--m', '20', '--r', '3', '--trials', '2', '--json'])).out) as WinogradResult;
  const fp16 = json.error.find((e) => e.precision === 'fp16')!;
  assert.equal(fp16.nonFiniteOutputs, 800);
  assert.equal(fp16.meanAbs, Number.MAX_VALUE);
});
