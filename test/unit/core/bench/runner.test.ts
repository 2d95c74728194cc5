import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../../../extension/workers/pool';
import { fillUniform, requestedAlgorithms, requestedLayers } from '../../../../extension/core/bench/runner';
import { layoutChooser } from '../../../../extension/core/conv/backend';
import { runBench } from '../../../../extension/core/requests/bench';
import { PoolConvBackend } from '../../../../extension/workers/convBackend';
import { formatBenchReport, formatBenchComparison } from '../../../../extension/core/bench/format';
import { applies, supportedLayouts } from '../../../../extension/engine/engine';
import type { BenchReport, ConvShape } from '../../../../extension/shared/payloads';
import { CONV_ALGORITHMS } from '../../../../extension/shared/payloads';
import { WORKER_SOURCE } from '../../../paths';

const WORKER_ENTRY = WORKER_SOURCE;
const pool = new WorkerPool(WORKER_ENTRY, { size: 2 });
after(() => pool.dispose());

/** The benchmark request on a pool, through the pool's convolution backend. */
const runBenchmarks = (request: Parameters<typeof runBench>[0], on: WorkerPool, hooks: Omit<Parameters<typeof runBench>[1], 'backend'> = {}) =>
  runBench(request, { ...hooks, backend: new PoolConvBackend(on) });

// Small enough to run every algorithm in milliseconds; 3x3 stride 1 so Winograd applies too.
const SHAPE: ConvShape = { N: 1, C: 8, H: 12, W: 12, K: 16, R: 3, S: 3, stride: 1, pad: 1 };
const FAST = { warmupMs: 0, budgetMs: 0 } as const;

test('fillUniform: deterministic per seed, in [-1, 1), roughly centred', () => {
  const a = fillUniform(new Float32Array(10000), 7);
  const b = fillUniform(new Float32Array(10000), 7);
  const c = fillUniform(new Float32Array(10000), 8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  let sum = 0;
  for (const value of a) {
    assert.ok(value >= -1 && value < 1);
    sum += value;
  }
  assert.ok(Math.abs(sum / a.length) < 0.05);
});

test('a custom shape: every applicable algorithm runs, matches the reference, the rest are skipped with reasons', async () => {
  const fractions: number[] = [];
  const report = await runBenchmarks({ shape: SHAPE, threads: 2, ...FAST }, pool, {
    onProgress: (fraction) => fractions.push(fraction),
  });
  const layoutOf = layoutChooser({}, supportedLayouts);
  const applicable = CONV_ALGORITHMS.filter((algo) => applies(algo, SHAPE, layoutOf(algo)).ok);
  assert.ok(applicable.includes('im2col'));
  assert.deepEqual(report.results.map((r) => r.algo), applicable);
  assert.deepEqual(
    report.skipped?.map((s) => s.algo),
    CONV_ALGORITHMS.filter((algo) => !applicable.includes(algo)),
  );
  for (const skip of report.skipped ?? []) assert.ok(skip.reason.length > 0);
  // 2*K*C*R*S*P*Q = 2*16*8*9*144 = 331,776 flops.
  for (const result of report.results) {
    assert.equal(result.layer, '1x8x12x12-k16-3x3-s1p1');
    assert.equal(result.threads, 2);
    assert.equal(result.layout, layoutOf(result.algo as (typeof CONV_ALGORITHMS)[number]));
    assert.equal(result.layoutMs === undefined, result.layout === 'nchw', 'conversion time exactly for non-nchw runs');
    assert.ok(result.msMin <= result.msMedian && result.msMedian <= result.msP90);
    assert.ok(Math.abs(result.gflops - 331_776 / (result.msMedian * 1e6)) < 1e-9 * result.gflops);
    assert.ok(result.iterations !== undefined && result.iterations >= 3);
    assert.ok(result.workspaceBytes > 0);
    assert.ok(result.maxAbsErr < 1e-3, `${result.algo}: max abs error ${result.maxAbsErr}`);
    assert.ok(result.maxAbsErr > 0, `${result.algo}: an fp32 kernel cannot match fp64 exactly on random data`);
    assert.ok(Number.isFinite(result.maxRelErr));
  }
  assert.equal(result0(report).realFlops, 331_776, 'im2col performs exactly the direct count');
  assert.equal(fractions.at(-1), 1);
  for (let i = 1; i < fractions.length; i++) assert.ok(fractions[i] >= fractions[i - 1] - 1e-12, 'progress never goes back');
  assert.equal(report.machine.cores > 0, true);
  assert.match(report.machine.simd, /^(simd128|relaxed-simd)$/);
});

function result0(report: BenchReport) {
  const im2col = report.results.find((r) => r.algo === 'im2col');
  assert.ok(im2col);
  return im2col;
}

test('a suite with chosen layers and algorithms, another layout, and no error check', async () => {
  const report = await runBenchmarks(
    { suite: 'resnet18', layers: ['conv5_ds'], algos: ['im2col', 'winograd-2x3'], layout: 'nhwc', checkErrors: false, ...FAST },
    pool,
  );
  assert.equal(report.suite, 'resnet18');
  assert.equal(report.results.length, 1);
  const [result] = report.results;
  assert.deepEqual([result.layer, result.algo, result.layout, result.threads], ['conv5_ds', 'im2col', 'nhwc', 1]);
  assert.ok(Number.isNaN(result.maxAbsErr));
  assert.ok(result.layoutMs !== undefined && result.layoutMs >= 0);
  assert.equal(report.skipped?.length, 1);
  assert.equal(report.skipped?.[0].algo, 'winograd-2x3');
  // Whichever check fails first (layout or kernel size), the reason names it.
  assert.match(report.skipped?.[0].reason ?? '', /nhwc|3x3/);
  const text = formatBenchReport(report);
  assert.match(text, /conv5_ds\s+im2col\s+nhwc\s+1\s/);
  assert.match(text, /skipped:\n {2}winograd-2x3: .*\(conv5_ds\)/);
});

test('layoutChooser: the requested layout, else nchw where supported, else the algorithm\'s own', () => {
  assert.equal(layoutChooser({ layout: 'nhwc' }, supportedLayouts)('direct'), 'nhwc');
  const defaults = layoutChooser({}, supportedLayouts);
  assert.equal(defaults('im2col'), 'nchw');
  for (const algo of CONV_ALGORITHMS) {
    const supported = supportedLayouts(algo);
    assert.equal(defaults(algo), supported.length === 0 || supported.includes('nchw') ? 'nchw' : supported[0]);
  }
});

test('requests are validated with clear messages', async () => {
  assert.throws(() => requestedLayers({}), /nothing to benchmark/);
  assert.throws(() => requestedLayers({ suite: 'vgg16', shape: SHAPE }), /either a suite or a shape/);
  assert.throws(() => requestedAlgorithms({ algos: ['im2col', 'magic'] }), /unknown algorithm 'magic'; the algorithms are direct, im2col/);
  await assert.rejects(runBenchmarks({ shape: SHAPE, threads: 3 }, pool), /threads must be an integer in 1\.\.2, got 3/);
  await assert.rejects(runBenchmarks({ shape: SHAPE, layout: 'nchw3c' as never }, pool), /unknown layout 'nchw3c'/);
});

test('cancellation stops a run', async () => {
  const controller = new AbortController();
  const run = runBenchmarks({ shape: SHAPE, algos: ['im2col'], warmupMs: 60_000, budgetMs: 60_000 }, pool, {
    signal: controller.signal,
    onProgress: (_fraction, message) => {
      if (message?.includes('im2col')) setTimeout(() => controller.abort(), 50);
    },
  });
  await assert.rejects(run, (error: Error) => error.name === 'AbortError');
});

test('comparison table pairs rows of two runs', () => {
  const machine = { cpu: 'x', cores: 1, simd: 'simd128' as const, node: 'v20', platform: 'linux-x64' };
  const row = { layer: 'L', shape: SHAPE, algo: 'im2col', layout: 'nchw', threads: 1, msMin: 1, msP90: 3, gflops: 1, maxAbsErr: 0, maxRelErr: 0, workspaceBytes: 0 };
  const text = formatBenchComparison({
    a: { label: 'before', report: { machine, results: [{ ...row, msMedian: 3 }] } },
    b: { label: 'after', report: { machine, results: [{ ...row, msMedian: 2 }, { ...row, algo: 'fft', msMedian: 9 }] } },
  });
  assert.match(text, /layer\s+algo\s+layout\s+thr\s+before ms\s+after ms\s+a\/b/);
  assert.match(text, /L\s+im2col\s+nchw\s+1\s+3\.000\s+2\.000\s+1\.50x/);
  assert.doesNotMatch(text, /fft/);
});

test('the bench worker task runs a whole benchmark in a worker with its own nested pool', async () => {
  const messages: string[] = [];
  const report = await pool.run(
    'bench',
    { shape: SHAPE, algos: ['im2col'], threads: 2, ...FAST },
    { onProgress: (_fraction, message) => message && messages.push(message) },
  );
  assert.equal(report.results.length, 1);
  assert.equal(report.results[0].threads, 2);
  assert.ok(report.results[0].maxAbsErr < 1e-4);
  assert.ok(messages.includes('done'));
});

test('an algorithm that fails is listed as skipped with the cause, and the run goes on', async () => {
  // A pool whose engine tasks for one plan kernel fail, as a trapping kernel would.
  const failing = {
    size: pool.size,
    run: (task: string, args: { descriptor?: { algo: string } }, options: object) =>
      task === 'enginePart' && args.descriptor?.algo === 'winograd-2x3'
        ? Promise.reject(new Error('engine: kernel winograd trapped: unreachable'))
        : pool.run(task as never, args as never, options),
  } as unknown as WorkerPool;
  const report = await runBenchmarks({ shape: SHAPE, algos: ['winograd-2x3', 'im2col'], ...FAST }, failing);
  assert.deepEqual(report.results.map((r) => r.algo), ['im2col']);
  assert.deepEqual(report.skipped, [
    { layer: '1x8x12x12-k16-3x3-s1p1', algo: 'winograd-2x3', reason: 'failed: engine: kernel winograd trapped: unreachable' },
  ]);
});

test('errorVsDirect relates each result to direct convolution on the same data; "best" is the fastest within the budget', async () => {
  const algos = ['direct', 'im2col', 'winograd-4x3', 'winograd-7x3'];
  const report = await runBenchmarks({ shape: { ...SHAPE, C: 32, K: 32 }, algos, ...FAST, maxErrorVsDirect: 4 }, pool);
  assert.equal(report.maxErrorVsDirect, 4);
  const byAlgo = new Map(report.results.map((r) => [r.algo, r]));
  const direct = byAlgo.get('direct');
  assert.ok(direct && direct.maxAbsErr > 0);
  for (const r of report.results) assert.equal(r.errorVsDirect, r.maxAbsErr / direct.maxAbsErr, r.algo);
  // F(7,3) rounds through far larger transform entries than F(4,3), which rounds more than direct.
  assert.ok((byAlgo.get('winograd-7x3')?.errorVsDirect ?? 0) > (byAlgo.get('winograd-4x3')?.errorVsDirect ?? Infinity));
  assert.ok((byAlgo.get('winograd-7x3')?.errorVsDirect ?? 0) > 4, 'F(7,3) is over a 4x budget');
  // The picks, recomputed from the results by the rule.
  const fastest = [...report.results].sort((a, b) => a.msMedian - b.msMedian)[0];
  const within = report.results.filter((r) => (r.errorVsDirect ?? Infinity) <= 4).sort((a, b) => a.msMedian - b.msMedian)[0];
  assert.equal(report.best?.length, 1);
  assert.equal(report.best?.[0].fastest.algo, fastest.algo);
  assert.equal(report.best?.[0].withinBudget?.algo, within.algo);
  assert.notEqual(within.algo, 'winograd-7x3');
  const table = formatBenchReport(report);
  assert.match(table, /best per layer \(the fastest within max error 4x direct's; --max-error-vs-direct\):/);
  assert.match(table, /err\/direct/);
});

test('errorVsDirect without direct among the algorithms: direct runs once, untimed, for its error', async () => {
  const report = await runBenchmarks({ shape: SHAPE, algos: ['im2col', 'winograd-7x3'], ...FAST }, pool);
  assert.deepEqual(report.results.map((r) => r.algo), ['im2col', 'winograd-7x3']);
  const withDirect = await runBenchmarks({ shape: SHAPE, algos: ['direct'], ...FAST }, pool);
  const directError = withDirect.results[0].maxAbsErr;
  // Same seed, same data: the same direct error divides both.
  for (const r of report.results) assert.ok(Math.abs((r.errorVsDirect ?? NaN) - r.maxAbsErr / directError) < 1e-12 * (r.errorVsDirect ?? 1), r.algo);
  assert.equal(report.maxErrorVsDirect, 16);
  const unchecked = await runBenchmarks({ shape: SHAPE, algos: ['im2col'], ...FAST, checkErrors: false }, pool);
  assert.equal(unchecked.results[0].errorVsDirect, undefined);
  assert.equal(unchecked.best?.[0].withinBudget, undefined);
  await assert.rejects(runBenchmarks({ shape: SHAPE, algos: ['im2col'], ...FAST, maxErrorVsDirect: 0 }, pool), /accuracy budget .* must be a positive number, got 0/);
});
