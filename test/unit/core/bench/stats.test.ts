import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeSamples, timeIterations, type Clock } from '../../../../extension/core/bench/stats';

/** A clock that only moves when the fake kernel "runs". */
function fakeKernel(durations: number[]): { clock: Clock; run: () => void; calls: () => number } {
  let now = 0;
  let call = 0;
  return {
    clock: { now: () => now },
    run: () => {
      now += durations[Math.min(call, durations.length - 1)];
      call++;
    },
    calls: () => call,
  };
}

test('summarizeSamples: min, median (odd and even) and nearest-rank p90', () => {
  assert.deepEqual(summarizeSamples([5, 1, 3]), { msMin: 1, msMedian: 3, msP90: 5 });
  assert.deepEqual(summarizeSamples([4, 1, 3, 2]), { msMin: 1, msMedian: 2.5, msP90: 4 });
  // 10 samples 1..10: p90 is the 9th smallest (ceil(0.9*10) = 9).
  assert.deepEqual(summarizeSamples([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]), { msMin: 1, msMedian: 5.5, msP90: 9 });
  // 20 samples: ceil(18) = 18th smallest.
  const twenty = Array.from({ length: 20 }, (_, i) => 20 - i);
  assert.equal(summarizeSamples(twenty).msP90, 18);
  assert.throws(() => summarizeSamples([]), /no samples/);
});

test('timeIterations: warms up by time, then samples until the budget is spent', async () => {
  // Warm-up: 3 runs of 200 ms reach 600 >= 500. Then samples of 10 ms until 100 ms are spent.
  const kernel = fakeKernel([200, 200, 200, 10]);
  const fractions: number[] = [];
  const summary = await timeIterations(kernel.run, {
    clock: kernel.clock,
    warmupMs: 500,
    budgetMs: 100,
    onSample: (fraction) => fractions.push(fraction),
  });
  assert.equal(summary.warmupIterations, 3);
  assert.equal(summary.iterations, 10);
  assert.deepEqual(summary.samples, Array(10).fill(10));
  assert.equal(summary.msMedian, 10);
  assert.equal(fractions.length, 10);
  assert.ok(Math.abs(fractions[4] - 0.5) < 1e-12);
  assert.equal(fractions[9], 1);
});

test('timeIterations: a slow kernel still gets the minimum number of samples', async () => {
  const kernel = fakeKernel([1000, 300, 100, 200]);
  const summary = await timeIterations(kernel.run, { clock: kernel.clock, warmupMs: 500, budgetMs: 50, minIterations: 3 });
  assert.equal(summary.warmupIterations, 1, 'one 1000 ms warm-up run exceeds the 500 ms warm-up');
  assert.deepEqual(summary.samples, [300, 100, 200]);
  assert.deepEqual([summary.msMin, summary.msMedian, summary.msP90], [100, 200, 300]);
});

test('timeIterations: maxIterations caps a fast kernel, abort stops it', async () => {
  const kernel = fakeKernel([1]);
  const capped = await timeIterations(kernel.run, { clock: kernel.clock, warmupMs: 0, budgetMs: 1e9, maxIterations: 7 });
  assert.equal(capped.iterations, 7);
  assert.equal(capped.warmupIterations, 1, 'at least one warm-up run even with warmupMs 0');

  const controller = new AbortController();
  const slow = fakeKernel([5]);
  let runs = 0;
  const run = (): void => {
    slow.run();
    if (++runs === 4) controller.abort();
  };
  await assert.rejects(
    timeIterations(run, { clock: slow.clock, warmupMs: 10, budgetMs: 1000, signal: controller.signal }),
    (error: Error) => error.name === 'AbortError',
  );
  assert.equal(runs, 4);
});

test('timeIterations: a duration returned by the kernel is the sample, not the clock time around it', async () => {
  const kernel = fakeKernel([50]);
  const reported = [4, 6, 5, 7];
  let call = 0;
  const summary = await timeIterations(
    () => {
      kernel.run(); // 50 ms of clock time per call: dispatch overhead the sample must not include
      return reported[call++ % reported.length];
    },
    { clock: kernel.clock, warmupMs: 0, budgetMs: 20 },
  );
  assert.equal(summary.warmupIterations, 1);
  // Samples after the warm-up call: 6, 5, 7, 4 -> 22 ms >= 20 ms budget after four.
  assert.deepEqual(summary.samples, [6, 5, 7, 4]);
  assert.equal(summary.msMedian, 5.5);
});
