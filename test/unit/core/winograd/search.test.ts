import { test } from 'node:test';
import assert from 'node:assert/strict';
import { searchPoints } from '../../../../extension/core/winograd/index';

const small = { screenBudget: 24, budgetMs: 20000 };

test('search returns an exact, verified result with a summary, deterministically', async () => {
  const progress: number[] = [];
  const first = await searchPoints({ m: 2, r: 3, errorTrials: 0 }, { ...small, onProgress: (fraction) => progress.push(fraction) });
  const second = await searchPoints({ m: 2, r: 3, errorTrials: 0 }, small);
  assert.deepEqual(first.points, second.points);
  assert.deepEqual(first.BT, second.BT);
  assert.equal(first.verified, true);
  assert.equal(first.points.length, 3);
  const search = first.search!;
  assert.equal(search.precision, 'fp32');
  assert.deepEqual(search.baselinePoints, ['0', '1', '-1']);
  assert.ok(search.candidatesEvaluated > 10);
  assert.ok(search.bestError <= search.baselineError);
  assert.equal(search.improvement, 1 - search.bestError / search.baselineError);
  assert.equal(second.search!.bestError, search.bestError);
  assert.equal(search.budgetExhausted, false);
  // Progress goes forward and ends at 1.
  assert.ok(progress.length > 3);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]! >= progress[i - 1]! - 1e-9, `progress ${progress[i - 1]} -> ${progress[i]}`);
  assert.equal(progress.at(-1), 1);
});

test('search honours precision, the user baseline and the finite variant', async () => {
  const result = await searchPoints({ m: 2, r: 2, points: ['0', '1', '-1'], precision: 'bf16', infinity: false, errorTrials: 0 }, small);
  assert.equal(result.search!.precision, 'bf16');
  assert.deepEqual(result.search!.baselinePoints, ['0', '1', '-1']);
  assert.equal(result.infinity, false);
  assert.equal(result.points.length, 3);
  assert.equal(result.verified, true);
});

test('search can be cancelled through an AbortSignal', async () => {
  const controller = new AbortController();
  let calls = 0;
  const pending = searchPoints({ m: 4, r: 3, errorTrials: 0 }, {
    onProgress: () => {
      calls++;
      if (calls === 2) controller.abort();
    },
    signal: controller.signal,
  });
  await assert.rejects(pending, (error: Error) => error.name === 'AbortError' && /cancelled/.test(error.message));
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(searchPoints({ m: 2, r: 3 }, { signal: aborted.signal }), { name: 'AbortError' });
});

test('search rejects bad requests with the generator messages', async () => {
  await assert.rejects(searchPoints({ m: 0, r: 3 }), /m must be >= 1, got 0/);
  await assert.rejects(searchPoints({ m: 2, r: 3, points: ['0', '0', '1'] }), /duplicate interpolation points/);
});

test('rectangular requests search the first dimension and score the whole tile', async () => {
  const result = await searchPoints({ m: 2, r: 3, n: 3, s: 2, errorTrials: 0 }, small);
  assert.equal(result.n, 3);
  assert.equal(result.s, 2);
  assert.equal(result.verified, true);
  // Both dimensions have alpha 4, so they share the searched points.
  assert.deepEqual(result.second!.points, result.points);
  assert.ok(result.search!.bestError <= result.search!.baselineError);
});
