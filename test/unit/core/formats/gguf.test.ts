import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { detectFormat, openWeightFile } from '../../../../extension/core/formats/index';
import { WeightFileError } from '../../../../extension/core/formats/types';
import { formatSparsityReport } from '../../../../extension/core/sparsity/format';
import { scanWeightFile } from '../../../../extension/core/sparsity/scan';
import { concat, ggufHeader as header, ggufTensorInfo as tensorInfo, le32, tempDir, valuesByName } from './weightFileHelpers';

const dir = tempDir('gguf');

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

// Q8_0 blocks: fp16 scale then 32 int8. Block 0: d = 0.5 (0x3800), q = -16..15; block 1: d = 2 (0x4000), q = 127, -128, 0...
const q8 = new Uint8Array(68);
q8.set([0x00, 0x38], 0);
for (let j = 0; j < 32; j++) q8[2 + j] = (j - 16) & 0xff;
q8.set([0x00, 0x40, 127, 0x80], 34);
const q8Expected = [...Array.from({ length: 32 }, (_, j) => (j - 16) * 0.5), 254, -256, ...new Array(30).fill(0)];
// Q4_0: d = 2 (0x4000); byte j = j | (15 - j) << 4 -> element j = (j - 8) * 2, element j + 16 = (7 - j) * 2.
const q4 = new Uint8Array(18);
q4.set([0x00, 0x40]);
for (let j = 0; j < 16; j++) q4[2 + j] = j | ((15 - j) << 4);
const q4Expected = [...Array.from({ length: 16 }, (_, j) => (j - 8) * 2), ...Array.from({ length: 16 }, (_, j) => (7 - j) * 2)];
// Q4_1: d = 0.25 (0x3400), m = -1 (0xbc00); byte j = j | j << 4 -> elements j and j + 16 = j / 4 - 1.
const q41 = new Uint8Array(20);
q41.set([0x00, 0x34, 0x00, 0xbc]);
for (let j = 0; j < 16; j++) q41[4 + j] = j | (j << 4);
const q41Expected = [...Array.from({ length: 16 }, (_, j) => j / 4 - 1), ...Array.from({ length: 16 }, (_, j) => j / 4 - 1)];

function sampleFile(): Uint8Array {
  const w = header(7, 6);
  w.str('general.architecture').u32(8).str('llama');
  w.str('general.alignment').u32(4).u32(64);
  w.str('tokenizer.ggml.tokens').u32(9).u32(8).u64(3).str('<s>').str('a').str('b');
  w.str('llama.context_length').u32(10).u64(4096);
  w.str('general.flag').u32(7).u8(1);
  w.str('general.scale').u32(6).f32(0.5);
  // Offsets relative to the data section, each aligned to 64.
  tensorInfo(w, 'w.f32', [3, 2], 0, 0); // 24 bytes, shape [2, 3]
  tensorInfo(w, 'w.f16', [4], 1, 64); // 8 bytes
  tensorInfo(w, 'w.q8', [64], 8, 128); // 68 bytes
  tensorInfo(w, 'w.q4', [32], 2, 256); // 18 bytes
  tensorInfo(w, 'w.q41', [32], 3, 320); // 20 bytes
  tensorInfo(w, 'w.q6k', [256], 14, 384); // 210 bytes of zeros: d = 0
  tensorInfo(w, 'w.iq2', [256], 16, 640); // not decoded, size unknown to us
  w.pad(64);
  const data = new Uint8Array(704);
  data.set(le32([1, 2, 3, 4, 5, 6]), 0);
  data.set([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x00, 0x00], 64); // 1, -2, 65504, 0
  data.set(q8, 128);
  data.set(q4, 256);
  data.set(q41, 320);
  return concat(w.bytes(), data);
}

test('a GGUF v3 file: metadata, plain and block-quantised tensors', async () => {
  const file = write('model.gguf', sampleFile());
  assert.equal(await detectFormat(file), 'gguf');
  const opened = await openWeightFile(file);
  assert.equal(opened.format, 'gguf');
  assert.equal(opened.metadata?.['general.architecture'], 'llama');
  assert.equal(opened.metadata?.['general.alignment'], '64');
  assert.equal(opened.metadata?.['tokenizer.ggml.tokens'], '["<s>", "a", "b"]');
  assert.equal(opened.metadata?.['llama.context_length'], '4096');
  assert.equal(opened.metadata?.['general.flag'], 'true');
  assert.deepEqual(opened.tensors.map((t) => [t.name, t.dtype, t.shape]), [
    ['w.f32', 'float32', [2, 3]],
    ['w.f16', 'float16', [4]],
    ['w.q8', 'q8_0', [64]],
    ['w.q4', 'q4_0', [32]],
    ['w.q41', 'q4_1', [32]],
    ['w.q6k', 'q6_k', [256]],
  ]);
  // Which stored quant is zero, said per block type: Q4_0's zero point is 8 (element 8 above); Q4_1 has a minimum instead.
  assert.deepEqual(opened.tensors.map((t) => t.quantization), [
    undefined,
    undefined,
    'Q8_0 blocks, value d * q: a stored q of 0 counts as zero',
    'Q4_0 blocks, value (q - 8) * d: a stored q of 8 (the zero point) counts as zero',
    'Q4_1 blocks, value d * q + m (a per-block minimum, no zero point): only values that decode to exactly 0 count as zero',
    'Q6_K blocks, value d * scale * (q - 32): a stored q of 32 (the zero point) counts as zero',
  ]);
  assert.deepEqual(opened.warnings, ['tensor "w.iq2" has ggml type IQ2_XXS, which is not decoded; skipped']);
  const values = await valuesByName(opened);
  assert.deepEqual(values['w.f32'], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(values['w.f16'], [1, -2, 65504, 0]);
  assert.deepEqual(values['w.q8'], q8Expected);
  assert.deepEqual(values['w.q4'], q4Expected);
  assert.deepEqual(values['w.q41'], q41Expected);
  assert.equal(values['w.q6k'].length, 256);
  assert.ok(values['w.q6k'].every((v) => v === 0)); // d = 0 (some come out as -0: 0 * negative quant)
  const sizes: number[] = [];
  for await (const chunk of opened.tensors[2].chunks({ maxChunkElements: 40 })) sizes.push(chunk.length);
  assert.deepEqual(sizes, [40, 24]);
  sizes.length = 0;
  for await (const chunk of opened.tensors[2].chunks({ maxChunkElements: 20 })) sizes.push(chunk.length);
  assert.deepEqual(sizes, [20, 20, 20, 4]);
  await opened.close();
});

async function rejects(bytes: Uint8Array, name: string, pattern: RegExp): Promise<void> {
  const file = write(name, bytes);
  await assert.rejects(openWeightFile(file), (e: unknown) => {
    assert.ok(e instanceof WeightFileError, String(e));
    assert.equal(e.file, file);
    assert.match(e.message, pattern);
    return true;
  });
}

test('malformed GGUF headers are refused with limits, not allocations', async () => {
  const full = sampleFile();
  await rejects(full.subarray(0, full.length - 500), 'trunc.gguf', /tensor "w\.q4": 18 bytes at data offset 256 run past the end/);
  await rejects(full.subarray(0, 60), 'cut-header.gguf', /truncated or corrupt/);
  await rejects(header(2 ** 40, 0).bytes(), 'count.gguf', /tensor count is 1099511627776, more than the limit 1000000/);
  const longString = header(0, 1).u64(2n ** 62n).bytes();
  await rejects(concat(longString, new Uint8Array(16)), 'string.gguf', /key 0 length is \d+, more than the limit/);
  const bigArray = header(0, 1).str('k').u32(9).u32(0).u64(2n ** 50n).bytes();
  await rejects(concat(bigArray, new Uint8Array(16)), 'array.gguf', /array length is \d+, more than the limit/);
  // Value type 9 (array), then per level: element type 9 (array), count 1.
  let nested = header(0, 1).str('k').u32(9);
  for (let i = 0; i < 6; i++) nested = nested.u32(9).u64(1);
  await rejects(concat(nested.bytes(), new Uint8Array(64)), 'nested.gguf', /arrays nest deeper than 4/);
  await rejects(concat(header(0, 1).str('k').u32(13).bytes(), new Uint8Array(8)), 'type.gguf', /unknown value type 13/);
  await rejects(concat(header(0, 0, 1).bytes(), new Uint8Array(8)), 'v1.gguf', /version 1 is not supported/);
  await rejects(concat(header(0, 1).str('general.alignment').u32(4).u32(48).bytes(), new Uint8Array(8)), 'align.gguf', /not a power of two/);
  const dims = header(1, 0);
  tensorInfo(dims, 't', [1, 2, 3, 4, 5, 6, 7, 8, 9], 0, 0);
  await rejects(dims.bytes(), 'dims.gguf', /has 9 dimensions/);
  const block = header(1, 0);
  tensorInfo(block, 't', [33], 8, 0);
  await rejects(concat(block.pad(32).bytes(), new Uint8Array(64)), 'block.gguf', /33 is not a multiple of the Q8_0 block size 32/);
  const overflow = header(1, 0);
  tensorInfo(overflow, 't', [2 ** 40, 2 ** 40], 0, 0);
  await rejects(concat(overflow.pad(32).bytes(), new Uint8Array(64)), 'overflow.gguf', /2\^53/);
  const overlap = header(2, 0);
  tensorInfo(overlap, 'a', [4], 0, 0);
  tensorInfo(overlap, 'b', [4], 0, 8);
  await rejects(concat(overlap.pad(32).bytes(), new Uint8Array(32)), 'overlap.gguf', /"a" and "b" overlap/);
});

test('the hand-written sample agrees with @huggingface/gguf, an independent header parser', async () => {
  const { gguf } = await import('@huggingface/gguf');
  const file = write('crosscheck.gguf', sampleFile());
  const theirs = await gguf(file, { allowLocalFile: true });
  const ours = await openWeightFile(file);
  const decodedNames = new Set(ours.tensors.map((t) => t.name));
  const theirShapes = theirs.tensorInfos
    .filter((info) => decodedNames.has(info.name))
    .map((info) => [info.name, info.shape.map(Number).reverse()]);
  assert.deepEqual(theirShapes, ours.tensors.map((t) => [t.name, t.shape]));
  assert.equal(theirs.tensorInfos.length, 7);
  const metadata = theirs.metadata as unknown as Record<string, unknown>;
  assert.equal(metadata['general.architecture'], ours.metadata?.['general.architecture']);
  assert.deepEqual(metadata['tokenizer.ggml.tokens'], ['<s>', 'a', 'b']);
  assert.equal(Number(metadata['llama.context_length']), 4096);
  await ours.close();
});

/**
 * K-quant and 5-bit blocks packed by hand from logical parameters (scales, mins, integer quants) per
 * ggml's block layouts; the expected values are computed from those logical parameters directly.
 */
function kQuantFile(): { bytes: Uint8Array; expected: Record<string, number[]> } {
  const expected: Record<string, number[]> = {};
  // Q4_K / Q5_K: d = 1 (0x3c00), dmin = 0.5 (0x3800); sub-block s has scale sc[s] and min m[s] (6 bits each).
  const sc = [1, 2, 3, 4, 5, 6, 7, 37];
  const m = [0, 1, 2, 3, 4, 5, 6, 50];
  const scales = new Uint8Array(12);
  for (let s = 0; s < 4; s++) {
    scales[s] = sc[s] | ((sc[s + 4] >> 4) << 6); // low 6 bits: sc[s]; top 2 bits: high bits of sc[s + 4]
    scales[s + 4] = m[s] | ((m[s + 4] >> 4) << 6);
    scales[s + 8] = (sc[s + 4] & 0x0f) | ((m[s + 4] & 0x0f) << 4);
  }
  const q4 = (e: number) => (e * 5 + 3) % 16; // 4-bit quant of element e
  const q4k = new Uint8Array(144);
  q4k.set([0x00, 0x3c, 0x00, 0x38]);
  q4k.set(scales, 4);
  for (let group = 0; group < 4; group++) {
    for (let l = 0; l < 32; l++) q4k[16 + group * 32 + l] = q4(group * 64 + l) | (q4(group * 64 + 32 + l) << 4);
  }
  expected.q4k = Array.from({ length: 256 }, (_, e) => sc[e >> 5] * q4(e) - 0.5 * m[e >> 5]);
  // Q5_K: same scales; element e = 64 g + r has quant q4(e) + 16 * hi(e), the fifth bit in qh[r % 32] bit (e >> 5).
  const hi = (e: number) => (e % 3 === 0 ? 1 : 0);
  const q5k = new Uint8Array(176);
  q5k.set([0x00, 0x3c, 0x00, 0x38]);
  q5k.set(scales, 4);
  for (let e = 0; e < 256; e++) if (hi(e)) q5k[16 + (e % 32)] |= 1 << (e >> 5);
  q5k.set(q4k.subarray(16), 48);
  expected.q5k = Array.from({ length: 256 }, (_, e) => sc[e >> 5] * (q4(e) + 16 * hi(e)) - 0.5 * m[e >> 5]);
  // Q6_K: d = 0.5 at byte 208; int8 scale s16[e >> 4]; 6-bit quant q6(e), value d * scale * (q6 - 32).
  const q6 = (e: number) => (e * 7) % 64;
  const s16 = Array.from({ length: 16 }, (_, i) => i - 8);
  const q6k = new Uint8Array(210);
  for (let half = 0; half < 2; half++) {
    for (let l = 0; l < 32; l++) {
      const [a, b, c, d] = [0, 32, 64, 96].map((k) => q6(half * 128 + k + l));
      q6k[half * 64 + l] = (a & 0x0f) | ((c & 0x0f) << 4);
      q6k[half * 64 + l + 32] = (b & 0x0f) | ((d & 0x0f) << 4);
      q6k[128 + half * 32 + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((d >> 4) << 6);
    }
  }
  s16.forEach((v, i) => (q6k[192 + i] = v & 0xff));
  q6k.set([0x00, 0x38], 208);
  expected.q6k = Array.from({ length: 256 }, (_, e) => 0.5 * s16[e >> 4] * (q6(e) - 32));
  // Q5_0: d = 0.25 (0x3400), u32 of fifth bits, nibbles (element j low, j + 16 high); value (q - 16) d.
  const q5 = (j: number) => (j * 5) % 32;
  const fifth = (q: number) => q >> 4;
  let bits = 0;
  for (let j = 0; j < 32; j++) bits |= fifth(q5(j)) << j;
  const nibbles = Array.from({ length: 16 }, (_, j) => (q5(j) & 0x0f) | ((q5(j + 16) & 0x0f) << 4));
  const bitBytes = [bits & 0xff, (bits >>> 8) & 0xff, (bits >>> 16) & 0xff, (bits >>> 24) & 0xff];
  const q50 = Uint8Array.from([0x00, 0x34, ...bitBytes, ...nibbles]);
  expected.q50 = Array.from({ length: 32 }, (_, j) => (q5(j) - 16) * 0.25);
  // Q5_1: d = 0.25, m = -1 (0xbc00); value q d + m.
  const q51 = Uint8Array.from([0x00, 0x34, 0x00, 0xbc, ...bitBytes, ...nibbles]);
  expected.q51 = Array.from({ length: 32 }, (_, j) => q5(j) * 0.25 - 1);

  // Q2_K: scale byte j = sc2[j] | mn2[j] << 4 (one per 16 elements), 2-bit quants packed as Q3_K's, d = 0.5, dmin = 0.25.
  const sc2 = Array.from({ length: 16 }, (_, j) => (j * 3) % 16);
  const mn2 = Array.from({ length: 16 }, (_, j) => 15 - j);
  const q2 = (e: number) => (e * 3 + 1) % 4;
  const pack2 = (target: Uint8Array, offset: number, quant: (e: number) => number) => {
    for (let half = 0; half < 2; half++) {
      for (let l = 0; l < 32; l++) {
        const [a, b, c, d] = [0, 32, 64, 96].map((k) => quant(half * 128 + k + l));
        target[offset + half * 32 + l] = a | (b << 2) | (c << 4) | (d << 6);
      }
    }
  };
  const q2k = new Uint8Array(84);
  sc2.forEach((v, j) => (q2k[j] = v | (mn2[j] << 4)));
  pack2(q2k, 16, q2);
  q2k.set([0x00, 0x38, 0x00, 0x34], 80);
  expected.q2k = Array.from({ length: 256 }, (_, e) => 0.5 * sc2[e >> 4] * q2(e) - 0.25 * mn2[e >> 4]);
  // Q3_K: 3-bit quant L(e) in 0..7 stored as low 2 bits + high bit (hmask[e % 32] bit e / 32); value
  // d * (s6[j] - 32) * (L - 4) with 6-bit scales s6 packed as 4 low bits + 2 high bits; d = 2 (0x4000).
  const l3 = (e: number) => (e * 5 + 2) % 8;
  const s6 = Array.from({ length: 16 }, (_, j) => (j * 13 + 7) % 64);
  const q3k = new Uint8Array(110);
  for (let e = 0; e < 256; e++) if (l3(e) > 3) q3k[e % 32] |= 1 << (e >> 5);
  pack2(q3k, 32, (e) => l3(e) & 3);
  for (let j = 0; j < 16; j++) {
    if (j < 8) q3k[96 + j] |= s6[j] & 0x0f;
    else q3k[96 + j - 8] |= (s6[j] & 0x0f) << 4;
    q3k[96 + 8 + (j % 4)] |= (s6[j] >> 4) << (2 * (j >> 2));
  }
  q3k.set([0x00, 0x40], 108);
  expected.q3k = Array.from({ length: 256 }, (_, e) => 2 * (s6[e >> 4] - 32) * (l3(e) - 4));
  // Q8_K: float32 d = 0.125, 256 int8, 32 bytes of block sums.
  const q8k = new Uint8Array(292);
  new DataView(q8k.buffer).setFloat32(0, 0.125, true);
  for (let e = 0; e < 256; e++) q8k[4 + e] = (e - 128) & 0xff;
  expected.q8k = Array.from({ length: 256 }, (_, e) => (e - 128) * 0.125);

  const w = header(8, 0);
  tensorInfo(w, 'q4k', [256], 12, 0);
  tensorInfo(w, 'q5k', [256], 13, 160);
  tensorInfo(w, 'q6k', [256], 14, 352);
  tensorInfo(w, 'q50', [32], 6, 576);
  tensorInfo(w, 'q51', [32], 7, 608);
  tensorInfo(w, 'q2k', [256], 10, 640);
  tensorInfo(w, 'q3k', [256], 11, 736);
  tensorInfo(w, 'q8k', [256], 15, 864);
  w.pad(32);
  const data = new Uint8Array(1156);
  data.set(q2k, 640);
  data.set(q3k, 736);
  data.set(q8k, 864);
  data.set(q4k, 0);
  data.set(q5k, 160);
  data.set(q6k, 352);
  data.set(q50, 576);
  data.set(q51, 608);
  return { bytes: concat(w.bytes(), data), expected };
}

test('K-quants (Q2_K..Q8_K) and Q5_0/Q5_1 dequantise to the values their fields encode', async () => {
  const { bytes, expected } = kQuantFile();
  const opened = await openWeightFile(write('kquants.gguf', bytes));
  assert.deepEqual(opened.warnings, []);
  assert.deepEqual(opened.tensors.map((t) => t.dtype), ['q4_k', 'q5_k', 'q6_k', 'q5_0', 'q5_1', 'q2_k', 'q3_k', 'q8_k']);
  assert.deepEqual(await valuesByName(opened), expected);
  await opened.close();
});

/** ggml's kvalues_iq4nl, the 16 levels IQ4_NL and IQ4_XS index. */
const IQ4_LEVELS = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/**
 * One block of each type, built field by field from ggml's block layouts (ggml-common.h) and, for
 * TQ1_0, with its quantiser's base-3 packing (digits most significant first, then ceil(q * 256 / 243));
 * the expected values are the formulas of the format, never the decoder under test.
 */
function iqTqFile(): { bytes: Uint8Array; expected: Record<string, number[]> } {
  const expected: Record<string, number[]> = {};
  // IQ4_NL: d = 0.5 (0x3800), byte j = index(j) | index(j + 16) << 4.
  const nlIndex = (e: number) => (e * 7 + 3) % 16;
  const iq4nl = new Uint8Array(18);
  iq4nl.set([0x00, 0x38]);
  for (let j = 0; j < 16; j++) iq4nl[2 + j] = nlIndex(j) | (nlIndex(j + 16) << 4);
  expected.iq4nl = Array.from({ length: 32 }, (_, e) => 0.5 * IQ4_LEVELS[nlIndex(e)]!);
  // IQ4_XS: d = 0.25 (0x3400), scales_h (u16), scales_l[4], qs[128]; sub-block s has the 6-bit
  // scale ls[s] (low 4 bits in scales_l, high 2 in scales_h), value d * (ls - 32) * level.
  const ls = [0, 1, 31, 32, 33, 47, 63, 40];
  const xsIndex = (s: number, e: number) => (e * 5 + s) % 16;
  const iq4xs = new Uint8Array(136);
  iq4xs.set([0x00, 0x34]);
  const scalesH = ls.reduce((h, v, s) => h | ((v >> 4) << (2 * s)), 0);
  iq4xs.set([scalesH & 0xff, scalesH >> 8], 2);
  for (let k = 0; k < 4; k++) iq4xs[4 + k] = (ls[2 * k]! & 15) | ((ls[2 * k + 1]! & 15) << 4);
  for (let s = 0; s < 8; s++) for (let j = 0; j < 16; j++) iq4xs[8 + 16 * s + j] = xsIndex(s, j) | (xsIndex(s, j + 16) << 4);
  expected.iq4xs = Array.from({ length: 256 }, (_, e) => 0.25 * (ls[e >> 5]! - 32) * IQ4_LEVELS[xsIndex(e >> 5, e % 32)]!);
  // Ternary digits t(e) in {0, 1, 2}, value (t - 1) * d.
  const t = (e: number) => (e * e + (e >> 3)) % 3;
  // TQ2_0: qs[64] then d = 2 (0x4000); element 128 h + 32 l + m sits in bits 2l of byte 32 h + m.
  const tq2 = new Uint8Array(66);
  for (let e = 0; e < 256; e++) tq2[32 * (e >> 7) + (e % 32)]! |= t(e) << (2 * ((e >> 5) & 3));
  tq2.set([0x00, 0x40], 64);
  expected.tq2 = Array.from({ length: 256 }, (_, e) => (t(e) - 1) * 2);
  // TQ1_0: qs[48], qh[4], d = 0.5 (0x3800). Byte m < 32 packs elements m + 32 n (n = 0..4), byte
  // 32 + m elements 160 + m + 16 n, qh[j] elements 240 + j + 4 n (n = 0..3, then a zero digit).
  const pack = (digits: number[]) => Math.ceil((digits.reduce((q, d) => q * 3 + d, 0) * 256) / 243);
  const tq1 = new Uint8Array(54);
  for (let m = 0; m < 32; m++) tq1[m] = pack([0, 1, 2, 3, 4].map((n) => t(m + 32 * n)));
  for (let m = 0; m < 16; m++) tq1[32 + m] = pack([0, 1, 2, 3, 4].map((n) => t(160 + m + 16 * n)));
  for (let j = 0; j < 4; j++) tq1[48 + j] = pack([...[0, 1, 2, 3].map((n) => t(240 + j + 4 * n)), 0]);
  tq1.set([0x00, 0x38], 52);
  expected.tq1 = Array.from({ length: 256 }, (_, e) => (t(e) - 1) * 0.5);

  const w = header(5, 0);
  tensorInfo(w, 'iq4nl', [32], 20, 0);
  tensorInfo(w, 'iq4xs', [256], 23, 32);
  tensorInfo(w, 'tq1', [256], 34, 192);
  tensorInfo(w, 'tq2', [256], 35, 256);
  tensorInfo(w, 'iq2xxs', [256, 2], 16, 352);
  w.pad(32);
  const data = new Uint8Array(352 + 2 * 66);
  data.set(iq4nl, 0);
  data.set(iq4xs, 32);
  data.set(tq1, 192);
  data.set(tq2, 256);
  return { bytes: concat(w.bytes(), data), expected };
}

test('IQ4_NL, IQ4_XS, TQ1_0 and TQ2_0 dequantise to the values their fields encode; the IQ types left are listed with their elements', async () => {
  const { bytes, expected } = iqTqFile();
  const opened = await openWeightFile(write('iq-tq.gguf', bytes));
  try {
    assert.deepEqual(opened.tensors.map((t) => t.dtype), ['iq4_nl', 'iq4_xs', 'tq1_0', 'tq2_0']);
    const values = await valuesByName(opened);
    // -0 and 0 are the same weight (a zero level or scale times a negative one).
    for (const name of Object.keys(expected)) assert.deepEqual(values[name]!.map((v) => v + 0), expected[name]!.map((v) => v + 0), name);
    // Chunks smaller than a block give the same values.
    const small: number[] = [];
    for await (const chunk of opened.tensors[2]!.chunks({ maxChunkElements: 7 })) small.push(...chunk);
    assert.deepEqual(small.map((v) => v + 0), expected.tq1!.map((v) => v + 0));
    assert.deepEqual(opened.leftOut, [{ name: 'iq2xxs', shape: [2, 256], numel: 512, reason: 'ggml type IQ2_XXS is not decoded' }]);
    assert.deepEqual(opened.warnings, ['tensor "iq2xxs" has ggml type IQ2_XXS, which is not decoded; skipped']);
  } finally {
    await opened.close();
  }
});

test('the sparsity totals of a GGUF file with undecodable tensors say how many elements they leave out', async () => {
  const { bytes } = iqTqFile();
  const file = write('left-out.gguf', bytes);
  const report = await scanWeightFile(file);
  // Decoded: 32 + 3 * 256 elements; left out: IQ2_XXS [2, 256].
  assert.equal(report.total.numel, 800);
  assert.deepEqual(report.total.leftOut, { tensors: 1, numel: 512 });
  assert.deepEqual(report.leftOut?.map((t) => [t.name, t.numel]), [['iq2xxs', 512]]);
  assert.match(formatSparsityReport(report), /^Left out: 1 tensor of 512 elements \(ggml type IQ2_XXS is not decoded\); the totals cover 800 of 1312 elements\.$/m);
});
