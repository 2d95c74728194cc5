import { test } from 'node:test';
import assert from 'node:assert/strict';
import { weightViewOf } from '../../../../extension/core/sparsity/layout';
import { nmPattern } from '../../../../extension/core/sparsity/nmPattern';
import { type ColumnMagnitudes, readColumnMagnitudes, searchPermutation } from '../../../../extension/core/sparsity/permute';
import { type Layout4, memoryTensor, random, storedIndex4 } from './helpers';

const P24 = nmPattern(2, 4);

/** A weight as rows (output x spatial) of columns (input channels), and its magnitudes for the search. */
function matrix(rows: number[][]): ColumnMagnitudes {
  const R = rows.length;
  const C = rows[0]!.length;
  const data = new Float32Array(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) data[c * R + r] = Math.abs(rows[r]![c]!);
  return { columns: C, rows: R, data };
}

/**
 * The best share N:M pruning can keep over every order of the columns, the slow obvious way: every
 * way of dealing the columns into groups of M (restricted growth strings), each group's kept sum
 * (per row, the N largest |w|) looked up by its bit mask.
 */
function bruteForceRetained(rows: number[][], m: number, n: number): number {
  const C = rows[0]!.length;
  const keptOfMask = new Map<number, number>();
  const keptOf = (mask: number): number => {
    let kept = keptOfMask.get(mask);
    if (kept === undefined) {
      kept = 0;
      for (const row of rows) {
        const values = row.filter((_, c) => mask & (1 << c)).map(Math.abs).sort((a, b) => b - a);
        for (let k = 0; k < n; k++) kept += values[k]!;
      }
      keptOfMask.set(mask, kept);
    }
    return kept;
  };
  const groups = new Array<number>(C / m).fill(0);
  const sizes = new Array<number>(C / m).fill(0);
  let best = 0;
  const deal = (c: number, opened: number): void => {
    if (c === C) {
      best = Math.max(best, groups.reduce((sum, mask) => sum + keptOf(mask), 0));
      return;
    }
    for (let g = 0; g < Math.min(opened + 1, C / m); g++) {
      if (sizes[g] === m) continue;
      groups[g] |= 1 << c;
      sizes[g]++;
      deal(c + 1, Math.max(opened, g + 1));
      groups[g] &= ~(1 << c);
      sizes[g]--;
    }
  };
  deal(0, 0);
  const total = rows.flat().reduce((sum, v) => sum + Math.abs(v), 0);
  return best / total;
}

/** Share kept by N:M pruning of the columns in `order`, counted directly on the permuted rows. */
function retainedInOrder(rows: number[][], order: number[], m: number, n: number): number {
  let kept = 0;
  let total = 0;
  for (const row of rows) {
    const permuted = order.map((c) => Math.abs(row[c]!));
    for (let g = 0; g < permuted.length; g += m) {
      const group = permuted.slice(g, g + m).sort((a, b) => b - a);
      for (let k = 0; k < n; k++) kept += group[k]!;
    }
    total += permuted.reduce((a, b) => a + b, 0);
  }
  return kept / total;
}

function randomRows(seed: number, R: number, C: number): number[][] {
  const next = random(seed);
  // Small integers: many ties and zeros, where a search is most easily fooled.
  return Array.from({ length: R }, () => Array.from({ length: C }, () => (next() < 0.3 ? 0 : Math.floor(next() * 9) - 4)));
}

test('8 and 12 channels: every order is tried and the best equals the brute force', () => {
  for (const [C, seeds] of [[8, 6], [12, 4]] as const) {
    for (let seed = 1; seed <= seeds; seed++) {
      const rows = randomRows(seed * 31 + C, 5, C);
      const result = searchPermutation(matrix(rows), P24, { budgetMs: 60_000 });
      const best = bruteForceRetained(rows, 4, 2);
      assert.equal(result.exhaustive, true);
      assert.ok(Math.abs(result.retainedAfter - best) < 1e-12, `C=${C} seed ${seed}: ${result.retainedAfter} vs brute force ${best}`);
      assert.ok(Math.abs(retainedInOrder(rows, result.order, 4, 2) - result.retainedAfter) < 1e-12, 'the order gives what it claims');
      assert.ok(Math.abs(retainedInOrder(rows, [...Array(C).keys()], 4, 2) - result.retainedBefore) < 1e-12);
    }
  }
});

test('16 channels: the stripe-pair search with escapes reaches the brute-force optimum', () => {
  for (let seed = 1; seed <= 3; seed++) {
    const rows = randomRows(seed, 3, 16);
    const result = searchPermutation(matrix(rows), P24, { budgetMs: 60_000 });
    const best = bruteForceRetained(rows, 4, 2);
    assert.equal(result.exhaustive, false);
    assert.equal(result.budgetExhausted, false);
    assert.ok(Math.abs(result.retainedAfter - best) < 1e-12, `seed ${seed}: ${result.retainedAfter} vs brute force ${best}`);
    assert.ok(Math.abs(retainedInOrder(rows, result.order, 4, 2) - result.retainedAfter) < 1e-12);
  }
});

test('other patterns: 1:4 and 3:4 against the brute force', () => {
  for (const pattern of [nmPattern(1, 4), nmPattern(3, 4)]) {
    const rows = randomRows(pattern.n * 7, 4, 12);
    const result = searchPermutation(matrix(rows), pattern, { budgetMs: 60_000 });
    const best = bruteForceRetained(rows, 4, pattern.n);
    assert.ok(Math.abs(result.retainedAfter - best) < 1e-12, `${pattern.name}: ${result.retainedAfter} vs ${best}`);
  }
});

/** A weight that is exactly 2:4 in some order of its columns, stored in a shuffled order. */
function shuffledPerfect(seed: number, R: number, C: number): { rows: number[][]; shuffle: number[] } {
  const next = random(seed);
  const shuffle = [...Array(C).keys()];
  for (let i = C - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [shuffle[i], shuffle[j]] = [shuffle[j]!, shuffle[i]!];
  }
  const rows = Array.from({ length: R }, () => {
    const row = new Array<number>(C);
    for (let g = 0; g < C; g += 4) {
      const first = Math.floor(next() * 4);
      const second = (first + 1 + Math.floor(next() * 3)) % 4;
      for (let k = 0; k < 4; k++) row[shuffle[g + k]!] = k === first || k === second ? 0 : 0.05 + next();
    }
    return row;
  });
  return { rows, shuffle };
}

test('a weight that is 2:4 after some order of its channels gets a perfect order', () => {
  for (const [R, C] of [[4, 16], [32, 64], [64, 128]] as const) {
    const { rows } = shuffledPerfect(R * C, R, C);
    const result = searchPermutation(matrix(rows), P24, { budgetMs: 120_000 });
    assert.equal(result.perfect, true, `[${R}, ${C}]: kept ${result.retainedAfter} after ${result.pairsEvaluated} pair re-splits`);
    assert.equal(result.budgetExhausted, false);
    assert.ok(result.retainedBefore < 0.97, `[${R}, ${C}] was not 2:4 before (kept ${result.retainedBefore})`);
    // Counted independently: in the order found, every group of 4 holds at least 2 zeros in every row.
    for (const row of rows) {
      for (let g = 0; g < C; g += 4) assert.ok(result.order.slice(g, g + 4).filter((c) => row[c] === 0).length >= 2);
    }
    assert.deepEqual([...result.order].sort((a, b) => a - b), [...Array(C).keys()], 'the order is a permutation');
  }
});

test('the search is deterministic, keeps the identity when nothing is gained, and stops at its time bound', () => {
  const rows = randomRows(99, 8, 64);
  const a = searchPermutation(matrix(rows), P24, { budgetMs: 60_000, escapes: 20 });
  const b = searchPermutation(matrix(rows), P24, { budgetMs: 60_000, escapes: 20 });
  assert.deepEqual(a.order, b.order);
  assert.equal(a.retainedAfter, b.retainedAfter);
  assert.ok(a.retainedAfter > a.retainedBefore);
  // Each group of 4 already holds two zeros: nothing to gain, and the stored order comes back.
  const perfect = [[0, 0, 1, 2, 3, 0, 4, 0], [5, 0, 0, 6, 0, 7, 8, 0]];
  const identity = searchPermutation(matrix(perfect), P24, { budgetMs: 1000 });
  assert.deepEqual(identity.order, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(identity.perfect, true);
  assert.equal(identity.retainedBefore, 1);
  // A clock that has always run out: the search stops at once and says so, never worse than before.
  let t = 0;
  const cut = searchPermutation(matrix(rows), P24, { budgetMs: 10, now: () => (t += 100) });
  assert.equal(cut.budgetExhausted, true);
  assert.ok(cut.retainedAfter >= cut.retainedBefore);
  assert.ok(Math.abs(retainedInOrder(rows, cut.order, 4, 2) - cut.retainedAfter) < 1e-12);
});

test('the search reports progress and can be cancelled', () => {
  const rows = randomRows(5, 8, 64);
  const controller = new AbortController();
  let t = 0;
  let calls = 0;
  assert.throws(
    () =>
      searchPermutation(matrix(rows), P24, {
        budgetMs: 1e9,
        now: () => (t += 20),
        signal: controller.signal,
        onProgress: (fraction, retained) => {
          assert.ok(fraction >= 0 && fraction <= 1 && retained > 0 && retained <= 1);
          if (++calls === 3) controller.abort();
        },
      }),
    (error: Error) => error.name === 'AbortError',
  );
  assert.equal(calls, 3);
});

test('magnitudes are read into input-channel columns from every layout', async () => {
  const next = random(3);
  const dims = { K: 3, C: 8, R: 2, S: 2 };
  const canonical = (k: number, c: number, p: number) => (k * 100 + c * 10 + p) * (next() < 0.5 ? -1 : 1);
  const values = new Map<string, number>();
  for (let k = 0; k < dims.K; k++) for (let c = 0; c < dims.C; c++) for (let p = 0; p < 4; p++) values.set(`${k},${c},${p}`, canonical(k, c, p));
  for (const layout of ['OIHW', 'HWIO', 'OHWI'] as Layout4[]) {
    const stored = new Array<number>(dims.K * dims.C * 4);
    for (const [key, v] of values) {
      const [k, c, p] = key.split(',').map(Number) as [number, number, number];
      stored[storedIndex4(layout, dims, k, c, Math.floor(p / 2), p % 2)] = v;
    }
    const shape = layout === 'OIHW' ? [3, 8, 2, 2] : layout === 'HWIO' ? [2, 2, 8, 3] : [3, 2, 2, 8];
    const tensor = memoryTensor('w', shape, stored, { chunk: 7, layout });
    const read = await readColumnMagnitudes(tensor, weightViewOf(tensor)!);
    assert.equal(read.columns, 8);
    assert.equal(read.rows, 12);
    for (let c = 0; c < 8; c++) {
      const column = Array.from(read.data.subarray(c * 12, c * 12 + 12)).sort((a, b) => a - b);
      const expected = [...values].filter(([key]) => key.split(',')[1] === String(c)).map(([, v]) => Math.abs(v)).sort((a, b) => a - b);
      assert.deepEqual(column, expected, `${layout} column ${c}`);
    }
  }
  // [O, I] and [I, O] matrices: columns are the input features.
  const kc = await readColumnMagnitudes(memoryTensor('fc.weight', [2, 4], [1, -2, 3, 4, 5, 6, -7, 8]), { order: 'KC', K: 2, C: 4, P: 1, rank: 2, layout: 'OI', basis: 'format' });
  assert.deepEqual(Array.from(kc.data), [1, 5, 2, 6, 3, 7, 4, 8]);
  const ck = await readColumnMagnitudes(memoryTensor('kernel', [4, 2], [1, 5, 2, 6, 3, 7, 4, 8]), { order: 'CK', K: 2, C: 4, P: 1, rank: 2, layout: 'IO', basis: 'format' });
  assert.deepEqual(Array.from(ck.data), [1, 5, 2, 6, 3, 7, 4, 8]);
});
