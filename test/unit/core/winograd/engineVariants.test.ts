import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fraction } from 'mathjs';
import { ENGINE_STRIDE1_POINTS, engineWinogradMatrices } from '../../../../extension/core/winograd/engineVariants';
import { generateMatrices, generateWinograd } from '../../../../extension/core/winograd/index';
import { generateStride2Matrices } from '../../../../extension/core/winograd/strided';
import { parseRational, type Rational } from '../../../../extension/core/winograd/rational';

const matrix = (rows: string[][]): Rational[][] => rows.map((row) => row.map((entry) => parseRational(entry)));
const times = (a: Rational[][], x: Rational[]): Rational[] =>
  a.map((row) => row.reduce((sum, entry, j) => sum.add(entry.mul(x[j])), new Fraction(0)));

test("the engine's F(5,3) uses the searched points +-1/4, +-7/8, +-2, magnitudes ascending", () => {
  assert.deepEqual(engineWinogradMatrices(5, 1).points, ['1/4', '-1/4', '7/8', '-7/8', '2', '-2']);
  assert.deepEqual(ENGINE_STRIDE1_POINTS[5], ['1/4', '-1/4', '7/8', '-7/8', '2', '-2']);
});

test("the engine's F(5,3) computes y_i = sum_k g_k d_{i+k} exactly (rational arithmetic)", () => {
  const s = engineWinogradMatrices(5, 1);
  const [AT, G, BT] = [matrix(s.AT), matrix(s.G), matrix(s.BT)];
  assert.equal(BT.length, 7);
  assert.equal(AT.length, 5);
  for (let trial = 0; trial < 5; trial++) {
    // Distinct fractions: a missing or misplaced term cannot cancel.
    const g = [0, 1, 2].map((k) => new Fraction(BigInt(7 + 13 * k + trial), BigInt(3 + k)));
    const d = Array.from({ length: 7 }, (_, j) => new Fraction(BigInt(2 * j * j - 5 * j + 11 + trial), BigInt(j + 2)));
    const Gg = times(G, g);
    const BTd = times(BT, d);
    const y = times(AT, Gg.map((value, j) => value.mul(BTd[j])));
    for (let i = 0; i < 5; i++) {
      const expected = g.reduce((sum, gk, k) => sum.add(gk.mul(d[i + k])), new Fraction(0));
      assert.ok(y[i].equals(expected), `y[${i}] = ${y[i].toFraction()} but direct correlation gives ${expected.toFraction()}`);
    }
  }
});

test("the engine's F(5,3) points round to about two thirds of the default set's fp32 error", () => {
  const meanMultiple = (points: string[]): number =>
    generateWinograd({ m: 5, r: 3, points, precision: 'fp32', errorTrials: 600, seed: 1 }).error.find((e) => e.precision === 'fp32')!.meanMultiple;
  const engine = meanMultiple(engineWinogradMatrices(5, 1).points);
  const fallback = meanMultiple(generateMatrices(5, 3).points);
  // POINTS.md: 9.3x against 14.4x direct's mean error.
  assert.ok(engine < 0.75 * fallback, `engine points ${engine.toFixed(2)}x direct, default points ${fallback.toFixed(2)}x`);
  assert.ok(engine > 5 && engine < 12, `engine points ${engine.toFixed(2)}x direct`);
});

test('the other engine kernels use the default points and the stride-2 construction', () => {
  for (const m of [2, 4, 6, 7]) assert.deepEqual(engineWinogradMatrices(m, 1), generateMatrices(m, 3));
  for (const m of [4, 7]) assert.deepEqual(engineWinogradMatrices(m, 2), generateStride2Matrices(m));
});
