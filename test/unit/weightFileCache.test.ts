/**
 * WeightFileCache shares one scan between every surface that asks for the same file version, and
 * cancels it only when every caller waiting for it has cancelled.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { SparsityReport } from '../../extension/shared/payloads';
import { type TaskRunner, WeightFileCache, inspectorScanChoices } from '../../extension/weightFileCache';

const folder = mkdtempSync(path.join(tmpdir(), 'deep-accel-cache-'));
after(() => rmSync(folder, { recursive: true, force: true }));

/** A runner whose scans finish only when the test says so; it records the signal each scan got. */
function controlledRunner() {
  const scans: { signal?: AbortSignal; progress?(fraction: number, message?: string): void; finish(report: SparsityReport): void; fail(error: Error): void }[] = [];
  const runner: TaskRunner = {
    run(task, _args, options) {
      assert.equal(task, 'sparsity');
      return new Promise((resolve, reject) => {
        const scan = { signal: options?.signal, progress: options?.onProgress, finish: resolve as (report: SparsityReport) => void, fail: reject };
        scans.push(scan);
        options?.signal?.addEventListener('abort', () => reject(Object.assign(new Error('cancelled'), { name: 'AbortError' })));
      }) as never;
    },
  };
  return { runner, scans };
}

const REPORT = { file: 'x', format: 'npy', fileBytes: 4, threshold: 0, tensors: [], total: { numel: 1, zeros: 0, sparsity: 0 }, warnings: [] } as unknown as SparsityReport;

/** Waits until `scans` holds `count` entries (the cache stats the file first), or fails after 5 s. */
async function scansStarted(scans: unknown[], count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (scans.length < count) {
    if (Date.now() > deadline) assert.fail(`expected ${count} scans, saw ${scans.length}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function weightFile(name: string): string {
  const file = path.join(folder, name);
  writeFileSync(file, 'data');
  return file;
}

test('closing the inspector does not cancel the badge waiting for the same scan', async () => {
  const { runner, scans } = controlledRunner();
  const cache = new WeightFileCache(runner);
  const file = weightFile('shared.npy');
  const inspector = new AbortController();
  const inspectorWait = cache.report(file, { threshold: 0 }, { signal: inspector.signal });
  const badgeWait = cache.report(file, { threshold: 0 });
  await scansStarted(scans, 1);
  assert.equal(scans.length, 1, 'one scan serves both callers');

  inspector.abort();
  await assert.rejects(inspectorWait, { name: 'AbortError' });
  assert.equal(scans[0]!.signal?.aborted, false, 'the shared scan goes on for the badge');
  scans[0]!.finish(REPORT);
  assert.equal(await badgeWait, REPORT);
});

test('the scan is cancelled once every caller has cancelled, and the next caller scans again', async () => {
  const { runner, scans } = controlledRunner();
  const cache = new WeightFileCache(runner);
  const file = weightFile('cancelled.npy');
  const a = new AbortController();
  const b = new AbortController();
  const waits = [cache.report(file, { threshold: 0 }, { signal: a.signal }), cache.report(file, { threshold: 0 }, { signal: b.signal })];
  await scansStarted(scans, 1);
  a.abort();
  assert.equal(scans[0]!.signal?.aborted, false);
  b.abort();
  assert.equal(scans[0]!.signal?.aborted, true, 'no one waits any more: the worker is told to stop');
  for (const wait of waits) await assert.rejects(wait, { name: 'AbortError' });

  const again = cache.report(file, { threshold: 0 });
  await scansStarted(scans, 2);
  assert.equal(scans.length, 2, 'a cancelled scan is not reused');
  scans[1]!.finish(REPORT);
  assert.equal(await again, REPORT);
});

test('progress of the shared scan reaches every caller still waiting', async () => {
  const { runner, scans } = controlledRunner();
  const cache = new WeightFileCache(runner);
  const file = weightFile('progress.npy');
  const seenA: number[] = [];
  const seenB: number[] = [];
  const a = cache.report(file, { threshold: 0 }, { onProgress: (fraction) => seenA.push(fraction) });
  await scansStarted(scans, 1);
  scans[0]!.progress?.(0.25);
  const b = cache.report(file, { threshold: 0 }, { onProgress: (fraction) => seenB.push(fraction) });
  await scansStarted(seenB, 1);
  scans[0]!.progress?.(0.5);
  scans[0]!.finish(REPORT);
  await Promise.all([a, b]);
  assert.deepEqual(seenA, [0.25, 0.5]);
  assert.deepEqual(seenB, [0.25, 0.5], 'a late caller first sees the latest progress');
});

test('a new file version starts a new scan; a failed scan is not cached', async () => {
  const { runner, scans } = controlledRunner();
  const cache = new WeightFileCache(runner);
  const file = weightFile('versions.npy');
  const first = cache.report(file, { threshold: 0 });
  await scansStarted(scans, 1);
  scans[0]!.fail(new Error('broken file'));
  await assert.rejects(first, /broken file/);
  const second = cache.report(file, { threshold: 0 });
  await scansStarted(scans, 2);
  assert.equal(scans.length, 2);
  scans[1]!.finish(REPORT);
  await second;
  assert.equal(await cache.report(file, { threshold: 0 }), REPORT, 'same version: cached');
  assert.equal(scans.length, 2);
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  const third = cache.report(file, { threshold: 0 });
  await scansStarted(scans, 3);
  assert.equal(scans.length, 3, 'a changed file is scanned again');
  scans[2]!.finish(REPORT);
  await third;
});

test('the inspector scan takes the permutation setting: its pattern joins the N:M patterns, its time bound goes with it', () => {
  const config = (values: Record<string, unknown>) => ({ get: <T>(section: string, fallback: T): T => (section in values ? (values[section] as T) : fallback) });
  assert.deepEqual(inspectorScanChoices(config({})), { threshold: 0, nm: ['2:4'] });
  assert.deepEqual(inspectorScanChoices(config({ 'sparsity.permute': ' 2:4 ' })), { threshold: 0, nm: ['2:4'], permute: '2:4', permuteSeconds: 10 });
  assert.deepEqual(inspectorScanChoices(config({ 'sparsity.nm': '4:8', 'sparsity.permute': '2:4', 'sparsity.permuteSeconds': 3 })), {
    threshold: 0,
    nm: ['4:8', '2:4'],
    permute: '2:4',
    permuteSeconds: 3,
  });
  assert.throws(() => inspectorScanChoices(config({ 'sparsity.permute': '2:4,4:8' })), /deepAccel\.sparsity\.permute: one pattern/);
});

test('a scan with a permutation search is cached apart from one without', async () => {
  const { runner, scans } = controlledRunner();
  const cache = new WeightFileCache(runner);
  const file = path.join(folder, 'permute.safetensors');
  writeFileSync(file, 'x');
  const plain = cache.report(file, { threshold: 0, nm: ['2:4'] });
  const permuted = cache.report(file, { threshold: 0, nm: ['2:4'], permute: '2:4', permuteSeconds: 10 });
  while (scans.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  scans[0]!.finish({ file } as SparsityReport);
  scans[1]!.finish({ file, permute: { pattern: '2:4', secondsPerTensor: 10 } } as SparsityReport);
  assert.equal((await plain).permute, undefined);
  assert.equal((await permuted).permute?.pattern, '2:4');
});
