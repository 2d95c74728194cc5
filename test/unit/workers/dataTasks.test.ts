/**
 * The sparsity task with a channel permutation search, run in the worker pool: progress while it
 * searches, a cooperative stop on cancel, and the time bound said in the report.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { writeSafetensors } from '../../../extension/core/formats/safetensors';
import { WorkerPool, WorkerTaskError } from '../../../extension/workers/pool';
import { WORKER_SOURCE } from '../../paths';
import { tempDir } from '../core/formats/weightFileHelpers';
import { random } from '../core/sparsity/helpers';

const pool = new WorkerPool(WORKER_SOURCE, { size: 1, cancelGraceMs: 2000 });
after(() => pool.dispose());

const file = path.join(tempDir('permute-task'), 'wide.safetensors');
const fileReady = (async () => {
  const next = random(7);
  // 384 input channels of random values: the search has far more pairs to re-split than a test waits for.
  await writeSafetensors(file, [{ name: 'fc.weight', dtype: 'F32', shape: [256, 384], data: Float32Array.from({ length: 256 * 384 }, () => next() - 0.5) }]);
})();

test('a permutation search in the worker reports progress and stops cooperatively when cancelled', async () => {
  await fileReady;
  const started = pool.workersStarted;
  const controller = new AbortController();
  const messages: string[] = [];
  const promise = pool.run('sparsity', { file, permute: '2:4', permuteSeconds: 600 }, {
    signal: controller.signal,
    onProgress: (_, message) => {
      if (message) messages.push(message);
      if (messages.filter((m) => /^permuting the input channels of fc\.weight: \d+\.\d\d% of \|w\| kept$/.test(m)).length === 2) controller.abort();
    },
  });
  const error = await promise.then(
    () => assert.fail('the search finished before it was cancelled'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof WorkerTaskError, String(error));
  assert.equal(error.reason, 'cancelled');
  assert.match(error.message, /^Task 'sparsity' was cancelled$/, 'stopped cooperatively, not terminated');
  assert.equal(pool.workersStarted, started, 'the worker was kept');
});

test('the time bound ends a permutation search in the worker, and the report says so', async () => {
  await fileReady;
  const report = await pool.run('sparsity', { file, permute: '2:4', permuteSeconds: 0.3 });
  const permutation = report.tensors[0]!.permutation!;
  assert.equal(permutation.budgetExhausted, true);
  assert.ok(permutation.retainedAfter >= permutation.retainedBefore);
  assert.deepEqual([...permutation.order].sort((a, b) => a - b), [...Array(384).keys()]);
  assert.match(report.warnings.join('\n'), /the permutation search ran out of its 0\.3 s on fc\.weight/);
});
