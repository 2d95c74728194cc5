import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bfloat16BitsFromNumber,
  bfloat16FromBits,
  checkedNumel,
  decodeBytes,
  encodeValues,
  float16BitsFromNumber,
  float16FromBits,
  float8E4M3FnFromBits,
  float8E5M2FromBits,
} from '../../../../extension/core/formats/dtypes';

test('float16 bit patterns decode to hand-computed values', () => {
  assert.equal(float16FromBits(0x3c00), 1);
  assert.equal(float16FromBits(0xbc00), -1);
  assert.equal(float16FromBits(0x7bff), 65504); // (1 + 1023/1024) * 2^15
  assert.equal(float16FromBits(0x0001), 2 ** -24); // smallest subnormal
  assert.equal(float16FromBits(0x03ff), 1023 * 2 ** -24); // largest subnormal
  assert.equal(float16FromBits(0x0400), 2 ** -14); // smallest normal
  assert.equal(float16FromBits(0x3555), 0.333251953125); // (1 + 341/1024) / 4
  assert.equal(float16FromBits(0x7c00), Infinity);
  assert.equal(float16FromBits(0xfc00), -Infinity);
  assert.ok(Number.isNaN(float16FromBits(0x7e00)));
  assert.ok(Object.is(float16FromBits(0x8000), -0));
});

test('bfloat16 is the top half of float32', () => {
  assert.equal(bfloat16FromBits(0x3f80), 1);
  assert.equal(bfloat16FromBits(0xc000), -2);
  assert.equal(bfloat16FromBits(0x4049), 3.140625); // 0x40490000 = 1.5703125 * 2
  assert.equal(bfloat16FromBits(0x7f80), Infinity);
  assert.ok(Number.isNaN(bfloat16FromBits(0x7fc0)));
  assert.equal(bfloat16FromBits(0x0001), 2 ** -133); // subnormal 0x00010000
});

test('float8 E4M3FN and E5M2 decode per their layouts', () => {
  assert.equal(float8E4M3FnFromBits(0x38), 1); // exp 7 = bias
  assert.equal(float8E4M3FnFromBits(0x7e), 448); // exp 15, mant 6: 1.75 * 2^8
  assert.ok(Number.isNaN(float8E4M3FnFromBits(0x7f)));
  assert.ok(Number.isNaN(float8E4M3FnFromBits(0xff)));
  assert.equal(float8E4M3FnFromBits(0x78), 256); // exp 15 mant 0 is finite in the fn variant
  assert.equal(float8E4M3FnFromBits(0x01), 2 ** -9);
  assert.equal(float8E4M3FnFromBits(0xb8), -1);
  assert.equal(float8E5M2FromBits(0x3c), 1);
  assert.equal(float8E5M2FromBits(0x7b), 57344); // 1.75 * 2^15
  assert.equal(float8E5M2FromBits(0x7c), Infinity);
  assert.equal(float8E5M2FromBits(0xfc), -Infinity);
  assert.ok(Number.isNaN(float8E5M2FromBits(0x7d)));
  assert.equal(float8E5M2FromBits(0x01), 2 ** -16);
});

test('bulk decode of little- and big-endian chunks, aligned and unaligned', () => {
  const f16 = new Uint8Array([0x00, 0x3c, 0xff, 0x7b, 0x01, 0x00]);
  assert.deepEqual(Array.from(decodeBytes(f16, 'float16')), [1, 65504, 2 ** -24]);
  const unaligned = new Uint8Array(7);
  unaligned.set(f16, 1);
  assert.deepEqual(Array.from(decodeBytes(unaligned.subarray(1), 'float16')), [1, 65504, 2 ** -24]);
  assert.deepEqual(Array.from(decodeBytes(new Uint8Array([0x3c, 0x00]), 'float16', false)), [1]);
  assert.deepEqual(Array.from(decodeBytes(new Uint8Array([0x80, 0x3f]), 'bfloat16')), [1]);
  // float32 1.5 = 0x3fc00000; -2 = 0xc0000000
  assert.deepEqual(Array.from(decodeBytes(new Uint8Array([0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]), 'float32')), [1.5, -2]);
  assert.deepEqual(Array.from(decodeBytes(new Uint8Array([0x3f, 0xc0, 0, 0]), 'float32', false)), [1.5]);
  const i64 = new Uint8Array(16);
  new DataView(i64.buffer).setBigInt64(0, -5n, true);
  new DataView(i64.buffer).setBigInt64(8, 2n ** 40n + 3n, true);
  const wide = decodeBytes(i64, 'int64');
  assert.ok(wide instanceof Float64Array);
  assert.deepEqual(Array.from(wide), [-5, 2 ** 40 + 3]);
  const u64 = new Uint8Array(8);
  new DataView(u64.buffer).setBigUint64(0, 2n ** 63n + 2048n, false);
  assert.deepEqual(Array.from(decodeBytes(u64, 'uint64', false)), [2 ** 63 + 2048]);
  assert.deepEqual(Array.from(decodeBytes(new Uint8Array([0xff, 0x80, 0x7f]), 'int8')), [-1, -128, 127]);
  assert.deepEqual(Array.from(decodeBytes(new Uint8Array([0, 1, 2]), 'bool')), [0, 1, 1]);
  assert.deepEqual(Array.from(decodeBytes(new Uint8Array([0xff, 0xff, 0xff, 0x7f]), 'int32')), [2147483647]);
  assert.ok(decodeBytes(new Uint8Array(4), 'int32') instanceof Float64Array);
  assert.throws(() => decodeBytes(new Uint8Array(3), 'float16'), /whole number/);
});

test('encoders round to nearest even and round-trip through the decoders', () => {
  assert.equal(float16BitsFromNumber(1), 0x3c00);
  assert.equal(float16BitsFromNumber(65504), 0x7bff);
  assert.equal(float16BitsFromNumber(65519), 0x7bff);
  assert.equal(float16BitsFromNumber(65520), 0x7c00);
  assert.equal(float16BitsFromNumber(2 ** -24), 0x0001);
  assert.equal(float16BitsFromNumber(2 ** -25), 0x0000); // tie to even (0)
  assert.equal(float16BitsFromNumber(3 * 2 ** -25), 0x0002); // 1.5 ulp ties to 2
  assert.equal(float16BitsFromNumber(1 + 2 ** -11), 0x3c00); // halfway between 1 and next: even
  assert.equal(float16BitsFromNumber(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(float16BitsFromNumber(2047.9), 0x6800); // rounds up across the binade to 2048
  assert.equal(float16BitsFromNumber(-0), 0x8000);
  assert.equal(bfloat16BitsFromNumber(1), 0x3f80);
  assert.equal(bfloat16BitsFromNumber(1 + 2 ** -8), 0x3f80); // tie to even
  assert.equal(bfloat16BitsFromNumber(1 + 3 * 2 ** -8), 0x3f82);
  for (let bits = 0; bits < 0x7c00; bits += 7) assert.equal(float16BitsFromNumber(float16FromBits(bits)), bits);
  assert.deepEqual(Array.from(encodeValues([1, -2], 'int16')), [1, 0, 0xfe, 0xff]);
  assert.throws(() => encodeValues([300], 'uint8'), /not a uint8/);
  assert.throws(() => encodeValues([1.5], 'int32'), /not a int32/);
});

test('checkedNumel rejects negative, fractional and overflowing shapes', () => {
  assert.deepEqual(checkedNumel([2, 3, 4]), { numel: 24 });
  assert.deepEqual(checkedNumel([]), { numel: 1 });
  assert.deepEqual(checkedNumel([5, 0]), { numel: 0 });
  assert.match((checkedNumel([2, -1]) as { error: string }).error, /negative/);
  assert.match((checkedNumel([2.5]) as { error: string }).error, /not an integer/);
  assert.match((checkedNumel([2 ** 30, 2 ** 30, 2 ** 30]) as { error: string }).error, /2\^53/);
  assert.match((checkedNumel(['3']) as { error: string }).error, /not a number/);
});
