import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fraction } from 'mathjs';
import { parseRational, rationalToNumber } from '../../../../extension/core/winograd/rational';

test('parseRational reads integers, fractions and decimals exactly', () => {
  const cases: [string, string][] = [
    ['0', '0'],
    ['-3', '-3'],
    ['+2', '2'],
    [' 1/2 ', '1/2'],
    ['-10/4', '-5/2'],
    ['0.625', '5/8'],
    ['-.5', '-1/2'],
    ['3.', '3'],
    ['123456789012345678901234567890/3', '41152263004115226300411522630'],
  ];
  for (const [text, expected] of cases) assert.equal(parseRational(text).toFraction(), expected, text);
  for (const bad of ['', ' ', '1/', '/2', '1e3', '0x10', '1/2/3', '--1', 'inf', '1 2', '½']) {
    assert.throws(() => parseRational(bad, 'point'), /point ".*" is not a number/, bad);
  }
});

/** Exact value of a finite double as a BigInt fraction. */
function exactDouble(value: number): { n: bigint; d: bigint } {
  let exponent = 0;
  let mantissa = value;
  while (!Number.isInteger(mantissa)) {
    mantissa *= 2;
    exponent++;
  }
  return { n: BigInt(mantissa), d: 2n ** BigInt(exponent) };
}

test('rationalToNumber rounds to the nearest double even for huge numerators and denominators', () => {
  let state = 12345n;
  const next = (): bigint => {
    state = (state * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n;
    return state;
  };
  for (let i = 0; i < 300; i++) {
    const n = (next() * next()) >> BigInt(Number(next() % 64n)) | 1n;
    const d = (next() * next()) >> BigInt(Number(next() % 64n)) | 1n;
    const value = new Fraction(n, d);
    const x = rationalToNumber(value);
    const exact = exactDouble(x);
    // |x - n/d| must not exceed half the spacing of doubles at x: compare exactly with BigInts.
    let power = 2 ** Math.floor(Math.log2(Math.abs(x)));
    if (power > Math.abs(x)) power /= 2;
    if (power * 2 <= Math.abs(x)) power *= 2;
    const spacing = exactDouble(power * Number.EPSILON); // ulp(x) = 2^(exponent(x) - 52)
    const errorTimesDenominators = (exact.n * value.d - value.n * exact.d) * spacing.d;
    const halfSpacing = (spacing.n * exact.d * value.d) / 2n;
    const magnitude = errorTimesDenominators < 0n ? -errorTimesDenominators : errorTimesDenominators;
    assert.ok(magnitude <= halfSpacing, `${n}/${d} -> ${x}`);
  }
  assert.equal(rationalToNumber(new Fraction(1n, 3n)), 1 / 3);
  assert.equal(rationalToNumber(new Fraction(-21n, 4n)), -5.25);
  assert.equal(rationalToNumber(new Fraction(0n, 1n)), 0);
});
