import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compareBenchFiles, listSavedRuns, loadBenchReport, saveBenchReport } from '../../../../extension/core/bench/saved';
import type { BenchReport } from '../../../../extension/shared/payloads';

const report: BenchReport = {
  machine: { cpu: 'Test CPU', cores: 2, simd: 'simd128', node: 'v20.0.0', platform: 'linux-x64' },
  startedAt: '2026-01-02T03:04:05.678Z',
  suite: 'vgg16',
  results: [
    {
      layer: 'conv3_2', shape: { N: 1, C: 256, H: 56, W: 56, K: 256, R: 3, S: 3, stride: 1, pad: 1 }, algo: 'im2col', layout: 'nchw',
      threads: 1, msMin: 90, msMedian: 100, msP90: 110, gflops: 36.99376128, maxAbsErr: 1e-5, maxRelErr: 1e-4, workspaceBytes: 2359296,
    },
  ],
};

test('a saved run lands in .deep-accel/bench/<timestamp>-<suite>.json and loads back equal', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-saved-'));
  try {
    const file = await saveBenchReport(root, report);
    assert.equal(file, path.join(root, '.deep-accel', 'bench', '2026-01-02T03-04-05-678Z-vgg16.json'));
    assert.deepEqual(readdirSync(path.join(root, '.deep-accel', 'bench')), ['2026-01-02T03-04-05-678Z-vgg16.json']);
    assert.deepEqual(await loadBenchReport(file), report);

    const faster = { ...report, startedAt: '2026-01-03T00:00:00.000Z', results: [{ ...report.results[0], msMedian: 50 }] };
    const other = await saveBenchReport(root, faster);
    const comparison = await compareBenchFiles(file, other);
    assert.equal(comparison.a.label, '2026-01-02T03-04-05-678Z-vgg16');
    assert.equal(comparison.b.report.results[0].msMedian, 50);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('loading something that is not a saved run names the file and the problem', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-saved-'));
  try {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"machine": {}, "results": [{"layer": "x", "algo": "im2col", "layout": "nchw", "threads": "one"}]}');
    await assert.rejects(loadBenchReport(bad), new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a saved benchmark run: results\\[0\\]\\.threads is not a number`));
    writeFileSync(bad, '{"results": ');
    await assert.rejects(loadBenchReport(bad), /bad\.json: not a saved benchmark run: invalid JSON/);
    writeFileSync(bad, '[]');
    await assert.rejects(loadBenchReport(bad), /bad\.json: not a saved benchmark run: no "machine" object/);
    await assert.rejects(loadBenchReport(path.join(dir, 'none.json')), /none\.json: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('saved runs are listed newest first, each told apart by date, machine, threads and layers', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-saved-'));
  try {
    const dir = path.join(root, '.deep-accel', 'bench');
    assert.deepEqual(await listSavedRuns(dir), { runs: [], unreadable: [] }, 'no folder: no runs');
    await saveBenchReport(root, report);
    const shape = { N: 1, C: 16, H: 14, W: 14, K: 16, R: 3, S: 3, stride: 1, pad: 1 };
    const custom: BenchReport = {
      ...report,
      startedAt: '2026-01-05T10:20:30.000Z',
      suite: undefined,
      results: [1, 2].flatMap((threads) => ['im2col', 'direct'].map((algo) => ({ ...report.results[0], layer: '1x16x14x14-k16-3x3-s1p1', shape, algo, threads }))),
    };
    await saveBenchReport(root, custom);
    writeFileSync(path.join(dir, 'notes.json'), '{"hello": 1}');
    const { runs, unreadable } = await listSavedRuns(dir);
    assert.deepEqual(runs.map((r) => r.name), ['2026-01-05T10-20-30-000Z', '2026-01-02T03-04-05-678Z-vgg16']);
    assert.deepEqual(runs[0].summary, { date: '2026-01-05 10:20 UTC', machine: 'Test CPU (2 cores, simd128)', threads: '1 thread, 2 threads', layers: '1x16x14x14-k16-3x3-s1p1 × 2 algorithms' });
    assert.deepEqual(runs[1].summary, { date: '2026-01-02 03:04 UTC', machine: 'Test CPU (2 cores, simd128)', threads: '1 thread', layers: 'vgg16, 1 layer × 1 algorithm' });
    assert.equal(unreadable.length, 1);
    assert.match(unreadable[0], /notes\.json: not a saved benchmark run: no "machine" object/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
