/**
 * Correctly rounded (round-to-nearest, ties-to-even) simulation of narrower binary formats on top
 * of JavaScript doubles. Every value a simulated kernel produces goes through one of these after
 * each multiply and each add, which models hardware that rounds every operation (no fused
 * multiply-add, no wider accumulator).
 */
import type { Precision } from '../../shared/payloads';

export type Rounder = (value: number) => number;

const float64 = new Float64Array(1);
const words = new Uint32Array(float64.buffer);
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** floor(log2(|x|)) for a finite, nonzero, normal double. */
function binaryExponent(value: number): number {
  float64[0] = value;
  return ((words[HIGH_WORD]! >>> 20) & 0x7ff) - 1023;
}

/**
 * Rounds a double to a binary format with `significandBits` bits of precision (implicit bit
 * included), smallest normal exponent `minExponent` and largest finite exponent `maxExponent`.
 * Subnormals keep the spacing 2^(minExponent - significandBits + 1); results beyond the largest
 * finite value become +-Infinity, as IEEE 754 rounding to nearest does.
 */
export function makeRounder(significandBits: number, minExponent: number, maxExponent: number): Rounder {
  const largest = (2 - 2 ** (1 - significandBits)) * 2 ** maxExponent;
  return (value: number): number => {
    if (value === 0 || !Number.isFinite(value)) return value;
    const magnitude = Math.abs(value);
    let exponent = magnitude < 2 ** -1000 ? -1022 : binaryExponent(magnitude);
    if (exponent < minExponent) exponent = minExponent;
    const quantum = 2 ** (exponent - significandBits + 1);
    // Dividing by a power of two is exact, so `scaled` holds the exact position between grid points.
    const scaled = magnitude / quantum;
    const floor = Math.floor(scaled);
    const fraction = scaled - floor;
    let rounded = floor;
    if (fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1)) rounded = floor + 1;
    const result = rounded * quantum;
    if (result > largest) return value < 0 ? -Infinity : Infinity;
    return value < 0 ? -result : result;
  };
}

/**
 * The same rounding done on the bits of the double, for significands of at most 20 bits (the
 * dropped low bits then span the whole low word): about ten times faster than `makeRounder`,
 * which it falls back to for zero, subnormal results, overflow, Infinity and NaN.
 */
export function makeFastRounder(significandBits: number, minExponent: number, maxExponent: number): Rounder {
  const droppedHighBits = 53 - significandBits - 32;
  if (droppedHighBits < 1 || droppedHighBits > 20) throw new Error(`makeFastRounder: unsupported significand of ${significandBits} bits`);
  const slow = makeRounder(significandBits, minExponent, maxExponent);
  const highMask = (1 << droppedHighBits) - 1;
  const half = 1 << (droppedHighBits - 1);
  const increment = 1 << droppedHighBits;
  const LOW_WORD = 1 - HIGH_WORD;
  return (value: number): number => {
    float64[0] = value;
    const high = words[HIGH_WORD]!;
    const exponent = ((high >>> 20) & 0x7ff) - 1023;
    if (exponent < minExponent || exponent >= maxExponent) return slow(value);
    const dropped = high & highMask;
    const low = words[LOW_WORD]!;
    const roundUp = dropped > half || (dropped === half && (low !== 0 || (high & increment) !== 0));
    words[HIGH_WORD] = ((high & ~highMask) + (roundUp ? increment : 0)) >>> 0;
    words[LOW_WORD] = 0;
    return float64[0]!;
  };
}

/** IEEE 754 binary16: 11-bit significand, exponents -14..15, largest finite 65504. */
export const roundToFloat16: Rounder = makeFastRounder(11, -14, 15);
/** bfloat16: 8-bit significand, the exponent range of binary32. */
export const roundToBfloat16: Rounder = makeFastRounder(8, -126, 127);
/** binary32 through the engine's own correctly rounded conversion. */
export const roundToFloat32: Rounder = Math.fround;
const identity: Rounder = (value) => value;

export function rounderFor(precision: Precision): Rounder {
  switch (precision) {
    case 'fp64':
      return identity;
    case 'fp32':
      return roundToFloat32;
    case 'fp16':
      return roundToFloat16;
    case 'bf16':
      return roundToBfloat16;
    default:
      throw new Error(`unknown precision "${String(precision)}": expected fp64, fp32, fp16 or bf16`);
  }
}
