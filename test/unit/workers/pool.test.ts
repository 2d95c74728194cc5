import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { WorkerPool, WorkerTaskError } from '../../../extension/workers/pool';
import { WORKER_SOURCE } from '../../paths';

const WORKER_ENTRY = WORKER_SOURCE;

// One pool for the whole file: starting workers through tsx is the slow part.
const pool = new WorkerPool(WORKER_ENTRY, { size: 2, cancelGraceMs: 300 });
after(() => pool.dispose());

async function rejection(promise: Promise<unknown>): Promise<WorkerTaskError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof WorkerTaskError, `expected a WorkerTaskError, got ${String(error)}`);
    return error;
  }
  assert.fail('the task resolved but was expected to reject');
}

test('a task returns its result', async () => {
  assert.equal(await pool.run('selfTest', { mode: 'ok' }), 'ok');
});

test('a thrown error rejects with the worker message', async () => {
  const error = await rejection(pool.run('selfTest', { mode: 'throw' }));
  assert.equal(error.reason, 'failed');
  assert.equal(error.message, 'selfTest: failure thrown on purpose');
  assert.equal(await pool.run('selfTest', { mode: 'ok' }), 'ok', 'the worker stays usable');
});

test('a WebAssembly trap is reported as a trap, and the worker that trapped is replaced', async () => {
  const startedBefore = pool.workersStarted;
  const error = await rejection(pool.run('selfTest', { mode: 'wasmTrap' }));
  assert.equal(error.reason, 'trap');
  assert.match(error.message, /WebAssembly trap in worker task 'selfTest': unreachable/);
  // The trapped module's state may be inconsistent (HDF5 after an abort): a fresh worker takes the slot.
  for (const deadline = Date.now() + 10_000; pool.workersStarted === startedBefore && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(pool.workersStarted, startedBefore + 1);
  const results = await Promise.all([pool.run('selfTest', { mode: 'ok' }), pool.run('selfTest', { mode: 'ok' })]);
  assert.deepEqual(results, ['ok', 'ok']);
  assert.equal(pool.workersStarted, startedBefore + 1, 'only the worker that trapped was replaced');
});

test('a task that sends no progress within its stall limit is ended and its worker replaced', async () => {
  const startedBefore = pool.workersStarted;
  const started = Date.now();
  const error = await rejection(pool.run('selfTest', { mode: 'spin' }, { stallTimeout: { ms: 300, message: 'model.h5: stalled on purpose' } }));
  assert.equal(error.reason, 'timeout');
  assert.equal(error.message, 'model.h5: stalled on purpose');
  assert.ok(Date.now() - started >= 300, 'not before the limit');
  assert.equal(pool.workersStarted, startedBefore + 1);
  assert.equal(await pool.run('selfTest', { mode: 'ok' }), 'ok', 'the pool still runs the next task');
});

test('progress keeps a task alive past its stall limit', async () => {
  // 15 steps of 100 ms: 1.5 s in all, longer than the limit, but never a second without progress.
  const startedBefore = pool.workersStarted;
  const result = await pool.run('selfTest', { mode: 'progress', steps: 15, stepMs: 100 }, { stallTimeout: { ms: 1000, message: 'stalled' } });
  assert.equal(result, 'done 15 steps');
  assert.equal(pool.workersStarted, startedBefore);
});

test('a worker that exits rejects its task and is replaced', async () => {
  const startedBefore = pool.workersStarted;
  const error = await rejection(pool.run('selfTest', { mode: 'exit' }));
  assert.equal(error.reason, 'crashed');
  assert.match(error.message, /exited with code 3 while running 'selfTest'/);
  assert.equal(pool.workersStarted, startedBefore + 1);
  // Both slots work again: run as many tasks as there are workers at once.
  const results = await Promise.all([pool.run('selfTest', { mode: 'ok' }), pool.run('selfTest', { mode: 'ok' })]);
  assert.deepEqual(results, ['ok', 'ok']);
});

test('progress is reported in order and the result follows', async () => {
  const fractions: number[] = [];
  const messages: (string | undefined)[] = [];
  const result = await pool.run(
    'selfTest',
    { mode: 'progress', steps: 4, stepMs: 1 },
    { onProgress: (fraction, message) => (fractions.push(fraction), messages.push(message)) },
  );
  assert.equal(result, 'done 4 steps');
  assert.deepEqual(fractions, [0.25, 0.5, 0.75, 1]);
  assert.equal(messages[3], 'step 4 of 4');
});

test('a cooperative task stops on abort without losing its worker', async () => {
  const startedBefore = pool.workersStarted;
  const controller = new AbortController();
  let steps = 0;
  const promise = pool.run(
    'selfTest',
    { mode: 'progress', steps: 100000, stepMs: 2 },
    {
      signal: controller.signal,
      onProgress: () => {
        if (++steps === 3) controller.abort();
      },
    },
  );
  const error = await rejection(promise);
  assert.equal(error.reason, 'cancelled');
  assert.equal(error.name, 'AbortError');
  assert.match(error.message, /^Task 'selfTest' was cancelled$/, 'stopped cooperatively, not terminated');
  assert.equal(pool.workersStarted, startedBefore, 'no worker was replaced');
});

test('a spinning task is terminated after the grace period and its worker replaced', async () => {
  const startedBefore = pool.workersStarted;
  const controller = new AbortController();
  const promise = pool.run('selfTest', { mode: 'spin' }, { signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  const error = await rejection(promise);
  assert.equal(error.reason, 'cancelled');
  assert.match(error.message, /did not stop within 300 ms and was terminated/);
  assert.equal(pool.workersStarted, startedBefore + 1);
  assert.equal(await pool.run('selfTest', { mode: 'ok' }), 'ok');
});

test('an already aborted signal and a queued task are cancelled without running', async () => {
  const aborted = AbortSignal.abort();
  const early = await rejection(pool.run('selfTest', { mode: 'ok' }, { signal: aborted }));
  assert.match(early.message, /cancelled before it started/);

  // Fill both workers, queue a third task, cancel it while it waits.
  const busy = [
    pool.run('selfTest', { mode: 'progress', steps: 5, stepMs: 20 }),
    pool.run('selfTest', { mode: 'progress', steps: 5, stepMs: 20 }),
  ];
  const controller = new AbortController();
  const queued = pool.run('selfTest', { mode: 'ok' }, { signal: controller.signal });
  assert.equal(pool.queued, 1);
  controller.abort();
  const error = await rejection(queued);
  assert.match(error.message, /cancelled before it started/);
  assert.deepEqual(await Promise.all(busy), ['done 5 steps', 'done 5 steps']);
});

test('an unknown task kind fails with a clear message', async () => {
  const error = await rejection(pool.run('noSuchTask' as never, {} as never));
  assert.equal(error.message, "Unknown worker task 'noSuchTask'");
});

test('dispose rejects later runs', async () => {
  const own = new WorkerPool(WORKER_ENTRY, { size: 1 });
  assert.equal(await own.run('selfTest', { mode: 'ok' }), 'ok');
  await own.dispose();
  const error = await rejection(own.run('selfTest', { mode: 'ok' }));
  assert.equal(error.reason, 'disposed');
});

test('a worker entry that cannot start fails every task with the cause, without a respawn loop', async () => {
  const broken = new WorkerPool(path.join(path.dirname(WORKER_ENTRY), 'no-such-entry.js'), { size: 2 });
  try {
    const error = await rejection(broken.run('selfTest', { mode: 'ok' }));
    assert.equal(error.reason, 'crashed');
    assert.match(error.message, /worker entry .*no-such-entry\.js failed to start: Cannot find module/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(broken.workersStarted, 2, 'no replacement was started');
    const later = await rejection(broken.run('selfTest', { mode: 'ok' }));
    assert.match(later.message, /failed to start/);
  } finally {
    await broken.dispose();
  }
});

test('the pool rejects a bad size', () => {
  assert.throws(() => new WorkerPool(WORKER_ENTRY, { size: 0 }), /size must be an integer in 1\.\.256, got 0/);
});
