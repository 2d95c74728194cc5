import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_POINTS, MAX_ALPHA, generateMatrices, generateWinograd } from '../../../../extension/core/winograd/index';
import type { FractionsIn } from '../../../../extension/shared/payloads';
import { fixture } from '../../../paths';

/*
 * F(2,3), points 0, 1, -1 and infinity, derived by hand.
 *   Filter polynomial g(x) = g0 + g1 x + g2 x^2 sampled at 0, 1, -1, inf: rows of V_3
 *   [1 0 0], [1 1 1], [1 -1 1], [0 0 1].
 *   Lagrange denominators F_i = prod_(k != i)(a_i - a_k): F0 = (0-1)(0+1) = -1, F1 = (1-0)(1+1) = 2,
 *   F2 = (-1-0)(-1-1) = 2; infinity 1. wincnn negates a negative first one: f = (1, 2, 2, 1).
 *   G = f^-1 V_3: [1 0 0], [1/2 1/2 1/2], [1/2 -1/2 1/2], [0 0 1].
 *   AT = V_2^T (columns (1, a_i), infinity column (0, 1)): [1 1 1 0], [0 1 -1 1].
 *   BT row i = (f_i / F_i) * coefficients of L_i(x) = prod_(k != i)(x - a_k):
 *     L0 = (x-1)(x+1) = -1 + x^2, f0/F0 = -1  -> [1 0 -1 0]
 *     L1 = x(x+1) = x + x^2                    -> [0 1 1 0]
 *     L2 = x(x-1) = -x + x^2                   -> [0 -1 1 0]
 *   infinity row: coefficients of prod_k (x - a_k) = x^3 - x -> [0 -1 0 1].
 */
const F23 = {
  AT: [['1', '1', '1', '0'], ['0', '1', '-1', '1']],
  G: [['1', '0', '0'], ['1/2', '1/2', '1/2'], ['1/2', '-1/2', '1/2'], ['0', '0', '1']],
  BT: [['1', '0', '-1', '0'], ['0', '1', '1', '0'], ['0', '-1', '1', '0'], ['0', '-1', '0', '1']],
};

/*
 * F(4,3), points 0, 1, -1, 2, -2 and infinity, derived by hand.
 *   F0 = (0-1)(0+1)(0-2)(0+2) = 4, F1 = (1)(2)(-1)(3) = -6, F2 = (-1)(-2)(-3)(1) = -6,
 *   F3 = (2)(1)(3)(4) = 24, F4 = (-2)(-3)(-1)(-4) = 24; F0 > 0 so no sign change.
 *   G row i = (1, a_i, a_i^2) / F_i: [1/4 0 0], [-1/6 -1/6 -1/6], [-1/6 1/6 -1/6],
 *     [1/24 1/12 1/6], [1/24 -1/12 1/6], infinity [0 0 1].
 *   BT rows: coefficients of
 *     L0 = (x^2-1)(x^2-4) = 4 - 5x^2 + x^4           -> [4 0 -5 0 1 0]
 *     L1 = x(x+1)(x^2-4) = -4x - 4x^2 + x^3 + x^4     -> [0 -4 -4 1 1 0]
 *     L2 = x(x-1)(x^2-4) = 4x - 4x^2 - x^3 + x^4      -> [0 4 -4 -1 1 0]
 *     L3 = x(x^2-1)(x+2) = -2x - x^2 + 2x^3 + x^4     -> [0 -2 -1 2 1 0]
 *     L4 = x(x^2-1)(x-2) = 2x - x^2 - 2x^3 + x^4      -> [0 2 -1 -2 1 0]
 *     infinity: x(x^2-1)(x^2-4) = 4x - 5x^3 + x^5     -> [0 4 0 -5 0 1]
 *   AT = V_4^T: row j = (a_i^j), infinity column e_3.
 */
const F43 = {
  AT: [
    ['1', '1', '1', '1', '1', '0'],
    ['0', '1', '-1', '2', '-2', '0'],
    ['0', '1', '1', '4', '4', '0'],
    ['0', '1', '-1', '8', '-8', '1'],
  ],
  G: [
    ['1/4', '0', '0'],
    ['-1/6', '-1/6', '-1/6'],
    ['-1/6', '1/6', '-1/6'],
    ['1/24', '1/12', '1/6'],
    ['1/24', '-1/12', '1/6'],
    ['0', '0', '1'],
  ],
  BT: [
    ['4', '0', '-5', '0', '1', '0'],
    ['0', '-4', '-4', '1', '1', '0'],
    ['0', '4', '-4', '-1', '1', '0'],
    ['0', '-2', '-1', '2', '1', '0'],
    ['0', '2', '-1', '-2', '1', '0'],
    ['0', '4', '0', '-5', '0', '1'],
  ],
};

test('F(2,3) with points 0, 1, -1 matches the hand derivation', () => {
  const result = generateMatrices(2, 3, { points: ['0', '1', '-1'] });
  assert.deepEqual({ AT: result.AT, G: result.G, BT: result.BT }, F23);
  assert.deepEqual(result.points, ['0', '1', '-1']);
});

test('F(4,3) with points 0, 1, -1, 2, -2 matches the hand derivation', () => {
  const result = generateMatrices(4, 3, { points: ['0', '1', '-1', '2', '-2'] });
  assert.deepEqual({ AT: result.AT, G: result.G, BT: result.BT }, F43);
});

interface Fixture {
  m: number;
  r: number;
  points: string[];
  fractionsIn: FractionsIn;
  AT: string[][];
  G: string[][];
  BT: string[][];
}
const fixtures = JSON.parse(readFileSync(fixture('winograd', 'wincnn.json'), 'utf8')) as { cases: Fixture[] };

test('matrices are identical to wincnn 2.0 output for every fixture (points, placement, sign rule)', () => {
  assert.ok(fixtures.cases.length >= 10);
  for (const fixture of fixtures.cases) {
    const result = generateMatrices(fixture.m, fixture.r, { points: fixture.points, fractionsIn: fixture.fractionsIn });
    const label = `F(${fixture.m},${fixture.r}) ${fixture.points.join(',')} in ${fixture.fractionsIn}`;
    assert.deepEqual(result.AT, fixture.AT, `${label}: AT`);
    assert.deepEqual(result.G, fixture.G, `${label}: G`);
    assert.deepEqual(result.BT, fixture.BT, `${label}: BT`);
  }
});

test('the first-row sign normalisation applies: a negative first denominator is made positive', () => {
  // Points 1, 0, 2: F0 = (1 - 0)(1 - 2) = -1, which wincnn negates to f0 = 1.
  const result = generateMatrices(2, 3, { points: ['1', '0', '2'] });
  // BT row 0 = (f0 / F0) * coefficients of L0 = x(x - 2) = -2x + x^2: -(0, -2, 1, 0) = (0, 2, -1, 0).
  assert.deepEqual(result.BT[0], ['0', '2', '-1', '0']);
  // G row 0 = (1, a0, a0^2) / f0 = (1, 1, 1).
  assert.deepEqual(result.G[0], ['1', '1', '1']);
});

test('defaults: without points each alpha uses DEFAULT_POINTS', () => {
  assert.deepEqual(generateMatrices(2, 3).points, ['0', '1', '-1']);
  assert.deepEqual(generateMatrices(4, 3).points, [...DEFAULT_POINTS[6]!]);
  assert.deepEqual(generateMatrices(6, 3).points, ['0', '1', '-1', '2', '-2', '1/2', '-1/2']);
  for (let alpha = 1; alpha <= 16; alpha++) {
    const points = DEFAULT_POINTS[alpha]!;
    assert.equal(points.length, alpha - 1, `alpha ${alpha}`);
    assert.equal(new Set(points).size, points.length, `alpha ${alpha} distinct`);
  }
});

test('fractions in A and B keep the algorithm exact and move the denominators', () => {
  for (const fractionsIn of ['G', 'A', 'B'] as const) {
    const result = generateWinograd({ m: 4, r: 3, points: ['0', '1', '-1', '2', '-2'], fractionsIn, errorTrials: 0 });
    assert.equal(result.verified, true, fractionsIn);
    assert.equal(result.fractionsIn, fractionsIn);
  }
  const inA = generateMatrices(4, 3, { points: ['0', '1', '-1', '2', '-2'], fractionsIn: 'A' });
  assert.deepEqual(inA.G[1], ['1', '1', '1']);
  assert.deepEqual(inA.AT[1], ['0', '-1/6', '1/6', '1/12', '-1/12', '0']);
});

test('finite-only variant: alpha finite points, exact and different from the modified algorithm', () => {
  const result = generateWinograd({ m: 2, r: 3, points: ['0', '1', '-1', '2'], infinity: false, errorTrials: 0 });
  assert.equal(result.verified, true);
  assert.equal(result.infinity, false);
  assert.equal(result.BT.length, 4);
  // No infinity row: the last row of G is the sample at 2, (1, 2, 4) / F3 with F3 = (2)(1)(3) = 6.
  assert.deepEqual(result.G[3], ['1/6', '1/3', '2/3']);
  const defaults = generateWinograd({ m: 4, r: 3, infinity: false, errorTrials: 0 });
  assert.equal(defaults.points.length, 6);
  assert.equal(defaults.verified, true);
});

test('rectangular F(4x2, 3x2) nests two verified 1-D algorithms', () => {
  const result = generateWinograd({ m: 4, r: 3, n: 2, s: 2, errorTrials: 0 });
  assert.equal(result.n, 2);
  assert.equal(result.s, 2);
  assert.equal(result.verified, true);
  assert.ok(result.second);
  assert.equal(result.second.BT.length, 3);
  assert.equal(result.multiplications.winograd, 6 * 3);
  assert.equal(result.multiplications.direct, 4 * 2 * 3 * 2);
});

test('alpha 16 (F(14,3)) generates and verifies exactly', () => {
  const result = generateWinograd({ m: 14, r: 3, errorTrials: 0 });
  assert.equal(result.alpha, 16);
  assert.equal(result.verified, true);
});

/** Deterministic PRNG for the property test. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** Independent numeric check: y = AT[(G g) . (BT d)] against sum_k g_k d_(i+k) in doubles. */
function numericCheck(AT: string[][], G: string[][], BT: string[][], random: () => number): number {
  const value = (text: string): number => {
    const [n, d] = text.split('/');
    return Number(n) / (d === undefined ? 1 : Number(d));
  };
  const r = G[0]!.length;
  const alpha = BT.length;
  const g = Array.from({ length: r }, () => random() * 2 - 1);
  const d = Array.from({ length: alpha }, () => random() * 2 - 1);
  const u = G.map((row) => row.reduce((sum, entry, k) => sum + value(entry) * g[k]!, 0));
  const v = BT.map((row) => row.reduce((sum, entry, l) => sum + value(entry) * d[l]!, 0));
  let worst = 0;
  AT.forEach((row, i) => {
    const y = row.reduce((sum, entry, j) => sum + value(entry) * u[j]! * v[j]!, 0);
    const direct = g.reduce((sum, gk, k) => sum + gk * d[i + k]!, 0);
    const scale = row.reduce((sum, entry, j) => sum + Math.abs(value(entry) * u[j]! * v[j]!), 0) + 1;
    worst = Math.max(worst, Math.abs(y - direct) / scale);
  });
  return worst;
}

test('property: random valid point sets always verify (and agree numerically with direct correlation)', () => {
  const random = lcg(2024);
  const pool: string[] = [];
  for (let q = 1; q <= 6; q++) for (let p = -12; p <= 12; p++) pool.push(`${p}/${q}`);
  for (let trial = 0; trial < 40; trial++) {
    const m = 1 + Math.floor(random() * 6);
    const r = 1 + Math.floor(random() * 4);
    const infinity = random() < 0.7;
    const fractionsIn = (['G', 'A', 'B'] as const)[Math.floor(random() * 3)]!;
    const count = infinity ? m + r - 2 : m + r - 1;
    const points: string[] = [];
    const seen = new Set<number>();
    while (points.length < count) {
      const candidate = pool[Math.floor(random() * pool.length)]!;
      const [n, d] = candidate.split('/').map(Number) as [number, number];
      if (seen.has(n / d)) continue;
      seen.add(n / d);
      points.push(candidate);
    }
    const result = generateWinograd({ m, r, points, infinity, fractionsIn, errorTrials: 0 });
    const label = `F(${m},${r}) ${points.join(',')} infinity=${infinity} ${fractionsIn}`;
    assert.equal(result.verified, true, label);
    assert.ok(numericCheck(result.AT, result.G, result.BT, random) < 1e-9, label);
  }
});

test('bad input: every case gets a message naming the problem', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => generateMatrices(4, 3, { points: ['0', '1', '-1', '1/2', '2/4'] }), /duplicate interpolation points: "1\/2" and "2\/4" are equal/],
    [() => generateMatrices(4, 3, { points: ['0', '1', '1', '2', '-2'] }), /duplicate interpolation points: "1" appears twice/],
    [() => generateMatrices(4, 3, { points: ['0', '1', '-1'] }), /too few interpolation points for F\(4,3\).*needs alpha - 1 = 5.*got 3/],
    [() => generateMatrices(2, 3, { points: ['0', '1', '-1', '2'] }), /too many interpolation points for F\(2,3\).*got 4/],
    [() => generateMatrices(2, 3, { points: ['0', '1', '-1'], infinity: false }), /too few .*alpha = 4 finite points/],
    [() => generateMatrices(0, 3), /m must be >= 1, got 0/],
    [() => generateMatrices(2, 0), /r must be >= 1, got 0/],
    [() => generateMatrices(-1, 3), /m must be >= 1/],
    [() => generateMatrices(2.5, 3), /m must be a whole number >= 1, got 2.5/],
    [() => generateMatrices(Number.NaN, 3), /m must be a whole number >= 1, got NaN/],
    [() => generateMatrices(30, 4), new RegExp(`alpha = m \\+ r - 1 = 33 is too large: the maximum is ${MAX_ALPHA}`)],
    [() => generateMatrices(2, 3, { points: ['0', 'abc', '-1'] }), /interpolation point 2 "abc" is not a number/],
    [() => generateMatrices(2, 3, { points: ['0', 'NaN', '-1'] }), /interpolation point 2 "NaN" is not a number/],
    [() => generateMatrices(2, 3, { points: ['0', 'Infinity', '-1'] }), /"Infinity" is not a number/],
    [() => generateMatrices(2, 3, { points: ['0', '1/0', '-1'] }), /interpolation point 2 "1\/0" divides by zero/],
    [() => generateMatrices(2, 3, { points: ['0', '', '-1'] }), /interpolation point 2 "" is not a number/],
    [() => generateMatrices(2, 3, { fractionsIn: 'C' as FractionsIn }), /fractionsIn must be G, A or B, got "C"/],
    [() => generateWinograd({ m: 2, r: 3, n: 0 }), /n must be >= 1, got 0/],
    [() => generateWinograd({ m: 2, r: 3, layer: { C: 0, K: 1, H: 1, W: 1 }, errorTrials: 0 }), /layer C must be a whole number >= 1, got 0/],
    [() => generateWinograd({ m: 2, r: 3, errorTrials: -1 }), /errorTrials must be a whole number/],
    [() => generateWinograd({ m: 2, r: 3, seed: 1.5 }), /seed must be a whole number >= 0, got 1.5/],
    [() => generateWinograd({ m: 2, r: 3, infinity: 'yes' as unknown as boolean }), /infinity must be true or false, got yes/],
    [() => generateMatrices(2, 3, { points: '0,1,-1' as unknown as string[] }), /points must be a list of numbers/],
  ];
  for (const [run, message] of cases) assert.throws(run, message);
});

test('decimals and signs are exact: 0.625 is 5/8, +2 is 2', () => {
  const a = generateMatrices(4, 3, { points: ['0', '0.625', '-0.625', '+1.5', '-3/2'] });
  assert.deepEqual(a.points, ['0', '5/8', '-5/8', '3/2', '-3/2']);
  const b = generateMatrices(4, 3, { points: ['0', '5/8', '-5/8', '3/2', '-3/2'] });
  assert.deepEqual(a, b);
});

test('generateWinograd result fields: points as strings, verification steps, multiplications, error per precision', () => {
  const result = generateWinograd({ m: 2, r: 3, errorTrials: 50 });
  assert.equal(result.alpha, 4);
  assert.equal(result.infinity, true);
  assert.equal(result.verified, true);
  assert.ok(result.verification.steps.some((step) => step.includes('y0 = g0*d0 + g1*d1 + g2*d2')));
  assert.ok(result.verification.steps.some((step) => step.includes('y1 = g0*d1 + g1*d2 + g2*d3')));
  assert.deepEqual(result.multiplications, { winograd: 16, direct: 36, saving: 2.25 });
  assert.deepEqual(result.error.map((e) => e.precision), ['fp32', 'fp16', 'bf16']);
  for (const e of result.error) {
    assert.equal(e.trials, 50);
    for (const value of [e.meanAbs, e.maxAbs, e.meanMultiple, e.maxMultiple, e.maxTransformMagnitude]) assert.ok(Number.isFinite(value) && value > 0);
  }
  assert.deepEqual(generateWinograd({ m: 2, r: 3, errorTrials: 0 }).error, []);
});
