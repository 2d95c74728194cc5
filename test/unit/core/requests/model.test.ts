import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layoutChooser } from '../../../../extension/core/conv/backend';
import { writeSafetensors } from '../../../../extension/core/formats/safetensors';
import { formatModelReport } from '../../../../extension/core/model/format';
import { engineShape } from '../../../../extension/core/model/timing';
import { runModel } from '../../../../extension/core/requests/model';
import { applies, supportedLayouts } from '../../../../extension/engine/engine';
import { CONV_ALGORITHMS, type ModelReport } from '../../../../extension/shared/payloads';
import { PoolConvBackend } from '../../../../extension/workers/convBackend';
import { WorkerPool } from '../../../../extension/workers/pool';
import { WORKER_SOURCE, fixture } from '../../../paths';
import { findOnnxRuntime } from '../../../../extension/core/bench/peer';

const pool = new WorkerPool(WORKER_SOURCE, { size: 2 });
const folder = mkdtempSync(join(tmpdir(), 'deep-accel-model-request-'));
after(async () => {
  await pool.dispose();
  rmSync(folder, { recursive: true, force: true });
});

/** conv 8 -> 16 (3x3), grouped 16 -> 16 in 4 groups, linear 16 -> 10; with --input 1,8,12,12. */
async function smallModel(): Promise<string> {
  const file = join(folder, 'small.safetensors');
  const values = (n: number, scale: number): number[] => Array.from({ length: n }, (_, i) => scale * Math.sin(i * 0.37));
  await writeSafetensors(file, [
    { name: 'a.weight', dtype: 'F32', shape: [16, 8, 3, 3], data: values(1152, 0.1) },
    { name: 'b.weight', dtype: 'F32', shape: [16, 4, 3, 3], data: values(576, 0.1) },
    { name: 'fc.weight', dtype: 'F32', shape: [10, 16], data: values(160, 0.2) },
  ]);
  return file;
}

// No pruning what-if here (its timings have tests of their own): the counts below are the layers' own.
const FAST = { budgetMs: 0, warmupMs: 0, pruneTarget: 0 } as const;

test('every applicable algorithm timed per layer, errors against direct, best within the budget, totals the sum of the rows', async () => {
  const file = await smallModel();
  const workspace = join(folder, 'ws1');
  const backend = new PoolConvBackend(pool);
  const messages: string[] = [];
  const report = await runModel({ file, input: [1, 8, 12, 12], workspace, ...FAST }, { backend, onProgress: (_f, m) => m && messages.push(m) });
  const [a, b, fc] = report.layers as [ModelReport['layers'][number], ModelReport['layers'][number], ModelReport['layers'][number]];
  const layoutOf = layoutChooser({}, supportedLayouts);
  const shapeA = { N: 1, C: 8, H: 12, W: 12, K: 16, R: 3, S: 3, stride: 1, pad: 1 };
  assert.deepEqual(engineShape(a), { shape: shapeA });
  assert.deepEqual(a.results!.map((r) => r.algo), CONV_ALGORITHMS.filter((algo) => applies(algo, shapeA, layoutOf(algo)).ok));
  assert.deepEqual(a.skipped!.map((s) => s.algo), CONV_ALGORITHMS.filter((algo) => !applies(algo, shapeA, layoutOf(algo)).ok));
  const direct = a.results!.find((r) => r.algo === 'direct')!;
  assert.equal(direct.errorVsDirect, 1);
  for (const r of a.results!) {
    assert.ok(r.msMedian > 0 && r.msMin <= r.msMedian, r.algo);
    assert.ok(r.maxAbsErr < 1e-4, `${r.algo} ${r.maxAbsErr}`);
    assert.equal(r.errorVsDirect, r.maxAbsErr / direct.maxAbsErr);
    assert.equal(r.gflops, a.flops! / (r.msMedian * 1e6));
    assert.equal(r.cached, false);
  }
  const within = a.results!.filter((r) => r.errorVsDirect <= 16);
  const best = within.reduce((x, r) => (r.msMedian < x.msMedian ? r : x));
  assert.deepEqual(a.best, { algo: best.algo, layout: best.layout, msMedian: best.msMedian, errorVsDirect: best.errorVsDirect });
  // The Winograd tile picked by arithmetic carries its error measured on this layer's weights.
  const chosen = a.results!.find((r) => r.algo === a.winograd.chosen!.algo)!;
  assert.deepEqual(a.winograd.chosen, { algo: chosen.algo, tile: a.winograd.chosen!.tile, maxAbsErr: chosen.maxAbsErr, errorVsDirect: chosen.errorVsDirect });
  const fastest = a.results!.reduce((x, r) => (r.msMedian < x.msMedian ? r : x));
  assert.equal(a.fastest === undefined, fastest.algo === best.algo);
  // The grouped layer runs as a grouped convolution (direct and im2col); the matrix product as a 1x1 convolution over its row.
  const shapeB = { N: 1, C: 16, H: 12, W: 12, K: 16, R: 3, S: 3, stride: 1, pad: 1, groups: 4 };
  assert.deepEqual(engineShape(b), { shape: shapeB });
  assert.deepEqual(b.results!.map((r) => r.algo), CONV_ALGORITHMS.filter((algo) => applies(algo, shapeB, layoutOf(algo)).ok));
  assert.ok(b.results!.every((r) => r.maxAbsErr < 1e-4), 'the grouped layer against its fp64 reference');
  assert.ok(b.best);
  assert.deepEqual(engineShape(fc), { shape: { N: 1, C: 16, H: 1, W: 1, K: 10, R: 1, S: 1, stride: 1, pad: 0 } });
  assert.ok(fc.best);
  assert.equal(report.total.bestMs, a.best!.msMedian + b.best!.msMedian + fc.best!.msMedian);
  assert.equal(report.total.timedLayers, 3);
  assert.deepEqual(report.total.bestMsByOp, { conv: a.best!.msMedian, grouped: b.best!.msMedian, linear: fc.best!.msMedian });
  assert.ok(messages.includes('a: fft (nchw)') || messages.some((m) => /^a: winograd-4x3 /.test(m)), messages.join('\n'));
  assert.equal(report.timing!.measured, a.results!.length + b.results!.length + fc.results!.length);
  assert.equal(report.timing!.cacheHits, 0);
  assert.match(report.timing!.engineBuild, /^(relaxed|simd)-[0-9a-f]{16}$/);

  // A second report of the same model times nothing again; the times are the cached ones.
  const again = await runModel({ file, input: [1, 8, 12, 12], workspace, ...FAST }, { backend });
  assert.equal(again.timing!.measured, 0);
  assert.equal(again.timing!.cacheHits, report.timing!.measured);
  assert.deepEqual(again.layers[0]!.results!.map((r) => [r.algo, r.msMedian, r.maxAbsErr, r.cached]), a.results!.map((r) => [r.algo, r.msMedian, r.maxAbsErr, true]));
  assert.equal(again.total.bestMs, report.total.bestMs);
  const cache = JSON.parse(readFileSync(join(workspace, '.deep-accel', 'model-timings.json'), 'utf8'));
  assert.ok(Object.keys(cache.timings).every((key) => key.startsWith(`${report.timing!.engineBuild}|`)));
  // Another thread count is another key.
  const twoThreads = await runModel({ file, input: [1, 8, 12, 12], workspace, threads: 2, algos: ['im2col'], ...FAST }, { backend });
  assert.equal(twoThreads.timing!.measured, 6, 'direct and im2col on the three timed layers');
  assert.deepEqual(twoThreads.layers[0]!.results!.map((r) => r.algo), ['direct', 'im2col']);
});

test('an algorithm needing more engine memory than --max-workspace-mib is skipped with its need; the bound is in the report', async () => {
  const file = await smallModel();
  const backend = new PoolConvBackend(pool);
  const layoutOf = layoutChooser({}, supportedLayouts);
  const shapeA = { N: 1, C: 8, H: 12, W: 12, K: 16, R: 3, S: 3, stride: 1, pad: 1 };
  const runnable = CONV_ALGORITHMS.filter((algo) => applies(algo, shapeA, layoutOf(algo)).ok);
  const needs = new Map(runnable.map((algo) => [algo, backend.workspaceBytes(shapeA, algo, layoutOf(algo), 1) / 2 ** 20]));
  // A bound between the smallest and the largest need on the first layer: some algorithms pass, some do not.
  const sorted = [...needs.values()].sort((x, y) => x - y);
  const bound = (sorted[0]! + sorted.at(-1)!) / 2;
  const report = await runModel({ file, input: [1, 8, 12, 12], workspace: join(folder, 'ws-mem'), maxWorkspaceMib: bound, ...FAST }, { backend });
  const a = report.layers[0]!;
  // Direct, the yardstick of the errors, runs whatever it needs.
  const over = runnable.filter((algo) => algo !== 'direct' && needs.get(algo)! > bound);
  assert.ok(over.length > 0 && over.length < runnable.length, `${over.length} of ${runnable.length} over ${bound} MiB`);
  assert.deepEqual(a.results!.map((r) => r.algo), runnable.filter((algo) => !over.includes(algo)));
  for (const algo of over) {
    const skipped = a.skipped!.find((s) => s.algo === algo);
    assert.equal(skipped?.reason, `needs ${needs.get(algo)!.toFixed(1)} MiB of engine memory beyond the layer's tensors, over the bound of ${bound} MiB (--max-workspace-mib)`);
  }
  assert.equal(report.timing!.maxWorkspaceMib, bound);
  const overAnywhere = CONV_ALGORITHMS.filter((algo) => report.layers.some((l) => l.skipped?.some((s) => s.algo === algo && s.reason.endsWith('(--max-workspace-mib)'))));
  assert.ok(over.every((algo) => overAnywhere.includes(algo)));
  const counted = overAnywhere.map((algo) => {
    const layers = report.layers.filter((l) => l.skipped?.some((s) => s.algo === algo && s.reason.endsWith('(--max-workspace-mib)'))).length;
    return `${algo} on ${layers} layer${layers === 1 ? '' : 's'}`;
  });
  assert.ok(formatModelReport(report).includes(`not timed over the ${bound} MiB engine-memory bound per algorithm (--max-workspace-mib; --json skipped has each one's need): ${counted.join(', ')}`), formatModelReport(report));
  // Below even direct's need, direct still runs (the yardstick of the errors) and is the layer's best.
  const tiny = await runModel({ file, input: [1, 8, 12, 12], workspace: join(folder, 'ws-mem'), maxWorkspaceMib: needs.get('direct')! / 2, ...FAST }, { backend });
  assert.deepEqual(tiny.layers[0]!.results!.map((r) => r.algo), ['direct']);
  assert.equal(tiny.layers[0]!.best!.algo, 'direct');
  assert.deepEqual(tiny.layers[0]!.skipped!.map((s) => s.algo), CONV_ALGORITHMS.filter((algo) => algo !== 'direct'));
  await assert.rejects(runModel({ file, input: [1, 8, 12, 12], maxWorkspaceMib: 0 }, { backend }), /max-workspace-mib must be a positive number of MiB, got 0/);
});

test('cancelling stops the report; a wrong option is refused before anything runs; --no-time times nothing', async () => {
  const file = await smallModel();
  const backend = new PoolConvBackend(pool);
  const controller = new AbortController();
  const started = Date.now();
  await assert.rejects(
    runModel({ file, input: [1, 8, 12, 12], workspace: join(folder, 'ws2'), budgetMs: 5000 }, { backend, signal: controller.signal, onProgress: (_f, m) => m?.includes('direct') && controller.abort() }),
    (error: Error) => error.name === 'AbortError',
  );
  assert.ok(Date.now() - started < 4000, 'stopped well before the 5 s budget');
  await assert.rejects(runModel({ file, threads: 0 }, { backend }), /threads must be an integer in 1\.\.2, got 0/);
  const untimed = await runModel({ file, input: [1, 8, 12, 12], time: false, workspace: join(folder, 'ws3') }, { backend });
  assert.equal(untimed.timing, undefined);
  assert.equal(untimed.layers[0]!.results, undefined);
  assert.equal(existsSync(join(folder, 'ws3', '.deep-accel')), false);
});

test('--peer: onnxruntime-node on each timed layer and on the whole ONNX model end to end', { skip: findOnnxRuntime() ? false : 'onnxruntime-node is not installed' }, async () => {
  const file = fixture('onnx', 'small_cnn.onnx');
  const workspace = join(folder, 'ws-peer');
  const report = await runModel({ file, input: [1, 3, 32, 32], workspace, peer: true, algos: ['im2col'], ...FAST }, { backend: new PoolConvBackend(pool) });
  const timed = report.layers.filter((l) => l.best);
  assert.ok(timed.length > 0);
  for (const layer of timed) assert.ok(layer.peerMs! > 0, layer.name);
  assert.equal(report.total.peerMs, report.layers.reduce((sum, l) => sum + (l.peerMs ?? 0), 0));
  assert.ok(report.total.peerModelMs! > 0);
  assert.match(report.timing!.peer!, /^onnxruntime-node \S+ \(1 thread\)$/);
  // The peer's times are cached beside the engine's.
  const again = await runModel({ file, input: [1, 3, 32, 32], workspace, peer: true, algos: ['im2col'], ...FAST }, { backend: new PoolConvBackend(pool) });
  assert.equal(again.timing!.measured, 0);
  assert.deepEqual(again.layers.map((l) => l.peerMs), report.layers.map((l) => l.peerMs));
});
