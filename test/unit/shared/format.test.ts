import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from '../../../extension/cli/main';
import { DEFAULT_MAX_ERROR_VS_DIRECT, bestPerLayer, formatBytes, threadsLabel } from '../../../extension/shared/format';
import type { BenchResult } from '../../../extension/shared/payloads';

test('sizes are in binary units everywhere: B, KiB, MiB, GiB', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1.0 KiB');
  assert.equal(formatBytes(14029), '13.7 KiB'); // 14029 / 1024 = 13.70
  assert.equal(formatBytes(3.5 * 2 ** 20), '3.5 MiB');
  assert.equal(formatBytes(1.5 * 2 ** 30), '1.5 GiB');
  assert.equal(threadsLabel(1), '1 thread');
  assert.equal(threadsLabel(2), '2 threads');
});

test('the CLI says file sizes in KiB, as the views do', async () => {
  const file = 'samples/models/tiny-cnn.safetensors';
  let out = '';
  const code = await runCli(['sparsity', file], { out: (text) => (out += text), err: () => undefined });
  assert.equal(code, 0);
  const bytes = statSync(file).size;
  const first = out.split('\n')[0];
  assert.ok(first.includes(`${(bytes / 1024).toFixed(1)} KiB`), `header "${first}" gives the size of ${bytes} bytes in KiB`);
  assert.doesNotMatch(out, /\dK?B\b(?!\/)/, 'no decimal "KB" or bare "B" suffix glued to a number');
});

test('bestPerLayer: per layer and thread count, the fastest and the fastest within the error budget', () => {
  const result = (layer: string, algo: string, msMedian: number, errorVsDirect: number | undefined, threads = 1) =>
    ({ layer, algo, layout: 'nchw', threads, msMedian, gflops: 1 / msMedian, errorVsDirect }) as unknown as BenchResult;
  const results = [
    result('a', 'direct', 3, 1),
    result('a', 'winograd-6x3', 1.5, 11),
    result('a', 'winograd-7x3', 1, 47),
    result('b', 'im2col', 2, 1.2),
    result('b', 'direct', 2.5, 1),
    result('b', 'direct', 1.4, 1, 2),
    result('c', 'winograd-7x3', 1, undefined),
  ];
  const best = bestPerLayer(results);
  assert.deepEqual(best.map((b) => [b.layer, b.threads, b.fastest.algo, b.withinBudget?.algo]), [
    ['a', 1, 'winograd-7x3', 'winograd-6x3'],
    ['b', 1, 'im2col', 'im2col'],
    ['b', 2, 'direct', 'direct'],
    ['c', 1, 'winograd-7x3', undefined],
  ]);
  assert.equal(bestPerLayer(results, 50)[0].withinBudget?.algo, 'winograd-7x3');
  assert.equal(bestPerLayer(results, 1)[0].withinBudget?.algo, 'direct');
  assert.equal(DEFAULT_MAX_ERROR_VS_DIRECT, 16);
});
