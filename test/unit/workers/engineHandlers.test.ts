/**
 * The model task as the extension runs it: one task in the general worker pool that times every
 * layer on the engine (its own nested engine workers), keeps the timing cache in the workspace's
 * .deep-accel/, names the layer and algorithm in its progress and stops soon after a cancel.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerPool, WorkerTaskError } from '../../../extension/workers/pool';
import { WORKER_SOURCE, fixture } from '../../paths';

const pool = new WorkerPool(WORKER_SOURCE, { size: 1, cancelGraceMs: 5000 });
const workspace = mkdtempSync(join(tmpdir(), 'deep-accel-model-task-'));
after(async () => {
  await pool.dispose();
  rmSync(workspace, { recursive: true, force: true });
});

const file = fixture('onnx', 'small_cnn.onnx');

test('the model task times every layer on the engine, with progress naming layer and algorithm, and caches in the workspace', async () => {
  const messages: string[] = [];
  const report = await pool.run('model', { file, algos: ['im2col'], budgetMs: 0, warmupMs: 0, workspace }, { onProgress: (_, message) => message && messages.push(message) });
  assert.equal(report.layers.length, 5);
  for (const layer of report.layers) {
    assert.ok(layer.best, `${layer.name} has a best algorithm`);
    assert.deepEqual(layer.results!.map((r) => r.algo).sort(), ['direct', 'im2col'], `${layer.name}: direct (the error reference) and im2col timed`);
    for (const r of layer.results!) assert.ok(r.msMedian > 0 && Number.isFinite(r.msMedian), `${layer.name} ${r.algo} has a measured time`);
    assert.equal(layer.results!.find((r) => r.algo === 'direct')!.errorVsDirect, 1);
  }
  assert.equal(report.total.bestMs, report.layers.reduce((sum, l) => sum + l.best!.msMedian, 0));
  assert.equal(report.timing!.cacheHits, 0);
  assert.ok(report.timing!.measured >= 10, `${report.timing!.measured} (shape, algorithm) pairs timed`);
  const cacheFile = join(workspace, '.deep-accel', 'model-timings.json');
  assert.equal(report.timing!.cacheFile, cacheFile);
  assert.ok(existsSync(cacheFile) && readFileSync(cacheFile, 'utf8').includes('im2col'));
  assert.ok(messages.includes('c1: im2col (nchw)'), `progress names the layer and the algorithm: ${messages.slice(0, 8).join(' | ')}`);

  // A second report of the same model times nothing again: every figure comes from the cache.
  const again = await pool.run('model', { file, algos: ['im2col'], budgetMs: 0, warmupMs: 0, workspace });
  assert.equal(again.timing!.measured, 0);
  assert.equal(again.timing!.cacheHits, report.timing!.measured);
  assert.deepEqual(again.layers.map((l) => l.best), report.layers.map((l) => l.best));
});

test('without timing the model task reads the layers and starts no engine', async () => {
  const report = await pool.run('model', { file, time: false, workspace });
  assert.equal(report.layers.length, 5);
  assert.ok(report.layers.every((l) => l.results === undefined && l.best === undefined));
  assert.equal(report.timing, undefined);
});

test('cancelling the model task while a layer is being timed stops it within 200 ms, and the worker is kept', async () => {
  const started = pool.workersStarted;
  const controller = new AbortController();
  let abortedAt = 0;
  const promise = pool.run('model', { file, budgetMs: 5000, warmupMs: 0, workspace: join(workspace, 'cancel') }, {
    signal: controller.signal,
    onProgress: (_, message) => {
      if (!abortedAt && message === 'c1: direct (nchw4c)') {
        abortedAt = performance.now();
        controller.abort();
      }
    },
  });
  const error = await promise.then(
    () => assert.fail('the report finished before it was cancelled'),
    (e: unknown) => e,
  );
  const stoppedMs = performance.now() - abortedAt;
  assert.ok(abortedAt > 0, 'cancelled while timing');
  assert.ok(error instanceof WorkerTaskError, String(error));
  assert.equal(error.reason, 'cancelled');
  assert.match(error.message, /^Task 'model' was cancelled$/, 'stopped cooperatively, not terminated');
  assert.ok(stoppedMs < 200, `stopped ${stoppedMs.toFixed(0)} ms after the cancel`);
  assert.equal(pool.workersStarted, started, 'the worker was kept');
});
