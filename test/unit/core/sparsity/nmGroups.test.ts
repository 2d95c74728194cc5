import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseNmPatterns } from '../../../../extension/core/sparsity/nmPattern';
import { computeTensorStats, scanWeightFile } from '../../../../extension/core/sparsity/scan';
import { type Layout4, memoryTensor, random, storedIndex4 } from './helpers';

const FIXTURES = path.join(__dirname, '../../../fixtures/sparsity');

const close = (actual: number | undefined, expected: number, what: string) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= 1e-12 * Math.abs(expected), `${what}: ${actual} vs ${expected}`);

interface Expected {
  patterns: string[];
  tensors: Record<string, { nm: Record<string, number>; retained: Record<string, number> }>;
  total: { nm: Record<string, number>; retained: Record<string, number> };
}

// nm_patterns.npz and its figures are written by numpy: test/fixtures/sparsity/make_nm_fixtures.py.
test('N:M shares and retained magnitude equal numpy on weights written with known patterns', async () => {
  const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'nm_patterns.expected.json'), 'utf8')) as Expected;
  const report = await scanWeightFile(path.join(FIXTURES, 'nm_patterns.npz'), { nm: parseNmPatterns(expected.patterns) });
  assert.deepEqual(report.nmPatterns, expected.patterns);
  for (const [name, figures] of Object.entries(expected.tensors)) {
    const stats = report.tensors.find((t) => t.name === name);
    assert.ok(stats, name);
    // Shares are counts over counts: equal to the last bit.
    assert.deepEqual(stats.nm, figures.nm, `${name} nm`);
    assert.deepEqual(Object.keys(stats.retained!), Object.keys(figures.retained), `${name} retained patterns`);
    for (const [pattern, share] of Object.entries(figures.retained)) close(stats.retained![pattern], share, `${name} retained ${pattern}`);
    if (stats.nm24 !== undefined) assert.equal(stats.nm!['2:4'], stats.nm24, `${name}: nm 2:4 is nm24`);
  }
  // The weights were built exactly 2:4, 1:4 and 4:8: pruning to their own pattern keeps everything.
  assert.equal(report.tensors.find((t) => t.name === 'conv_14')!.retained!['1:4'], 1);
  assert.equal(report.tensors.find((t) => t.name === 'half_48')!.nm!['4:8'], 1);
  assert.equal(report.tensors.find((t) => t.name === 'narrow')!.nm!['2:4'], undefined, 'three channels: no 2:4 share');
  assert.deepEqual(report.total.nm, expected.total.nm);
  for (const [pattern, share] of Object.entries(expected.total.retained)) close(report.total.retained![pattern], share, `total retained ${pattern}`);
  assert.deepEqual(Object.keys(report.byLayerType!.linear!.nm!), expected.patterns);
});

test('without patterns asked for, no N:M fields appear', async () => {
  const report = await scanWeightFile(path.join(FIXTURES, 'nm_patterns.npz'));
  assert.equal(report.nmPatterns, undefined);
  assert.equal(report.total.nm, undefined);
  assert.ok(report.tensors.every((t) => t.nm === undefined && t.retained === undefined));
});

/** N:M figures the slow obvious way on the canonical [K, C, R*S] view. */
function naiveNm(at: (k: number, c: number, p: number) => number, K: number, C: number, P: number, n: number, m: number, threshold: number) {
  let groups = 0;
  let compliant = 0;
  let kept = 0;
  let total = 0;
  for (let k = 0; k < K; k++) for (let p = 0; p < P; p++) for (let c0 = 0; c0 < C; c0 += m) {
    const members: number[] = [];
    let zeros = 0;
    for (let c = c0; c < c0 + m; c++) {
      const v = c < C ? at(k, c, p) : 0;
      zeros += Math.abs(v) <= threshold ? 1 : 0;
      members.push(Math.abs(v));
    }
    members.sort((a, b) => b - a);
    groups++;
    compliant += zeros >= m - n ? 1 : 0;
    kept += members.slice(0, n).reduce((a, b) => a + b, 0);
    total += members.reduce((a, b) => a + b, 0);
  }
  return { share: compliant / groups, retained: total > 0 ? kept / total : 1 };
}

test('every layout and chunking agrees with the naive N:M count', async () => {
  const next = random(15);
  const pick = (n: number) => 1 + Math.floor(next() * n);
  const patterns = parseNmPatterns('1:2,2:4,1:4,4:8,3:8,2:3');
  for (let trial = 0; trial < 90; trial++) {
    const layout = (['OIHW', 'HWIO', 'OHWI', 'OI', 'IO'] as const)[trial % 5]!;
    const matrix = layout === 'OI' || layout === 'IO';
    const K = pick(7);
    const C = 1 + pick(19);
    const R = matrix ? 1 : pick(3);
    const S = matrix ? 1 : pick(3);
    const density = next();
    const values = new Map<string, number>();
    for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) for (let p = 0; p < R * S; p++) {
      values.set(`${k},${c},${p}`, next() < density ? Math.fround(next() - 0.5) : next() < 0.1 ? Math.fround(1e-4) : 0);
    }
    const at = (k: number, c: number, p: number) => values.get(`${k},${c},${p}`)!;
    let stored: number[];
    let shape: number[];
    if (matrix) {
      stored = [];
      if (layout === 'OI') for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) stored.push(at(k, c, 0));
      else for (let c = 0; c < C; c++) for (let k = 0; k < K; k++) stored.push(at(k, c, 0));
      shape = layout === 'OI' ? [K, C] : [C, K];
    } else {
      stored = new Array<number>(K * C * R * S);
      const dims = { K, C, R, S };
      for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) {
        stored[storedIndex4(layout as Layout4, dims, k, c, r, s)] = at(k, c, r * S + s);
      }
      shape = layout === 'OIHW' ? [K, C, R, S] : layout === 'HWIO' ? [R, S, C, K] : [K, R, S, C];
    }
    const threshold = trial % 2 === 0 ? 0 : 1e-3;
    const chunk = pick(50);
    const tensor = memoryTensor('w', shape, stored, matrix ? { chunk, float64: trial % 3 === 0 } : { chunk, layout: layout as Layout4 });
    const stats = await computeTensorStats(tensor, { threshold, nm: patterns, format: layout === 'IO' ? 'keras' : 'safetensors' });
    const label = `trial ${trial}: ${layout} K=${K} C=${C} R=${R} S=${S} chunk ${chunk} t ${threshold}`;
    for (const pattern of patterns) {
      if (pattern.m > C) {
        assert.equal(stats.nm?.[pattern.name], undefined, `${label} ${pattern.name} left out`);
        continue;
      }
      const expected = naiveNm(at, K, C, R * S, pattern.n, pattern.m, threshold);
      assert.equal(stats.nm![pattern.name], expected.share, `${label} ${pattern.name} share`);
      assert.ok(Math.abs(stats.retained![pattern.name]! - expected.retained) <= 1e-12, `${label} ${pattern.name} retained ${stats.retained![pattern.name]} vs ${expected.retained}`);
    }
    if (stats.nm24 !== undefined) assert.equal(stats.nm!['2:4'], stats.nm24, `${label}: 2:4 equals nm24`);
  }
});

test('N:M patterns are parsed and checked', () => {
  assert.deepEqual(
    parseNmPatterns(' 1:4, 2:4 ,4:8,2:4').map((p) => p.name),
    ['1:4', '2:4', '4:8'],
  );
  assert.deepEqual(parseNmPatterns(['2:4']), [{ n: 2, m: 4, name: '2:4' }]);
  assert.throws(() => parseNmPatterns('4:4'), /1 <= N < M/);
  assert.throws(() => parseNmPatterns('0:4'), /1 <= N < M/);
  assert.throws(() => parseNmPatterns('2:64'), /M <= 32/);
  assert.throws(() => parseNmPatterns('2/4'), /look like 2:4/);
  assert.deepEqual(parseNmPatterns(''), []);
});
