import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PEER_NOT_INSTALLED, findOnnxRuntime, runOnnxRuntimePeer } from '../../../../extension/core/bench/peer';
import { compareToReference, referenceConv2d } from '../../../../extension/core/conv/reference';
import type { BenchReport, ConvShape } from '../../../../extension/shared/payloads';
import { REPO_ROOT, WORKER_SOURCE } from '../../../paths';
import { runBench } from '../../../../extension/core/requests/bench';
import { PoolConvBackend } from '../../../../extension/workers/convBackend';
import { WorkerPool } from '../../../../extension/workers/pool';

const runtime = findOnnxRuntime();

test('onnxruntime-node peer computes the same convolution as the fp64 reference', { skip: !runtime && 'onnxruntime-node is not installed' }, async () => {
  // Odd sizes, stride 2 and padding exercise every attribute of the encoded Conv node.
  const shape: ConvShape = { N: 1, C: 3, H: 9, W: 7, K: 5, R: 3, S: 3, stride: 2, pad: 1 };
  const input = Float32Array.from({ length: 3 * 9 * 7 }, (_, i) => ((i * 37) % 23) / 11 - 1);
  const weight = Float32Array.from({ length: 5 * 3 * 3 * 3 }, (_, i) => ((i * 13) % 17) / 8 - 1);
  const timing = await runOnnxRuntimePeer(shape, weight, {
    input,
    returnOutput: true,
    warmupMs: 0,
    budgetMs: 0,
    minIterations: 2,
  });
  const expected = referenceConv2d(input, weight, undefined, shape);
  assert.equal(expected.length, 5 * 5 * 4); // P = floor((9+2-3)/2)+1 = 5, Q = floor((7+2-3)/2)+1 = 4
  assert.ok(timing.output);
  const { maxAbsErr } = compareToReference(timing.output, expected);
  assert.ok(maxAbsErr < 1e-5, `max abs error ${maxAbsErr}`);
  assert.equal(timing.iterations, 2);
  assert.match(timing.name, /^onnxruntime-node \d+\.\d+\.\d+ \(1 thread\)$/);
  assert.ok(timing.msMin <= timing.msMedian && timing.msMedian <= timing.msP90);
  // gflops is the direct count over the median time: 2*K*C*R*S*P*Q = 2*5*3*9*20 = 5400 flops.
  assert.ok(Math.abs(timing.gflops - 5400 / (timing.msMedian * 1e6)) < 1e-12);
});

test('a peer failure in the child is reported, not crashed on', { skip: !runtime && 'onnxruntime-node is not installed' }, async () => {
  const shape: ConvShape = { N: 1, C: 1, H: 4, W: 4, K: 1, R: 3, S: 3, stride: 1, pad: 0 };
  await assert.rejects(
    runOnnxRuntimePeer(shape, new Float32Array(9), { input: new Float32Array(15), warmupMs: 0, budgetMs: 0 }),
    /peer input has 15 values, expected 16/,
  );
  await assert.rejects(runOnnxRuntimePeer(shape, new Float32Array(8)), /weight has 8 values, expected K\*C\*R\*S = 9/);
});

test('a runtime that dies natively in the child rejects with the signal, and the host lives on', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-fake-ort-'));
  try {
    // A stand-in onnxruntime-node whose loading kills its process, as a native crash would.
    const modulePath = path.join(dir, 'node_modules', 'onnxruntime-node');
    mkdirSync(modulePath, { recursive: true });
    writeFileSync(path.join(modulePath, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version: '0.0.0-crash', main: 'index.js' }));
    writeFileSync(path.join(modulePath, 'index.js'), "process.kill(process.pid, 'SIGKILL');\n");
    const shape: ConvShape = { N: 1, C: 1, H: 3, W: 3, K: 1, R: 1, S: 1, stride: 1, pad: 0 };
    await assert.rejects(
      runOnnxRuntimePeer(shape, new Float32Array(1), { resolveFrom: path.join(dir, 'caller.js'), warmupMs: 0, budgetMs: 0 }),
      /^Error: onnxruntime-node peer was killed by SIGKILL$/,
    );
    // And one whose loading throws: its message comes back.
    writeFileSync(path.join(modulePath, 'index.js'), "throw new Error('libonnxruntime.so.1: cannot open shared object file');\n");
    await assert.rejects(
      runOnnxRuntimePeer(shape, new Float32Array(1), { resolveFrom: path.join(dir, 'caller.js'), warmupMs: 0, budgetMs: 0 }),
      /^Error: onnxruntime-node peer exited with code 2: libonnxruntime\.so\.1: cannot open shared object file$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run that asks for the peer when it is not installed says once how to install it, with no skipped rows', () => {
  // onnxruntime-node hidden from module resolution in a CLI process of its own, as on a machine without it.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-no-ort-'));
  try {
    const hide = path.join(dir, 'hideOnnxRuntime.cjs');
    writeFileSync(
      hide,
      `const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'onnxruntime-node' || request.startsWith('onnxruntime-node/')) {
    throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
  }
  return resolve.call(this, request, ...rest);
};
`,
    );
    // Two layers (a suite's), two algorithms: the old report had one peer row per layer.
    const args = ['--suite', 'resnet18', '--layers', 'conv4_x,conv5_x', '--algo', 'im2col,winograd-4x3s2', '--peer', '--budget-ms', '1', '--warmup-ms', '0', '--no-check'];
    const cli = (extra: string[]) =>
      spawnSync(process.execPath, ['--require', hide, '--import', 'tsx', path.join(REPO_ROOT, 'extension', 'cli', 'main.ts'), 'bench', ...args, ...extra], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      });
    const json = cli(['--json']);
    assert.equal(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout) as BenchReport;
    assert.equal(report.peerUnavailable, PEER_NOT_INSTALLED);
    assert.match(PEER_NOT_INSTALLED, /ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node/);
    assert.deepEqual(report.skipped?.filter((skip) => skip.algo.includes('peer')), []);
    assert.deepEqual(report.results.map((result) => [result.layer, result.algo, result.peer]), [
      ['conv4_x', 'im2col', undefined],
      ['conv5_x', 'im2col', undefined],
    ]);
    const table = cli([]);
    assert.equal(table.status, 0, table.stderr);
    assert.equal(table.stdout.split('ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node').length, 2, table.stdout);
    assert.doesNotMatch(table.stdout, /peer ms|vs peer|peer:onnxruntime-node/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench --peer: onnxruntime-node runs grouped, depthwise (multiplier 2), dilated and asymmetrically padded layers on the engine\'s input and agrees with the fp64 reference', { skip: !runtime && 'onnxruntime-node is not installed' }, async () => {
  const pool = new WorkerPool(WORKER_SOURCE, { size: 1 });
  try {
    const shapes: ConvShape[] = [
      { N: 1, C: 8, H: 11, W: 9, K: 12, R: 3, S: 3, stride: 2, pad: 1, groups: 4 },
      { N: 1, C: 6, H: 10, W: 10, K: 12, R: 3, S: 3, stride: 1, pad: 1, groups: 6 },
      { N: 1, C: 5, H: 13, W: 12, K: 7, R: 3, S: 3, stride: 1, pad: 3, dilation: 3 },
      { N: 1, C: 4, H: 10, W: 9, K: 6, R: 3, S: 3, stride: 2, pad: 0, pads: [0, 1, 1, 0] },
    ];
    for (const shape of shapes) {
      const report = await runBench({ shape, algos: ['direct'], peer: true, budgetMs: 0, warmupMs: 0 }, { backend: new PoolConvBackend(pool) });
      const label = JSON.stringify(shape);
      assert.deepEqual(report.skipped?.filter((skip) => skip.algo.startsWith('peer')), [], label);
      const [result] = report.results;
      assert.ok(result.peer, label);
      // The peer's output is compared element by element with the reference: a peer fed other data,
      // or a Conv node with a wrong group, dilation or pad order, would be off by O(1).
      assert.ok(result.peer.maxAbsErr !== undefined && result.peer.maxAbsErr < 1e-5, `${label}: peer error ${result.peer.maxAbsErr}`);
    }
  } finally {
    await pool.dispose();
  }
});
