import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fraction } from 'mathjs';
import { generateStride2Matrices } from '../../../../extension/core/winograd/strided';
import { parseRational, type Rational } from '../../../../extension/core/winograd/rational';

const matrix = (rows: string[][]): Rational[][] => rows.map((row) => row.map((entry) => parseRational(entry)));
const times = (a: Rational[][], x: Rational[]): Rational[] =>
  a.map((row) => row.reduce((sum, entry, j) => sum.add(entry.mul(x[j])), new Fraction(0)));

test('stride-2 F(1,3) is the hand-derived 3-multiplication algorithm', () => {
  // F(1,2) with point 0 and infinity: y = g0 e0 + g2 e1 through products (g0 e0), (g2 e1); plus g1 o0.
  const s = generateStride2Matrices(1);
  assert.equal(s.alpha, 3);
  assert.deepEqual(s.BT, [['1', '0', '0'], ['0', '0', '1'], ['0', '1', '0']]);
  assert.deepEqual(s.G, [['1', '0', '0'], ['0', '0', '1'], ['0', '1', '0']]);
  assert.deepEqual(s.AT, [['1', '1', '1']]);
});

test('stride-2 algorithms compute y_i = sum_k g_k d_{2i+k} exactly (rational arithmetic)', () => {
  for (const m of [1, 2, 3, 4, 5, 6, 7]) {
    const s = generateStride2Matrices(m);
    assert.equal(s.alpha, 2 * m + 1);
    assert.equal(s.BT.length, 2 * m + 1);
    assert.equal(s.AT.length, m);
    const [AT, G, BT] = [matrix(s.AT), matrix(s.G), matrix(s.BT)];
    for (let trial = 0; trial < 5; trial++) {
      // Distinct primes and fractions: a missing or misplaced term cannot cancel.
      const g = [0, 1, 2].map((k) => new Fraction(BigInt(7 + 13 * k + trial), BigInt(3 + k)));
      const d = Array.from({ length: 2 * m + 1 }, (_, j) => new Fraction(BigInt(2 * j * j - 5 * j + 11 + trial), BigInt(j + 2)));
      const products = times(G, g).map((u, i) => u.mul(times(BT, d)[i]));
      const y = times(AT, products);
      for (let i = 0; i < m; i++) {
        const expected = g[0].mul(d[2 * i]).add(g[1].mul(d[2 * i + 1])).add(g[2].mul(d[2 * i + 2]));
        assert.ok(y[i].equals(expected), `m=${m} output ${i}: ${y[i].toFraction()} != ${expected.toFraction()}`);
      }
    }
  }
});
