/**
 * Exact element decoders for every dtype the weight parsers meet, and bulk decoding of a byte chunk
 * into float32 or float64 values.
 *
 * Types whose values a float32 cannot hold exactly (float64, and integers wider than 24 bits) decode
 * to Float64Array; everything else decodes to Float32Array, which holds every float16, bfloat16,
 * float8 and 8/16-bit integer value exactly.
 */

export type DType =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float8_e4m3fn'
  | 'float8_e5m2'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint64'
  | 'uint32'
  | 'uint16'
  | 'uint8'
  | 'bool';

export const DTYPES: readonly DType[] = [
  'float64',
  'float32',
  'float16',
  'bfloat16',
  'float8_e4m3fn',
  'float8_e5m2',
  'int64',
  'int32',
  'int16',
  'int8',
  'uint64',
  'uint32',
  'uint16',
  'uint8',
  'bool',
];

const ITEM_SIZE: Record<DType, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float8_e4m3fn: 1,
  float8_e5m2: 1,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint64: 8,
  uint32: 4,
  uint16: 2,
  uint8: 1,
  bool: 1,
};

export function itemSize(dtype: DType): number {
  return ITEM_SIZE[dtype];
}

export function isDType(name: string): name is DType {
  return Object.prototype.hasOwnProperty.call(ITEM_SIZE, name);
}

/** Whether values of this dtype need float64 to be represented exactly. */
export function needsFloat64(dtype: DType): boolean {
  return dtype === 'float64' || dtype === 'int64' || dtype === 'uint64' || dtype === 'int32' || dtype === 'uint32';
}

/** A decoded-value buffer of the right precision for `dtype`. */
export function allocateDecoded(dtype: DType, length: number): Float32Array | Float64Array {
  return needsFloat64(dtype) ? new Float64Array(length) : new Float32Array(length);
}

// ---------------------------------------------------------------------------------------------
// Scalar decoders (exact, from the bit layouts).
// ---------------------------------------------------------------------------------------------

/** IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. */
export function float16FromBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** bfloat16: the upper 16 bits of a binary32. */
export function bfloat16FromBits(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0];
}

/** float8 E4M3 "fn" (finite, NaN only): 1 sign, 4 exponent (bias 7), 3 mantissa; S.1111.111 is NaN, no infinities. */
export function float8E4M3FnFromBits(bits: number): number {
  const sign = bits & 0x80 ? -1 : 1;
  const exponent = (bits >>> 3) & 0xf;
  const mantissa = bits & 0x7;
  if (exponent === 0xf && mantissa === 0x7) return NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -9;
  return sign * (1 + mantissa / 8) * 2 ** (exponent - 7);
}

/** float8 E5M2: 1 sign, 5 exponent (bias 15), 2 mantissa, IEEE-like infinities and NaNs. */
export function float8E5M2FromBits(bits: number): number {
  const sign = bits & 0x80 ? -1 : 1;
  const exponent = (bits >>> 2) & 0x1f;
  const mantissa = bits & 0x3;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -16;
  return sign * (1 + mantissa / 4) * 2 ** (exponent - 15);
}

const scratchU32 = new Uint32Array(1);
const scratchF32 = new Float32Array(scratchU32.buffer);

let float16Table: Float32Array | undefined;
let e4m3Table: Float32Array | undefined;
let e5m2Table: Float32Array | undefined;

function float16Lookup(): Float32Array {
  if (!float16Table) {
    float16Table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) float16Table[bits] = float16FromBits(bits);
  }
  return float16Table;
}

function byteLookup(kind: 'e4m3' | 'e5m2'): Float32Array {
  if (kind === 'e4m3') {
    if (!e4m3Table) {
      e4m3Table = new Float32Array(256);
      for (let bits = 0; bits < 256; bits++) e4m3Table[bits] = float8E4M3FnFromBits(bits);
    }
    return e4m3Table;
  }
  if (!e5m2Table) {
    e5m2Table = new Float32Array(256);
    for (let bits = 0; bits < 256; bits++) e5m2Table[bits] = float8E5M2FromBits(bits);
  }
  return e5m2Table;
}

/** Decodes `count` float16 values stored as bit patterns (already in host order). */
export function decodeFloat16Bits(bits: ArrayLike<number>, out: Float32Array | Float64Array, count = bits.length): void {
  const table = float16Lookup();
  for (let i = 0; i < count; i++) out[i] = table[bits[i] & 0xffff];
}

// ---------------------------------------------------------------------------------------------
// Bulk decoding of byte chunks.
// ---------------------------------------------------------------------------------------------

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes `bytes` (a whole number of elements of `dtype`, in the given byte order) into `out`,
 * which must hold at least bytes.length / itemSize(dtype) values. Returns the element count.
 */
export function decodeInto(
  bytes: Uint8Array,
  dtype: DType,
  out: Float32Array | Float64Array,
  littleEndian = true,
): number {
  const size = ITEM_SIZE[dtype];
  if (bytes.length % size !== 0) {
    throw new RangeError(`decodeInto: ${bytes.length} bytes is not a whole number of ${dtype} elements`);
  }
  const count = bytes.length / size;
  if (out.length < count) throw new RangeError(`decodeInto: output holds ${out.length} values, ${count} needed`);

  // Fast path: host-order data at an aligned offset can be viewed in place.
  const aligned = bytes.byteOffset % size === 0;
  if (aligned && littleEndian === HOST_LITTLE_ENDIAN) {
    const buffer = bytes.buffer;
    const offset = bytes.byteOffset;
    switch (dtype) {
      case 'float32':
        out.set(new Float32Array(buffer, offset, count));
        return count;
      case 'float64':
        out.set(new Float64Array(buffer, offset, count));
        return count;
      case 'int32':
        out.set(new Int32Array(buffer, offset, count));
        return count;
      case 'uint32':
        out.set(new Uint32Array(buffer, offset, count));
        return count;
      case 'int16':
        out.set(new Int16Array(buffer, offset, count));
        return count;
      case 'uint16':
        out.set(new Uint16Array(buffer, offset, count));
        return count;
      case 'float16':
        decodeFloat16Bits(new Uint16Array(buffer, offset, count), out, count);
        return count;
      case 'bfloat16': {
        const halves = new Uint16Array(buffer, offset, count);
        if (out instanceof Float32Array) {
          // A bfloat16 is the top half of a float32: shift the bits into place in the output itself.
          const words = new Uint32Array(out.buffer, out.byteOffset, count);
          for (let i = 0; i < count; i++) words[i] = halves[i] << 16;
        } else {
          for (let i = 0; i < count; i++) {
            scratchU32[0] = halves[i] << 16;
            out[i] = scratchF32[0];
          }
        }
        return count;
      }
      default:
        break;
    }
  }

  switch (dtype) {
    case 'uint8':
      out.set(bytes);
      return count;
    case 'int8':
      out.set(new Int8Array(bytes.buffer, bytes.byteOffset, count));
      return count;
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = bytes[i] !== 0 ? 1 : 0;
      return count;
    case 'float8_e4m3fn':
    case 'float8_e5m2': {
      const table = byteLookup(dtype === 'float8_e4m3fn' ? 'e4m3' : 'e5m2');
      for (let i = 0; i < count; i++) out[i] = table[bytes[i]];
      return count;
    }
    default:
      break;
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, littleEndian);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, littleEndian);
      break;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, littleEndian);
      break;
    case 'uint32':
      for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, littleEndian);
      break;
    case 'int16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, littleEndian);
      break;
    case 'uint16':
      for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, littleEndian);
      break;
    case 'float16': {
      const table = float16Lookup();
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, littleEndian)];
      break;
    }
    case 'bfloat16':
      for (let i = 0; i < count; i++) {
        scratchU32[0] = view.getUint16(i * 2, littleEndian) << 16;
        out[i] = scratchF32[0];
      }
      break;
    case 'int64':
    case 'uint64': {
      // hi * 2^32 is exact and the sum rounds once, so this equals Number(BigInt) for every value.
      const lowAt = littleEndian ? 0 : 4;
      const highAt = littleEndian ? 4 : 0;
      for (let i = 0; i < count; i++) {
        const low = view.getUint32(i * 8 + lowAt, littleEndian);
        const high =
          dtype === 'int64' ? view.getInt32(i * 8 + highAt, littleEndian) : view.getUint32(i * 8 + highAt, littleEndian);
        out[i] = high * 4294967296 + low;
      }
      break;
    }
    default:
      throw new RangeError(`decodeInto: unhandled dtype ${String(dtype)}`);
  }
  return count;
}

/** Decodes a byte chunk into a freshly allocated array of the right precision. */
export function decodeBytes(bytes: Uint8Array, dtype: DType, littleEndian = true): Float32Array | Float64Array {
  const out = allocateDecoded(dtype, bytes.length / ITEM_SIZE[dtype]);
  decodeInto(bytes, dtype, out, littleEndian);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shapes.
// ---------------------------------------------------------------------------------------------

/**
 * The element count of `shape`, or an error message when a dimension is not a non-negative safe
 * integer or the product overflows Number.MAX_SAFE_INTEGER.
 */
export function checkedNumel(shape: readonly unknown[]): { numel: number } | { error: string } {
  let product = 1n;
  for (const dim of shape) {
    if (typeof dim !== 'number' && typeof dim !== 'bigint') return { error: `dimension ${String(dim)} is not a number` };
    if (typeof dim === 'number' && !Number.isSafeInteger(dim)) return { error: `dimension ${dim} is not an integer` };
    const big = BigInt(dim);
    if (big < 0n) return { error: `negative dimension ${big}` };
    product *= big;
    if (product > BigInt(Number.MAX_SAFE_INTEGER)) {
      return { error: `shape [${shape.map(String).join(', ')}] has more than 2^53 elements` };
    }
  }
  return { numel: Number(product) };
}

// ---------------------------------------------------------------------------------------------
// Encoders (for the writers).
// ---------------------------------------------------------------------------------------------

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The binary16 bit pattern nearest to `value` (round half to even; overflow gives infinity). */
export function float16BitsFromNumber(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  // 65520 is halfway between 65504 (max finite) and 65536 (the next step): it rounds to infinity.
  if (magnitude >= 65520) return sign | 0x7c00;
  if (magnitude < 2 ** -14) return sign | roundHalfEven(magnitude * 2 ** 24);
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent--;
  if (2 ** (exponent + 1) <= magnitude) exponent++;
  const mantissa = roundHalfEven((magnitude / 2 ** exponent - 1) * 1024);
  // A mantissa that rounds up to 1024 carries into the exponent, which is what the addition does.
  return sign | (((exponent + 15) << 10) + mantissa);
}

/** The bfloat16 bit pattern of `value` after rounding it to float32 (round half to even). */
export function bfloat16BitsFromNumber(value: number): number {
  if (Number.isNaN(value)) return 0x7fc0;
  scratchF32[0] = value;
  const bits = scratchU32[0];
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Encodes numbers as little-endian elements of `dtype` (integers must be exact and in range). */
export function encodeValues(values: ArrayLike<number>, dtype: DType): Uint8Array {
  const size = ITEM_SIZE[dtype];
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  const integerRange: Partial<Record<DType, [number, number]>> = {
    int8: [-128, 127],
    uint8: [0, 255],
    int16: [-32768, 32767],
    uint16: [0, 65535],
    int32: [-(2 ** 31), 2 ** 31 - 1],
    uint32: [0, 2 ** 32 - 1],
    int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    uint64: [0, Number.MAX_SAFE_INTEGER],
  };
  const range = integerRange[dtype];
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (range && (!Number.isInteger(value) || value < range[0] || value > range[1])) {
      throw new RangeError(`encodeValues: ${value} (index ${i}) is not a ${dtype} value`);
    }
    switch (dtype) {
      case 'float64':
        view.setFloat64(i * 8, value, true);
        break;
      case 'float32':
        view.setFloat32(i * 4, value, true);
        break;
      case 'float16':
        view.setUint16(i * 2, float16BitsFromNumber(value), true);
        break;
      case 'bfloat16':
        view.setUint16(i * 2, bfloat16BitsFromNumber(value), true);
        break;
      case 'int8':
        view.setInt8(i, value);
        break;
      case 'uint8':
        view.setUint8(i, value);
        break;
      case 'bool':
        view.setUint8(i, value !== 0 ? 1 : 0);
        break;
      case 'int16':
        view.setInt16(i * 2, value, true);
        break;
      case 'uint16':
        view.setUint16(i * 2, value, true);
        break;
      case 'int32':
        view.setInt32(i * 4, value, true);
        break;
      case 'uint32':
        view.setUint32(i * 4, value, true);
        break;
      case 'int64':
        view.setBigInt64(i * 8, BigInt(value), true);
        break;
      case 'uint64':
        view.setBigUint64(i * 8, BigInt(value), true);
        break;
      default:
        throw new RangeError(`encodeValues: cannot encode numbers as ${dtype}; pass raw bytes instead`);
    }
  }
  return bytes;
}
