/**
 * Exact magnitude selection in bounded memory: the k-th smallest |w| of a streamed tensor.
 *
 * The bit pattern of a non-negative float32 orders like the float itself, so |w| is ranked by its 31
 * low bits. Pass 1 counts the top 15 of them (32768 bins), which locates the bin holding the k-th
 * smallest; pass 2 counts the low 16 bits of the elements inside that bin, which pins the exact
 * value. Two streaming passes and 65536 + 32768 counters, whatever the tensor size.
 *
 * Data decoded as float64 (float64 tensors, wide integers) is ranked by Math.fround(|w|): the cut is
 * then exact in float32 rounding, and elements that round to the same float32 are ties, broken in
 * stored order like every tie, so exactly k elements are still selected.
 */
import type { TensorSource } from '../formats/types';
import type { FloatChunk } from '../formats/types';

export interface MagnitudeCut {
  /** Elements to prune: k smallest magnitudes. */
  k: number;
  /** Prune every element whose key is below `thresholdKey`, then the first `ties` whose key equals it. */
  thresholdKey: number;
  ties: number;
  /** The cut as a magnitude (the float32 whose bits are thresholdKey). */
  threshold: number;
}

const HIGH_BINS = 1 << 15;
const LOW_BINS = 1 << 16;

/** Reusable conversion of a chunk to the uint32 keys |w| is ranked by. */
export class MagnitudeKeys {
  private scratch = new Float32Array(0);

  keys(chunk: FloatChunk): Uint32Array {
    if (chunk instanceof Float32Array) return new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.scratch.length < chunk.length) this.scratch = new Float32Array(chunk.length);
    const scratch = this.scratch;
    for (let i = 0; i < chunk.length; i++) scratch[i] = chunk[i]!;
    return new Uint32Array(scratch.buffer, 0, chunk.length);
  }
}

const keyToFloat = (key: number): number => new Float32Array(new Uint32Array([key]).buffer)[0]!;

/** The cut that selects exactly the k smallest |w| of `tensor` (0 <= k <= numel). */
export async function magnitudeCut(
  tensor: TensorSource,
  k: number,
  options: { maxChunkElements?: number; signal?: AbortSignal } = {},
): Promise<MagnitudeCut> {
  if (!Number.isInteger(k) || k < 0 || k > tensor.numel) throw new RangeError(`cannot select ${k} of ${tensor.numel} elements of "${tensor.name}"`);
  if (k === 0) return { k, thresholdKey: 0, ties: 0, threshold: 0 };
  const converter = new MagnitudeKeys();
  const high = new Float64Array(HIGH_BINS);
  for await (const chunk of tensor.chunks(options)) {
    const keys = converter.keys(chunk);
    for (let i = 0; i < keys.length; i++) high[(keys[i]! & 0x7fffffff) >>> 16]!++;
  }
  let before = 0;
  let bin = 0;
  while (before + high[bin]! < k) before += high[bin++]!;
  const low = new Float64Array(LOW_BINS);
  for await (const chunk of tensor.chunks(options)) {
    const keys = converter.keys(chunk);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]! & 0x7fffffff;
      if (key >>> 16 === bin) low[key & 0xffff]!++;
    }
  }
  let lowBin = 0;
  while (before + low[lowBin]! < k) before += low[lowBin++]!;
  const thresholdKey = ((bin << 16) | lowBin) >>> 0;
  return { k, thresholdKey, ties: k - before, threshold: keyToFloat(thresholdKey) };
}

/**
 * Applies a cut to successive chunks in stored order: zeroes the selected elements in place and
 * returns how many it zeroed (some may have been zero already).
 */
export class MagnitudePruner {
  private tiesLeft: number;
  private readonly converter = new MagnitudeKeys();

  constructor(private readonly cut: MagnitudeCut) {
    this.tiesLeft = cut.ties;
  }

  apply(chunk: FloatChunk): number {
    if (this.cut.k === 0) return 0;
    const keys = this.converter.keys(chunk);
    const threshold = this.cut.thresholdKey;
    let pruned = 0;
    // Keys are read before any write, element by element, so zeroing a float32 chunk in place is safe.
    for (let i = 0; i < chunk.length; i++) {
      const key = keys[i]! & 0x7fffffff;
      if (key < threshold || (key === threshold && this.tiesLeft > 0 && this.tiesLeft-- > 0)) {
        chunk[i] = 0;
        pruned++;
      }
    }
    return pruned;
  }
}
