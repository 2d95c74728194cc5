/**
 * The sparsity scan spread over worker threads: the same report as on one thread (a large tensor
 * cut into stretches included), and a worker's file error coming back as the file's error.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { WeightFileError } from '../../../extension/core/formats/types';
import { writeSafetensors } from '../../../extension/core/formats/safetensors';
import { runSparsity } from '../../../extension/core/requests/weightFile';
import { EngineScanKernel } from '../../../extension/engine/scanKernel';
import type { SparsityRequest } from '../../../extension/shared/requests';
import { PoolTensorPartScanner } from '../../../extension/workers/scanParts';
import { WORKER_SOURCE } from '../../paths';
import { tempDir } from '../core/formats/weightFileHelpers';
import { random } from '../core/sparsity/helpers';

const dir = tempDir('scan-parts');
const kernel = new EngineScanKernel();

/** Values in [-1, 1) with about `zeros` of them exact zeros. */
function values(numel: number, seed: number, zeros: number): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length: numel }, () => (next() < zeros ? 0 : next() * 2 - 1));
}

const file = path.join(dir, 'model.safetensors');
const bigValues = values(6144 * 1024, 7, 0.5);
const fileReady = writeSafetensors(file, [
  { name: 'conv1.weight', dtype: 'F32', shape: [32, 16, 3, 3], data: values(32 * 16 * 9, 1, 0.3) },
  { name: 'conv1.bias', dtype: 'F32', shape: [32], data: values(32, 2, 0) },
  { name: 'fc1.weight', dtype: 'F32', shape: [128, 64], data: values(128 * 64, 3, 0.5) },
  // Not float32: read through the parser's chunks, not the direct reader.
  { name: 'fc2.weight', dtype: 'F16', shape: [64, 48], data: values(64 * 48, 4, 0.6) },
  { name: 'fc3.weight', dtype: 'F32', shape: [16, 8], data: values(16 * 8, 5, 0.75) },
  { name: 'pointwise.weight', dtype: 'BF16', shape: [24, 32, 1, 1], data: values(24 * 32, 6, 0.4) },
  // Three chunks of 2^21 values: cut into stretches of one chunk (minStretchElements 0).
  { name: 'big.weight', dtype: 'F32', shape: [6144, 1024], data: bigValues },
]);

const scanners: PoolTensorPartScanner[] = [];
after(() => Promise.all(scanners.map((s) => s.dispose())));

function scanner(request: SparsityRequest, threads: number): PoolTensorPartScanner {
  const made = new PoolTensorPartScanner(request, threads, { minElements: 0, minStretchElements: 0, workerScript: WORKER_SOURCE });
  scanners.push(made);
  return made;
}

test('a scan on this thread and one or two workers reports exactly what the scan on this thread alone reports', async () => {
  await fileReady;
  const request: SparsityRequest = { file, histogram: true, threshold: 0.01, layout: 'fc2.weight=IO', blockSize: [4, 8] };
  const alone = await runSparsity(request, { scanKernel: kernel });
  for (const threads of [2, 3]) {
    const fractions: number[] = [];
    const pool = scanner(request, threads);
    // Started and loaded before the scan, so that they claim units before this thread has taken them all.
    await Promise.all(Array.from({ length: threads - 1 }, () => pool.scan([], new SharedArrayBuffer(4), () => {})));
    const asked: { units: number; cut: number; scanned: number }[] = [];
    const parts = {
      threads,
      minElements: 0,
      minStretchElements: 0,
      scan: async (...args: Parameters<PoolTensorPartScanner['scan']>) => {
        const results = await pool.scan(...args);
        asked.push({ units: args[0].length, cut: args[0].filter((u) => u.range).length, scanned: results.length });
        return results;
      },
    };
    const spread = await runSparsity(request, { scanKernel: kernel, parts, onProgress: (fraction) => fractions.push(fraction) });
    assert.deepEqual(spread, alone, `${threads} threads`);
    // Every unit is a tensor but big.weight, which is three stretches of 2^21 values.
    assert.deepEqual(asked.map((a) => [a.units, a.cut]), Array(threads - 1).fill([9, 3]));
    assert.ok(asked.reduce((sum, a) => sum + a.scanned, 0) >= 1, 'the workers scanned some units');
    assert.ok(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]!), `progress never goes back: ${fractions.join(', ')}`);
    assert.equal(fractions.at(-1), 1);
  }
  assert.equal(alone.tensors.length, 7);
  assert.equal(alone.tensors.find((t) => t.name === 'fc2.weight')!.layout, 'IO');
  const big = alone.tensors.find((t) => t.name === 'big.weight')!;
  assert.equal(big.zeros, bigValues.filter((v) => Math.abs(v) <= 0.01).length);
});

test('below the size worth the workers, and with one thread, the scan stays on this thread', async () => {
  await fileReady;
  const request: SparsityRequest = { file };
  let asked = 0;
  const counting = { threads: 2, scan: () => ((asked += 1), Promise.reject(new Error('no part should be asked for'))) };
  await runSparsity(request, { scanKernel: kernel, parts: counting });
  await runSparsity(request, { scanKernel: kernel, parts: { ...counting, threads: 1, minElements: 0 } });
  assert.equal(asked, 0);
});

test("a part's file error comes back as the file's error", async () => {
  await fileReady;
  const request: SparsityRequest = { file };
  const parts = scanner(request, 2);
  const error = await parts.scan([{ index: 1, name: 'fc1.weight' }], new SharedArrayBuffer(4), () => {}).then(
    () => assert.fail('a tensor found under another name was scanned'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof WeightFileError, String(error));
  assert.equal(error.file, file);
  assert.match(error.problem, /tensor 1 is not "fc1\.weight" when read again: the file changed during the scan/);
});
