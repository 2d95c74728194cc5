import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureError, roundToBfloat16, roundToFloat16 } from '../../../../extension/core/winograd/index';
import { SeededRandom } from '../../../../extension/core/winograd/error';
import { makeRounder } from '../../../../extension/core/winograd/rounding';
import { toomCook } from '../../../../extension/core/winograd/toomCook';

test('fp16 rounding: known binary16 values, ties to even, subnormals, overflow', () => {
  assert.equal(roundToFloat16(1), 1);
  assert.equal(roundToFloat16(65504), 65504); // largest finite
  assert.equal(roundToFloat16(65519.99), 65504);
  assert.equal(roundToFloat16(65520), Infinity); // halfway to 2^16 rounds to even = overflow
  assert.equal(roundToFloat16(-70000), -Infinity);
  assert.equal(roundToFloat16(1 + 2 ** -11), 1); // tie between 1 and 1 + 2^-10: even is 1
  assert.equal(roundToFloat16(1 + 3 * 2 ** -11), 1 + 2 ** -9); // tie: even mantissa is ...10
  assert.equal(roundToFloat16(1 + 2 ** -11 + 2 ** -30), 1 + 2 ** -10); // above the tie
  assert.equal(roundToFloat16(2049), 2048);
  assert.equal(roundToFloat16(2051), 2052);
  assert.equal(roundToFloat16(0.1), 0.0999755859375); // binary16 0x2E66
  assert.equal(roundToFloat16(2 ** -24), 2 ** -24); // smallest subnormal
  assert.equal(roundToFloat16(2 ** -25), 0); // tie with 0: even is 0
  assert.equal(roundToFloat16(1.5 * 2 ** -24), 2 ** -23);
  assert.equal(roundToFloat16(-0.1), -0.0999755859375);
  assert.ok(Number.isNaN(roundToFloat16(Number.NaN)));
});

test('bf16 rounding: known bfloat16 values and ties to even', () => {
  assert.equal(roundToBfloat16(1), 1);
  assert.equal(roundToBfloat16(1 + 2 ** -8), 1); // tie -> even
  assert.equal(roundToBfloat16(1 + 3 * 2 ** -8), 1 + 2 ** -6);
  assert.equal(roundToBfloat16(0.1), 0.10009765625); // bf16 0x3DCD
  // Largest finite bf16 is 255 * 2^120; the midpoint to 2^128 is 255.5 * 2^120.
  assert.equal(roundToBfloat16(255.4 * 2 ** 120), 255 * 2 ** 120);
  assert.equal(roundToBfloat16(255.6 * 2 ** 120), Infinity);
});

test('fast bit-level rounders agree with the generic rounder; the generic one agrees with Math.fround for fp32', () => {
  const slow16 = makeRounder(11, -14, 15);
  const slowBf16 = makeRounder(8, -126, 127);
  const generic32 = makeRounder(24, -126, 127);
  const random = new SeededRandom(3);
  for (let i = 0; i < 20000; i++) {
    const x = random.symmetric() * 2 ** Math.floor(random.next() * 80 - 40);
    assert.equal(roundToFloat16(x), slow16(x), `fp16 ${x}`);
    assert.equal(roundToBfloat16(x), slowBf16(x), `bf16 ${x}`);
    assert.equal(generic32(x), Math.fround(x), `fp32 ${x}`);
  }
});

test('the PRNG is deterministic and uniform enough', () => {
  const a = new SeededRandom(42);
  const b = new SeededRandom(42);
  const c = new SeededRandom(43);
  let sum = 0;
  let differs = false;
  for (let i = 0; i < 10000; i++) {
    const value = a.next();
    assert.equal(value, b.next());
    if (value !== c.next()) differs = true;
    assert.ok(value >= 0 && value < 1);
    sum += value;
  }
  assert.ok(differs);
  assert.ok(Math.abs(sum / 10000 - 0.5) < 0.02);
});

test("direct convolution's own error multiple is exactly 1", () => {
  // F(1,1): one product, the same operation direct correlation does.
  const trivial = toomCook(1, 1, { points: [] });
  // F(3,1) written with identity transforms is direct correlation with a 1-tap filter.
  const identity3 = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  const directAsWinograd = { AT: identity3, G: [[1], [1], [1]], BT: identity3 };
  for (const precision of ['fp32', 'fp16', 'bf16'] as const) {
    for (const algorithm of [trivial, directAsWinograd]) {
      const e = measureError(algorithm, { precision, trials: 200, seed: 5 });
      assert.equal(e.meanMultiple, 1, precision);
      assert.equal(e.maxMultiple, 1, precision);
      assert.ok(e.directMeanAbs > 0, `${precision}: direct has rounding error`);
    }
  }
});

test('error multiples land near the published values (fp32, uniform [-1, 1) tiles)', () => {
  const multiple = (m: number, points: string[]): number =>
    measureError(toomCook(m, 3, { points }), { precision: 'fp32', trials: 300, seed: 1 }).meanMultiple;
  const f23 = multiple(2, ['0', '1', '-1']);
  const f43Integer = multiple(4, ['0', '1', '-1', '2', '-2']);
  const f43Best = multiple(4, ['0', '5/8', '-5/8', '3/2', '-3/2']);
  const f63Best = multiple(6, ['0', '1', '-1', '2', '-2', '1/2', '-1/2']);
  const f63Integer = multiple(6, ['0', '1', '-1', '2', '-2', '3', '-3']);
  // Reference harness: 1.6, 8, 5.0, 17, 356.
  assert.ok(f23 > 1.3 && f23 < 2.0, `F(2,3) ${f23}`);
  assert.ok(f43Integer > 6.5 && f43Integer < 10, `F(4,3) {0,+-1,+-2} ${f43Integer}`);
  assert.ok(f43Best > 4.2 && f43Best < 6, `F(4,3) {0,+-5/8,+-3/2} ${f43Best}`);
  assert.ok(f63Best > 14 && f63Best < 24, `F(6,3) {0,+-1,+-2,+-1/2} ${f63Best}`);
  assert.ok(f63Integer > 250 && f63Integer < 500, `F(6,3) {0,+-1,+-2,+-3} ${f63Integer}`);
  // Absolute scale: direct fp32 correlation of 9 taps, published 4.63e-8.
  const direct = measureError(toomCook(2, 3, { points: ['0', '1', '-1'] }), { precision: 'fp32', trials: 300, seed: 1 }).directMeanAbs;
  assert.ok(direct > 4.0e-8 && direct < 5.3e-8, `direct ${direct}`);
});

test('measurements are deterministic for a seed and differ across seeds', () => {
  const algorithm = toomCook(4, 3, {});
  const a = measureError(algorithm, { precision: 'fp16', trials: 50, seed: 9 });
  const b = measureError(algorithm, { precision: 'fp16', trials: 50, seed: 9 });
  const c = measureError(algorithm, { precision: 'fp16', trials: 50, seed: 10 });
  assert.deepEqual(a, b);
  assert.notEqual(a.meanAbs, c.meanAbs);
});

test('maxTransformMagnitude tracks the transform domain: F(6,3) with +-3 reaches thousands', () => {
  const small = measureError(toomCook(2, 3, { points: ['0', '1', '-1'] }), { precision: 'fp32', trials: 100 });
  const large = measureError(toomCook(6, 3, { points: ['0', '1', '-1', '2', '-2', '3', '-3'] }), { precision: 'fp32', trials: 100 });
  // F(2,3): |BT d| <= 2 per 1-D pass, so at most 4 after both passes; products of U (<= 1.5*1.5*... ) stay small.
  assert.ok(small.maxTransformMagnitude > 1 && small.maxTransformMagnitude <= 9, String(small.maxTransformMagnitude));
  assert.ok(large.maxTransformMagnitude > 1000, String(large.maxTransformMagnitude));
});

test('fp16 overflow for a large tile is counted, never reported as NaN or Infinity', () => {
  const e = measureError(toomCook(16, 3, { points: Array.from({ length: 17 }, (_, i) => String(i - 8)) }), { precision: 'fp16', trials: 3 });
  assert.ok((e.nonFiniteOutputs ?? 0) > 0);
  for (const value of [e.meanAbs, e.maxAbs, e.directMeanAbs, e.directMaxAbs, e.meanMultiple, e.maxMultiple, e.maxTransformMagnitude]) {
    assert.ok(Number.isFinite(value), String(value));
  }
});
