// What moves F(6,3)'s fp32 error and what does not (the open 20% goal; numbers in POINTS.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureError } from '../../../../extension/core/winograd/error';
import { type RationalMatrix, parseRational } from '../../../../extension/core/winograd/rational';
import { toomCook } from '../../../../extension/core/winograd/toomCook';
import { verifyOneDimensional } from '../../../../extension/core/winograd/verify';

const PUBLISHED = ['0', '1', '-1', '2', '-2', '1/2', '-1/2'];

function fp32Multiple(algorithm: { AT: RationalMatrix; G: RationalMatrix; BT: RationalMatrix }, trials: number): number {
  return measureError(algorithm, { precision: 'fp32', trials, seed: 1 }).meanMultiple;
}

/** G row j times `factor` and AT column j divided by it: the same bilinear map. */
function scaleRow(algorithm: { AT: RationalMatrix; G: RationalMatrix; BT: RationalMatrix }, j: number, factor: string) {
  const s = parseRational(factor);
  return {
    AT: algorithm.AT.map((row) => row.map((value, column) => (column === j ? value.div(s) : value))),
    G: algorithm.G.map((row, i) => (i === j ? row.map((value) => value.mul(s)) : row)),
    BT: algorithm.BT,
  };
}

test('scaling a row of G and the matching column of AT keeps the algorithm exact; by a power of two it leaves the fp32 error unchanged', () => {
  const published = toomCook(6, 3, { points: PUBLISHED });
  const infinityRow = published.alpha - 1;
  const byFour = scaleRow(published, infinityRow, '4');
  const byThree = scaleRow(published, infinityRow, '3');
  for (const scaled of [byFour, byThree]) assert.equal(verifyOneDimensional(scaled.AT, scaled.G, scaled.BT).verified, true);
  assert.equal(verifyOneDimensional(published.AT, scaleRow(published, infinityRow, '3').G, published.BT).verified, false);
  // Multiplying by 2^k is exact in binary floating point, so every rounding step sees the same
  // significands: identical error. A factor of 3 makes AT's 1/3 inexact, so the error moves.
  const plain = measureError(published, { precision: 'fp32', trials: 200, seed: 1 });
  const four = measureError(byFour, { precision: 'fp32', trials: 200, seed: 1 });
  assert.equal(four.meanAbs, plain.meanAbs);
  assert.equal(four.maxAbs, plain.maxAbs);
  assert.notEqual(measureError(byThree, { precision: 'fp32', trials: 200, seed: 1 }).meanAbs, plain.meanAbs);
});

test('point order alone moves F(6,3) fp32 error by about 7%; the searched {0,+-3/7,+-1,+-2} gains nothing beyond it', () => {
  const publishedOrder = toomCook(6, 3, { points: PUBLISHED });
  // Same set, magnitudes ascending: the output transform then adds the small terms of AT first.
  const ascending = toomCook(6, 3, { points: ['0', '-1/2', '1/2', '-1', '1', '-2', '2'] });
  const searched = toomCook(6, 3, { points: ['0', '3/7', '-3/7', '1', '-1', '2', '-2'] });
  for (const algorithm of [publishedOrder, ascending, searched]) {
    assert.equal(verifyOneDimensional(algorithm.AT, algorithm.G, algorithm.BT).verified, true);
  }
  const published = fp32Multiple(publishedOrder, 3000);
  const reordered = fp32Multiple(ascending, 3000);
  const found = fp32Multiple(searched, 3000);
  // Measured (3000 tiles, seed 1): 19.69x, 18.30x, 18.23x direct.
  assert.ok(reordered < 0.95 * published, `ascending order ${reordered} vs published order ${published}`);
  assert.ok(Math.abs(found - reordered) < 0.02 * reordered, `searched ${found} vs reordered published ${reordered}`);
  // The F(6,3) goal (20% below the published set) is met by neither.
  assert.ok(found > 0.8 * published && reordered > 0.8 * published);
});
