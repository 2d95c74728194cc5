import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchCommand, benchRequestFromArgs } from '../../../extension/cli/bench';
import { convCommand } from '../../../extension/cli/conv';
import { runCli } from '../../../extension/cli/main';
import { CliUsageError, type CliIo } from '../../../extension/cli/io';
import { referenceConv2d } from '../../../extension/core/conv/reference';
import type { BenchReport, ConvShape } from '../../../extension/shared/payloads';

function capture(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (text) => void (out += text), err: (text) => void (err += text), stdout: () => out, stderr: () => err };
}

/** A float32 little-endian C-order .npy, byte by byte (format version 1.0). */
function npyBytes(shape: number[], values: number[]): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(prefix);
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => data.writeFloatLE(value, index * 4));
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]);
}

/** Reads back a float32 C-order .npy written by the CLI: shape from the header, values after it. */
function readNpy(file: string): { shape: number[]; values: number[] } {
  const bytes = readFileSync(file);
  assert.deepEqual([...bytes.subarray(0, 6)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
  const headerLength = bytes[6] === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = bytes[6] === 1 ? 10 : 12;
  const header = bytes.subarray(headerStart, headerStart + headerLength).toString('latin1');
  assert.match(header, /'descr': '<f4'/);
  assert.match(header, /'fortran_order': False/);
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1].split(',').filter((s) => s.trim()).map(Number);
  const data = bytes.subarray(headerStart + headerLength);
  const values = Array.from({ length: data.length / 4 }, (_, i) => data.readFloatLE(i * 4));
  return { shape, values };
}

test('bench flags become a BenchRequest; bad flags are usage errors naming the flag', () => {
  assert.deepEqual(
    benchRequestFromArgs(['--suite', 'resnet18', '--layers', 'conv1,conv5_x', '--algo=im2col', '--threads', '2', '--budget-ms', '250', '--peer', '--json']),
    {
      request: { suite: 'resnet18', layers: ['conv1', 'conv5_x'], algos: ['im2col'], threads: 2, budgetMs: 250, peer: true, checkErrors: true },
      json: true,
      help: false,
    },
  );
  assert.deepEqual(benchRequestFromArgs(['--shape', '1,3,8,8,4,3,3,1,1', '--no-check']).request, {
    shape: { N: 1, C: 3, H: 8, W: 8, K: 4, R: 3, S: 3, stride: 1, pad: 1 },
    peer: false,
    checkErrors: false,
  });
  const usage = (argv: string[], pattern: RegExp): void =>
    assert.throws(() => benchRequestFromArgs(argv), (error: Error) => error instanceof CliUsageError && pattern.test(error.message));
  usage([], /give --suite .* or --shape/);
  usage(['--suite', 'alexnet'], /--suite must be one of resnet18, resnet50, vgg16, mobilenet-v1, mobilenet-v2, resnext50, dilated, got 'alexnet'/);
  usage(['--suite', 'vgg16', '--shape', '1,1,3,3,1,1,1'], /either --suite or --shape/);
  usage(['--shape', '1,2,3'], /--shape must be N,C,H,W,K,R,S/);
  usage(['--suite', 'vgg16', '--algo', 'im2col,magic'], /--algo: unknown algorithm 'magic'/);
  usage(['--suite', 'vgg16', '--threads', '0'], /--threads must be a positive integer, got '0'/);
  usage(['--suite', 'vgg16', '--budget-ms', 'soon'], /--budget-ms must be a non-negative number/);
  usage(['--suite', 'vgg16', '--layout', 'hwcn'], /--layout must be one of nchw, nhwc/);
  usage(['--suite', 'vgg16', '--layers', 'conv9_9'], /vgg16 has no layer 'conv9_9'/);
  usage(['--suite', 'vgg16', '--frobnicate'], /unknown option --frobnicate/);
  usage(['--suite'], /--suite needs a value/);
});

test('deep-accel bench --json prints a BenchReport with every documented field', async () => {
  const io = capture();
  const code = await benchCommand(['--shape', '1,4,10,10,8,3,3,1,1', '--algo', 'im2col', '--budget-ms', '0', '--warmup-ms', '0', '--json'], io);
  assert.equal(code, 0);
  const report = JSON.parse(io.stdout()) as BenchReport;
  for (const field of ['cpu', 'cores', 'simd', 'node', 'platform']) assert.ok(field in report.machine, `machine.${field}`);
  assert.equal(report.results.length, 1);
  const [result] = report.results;
  for (const field of ['layer', 'shape', 'algo', 'layout', 'threads', 'msMin', 'msMedian', 'msP90', 'gflops', 'maxAbsErr', 'maxRelErr', 'workspaceBytes']) {
    assert.ok(field in result, `result.${field}`);
  }
  assert.deepEqual(result.shape, { N: 1, C: 4, H: 10, W: 10, K: 8, R: 3, S: 3, stride: 1, pad: 1 });
  assert.equal(result.algo, 'im2col');
  assert.ok(typeof result.maxAbsErr === 'number' && result.maxAbsErr < 1e-4);
  assert.match(io.stderr(), /\[ *\d+%\] 1x4x10x10-k8-3x3-s1p1: im2col \(nchw, 1 thread\)/);

  const table = capture();
  assert.equal(await benchCommand(['--shape', '1,4,10,10,8,1,1', '--algo', 'im2col', '--budget-ms', '0', '--warmup-ms', '0'], table), 0);
  assert.match(table.stdout(), /^layer\s+algo\s+layout\s+thr\s+ms min\s+ms med\s+ms p90\s+GFLOP\/s\s+max abs err/m);
  assert.match(table.stdout(), /1x4x10x10-k8-1x1-s1p0\s+im2col\s+nchw\s+1\s/);
});

test('bench --suite mobilenet-v1: the depthwise layers run in direct and im2col against fp64; Winograd is skipped with the reason', async () => {
  const io = capture();
  const code = await benchCommand(['--suite', 'mobilenet-v1', '--layers', 'pw1,dw2', '--algo', 'im2col,direct,winograd-4x3', '--budget-ms', '0', '--warmup-ms', '0', '--json'], io);
  assert.equal(code, 0, io.stderr());
  const report = JSON.parse(io.stdout()) as BenchReport;
  assert.deepEqual(report.results.map((r) => `${r.layer} ${r.algo}`), ['pw1 im2col', 'pw1 direct', 'dw2 im2col', 'dw2 direct']);
  for (const result of report.results) assert.ok(result.maxAbsErr !== undefined && result.maxAbsErr < 1e-5, `${result.layer} ${result.algo}: ${result.maxAbsErr}`);
  assert.deepEqual(report.results[2].shape, { N: 1, C: 64, H: 112, W: 112, K: 64, R: 3, S: 3, stride: 2, pad: 1, groups: 64 });
  const dw2Skip = report.skipped?.find((s) => s.layer === 'dw2' && s.algo === 'winograd-4x3');
  assert.match(dw2Skip?.reason ?? '', /groups 64/);
  const help = capture();
  assert.equal(await benchCommand(['--help'], help), 0);
  assert.doesNotMatch(help.stdout(), /mobilenet-v1 skips/);
});

test('deep-accel conv: .npy in, hand-computed .npy out', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-conv-'));
  try {
    // x = 1..9 in a 3x3 image; filter 0 = [[1,0],[0,-1]] (x[i][j] - x[i+1][j+1] = -4 everywhere),
    // filter 1 = all ones (2x2 window sums 12, 16, 24, 28); bias 0.5 and -1.
    writeFileSync(path.join(dir, 'x.npy'), npyBytes([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]));
    writeFileSync(path.join(dir, 'w.npy'), npyBytes([2, 1, 2, 2], [1, 0, 0, -1, 1, 1, 1, 1]));
    writeFileSync(path.join(dir, 'b.npy'), npyBytes([2], [0.5, -1]));
    const out = path.join(dir, 'y.npy');
    const io = capture();
    const code = await convCommand(
      ['--input', path.join(dir, 'x.npy'), '--weight', path.join(dir, 'w.npy'), '--bias', path.join(dir, 'b.npy'), '--algo', 'im2col', '--out', out],
      io,
    );
    assert.equal(code, 0);
    assert.match(io.stdout(), /wrote .*y\.npy: \[1, 2, 2, 2\] float32 \(im2col, nchw, 1 thread/);
    assert.deepEqual(readNpy(out), { shape: [1, 2, 2, 2], values: [-3.5, -3.5, -3.5, -3.5, 11, 15, 23, 27] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deep-accel conv: stride, padding, two threads and --check against the reference', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-conv-'));
  try {
    const x = Array.from({ length: 2 * 3 * 7 * 6 }, (_, i) => ((i * 7) % 13) - 6);
    const w = Array.from({ length: 5 * 3 * 3 * 3 }, (_, i) => ((i * 5) % 11) / 4 - 1);
    writeFileSync(path.join(dir, 'x.npy'), npyBytes([2, 3, 7, 6], x));
    writeFileSync(path.join(dir, 'w.npy'), npyBytes([5, 3, 3, 3], w));
    const out = path.join(dir, 'y.npy');
    const io = capture();
    const argv = ['--input', path.join(dir, 'x.npy'), '--weight', path.join(dir, 'w.npy'), '--algo', 'im2col', '--stride', '2', '--pad', '1', '--threads', '2', '--check', '--json', '--out', out];
    assert.equal(await convCommand(argv, io), 0);
    const summary = JSON.parse(io.stdout()) as { outputShape: number[]; maxAbsErr: number; threads: number };
    assert.deepEqual(summary.outputShape, [2, 5, 4, 3]); // P = floor((7+2-3)/2)+1 = 4, Q = floor((6+2-3)/2)+1 = 3
    assert.equal(summary.threads, 2);
    const expected = referenceConv2d(Float32Array.from(x), Float32Array.from(w), undefined, { N: 2, C: 3, H: 7, W: 6, K: 5, R: 3, S: 3, stride: 2, pad: 1 });
    const written = readNpy(out);
    assert.deepEqual(written.shape, [2, 5, 4, 3]);
    written.values.forEach((value, index) => assert.ok(Math.abs(value - expected[index]) < 1e-4, `element ${index}`));
    assert.ok(summary.maxAbsErr < 1e-4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deep-accel conv: shape mismatches and missing flags are clear usage errors', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-conv-'));
  try {
    const xFile = path.join(dir, 'x.npy');
    const wFile = path.join(dir, 'w.npy');
    writeFileSync(xFile, npyBytes([1, 2, 4, 4], new Array(32).fill(1)));
    writeFileSync(wFile, npyBytes([3, 5, 3, 3], new Array(135).fill(1)));
    const run = (argv: string[]): Promise<number> => convCommand(argv, capture());
    await assert.rejects(run(['--input', xFile, '--weight', wFile, '--algo', 'im2col', '--out', path.join(dir, 'y.npy')]), (error: Error) =>
      error instanceof CliUsageError && error.message.includes(`--weight ${wFile}`) && /has 5 input channels, but --input .* has C = 2/.test(error.message),
    );
    writeFileSync(wFile, npyBytes([3, 2, 3], new Array(18).fill(1)));
    await assert.rejects(run(['--input', xFile, '--weight', wFile, '--algo', 'im2col', '--out', path.join(dir, 'y.npy')]), /--weight .*w\.npy: expected a 4-D array \[K,C\/groups,R,S\], got shape \[3, 2, 3\]/);
    await assert.rejects(run(['--input', xFile, '--algo', 'im2col', '--out', 'y.npy']), /--weight is required/);
    await assert.rejects(run(['--input', xFile, '--weight', wFile, '--algo', 'magic', '--out', 'y.npy']), /--algo must be one of direct, im2col/);
    writeFileSync(wFile, npyBytes([3, 2, 5, 5], new Array(150).fill(1)));
    await assert.rejects(run(['--input', xFile, '--weight', wFile, '--algo', 'im2col', '--out', path.join(dir, 'y.npy')]), /kernel 5x5 is larger than the padded input 4x4/);
    await assert.rejects(run(['--input', path.join(dir, 'missing.npy'), '--weight', wFile, '--algo', 'im2col', '--out', 'y.npy']), /missing\.npy/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The whole CLI in-process, as a user runs it: exit code and both streams. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await runCli(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

test('deep-accel conv never writes over its own input, weight or bias (also through a symbolic or hard link): exit 2, files unchanged', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-conv-'));
  try {
    const files = { x: path.join(dir, 'x.npy'), w: path.join(dir, 'w.npy'), b: path.join(dir, 'b.npy') };
    writeFileSync(files.x, npyBytes([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]));
    writeFileSync(files.w, npyBytes([2, 1, 2, 2], [1, 0, 0, -1, 1, 1, 1, 1]));
    writeFileSync(files.b, npyBytes([2], [0.5, -1]));
    symlinkSync(files.x, path.join(dir, 'x-link.npy'));
    linkSync(files.w, path.join(dir, 'w-hard.npy'));
    const before = Object.fromEntries(Object.entries(files).map(([key, file]) => [key, readFileSync(file)]));
    const cases: [string, RegExp][] = [
      [files.x, /--out .*x\.npy is the input file itself \(--input /],
      [files.w, /--out .*w\.npy is the input file itself \(--weight /],
      [files.b, /--out .*b\.npy is the input file itself \(--bias /],
      [path.join(dir, 'x-link.npy'), /x-link\.npy is the input file itself \(--input /],
      [path.join(dir, 'w-hard.npy'), /w-hard\.npy is the input file itself \(--weight /],
      [path.join(dir, 'sub', '..', 'x.npy'), /is the input file itself \(--input /],
    ];
    for (const [out, message] of cases) {
      const { code, err } = await cli('conv', '--input', files.x, '--weight', files.w, '--bias', files.b, '--algo', 'im2col', '--out', out);
      assert.equal(code, 2, out);
      assert.match(err, message, out);
    }
    for (const [key, file] of Object.entries(files)) assert.deepEqual(readFileSync(file), before[key], file);
    assert.deepEqual(readdirSync(dir).sort(), ['b.npy', 'w-hard.npy', 'w.npy', 'x-link.npy', 'x.npy']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deep-accel conv --out in a missing folder names the folder (exit 2); a written output leaves no temporary file beside it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-conv-'));
  try {
    writeFileSync(path.join(dir, 'x.npy'), npyBytes([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]));
    writeFileSync(path.join(dir, 'w.npy'), npyBytes([1, 1, 2, 2], [1, 1, 1, 1]));
    const missing = path.join(dir, 'missing', 'dir');
    const args = ['conv', '--input', path.join(dir, 'x.npy'), '--weight', path.join(dir, 'w.npy'), '--algo', 'im2col', '--out'];
    const refused = await cli(...args, path.join(missing, 'y.npy'));
    assert.equal(refused.code, 2);
    assert.ok(refused.err.includes(`the folder ${missing} does not exist`), refused.err);
    const notNpy = await cli(...args, path.join(dir, 'y.bin'));
    assert.equal(notNpy.code, 2);
    assert.match(notNpy.err, /y\.bin: the output is written as NumPy \.npy, so its name must end in \.npy/);
    const written = await cli(...args, path.join(dir, 'y.npy'));
    assert.equal(written.code, 0, written.err);
    assert.deepEqual(readNpy(path.join(dir, 'y.npy')), { shape: [1, 1, 2, 2], values: [12, 16, 24, 28] });
    assert.deepEqual(readdirSync(dir).sort(), ['w.npy', 'x.npy', 'y.npy']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deep-accel conv --algo direct runs on NCHW/OIHW files: the input is converted to its blocked layout and the output back', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-conv-'));
  try {
    // C = 8 and K = 8 fill one block of 8 channels; values small integers so float32 sums are exact.
    const shape = { N: 1, C: 8, H: 5, W: 4, K: 8, R: 3, S: 3, stride: 1, pad: 1 };
    const x = Array.from({ length: 8 * 5 * 4 }, (_, i) => ((i * 7) % 11) - 5);
    const w = Array.from({ length: 8 * 8 * 3 * 3 }, (_, i) => ((i * 5) % 7) - 3);
    writeFileSync(path.join(dir, 'x.npy'), npyBytes([1, 8, 5, 4], x));
    writeFileSync(path.join(dir, 'w.npy'), npyBytes([8, 8, 3, 3], w));
    const { code, out, err } = await cli('conv', '--input', path.join(dir, 'x.npy'), '--weight', path.join(dir, 'w.npy'), '--algo', 'direct', '--pad', '1', '--json', '--out', path.join(dir, 'y.npy'));
    assert.equal(code, 0, err);
    const summary = JSON.parse(out) as { layout: string };
    assert.notEqual(summary.layout, 'nchw');
    const expected = referenceConv2d(Float32Array.from(x), Float32Array.from(w), undefined, shape);
    const written = readNpy(path.join(dir, 'y.npy'));
    assert.deepEqual(written.shape, [1, 8, 5, 4]);
    assert.deepEqual(written.values, Array.from(expected));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deep-accel bench where no algorithm applies exits 2 and says why for each', async () => {
  // Winograd F(2,3) needs stride 1: a stride-2 layer has nothing to run.
  const { code, err } = await cli('bench', '--shape', '1,4,8,8,4,3,3,2,1', '--algo', 'winograd-2x3', '--budget-ms', '0', '--warmup-ms', '0');
  assert.equal(code, 2);
  assert.match(err, /no algorithm ran/);
  assert.match(err, /winograd-2x3: .*stride/);
});

test('deep-accel conv: --groups and --dilation (hand-derived depthwise result) and --pads checked against the reference', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-conv-'));
  try {
    // Two channels 1..9 and 10..18; depthwise 2x2 filters dilated by 2 read the corners of the 3x3 image:
    // channel 0 all ones: 1 + 3 + 7 + 9 = 20; channel 1 [[1, 0], [0, -1]]: 10 - 18 = -8.
    const xFile = path.join(dir, 'x.npy');
    const wFile = path.join(dir, 'w.npy');
    writeFileSync(xFile, npyBytes([1, 2, 3, 3], Array.from({ length: 18 }, (_, i) => i + 1)));
    writeFileSync(wFile, npyBytes([2, 1, 2, 2], [1, 1, 1, 1, 1, 0, 0, -1]));
    const out = path.join(dir, 'y.npy');
    for (const [algo, layout] of [['direct', 'nchw4c'], ['im2col', 'nchw'], ['im2col', 'nhwc']]) {
      const io = capture();
      const argv = ['--input', xFile, '--weight', wFile, '--algo', algo, '--layout', layout, '--groups', '2', '--dilation', '2', '--out', out];
      assert.equal(await convCommand(argv, io), 0);
      assert.deepEqual(readNpy(out), { shape: [1, 2, 1, 1], values: [20, -8] }, `${algo} ${layout}`);
    }
    // Asymmetric pads (TensorFlow's SAME for a 2x2 kernel at stride 2): P = floor((3 + 0 + 1 - 2) / 2) + 1 = 2.
    writeFileSync(wFile, npyBytes([2, 2, 2, 2], Array.from({ length: 16 }, (_, i) => ((i * 7) % 5) - 2)));
    const io = capture();
    const argv = ['--input', xFile, '--weight', wFile, '--algo', 'direct', '--layout', 'nchw8c', '--stride', '2', '--pads', '0,0,1,1', '--check', '--json', '--out', out];
    assert.equal(await convCommand(argv, io), 0);
    const summary = JSON.parse(io.stdout()) as { outputShape: number[]; maxAbsErr: number };
    assert.deepEqual(summary.outputShape, [1, 2, 2, 2]);
    assert.ok(summary.maxAbsErr < 1e-4, `max abs error ${summary.maxAbsErr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deep-accel conv: wrong groups, pads and algorithms for a grouped shape are usage errors naming the problem', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-conv-'));
  try {
    const xFile = path.join(dir, 'x.npy');
    const wFile = path.join(dir, 'w.npy');
    writeFileSync(xFile, npyBytes([1, 4, 6, 6], new Array(144).fill(1)));
    writeFileSync(wFile, npyBytes([4, 1, 3, 3], new Array(36).fill(1)));
    const out = path.join(dir, 'y.npy');
    const run = (extra: string[]): Promise<number> => convCommand(['--input', xFile, '--weight', wFile, '--out', out, ...extra], capture());
    await assert.rejects(run(['--algo', 'im2col', '--groups', '2']), /has 1 input channels, but --input .* with --groups 2 needs C\/groups = 2/);
    await assert.rejects(run(['--algo', 'im2col', '--groups', '3']), /with --groups 3 needs C\/groups = 4\/3 \(not an integer\)/);
    await assert.rejects(run(['--algo', 'im2col', '--groups', '4', '--pads', '1,1,1']), /--pads must be four non-negative integers top,left,bottom,right, got '1,1,1'/);
    await assert.rejects(run(['--algo', 'im2col', '--groups', '4', '--pads', '1,1,1,1', '--pad', '1']), /give either --pad or --pads, not both/);
    await assert.rejects(run(['--algo', 'winograd-4x3', '--groups', '4', '--pad', '1']), (error: Error) =>
      error instanceof CliUsageError && /--algo winograd-4x3 cannot run this convolution in nchw: winograd-4x3 runs only one group.*\(got groups 4\)/.test(error.message),
    );
    await assert.rejects(run(['--algo', 'im2col', '--groups', '4', '--dilation', '4']), /kernel 3x3 dilated by 4 \(9x9\) is larger than the padded input 6x6/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deep-accel conv: fft at stride 2 and winograd at dilation 2 (polyphase decomposition) match the reference; dilation with stride is refused with the reason', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-conv-'));
  try {
    const xFile = path.join(dir, 'x.npy');
    const wFile = path.join(dir, 'w.npy');
    const x = Array.from({ length: 2 * 9 * 8 }, (_, i) => ((i * 37) % 23) / 11 - 1);
    const w = Array.from({ length: 3 * 2 * 9 }, (_, i) => ((i * 13) % 7) / 3 - 1);
    writeFileSync(xFile, npyBytes([1, 2, 9, 8], x));
    writeFileSync(wFile, npyBytes([3, 2, 3, 3], w));
    const out = path.join(dir, 'y.npy');
    const runs: [string, string[], ConvShape][] = [
      ['fft', ['--stride', '2', '--pad', '1'], { N: 1, C: 2, H: 9, W: 8, K: 3, R: 3, S: 3, stride: 2, pad: 1 }],
      ['winograd-4x3', ['--dilation', '2', '--pad', '2'], { N: 1, C: 2, H: 9, W: 8, K: 3, R: 3, S: 3, stride: 1, pad: 2, dilation: 2 }],
      ['winograd-2x3', ['--dilation', '3', '--pads', '3,2,1,3'], { N: 1, C: 2, H: 9, W: 8, K: 3, R: 3, S: 3, stride: 1, pad: 0, pads: [3, 2, 1, 3], dilation: 3 }],
    ];
    for (const [algo, flags, shape] of runs) {
      assert.equal(await convCommand(['--input', xFile, '--weight', wFile, '--algo', algo, ...flags, '--out', out], capture()), 0);
      const expected = referenceConv2d(Float32Array.from(x), Float32Array.from(w), undefined, shape);
      const written = readNpy(out);
      assert.equal(written.values.length, expected.length, algo);
      written.values.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) < 1e-4, `${algo}[${i}]: ${value} vs ${expected[i]}`));
    }
    const { code, err } = await cli('conv', '--input', xFile, '--weight', wFile, '--algo', 'winograd-4x3', '--dilation', '2', '--stride', '2', '--pad', '2', '--out', out);
    assert.equal(code, 2);
    assert.match(err, /--algo winograd-4x3 cannot run this convolution in nchw: winograd-4x3 runs dilation 2 only at stride 1 \(by polyphase decomposition\), got stride 2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench --shape reads groups and dilation', () => {
  const { request } = benchRequestFromArgs(['--shape', '1,32,28,28,32,3,3,1,2,32,2']);
  assert.deepEqual(request.shape, { N: 1, C: 32, H: 28, W: 28, K: 32, R: 3, S: 3, stride: 1, pad: 2, groups: 32, dilation: 2 });
  assert.throws(() => benchRequestFromArgs(['--shape', '1,32,28,28,32,3,3,1,1,3']), /groups 3 must divide both C = 32 and K = 32/);
});

test('bench --max-error-vs-direct X: the budget in JSON and the best-per-layer lines; a budget that is not a positive number is a usage error', async () => {
  const io = capture();
  const argv = ['--shape', '1,16,10,10,16,3,3,1,1', '--algo', 'direct,winograd-7x3', '--budget-ms', '0', '--warmup-ms', '0'];
  assert.equal(await benchCommand([...argv, '--max-error-vs-direct', '2', '--json'], io), 0, io.stderr());
  const report = JSON.parse(io.stdout()) as BenchReport;
  assert.equal(report.maxErrorVsDirect, 2);
  assert.equal(report.results.find((r) => r.algo === 'direct')?.errorVsDirect, 1);
  assert.ok((report.results.find((r) => r.algo === 'winograd-7x3')?.errorVsDirect ?? 0) > 2);
  assert.equal(report.best?.[0].withinBudget?.algo, 'direct');
  const table = capture();
  assert.equal(await benchCommand([...argv, '--max-error-vs-direct', '2'], table), 0);
  assert.match(table.stdout(), /best per layer \(the fastest within max error 2x direct's/);
  assert.match(table.stdout(), /1x16x10x10-k16-3x3-s1p1: direct [\d.]+ ms, 1\.0x direct's error/);
  for (const bad of ['0', '-1', 'x']) assert.throws(() => benchRequestFromArgs([...argv, '--max-error-vs-direct', bad]), CliUsageError, bad);
  const help = capture();
  assert.equal(await benchCommand(['--help'], help), 0);
  assert.match(help.stdout(), /--max-error-vs-direct X/);
});
