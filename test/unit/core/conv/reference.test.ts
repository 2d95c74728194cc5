import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareToReference,
  convDirectFlops,
  convOutputSize,
  referenceConv2d,
  validateConvShape,
} from '../../../../extension/core/conv/reference';
import type { ConvShape } from '../../../../extension/shared/payloads';

const shape = (s: Partial<ConvShape>): ConvShape => ({
  N: 1, C: 1, H: 3, W: 3, K: 1, R: 2, S: 2, stride: 1, pad: 0, ...s,
});

test('2x2 diagonal-difference kernel on 1..9, no padding: every output is in(p,q) - in(p+1,q+1) = -4', () => {
  const input = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const weight = Float32Array.from([1, 0, 0, -1]);
  assert.deepEqual(Array.from(referenceConv2d(input, weight, undefined, shape({}))), [-4, -4, -4, -4]);
});

test('pad 1, stride 2, bias 0.5: hand-derived corners', () => {
  const input = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const weight = Float32Array.from([1, 0, 0, -1]);
  const s = shape({ pad: 1, stride: 2 });
  assert.deepEqual(convOutputSize(s), { P: 2, Q: 2 });
  // (0,0): -in(0,0); (0,1): -in(0,2); (1,0): -in(2,0); (1,1): in(1,1) - in(2,2).
  const out = referenceConv2d(input, weight, Float32Array.from([0.5]), s);
  assert.deepEqual(Array.from(out), [-1 + 0.5, -3 + 0.5, -7 + 0.5, 5 - 9 + 0.5]);
});

test('1x1 kernel over 2 channels, 2 filters, batch 2 is a per-pixel matrix product', () => {
  // input[n][c][pixel]: n=0: c0 = [1,2], c1 = [3,4]; n=1: c0 = [5,6], c1 = [7,8] (H=1, W=2).
  const input = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  // filter 0 = (1, 10), filter 1 = (-1, 2).
  const weight = Float64Array.from([1, 10, -1, 2]);
  const s = shape({ N: 2, C: 2, H: 1, W: 2, K: 2, R: 1, S: 1 });
  const out = referenceConv2d(input, weight, undefined, s);
  assert.deepEqual(Array.from(out), [
    1 + 30, 2 + 40, -1 + 6, -2 + 8,
    5 + 70, 6 + 80, -5 + 14, -6 + 16,
  ]);
  assert.equal(convDirectFlops(s), 2 * 2 * 2 * 2 * 1 * 1 * 1 * 2);
});

test('3x3 all-ones kernel with pad 1 counts the in-bounds neighbours', () => {
  const s = shape({ H: 3, W: 4, R: 3, S: 3, pad: 1 });
  const out = referenceConv2d(new Float32Array(12).fill(1), new Float32Array(9).fill(1), undefined, s);
  assert.deepEqual(Array.from(out), [4, 6, 6, 4, 6, 9, 9, 6, 4, 6, 6, 4]);
});

test('bad shapes and lengths are rejected with the field named', () => {
  assert.throws(() => validateConvShape(shape({ C: 0 })), /shape\.C must be a positive integer/);
  assert.throws(() => validateConvShape(shape({ stride: 1.5 })), /shape\.stride/);
  assert.throws(() => validateConvShape(shape({ pad: -1 })), /shape\.pad/);
  assert.throws(() => validateConvShape(shape({ R: 5 })), /kernel 5x2 is larger than the padded input 3x3/);
  assert.throws(
    () => referenceConv2d(new Float32Array(8), new Float32Array(4), undefined, shape({})),
    /input has 8 elements, expected 9/,
  );
  assert.throws(
    () => referenceConv2d(new Float32Array(9), new Float32Array(4), new Float32Array(2), shape({})),
    /bias has 2 elements, expected 1/,
  );
});

test('compareToReference floors the relative denominator and propagates NaN', () => {
  const r = compareToReference([1.5, 0.001], [1, 0]);
  assert.equal(r.maxAbsErr, 0.5);
  assert.equal(r.maxRelErr, 1); // 0.001 / max(0, 1e-3 * 1) = 1, larger than 0.5 / 1
  assert.ok(Number.isNaN(compareToReference([NaN, 1], [1, 1]).maxAbsErr));
});
