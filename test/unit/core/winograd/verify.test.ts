import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyOneDimensional, verifyWinograd } from '../../../../extension/core/winograd/verify';
import { fromStringMatrix } from '../../../../extension/core/winograd/rational';
import { toomCook } from '../../../../extension/core/winograd/toomCook';

const m = (rows: string[][]) => fromStringMatrix(rows, 'test');

test('the F(2,3) coefficients are written out as the correlation formula', () => {
  const algorithm = toomCook(2, 3, { points: ['0', '1', '-1'] });
  const check = verifyOneDimensional(algorithm.AT, algorithm.G, algorithm.BT);
  assert.equal(check.verified, true);
  assert.equal(check.checkedCoefficients, 2 * 3 * 4);
  assert.deepEqual(check.outputs, ['y0 = g0*d0 + g1*d1 + g2*d2', 'y1 = g0*d1 + g1*d2 + g2*d3']);
});

test('a single wrong entry is caught and named', () => {
  const AT = m([['1', '1', '1', '0'], ['0', '1', '-1', '1']]);
  const G = m([['1', '0', '0'], ['1/2', '1/2', '1/2'], ['1/2', '-1/2', '1/2'], ['0', '0', '1']]);
  // BT[1][2] should be 1.
  const BT = m([['1', '0', '-1', '0'], ['0', '1', '2', '0'], ['0', '-1', '1', '0'], ['0', '-1', '0', '1']]);
  const check = verifyOneDimensional(AT, G, BT);
  assert.equal(check.verified, false);
  // Entry j=1, l=2 contributes AT[i][1] * G[1][k] * 1 extra to every (i, k, l=2): 6 wrong coefficients.
  assert.equal(check.mismatches.length, 6);
  assert.ok(check.mismatches.some((bad) => bad.i === 0 && bad.k === 2 && bad.l === 2 && bad.got.toFraction() === '3/2' && bad.expected === 1));
  const report = verifyWinograd({ AT, G, BT, label: 'F(2,3)' });
  assert.equal(report.verified, false);
  assert.ok(report.steps.some((step) => step.includes('FAILED: 6 of 24 coefficients are wrong')));
  assert.equal(report.steps.at(-1), 'verified: false');
});

test('a wrong second dimension fails the 2-D verdict', () => {
  const good = toomCook(2, 3, { points: ['0', '1', '-1'] });
  const badG = good.G.map((row) => row.slice());
  badG[3]![2] = badG[3]![2]!.mul(2);
  const report = verifyWinograd({ ...good, label: 'F(2,3)' }, { AT: good.AT, G: badG, BT: good.BT, label: "F(2,3)'" });
  assert.equal(report.verified, false);
});
