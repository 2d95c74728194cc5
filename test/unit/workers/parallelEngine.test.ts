import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool, WorkerTaskError } from '../../../extension/workers/pool';
import { PLAN_SLOT } from '../../../extension/engine/engine';
import { ESTIMATE_GFLOPS, MIN_SAVED_MS_PER_WORKER, ParallelEngine, UNITS_PER_THREAD, splitUnits, workersWorthUsing } from '../../../extension/workers/parallelEngine';
import { compareToReference, referenceConv2d } from '../../../extension/core/conv/reference';
import { fillUniform } from '../../../extension/core/bench/runner';
import type { ConvAlgorithm, ConvLayout, ConvShape } from '../../../extension/shared/payloads';
import { WORKER_SOURCE } from '../../paths';

const WORKER_ENTRY = WORKER_SOURCE;
const pool = new WorkerPool(WORKER_ENTRY, { size: 2 });
after(() => pool.dispose());

test('splitUnits: contiguous, covering, sizes differ by at most one', () => {
  assert.deepEqual(splitUnits(10, 3), [[0, 4], [4, 7], [7, 10]]);
  assert.deepEqual(splitUnits(2, 4), [[0, 1], [1, 2], [2, 2], [2, 2]]);
  assert.deepEqual(splitUnits(0, 1), [[0, 0]]);
  assert.throws(() => splitUnits(5, 0), /bad part count 0/);
});

// The split tests run layers far too small to be worth splitting: told to split whatever the size.
const SPLIT_ALWAYS = { minSavedMsPerWorker: 0 };

test('two workers compute exactly what one computes, and both match the fp64 reference', async () => {
  const parallel = new ParallelEngine(pool, SPLIT_ALWAYS);
  // Odd sizes: the unit split leaves partial MR/NR blocks at the edges of both halves.
  const shapes: ConvShape[] = [
    { N: 2, C: 5, H: 9, W: 11, K: 13, R: 3, S: 3, stride: 1, pad: 1 },
    { N: 1, C: 7, H: 12, W: 10, K: 20, R: 5, S: 3, stride: 2, pad: 2 },
  ];
  for (const shape of shapes) {
    const input = fillUniform(new Float32Array(shape.N * shape.C * shape.H * shape.W), 11);
    const weight = fillUniform(new Float32Array(shape.K * shape.C * shape.R * shape.S), 12);
    const bias = fillUniform(new Float32Array(shape.K), 13);
    const expected = referenceConv2d(input, weight, bias, shape);
    for (const layout of ['nchw', 'nhwc'] as ConvLayout[]) {
      const one = await parallel.convolve('im2col', layout, shape, input, weight, bias, 1);
      const two = await parallel.convolve('im2col', layout, shape, input, weight, bias, 2);
      assert.deepEqual(two, one, `${layout}: 2 threads differ from 1 thread`);
      const { maxAbsErr } = compareToReference(two, expected);
      assert.ok(maxAbsErr < 1e-5, `${layout}: max abs error ${maxAbsErr}`);
    }
  }
});

test('decomposed plans (fft at stride 2, winograd at dilation 2) run their split, inner and interleave phases on two workers', async () => {
  const parallel = new ParallelEngine(pool);
  const cases: [ConvAlgorithm, ConvShape][] = [
    ['fft', { N: 2, C: 6, H: 15, W: 14, K: 9, R: 3, S: 3, stride: 2, pad: 1 }],
    ['winograd-4x3', { N: 1, C: 7, H: 19, W: 18, K: 10, R: 3, S: 3, stride: 1, pad: 2, dilation: 2 }],
  ];
  for (const [algo, shape] of cases) {
    const input = fillUniform(new Float32Array(shape.N * shape.C * shape.H * shape.W), 21);
    const weight = fillUniform(new Float32Array(shape.K * shape.C * shape.R * shape.S), 22);
    const bias = fillUniform(new Float32Array(shape.K), 23);
    const one = await parallel.convolve(algo, 'nchw', shape, input, weight, bias, 1);
    const two = await parallel.convolve(algo, 'nchw', shape, input, weight, bias, 2);
    assert.deepEqual(two, one, `${algo}: 2 threads differ from 1 thread`);
    const { maxAbsErr } = compareToReference(two, referenceConv2d(input, weight, bias, shape));
    assert.ok(maxAbsErr < 1e-4, `${algo}: max abs error ${maxAbsErr}`);
  }
});

test('a plan is split into units that really run on both workers', async () => {
  const parallel = new ParallelEngine(pool, SPLIT_ALWAYS);
  const shape: ConvShape = { N: 1, C: 16, H: 20, W: 20, K: 32, R: 3, S: 3, stride: 1, pad: 1 };
  const plan = parallel.plan(shape, 'im2col', 'nchw', 2);
  try {
    assert.ok(plan.descriptor.phases[0].units >= 2, 'at least one unit per worker');
    const input = fillUniform(new Float32Array(16 * 400), 3);
    const weight = fillUniform(new Float32Array(32 * 16 * 9), 4);
    plan.setWeights(weight);
    plan.setInput(input);
    // Poison the output: every element must be overwritten by one of the two halves.
    plan.engine.f32(plan.nchwOutputPtr, 32 * 400).fill(Number.NaN);
    const ms = await parallel.run(plan, 2);
    assert.ok(ms > 0);
    // Both workers got the phase; between them they claimed every unit exactly once.
    assert.equal(parallel.lastUnitsPerWorker.length, 2);
    assert.equal(parallel.lastUnitsPerWorker[0] + parallel.lastUnitsPerWorker[1], plan.descriptor.phases[0].units);
    assert.ok(plan.descriptor.phases[0].units >= 2 * UNITS_PER_THREAD, 'a 2-thread plan is cut into at least 8 units');
    const output = plan.readOutput();
    const { maxAbsErr } = compareToReference(output, referenceConv2d(input, weight, undefined, shape));
    assert.ok(maxAbsErr < 1e-5, `max abs error ${maxAbsErr}`);
  } finally {
    plan.release();
  }
  assert.throws(() => parallel.plan(shape, 'im2col', 'nchw', 3), /threads must be an integer in 1\.\.2/);
});

test('a kernel that traps in a worker rejects as a trap naming the kernel, and the worker stays usable', async () => {
  const parallel = new ParallelEngine(pool);
  const shape: ConvShape = { N: 1, C: 4, H: 8, W: 8, K: 8, R: 3, S: 3, stride: 1, pad: 1 };
  const plan = parallel.plan(shape, 'im2col', 'nchw', 1);
  try {
    plan.setWeights(fillUniform(new Float32Array(8 * 4 * 9), 5));
    plan.setInput(fillUniform(new Float32Array(4 * 64), 6));
    // Point the plan's input past the end of the 1 GiB maximum memory: the kernel's first load traps.
    new Int32Array(plan.engine.memory.buffer, plan.descriptor.planPtr, 32)[PLAN_SLOT.input] = 0x7ff00000;
    await assert.rejects(parallel.run(plan, 1), (error: WorkerTaskError) => {
      assert.equal(error.reason, 'trap');
      assert.match(error.message, /WebAssembly trap in worker task 'enginePart': engine: kernel convIm2colNchw\(.*\) trapped: memory access out of bounds/);
      return true;
    });
  } finally {
    plan.release();
  }
  const output = await parallel.convolve('im2col', 'nchw', shape, new Float32Array(4 * 64).fill(1), new Float32Array(8 * 4 * 9).fill(1), undefined, 1);
  assert.equal(output[9], 36, 'an interior output of all-ones 3x3x4 is 36');
});

test('with one worker busy elsewhere, a 2-thread run still completes correctly (the free worker claims the units)', async () => {
  const parallel = new ParallelEngine(pool, SPLIT_ALWAYS);
  const shape: ConvShape = { N: 1, C: 8, H: 16, W: 16, K: 16, R: 3, S: 3, stride: 1, pad: 1 };
  const input = fillUniform(new Float32Array(8 * 256), 21);
  const weight = fillUniform(new Float32Array(16 * 8 * 9), 22);
  const busy = pool.run('selfTest', { mode: 'progress', steps: 10, stepMs: 30 });
  const output = await parallel.convolve('im2col', 'nchw', shape, input, weight, undefined, 2);
  assert.equal(await busy, 'done 10 steps');
  const units = parallel.lastUnitsPerWorker;
  assert.equal(units.length, 2);
  assert.ok(units[0] + units[1] >= 2 * UNITS_PER_THREAD, `units claimed: ${units.join(', ')}`);
  const { maxAbsErr } = compareToReference(output, referenceConv2d(input, weight, undefined, shape));
  assert.ok(maxAbsErr < 1e-5, `max abs error ${maxAbsErr}`);
});

test('workersWorthUsing: each added worker must save MIN_SAVED_MS_PER_WORKER of the one-thread time', () => {
  assert.equal(MIN_SAVED_MS_PER_WORKER, 0.3);
  // Two workers save half the time: worth it from 0.6 ms on.
  assert.equal(workersWorthUsing(0.59, 2, Infinity), 1);
  assert.equal(workersWorthUsing(0.61, 2, Infinity), 2);
  // 1.2 ms: the second saves 0.6, a third only 0.2 more (0.6 - 0.4).
  assert.equal(workersWorthUsing(1.2, 4, Infinity), 2);
  // 4.8 ms: 2.4, 0.8, 0.4 saved by the 2nd, 3rd, 4th; the 5th would save 0.24.
  assert.equal(workersWorthUsing(4.8, 8, Infinity), 4);
  assert.equal(workersWorthUsing(100, 2, Infinity), 2);
  assert.equal(workersWorthUsing(100, 8, 3), 3, 'never more workers than units');
  assert.equal(workersWorthUsing(0.01, 2, Infinity, 0), 2, 'a bound of 0 uses every thread');
});

test('a layer too small to split is planned and run as on one thread; a large one gets both workers', async () => {
  const parallel = new ParallelEngine(pool);
  // 2*16*8*9*16*16 = 589,824 flops: about 0.013 ms at the estimate's rate, far below the 0.6 ms two workers need.
  const small: ConvShape = { N: 1, C: 8, H: 16, W: 16, K: 16, R: 3, S: 3, stride: 1, pad: 1 };
  assert.ok(parallel.engine.realFlops(small, 'im2col', 'nchw') / (ESTIMATE_GFLOPS * 1e6) < 0.6);
  const input = fillUniform(new Float32Array(8 * 256), 31);
  const weight = fillUniform(new Float32Array(16 * 8 * 9), 32);
  const one = parallel.plan(small, 'im2col', 'nchw', 1);
  const two = parallel.plan(small, 'im2col', 'nchw', 2);
  try {
    assert.equal(parallel.workersFor(two, 2), 1);
    assert.equal(two.descriptor.phases[0].units, one.descriptor.phases[0].units, 'the same work units as the one-thread plan');
    parallel.lastUnitsPerWorker = [];
    for (const plan of [one, two]) {
      plan.setWeights(weight);
      plan.setInput(input);
    }
    await parallel.run(one, 1);
    await parallel.run(two, 2);
    assert.deepEqual(parallel.lastUnitsPerWorker, [], 'no multi-worker dispatch');
    assert.deepEqual(two.readOutput(), one.readOutput());
  } finally {
    two.release();
    one.release();
  }
  // ResNet-18 conv2_x through im2col: 231 MFLOP, about 5 ms on one thread.
  const large: ConvShape = { N: 1, C: 64, H: 56, W: 56, K: 64, R: 3, S: 3, stride: 1, pad: 1 };
  const plan = parallel.plan(large, 'im2col', 'nchw', 2);
  try {
    assert.equal(parallel.workersFor(plan, 2), 2);
    assert.equal(parallel.workersFor(plan, 1), 1);
    assert.ok(plan.descriptor.phases[0].units >= 2 * UNITS_PER_THREAD);
  } finally {
    plan.release();
  }
});
