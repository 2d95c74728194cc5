/**
 * GGUF (versions 2 and 3), the llama.cpp/ggml checkpoint format: "GGUF", version, tensor and
 * key-value counts, typed key-values, tensor infos (name, dims with the fastest-varying first, ggml
 * type, offset), then aligned tensor data.
 *
 * The header is read field by field through a bounded cursor with limits on every count and length.
 * F32/F16/BF16/F64, the integer types, the Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and Q2_K..Q8_K block
 * quantisations, IQ4_NL, IQ4_XS and the ternary TQ1_0/TQ2_0 are decoded; the other IQ types (lattice
 * codebooks) are listed in `leftOut` with the elements they hold, so totals can say what they miss.
 */
import { checkedNumel, float16FromBits } from './dtypes';
import { type ByteSource, BoundedReader, ByteCursor } from './reader';
import { chunkLimit, contiguousTensor } from './source';
import { type LeftOutTensor, type OpenOptions, type OpenedWeightFile, type TensorSource, WeightFileError, type WeightFormatParser } from './types';
import { setOwn } from './ownNames';

export const MAX_GGUF_TENSORS = 1_000_000;
export const MAX_GGUF_KEYS = 1_000_000;
export const MAX_GGUF_STRING_BYTES = 64 * 1024 * 1024;
const MAX_KEY_BYTES = 65_535;
const MAX_DIMS = 8;
const MAX_ARRAY_NESTING = 4;
const DEFAULT_ALIGNMENT = 32;

interface GgmlType {
  name: string;
  blockElements: number;
  blockBytes: number;
}

/** ggml_type ids, with block sizes (elements) and block byte sizes from ggml's type traits. */
export const GGML_TYPES: Record<number, GgmlType> = {
  0: { name: 'F32', blockElements: 1, blockBytes: 4 },
  1: { name: 'F16', blockElements: 1, blockBytes: 2 },
  2: { name: 'Q4_0', blockElements: 32, blockBytes: 18 },
  3: { name: 'Q4_1', blockElements: 32, blockBytes: 20 },
  6: { name: 'Q5_0', blockElements: 32, blockBytes: 22 },
  7: { name: 'Q5_1', blockElements: 32, blockBytes: 24 },
  8: { name: 'Q8_0', blockElements: 32, blockBytes: 34 },
  9: { name: 'Q8_1', blockElements: 32, blockBytes: 36 },
  10: { name: 'Q2_K', blockElements: 256, blockBytes: 84 },
  11: { name: 'Q3_K', blockElements: 256, blockBytes: 110 },
  12: { name: 'Q4_K', blockElements: 256, blockBytes: 144 },
  13: { name: 'Q5_K', blockElements: 256, blockBytes: 176 },
  14: { name: 'Q6_K', blockElements: 256, blockBytes: 210 },
  15: { name: 'Q8_K', blockElements: 256, blockBytes: 292 },
  20: { name: 'IQ4_NL', blockElements: 32, blockBytes: 18 },
  23: { name: 'IQ4_XS', blockElements: 256, blockBytes: 136 },
  24: { name: 'I8', blockElements: 1, blockBytes: 1 },
  25: { name: 'I16', blockElements: 1, blockBytes: 2 },
  26: { name: 'I32', blockElements: 1, blockBytes: 4 },
  27: { name: 'I64', blockElements: 1, blockBytes: 8 },
  28: { name: 'F64', blockElements: 1, blockBytes: 8 },
  30: { name: 'BF16', blockElements: 1, blockBytes: 2 },
  34: { name: 'TQ1_0', blockElements: 256, blockBytes: 54 },
  35: { name: 'TQ2_0', blockElements: 256, blockBytes: 66 },
};

/** Names of ggml types whose layout we do not decode (nor size), for the warning text. */
const OTHER_GGML_TYPE_NAMES: Record<number, string> = {
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  21: 'IQ3_S',
  22: 'IQ2_S',
  29: 'IQ1_M',
  39: 'MXFP4',
};

const PLAIN_TYPES = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64', I8: 'int8', I16: 'int16', I32: 'int32', I64: 'int64' } as const;

const VALUE_TYPE_NAMES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'];

export function isGguf(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46;
}

async function readString(cursor: ByteCursor, what: string, max = MAX_GGUF_STRING_BYTES): Promise<string> {
  const length = await cursor.u64AsNumber(`${what} length`, Math.min(max, cursor.remaining));
  return new TextDecoder().decode(await cursor.bytes(length));
}

/** Reads one typed value; arrays are summarised when long. Returns its text for the metadata record. */
async function readValue(cursor: ByteCursor, type: number, key: string, depth: number): Promise<{ text: string; value?: number }> {
  switch (type) {
    case 0: {
      const v = await cursor.u8();
      return { text: String(v), value: v };
    }
    case 1: {
      const v = ((await cursor.u8()) << 24) >> 24;
      return { text: String(v), value: v };
    }
    case 2: {
      const v = await cursor.u16();
      return { text: String(v), value: v };
    }
    case 3: {
      const v = await cursor.i16();
      return { text: String(v), value: v };
    }
    case 4: {
      const v = await cursor.u32();
      return { text: String(v), value: v };
    }
    case 5: {
      const v = await cursor.i32();
      return { text: String(v), value: v };
    }
    case 6: {
      const v = await cursor.f32();
      return { text: String(v), value: v };
    }
    case 7: {
      const v = await cursor.u8();
      if (v > 1) cursor.fail(`key "${key}": bool value ${v}`);
      return { text: v ? 'true' : 'false', value: v };
    }
    case 8:
      return { text: await readString(cursor, `key "${key}" string`) };
    case 9: {
      if (depth >= MAX_ARRAY_NESTING) cursor.fail(`key "${key}": arrays nest deeper than ${MAX_ARRAY_NESTING}`);
      const itemType = await cursor.u32();
      if (itemType >= VALUE_TYPE_NAMES.length) cursor.fail(`key "${key}": unknown array element type ${itemType}`);
      // Every element takes at least one byte, so the count cannot exceed the bytes left.
      const count = await cursor.u64AsNumber(`key "${key}" array length`, cursor.remaining);
      const shown: string[] = [];
      for (let i = 0; i < count; i++) {
        const item = await readValue(cursor, itemType, key, depth + 1);
        if (i < 8) shown.push(itemType === 8 ? JSON.stringify(item.text) : item.text);
      }
      return { text: `[${shown.join(', ')}${count > 8 ? `, ... (${count} ${VALUE_TYPE_NAMES[itemType]})` : ''}]` };
    }
    case 10: {
      const v = await cursor.u64();
      return { text: String(v), value: Number(v) };
    }
    case 11: {
      const v = await cursor.i64();
      return { text: String(v), value: Number(v) };
    }
    case 12: {
      const v = await cursor.f64();
      return { text: String(v), value: v };
    }
    default:
      return cursor.fail(`key "${key}": unknown value type ${type}`);
  }
}

/**
 * Block dequantisers, one per ggml type, following ggml's dequantize_row_* reference code. Each
 * decodes the block at `at` in `bytes` into out[base .. base + block elements). Products are
 * rounded to float32 step by step (Math.fround), as ggml's float arithmetic does.
 */
type BlockDecoder = (bytes: Uint8Array, at: number, out: Float32Array, base: number) => void;

const f = Math.fround;
const half = (bytes: Uint8Array, at: number) => float16FromBits(bytes[at] | (bytes[at + 1] << 8));

/** The 6-bit scale and min of sub-block j packed in the 12 `scales` bytes of Q4_K/Q5_K. */
function scaleMinK4(bytes: Uint8Array, scales: number, j: number): [number, number] {
  if (j < 4) return [bytes[scales + j] & 63, bytes[scales + j + 4] & 63];
  return [
    (bytes[scales + j + 4] & 0x0f) | ((bytes[scales + j - 4] >> 6) << 4),
    (bytes[scales + j + 4] >> 4) | ((bytes[scales + j] >> 6) << 4),
  ];
}

/** The 16 non-uniform levels of IQ4_NL and IQ4_XS (ggml's kvalues_iq4nl). */
const IQ4_LEVELS = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** 16 bytes of IQ4 nibbles at `qs`, 32 elements: low nibbles first, then high, each level * scale. */
function iq4Nibbles(bytes: Uint8Array, qs: number, scale: number, out: Float32Array, base: number): void {
  for (let j = 0; j < 16; j++) {
    const q = bytes[qs + j];
    out[base + j] = scale * IQ4_LEVELS[q & 0x0f];
    out[base + j + 16] = scale * IQ4_LEVELS[q >> 4];
  }
}

/**
 * The base-3 digit a TQ1_0 byte holds at position n: the byte is a fixed-point fraction of 3^5, so
 * multiplying by 3^n (mod 256) shifts digit n to the top, and (q * 3) >> 8 reads it (0, 1 or 2).
 */
function ternaryDigit(byte: number, power: number): number {
  return (((byte * power) & 0xff) * 3) >> 8;
}

const POWERS_OF_3 = [1, 3, 9, 27, 81];

const BLOCK_DECODERS: Record<string, BlockDecoder> = {
  // d (f16), 16 bytes of nibbles indexing IQ4_LEVELS.
  IQ4_NL(bytes, at, out, base) {
    iq4Nibbles(bytes, at + 2, half(bytes, at), out, base);
  },
  // d (f16), scales_h (u16: 2 high bits per 32-element sub-block), scales_l (4 bytes: 4 low bits
  // each), 128 bytes of nibbles; sub-block scale d * (6-bit scale - 32).
  IQ4_XS(bytes, at, out, base) {
    const d = half(bytes, at);
    const high = bytes[at + 2] | (bytes[at + 3] << 8);
    for (let s = 0; s < 8; s++) {
      const low = (bytes[at + 4 + (s >> 1)] >> (4 * (s & 1))) & 0x0f;
      const scale = low | (((high >> (2 * s)) & 3) << 4);
      iq4Nibbles(bytes, at + 8 + 16 * s, f(d * (scale - 32)), out, base + 32 * s);
    }
  },
  // 48 bytes of 5 ternary digits each, 4 bytes of 4 digits each, then d (f16); value (digit - 1) d.
  // Bytes 0..31 give elements 32 n + m (digit n of byte m), bytes 32..47 elements 160 + 16 n + m,
  // the 4 qh bytes elements 240 + 4 n + j.
  TQ1_0(bytes, at, out, base) {
    const d = half(bytes, at + 52);
    let o = base;
    for (let n = 0; n < 5; n++) for (let m = 0; m < 32; m++) out[o++] = (ternaryDigit(bytes[at + m], POWERS_OF_3[n]) - 1) * d;
    for (let n = 0; n < 5; n++) for (let m = 0; m < 16; m++) out[o++] = (ternaryDigit(bytes[at + 32 + m], POWERS_OF_3[n]) - 1) * d;
    for (let n = 0; n < 4; n++) for (let j = 0; j < 4; j++) out[o++] = (ternaryDigit(bytes[at + 48 + j], POWERS_OF_3[n]) - 1) * d;
  },
  // 64 bytes of four 2-bit values each, then d (f16); value (q - 1) d. Byte 32 h + m holds
  // elements 128 h + 32 l + m in its bits 2l..2l+1.
  TQ2_0(bytes, at, out, base) {
    const d = half(bytes, at + 64);
    let o = base;
    for (let h = 0; h < 2; h++) {
      for (let l = 0; l < 4; l++) for (let m = 0; m < 32; m++) out[o++] = (((bytes[at + 32 * h + m] >> (2 * l)) & 3) - 1) * d;
    }
  },
  // d (f16), 32 x int8.
  Q8_0(bytes, at, out, base) {
    const d = half(bytes, at);
    for (let j = 0; j < 32; j++) out[base + j] = ((bytes[at + 2 + j] << 24) >> 24) * d;
  },
  // d, 16 bytes of nibbles: low nibbles are elements 0..15, high nibbles 16..31, value (q - 8) d.
  Q4_0(bytes, at, out, base) {
    const d = half(bytes, at);
    for (let j = 0; j < 16; j++) {
      const q = bytes[at + 2 + j];
      out[base + j] = ((q & 0x0f) - 8) * d;
      out[base + j + 16] = ((q >> 4) - 8) * d;
    }
  },
  // d, m, 16 bytes of nibbles: value q d + m.
  Q4_1(bytes, at, out, base) {
    const d = half(bytes, at);
    const m = half(bytes, at + 2);
    for (let j = 0; j < 16; j++) {
      const q = bytes[at + 4 + j];
      out[base + j] = f(f((q & 0x0f) * d) + m);
      out[base + j + 16] = f(f((q >> 4) * d) + m);
    }
  },
  // d, 32 high bits (u32), 16 bytes of nibbles: value (q - 16) d with q = nibble | high bit << 4.
  Q5_0(bytes, at, out, base) {
    const d = half(bytes, at);
    const high = (bytes[at + 2] | (bytes[at + 3] << 8) | (bytes[at + 4] << 16) | (bytes[at + 5] << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = bytes[at + 6 + j];
      out[base + j] = (((q & 0x0f) | (((high >>> j) & 1) << 4)) - 16) * d;
      out[base + j + 16] = (((q >> 4) | (((high >>> (j + 16)) & 1) << 4)) - 16) * d;
    }
  },
  // d, m, 32 high bits, 16 bytes of nibbles: value q d + m.
  Q5_1(bytes, at, out, base) {
    const d = half(bytes, at);
    const m = half(bytes, at + 2);
    const high = (bytes[at + 4] | (bytes[at + 5] << 8) | (bytes[at + 6] << 16) | (bytes[at + 7] << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = bytes[at + 8 + j];
      out[base + j] = f(f(((q & 0x0f) | (((high >>> j) & 1) << 4)) * d) + m);
      out[base + j + 16] = f(f(((q >> 4) | (((high >>> (j + 16)) & 1) << 4)) * d) + m);
    }
  },
  // d, dmin, 12 bytes of 6-bit scales/mins for 8 sub-blocks of 32, 128 bytes of nibbles.
  Q4_K(bytes, at, out, base) {
    const d = half(bytes, at);
    const dmin = half(bytes, at + 2);
    const scales = at + 4;
    let q = at + 16;
    for (let group = 0; group < 4; group++) {
      const [sc1, m1] = scaleMinK4(bytes, scales, 2 * group);
      const [sc2, m2] = scaleMinK4(bytes, scales, 2 * group + 1);
      const d1 = f(d * sc1);
      const min1 = f(dmin * m1);
      const d2 = f(d * sc2);
      const min2 = f(dmin * m2);
      const o = base + group * 64;
      for (let l = 0; l < 32; l++) {
        out[o + l] = f(f(d1 * (bytes[q + l] & 0x0f)) - min1);
        out[o + 32 + l] = f(f(d2 * (bytes[q + l] >> 4)) - min2);
      }
      q += 32;
    }
  },
  // Q4_K plus 32 bytes of fifth bits: bit s of qh[l] belongs to sub-block s.
  Q5_K(bytes, at, out, base) {
    const d = half(bytes, at);
    const dmin = half(bytes, at + 2);
    const scales = at + 4;
    const qh = at + 16;
    let ql = at + 48;
    for (let group = 0; group < 4; group++) {
      const [sc1, m1] = scaleMinK4(bytes, scales, 2 * group);
      const [sc2, m2] = scaleMinK4(bytes, scales, 2 * group + 1);
      const d1 = f(d * sc1);
      const min1 = f(dmin * m1);
      const d2 = f(d * sc2);
      const min2 = f(dmin * m2);
      const low = 1 << (2 * group);
      const highBit = 2 << (2 * group);
      const o = base + group * 64;
      for (let l = 0; l < 32; l++) {
        out[o + l] = f(f(d1 * ((bytes[ql + l] & 0x0f) + (bytes[qh + l] & low ? 16 : 0))) - min1);
        out[o + 32 + l] = f(f(d2 * ((bytes[ql + l] >> 4) + (bytes[qh + l] & highBit ? 16 : 0))) - min2);
      }
      ql += 32;
    }
  },
  // 16 scale bytes (low nibble scale, high nibble min, one per 16 elements), 64 bytes of 2-bit quants, d, dmin.
  Q2_K(bytes, at, out, base) {
    const d = half(bytes, at + 80);
    const dmin = half(bytes, at + 82);
    for (let e = 0; e < 256; e++) {
      const packed = bytes[at + (e >> 4)];
      const q = (bytes[at + 16 + (e >> 7) * 32 + (e & 31)] >> (2 * ((e & 127) >> 5))) & 3;
      out[base + e] = f(f(f(d * (packed & 0x0f)) * q) - f(dmin * (packed >> 4)));
    }
  },
  // 32 bytes of high bits (element e: hmask[e % 32] bit e / 32), 64 bytes of 2-bit quants, 12 bytes
  // of 6-bit signed scales (one per 16 elements, offset by 32), d. Quant = low 2 bits - (high bit ? 0 : 4).
  Q3_K(bytes, at, out, base) {
    const d = half(bytes, at + 108);
    const scales = at + 96;
    for (let e = 0; e < 256; e++) {
      const j = e >> 4;
      const low = j < 8 ? bytes[scales + j] & 0x0f : bytes[scales + j - 8] >> 4;
      const high = (bytes[scales + 8 + (j & 3)] >> (2 * (j >> 2))) & 3;
      const q = (bytes[at + 32 + (e >> 7) * 32 + (e & 31)] >> (2 * ((e & 127) >> 5))) & 3;
      const set = (bytes[at + (e & 31)] >> (e >> 5)) & 1;
      out[base + e] = f(f(d * ((low | (high << 4)) - 32)) * (q - (set ? 0 : 4)));
    }
  },
  // float32 d, 256 x int8, 16 int16 block sums (unused here): value q d.
  Q8_K(bytes, at, out, base) {
    const d = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getFloat32(0, true);
    for (let e = 0; e < 256; e++) out[base + e] = f(((bytes[at + 4 + e] << 24) >> 24) * d);
  },
  // 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales (one per 16 elements), d.
  Q6_K(bytes, at, out, base) {
    const d = half(bytes, at + 208);
    for (let half128 = 0; half128 < 2; half128++) {
      const ql = at + half128 * 64;
      const qh = at + 128 + half128 * 32;
      const sc = at + 192 + half128 * 8;
      const o = base + half128 * 128;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = bytes[qh + l];
        const q1 = ((bytes[ql + l] & 0x0f) | ((h & 3) << 4)) - 32;
        const q2 = ((bytes[ql + l + 32] & 0x0f) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((bytes[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((bytes[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        const scale = (k: number) => f(d * ((bytes[sc + is + k] << 24) >> 24));
        out[o + l] = f(scale(0) * q1);
        out[o + l + 32] = f(scale(2) * q2);
        out[o + l + 64] = f(scale(4) * q3);
        out[o + l + 96] = f(scale(6) * q4);
      }
    }
  },
};

/**
 * Which stored quant decodes to zero, per block type, said beside the zero count. Symmetric types
 * have a zero point (the quant that decodes to exactly 0); types with a per-block minimum have none.
 */
const ZERO_OF_BLOCK_TYPE: Record<string, string> = {
  Q8_0: 'd * q: a stored q of 0 counts as zero',
  Q4_0: '(q - 8) * d: a stored q of 8 (the zero point) counts as zero',
  Q5_0: '(q - 16) * d: a stored q of 16 (the zero point) counts as zero',
  Q8_K: 'd * q: a stored q of 0 counts as zero',
  Q6_K: 'd * scale * (q - 32): a stored q of 32 (the zero point) counts as zero',
  Q3_K: 'd * scale * q with a signed 3-bit q: a q of 0 counts as zero',
};
const MIN_OFFSET_TYPES = new Set(['Q4_1', 'Q5_1', 'Q4_K', 'Q5_K', 'Q2_K']);

export function ggufZeroRule(type: string): string {
  const rule = ZERO_OF_BLOCK_TYPE[type];
  if (rule) return `${type} blocks, value ${rule}`;
  if (MIN_OFFSET_TYPES.has(type)) return `${type} blocks, value d * q + m (a per-block minimum, no zero point): only values that decode to exactly 0 count as zero`;
  return `${type} blocks: only values that decode to exactly 0 count as zero`;
}

/** A block-quantised tensor, dequantised a whole number of blocks at a time. */
function quantisedTensor(name: string, type: GgmlType, shape: number[], numel: number, source: ByteSource, byteOffset: number): TensorSource {
  const decode = BLOCK_DECODERS[type.name];
  const { blockElements, blockBytes } = type;
  return {
    name,
    dtype: type.name.toLowerCase(),
    shape,
    numel,
    quantization: ggufZeroRule(type.name),
    byteOffset,
    byteLength: (numel / blockElements) * blockBytes,
    async *chunks(options) {
      const limit = chunkLimit(source.file, options);
      const blocksPerRead = Math.max(1, Math.floor(Math.max(limit, 1 << 16) / blockElements));
      const totalBlocks = numel / blockElements;
      const out = new Float32Array(Math.min(blocksPerRead, totalBlocks) * blockElements);
      for (let block = 0; block < totalBlocks; ) {
        options?.signal?.throwIfAborted();
        const count = Math.min(blocksPerRead, totalBlocks - block);
        const bytes = await source.read(byteOffset + block * blockBytes, count * blockBytes, `tensor "${name}"`);
        for (let b = 0; b < count; b++) decode(bytes, b * blockBytes, out, b * blockElements);
        const produced = count * blockElements;
        for (let start = 0; start < produced; start += limit) yield out.subarray(start, Math.min(start + limit, produced));
        block += count;
      }
    },
  };
}

async function openGguf(file: string): Promise<OpenedWeightFile> {
  const reader = await BoundedReader.open(file);
  try {
    const cursor = new ByteCursor(reader, 0, 1 << 20, 'GGUF header');
    if (reader.size < 24) cursor.fail(`only ${reader.size} bytes; truncated`);
    const magic = await cursor.bytes(4);
    if (!isGguf(magic)) cursor.fail('missing the GGUF magic');
    const version = await cursor.u32();
    if (version === 1) cursor.fail('GGUF version 1 is not supported (convert it with a current llama.cpp)');
    if (version !== 2 && version !== 3) {
      cursor.fail(version > 0xffff ? `version field ${version} looks byte-swapped: big-endian GGUF is not supported` : `unsupported GGUF version ${version}`);
    }
    const tensorCount = await cursor.u64AsNumber('tensor count', MAX_GGUF_TENSORS);
    const keyCount = await cursor.u64AsNumber('key-value count', MAX_GGUF_KEYS);
    const metadata: Record<string, string> = { 'gguf.version': String(version) };
    let alignment = DEFAULT_ALIGNMENT;
    for (let i = 0; i < keyCount; i++) {
      const key = await readString(cursor, `key ${i}`, MAX_KEY_BYTES);
      const type = await cursor.u32();
      const { text, value } = await readValue(cursor, type, key, 0);
      setOwn(metadata, key, text.length > 500 ? `${text.slice(0, 497)}...` : text);
      if (key === 'general.alignment') {
        if (value === undefined || !Number.isSafeInteger(value) || value < 1 || value > 1 << 20 || (value & (value - 1)) !== 0) {
          cursor.fail(`general.alignment ${text} is not a power of two up to 2^20`);
        }
        alignment = value as number;
      }
    }

    interface Info {
      name: string;
      dims: number[];
      type: number;
      offset: number;
    }
    const infos: Info[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = await readString(cursor, `tensor ${i} name`, MAX_KEY_BYTES);
      const dimCount = await cursor.u32();
      if (dimCount > MAX_DIMS) cursor.fail(`tensor "${name}" has ${dimCount} dimensions (at most ${MAX_DIMS})`);
      const dims: number[] = [];
      for (let d = 0; d < dimCount; d++) dims.push(await cursor.u64AsNumber(`tensor "${name}" dimension ${d}`));
      const type = await cursor.u32();
      const offset = await cursor.u64AsNumber(`tensor "${name}" offset`);
      infos.push({ name, dims, type, offset });
    }
    const dataStart = Math.ceil(cursor.position / alignment) * alignment;
    const dataBytes = reader.size - dataStart;
    if (dataBytes < 0 && tensorCount > 0) cursor.fail('the file ends before its tensor data');

    const tensors: TensorSource[] = [];
    const warnings: string[] = [];
    const leftOut: LeftOutTensor[] = [];
    const placed: { name: string; begin: number; end: number }[] = [];
    for (const info of infos) {
      // ggml lists the fastest-varying dimension first; row-major shape is the reverse.
      const shape = [...info.dims].reverse();
      const counted = checkedNumel(shape);
      if ('error' in counted) throw new WeightFileError(file, `tensor "${info.name}": ${counted.error}`);
      const ggml = GGML_TYPES[info.type];
      if (!ggml) {
        const known = OTHER_GGML_TYPE_NAMES[info.type];
        const typeName = known ?? `#${info.type}`;
        warnings.push(`tensor "${info.name}" has ggml type ${typeName}, which is not decoded; skipped`);
        leftOut.push({ name: info.name, shape, numel: counted.numel, reason: `ggml type ${typeName} is not decoded` });
        continue;
      }
      if ((info.dims[0] ?? 1) % ggml.blockElements !== 0) {
        throw new WeightFileError(file, `tensor "${info.name}": first dimension ${info.dims[0]} is not a multiple of the ${ggml.name} block size ${ggml.blockElements}`);
      }
      const byteLength = (counted.numel / ggml.blockElements) * ggml.blockBytes;
      if (info.offset + byteLength > dataBytes) {
        throw new WeightFileError(
          file,
          `tensor "${info.name}": ${byteLength} bytes at data offset ${info.offset} run past the end of the file (${Math.max(0, dataBytes)} data bytes); truncated`,
        );
      }
      placed.push({ name: info.name, begin: info.offset, end: info.offset + byteLength });
      const byteOffset = dataStart + info.offset;
      if (ggml.name in PLAIN_TYPES) {
        tensors.push(
          contiguousTensor({
            name: info.name,
            dtype: PLAIN_TYPES[ggml.name as keyof typeof PLAIN_TYPES],
            shape,
            numel: counted.numel,
            source: reader,
            byteOffset,
            fileByteOffset: byteOffset,
          }),
        );
      } else if (ggml.name in BLOCK_DECODERS) {
        tensors.push(quantisedTensor(info.name, ggml, shape, counted.numel, reader, byteOffset));
      } else {
        warnings.push(`tensor "${info.name}" has ggml type ${ggml.name}, which is not decoded; skipped`);
        leftOut.push({ name: info.name, shape, numel: counted.numel, reason: `ggml type ${ggml.name} is not decoded` });
      }
    }
    placed.sort((a, b) => a.begin - b.begin);
    for (let i = 1; i < placed.length; i++) {
      if (placed[i].begin < placed[i - 1].end) {
        throw new WeightFileError(file, `tensors "${placed[i - 1].name}" and "${placed[i].name}" overlap`);
      }
    }
    return { file, format: 'gguf', fileBytes: reader.size, tensors, warnings, ...(leftOut.length > 0 ? { leftOut } : {}), metadata, close: () => reader.close() };
  } catch (error) {
    await reader.close();
    throw error;
  }
}

export const ggufParser: WeightFormatParser = {
  format: 'gguf',
  sniff: (head) => isGguf(head),
  open: (file: string, _options?: OpenOptions) => openGguf(file),
};
