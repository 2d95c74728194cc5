/**
 * N:M magnitude pruning of a streamed weight: in every group of M consecutive input channels (at
 * each output and spatial position, NVIDIA ASP's axis) the N largest |w| stay and the others become
 * zero. Ties keep the lower channel; NaN ranks as magnitude 0, as in the retained share of
 * nmGroups.ts, so the values kept here are exactly the ones that share counts. A short last group
 * (C not a multiple of M) keeps its N largest, as ASP's zero padding does.
 *
 * Values arrive in stored order and leave in stored order, a band of M channels (M * channelStride
 * stored elements) at a time, so memory stays at one band plus one chunk.
 */
import type { FloatChunk } from '../formats/types';
import type { WeightView } from './layout';
import { channelStride } from './nmGroups';
import type { NmPattern } from './nmPattern';

/** The part of the tensor that a push completed: pruned values and the keep mask (1 = kept). */
export interface NmPrunedSpan {
  values: Float64Array;
  keep: Uint8Array;
}

export class NmPruner {
  private readonly n: number;
  private readonly m: number;
  private readonly C: number;
  private readonly inner: number;
  private readonly band: Float64Array;
  private readonly order: Int32Array;
  private readonly magnitude: Float64Array;
  private firstChannel = 0;
  private filled = 0;

  constructor(view: WeightView, pattern: NmPattern) {
    if (pattern.m > view.C) throw new RangeError(`pattern ${pattern.name} needs at least ${pattern.m} input channels, the tensor has ${view.C}`);
    this.n = pattern.n;
    this.m = pattern.m;
    this.C = view.C;
    this.inner = channelStride(view);
    this.band = new Float64Array(this.m * this.inner);
    this.order = new Int32Array(this.m);
    this.magnitude = new Float64Array(this.m);
  }

  /** Values of the tensor still held back (an incomplete band). */
  get pending(): number {
    return this.filled;
  }

  /** Feeds values[0..n) and returns the pruned values and keep mask of every band completed so far. */
  push(values: FloatChunk, n = values.length): NmPrunedSpan {
    const outValues = new Float64Array(this.filled + n);
    const outKeep = new Uint8Array(this.filled + n);
    let written = 0;
    let i = 0;
    while (i < n) {
      const length = Math.min(this.m, this.C - this.firstChannel) * this.inner;
      const take = Math.min(length - this.filled, n - i);
      for (let j = 0; j < take; j++) this.band[this.filled + j] = values[i + j]!;
      this.filled += take;
      i += take;
      if (this.filled === length) {
        this.pruneBand(outValues, outKeep, written);
        written += length;
        this.filled = 0;
        this.firstChannel += this.m;
        if (this.firstChannel >= this.C) this.firstChannel = 0;
      }
    }
    return { values: outValues.subarray(0, written), keep: outKeep.subarray(0, written) };
  }

  /** Writes the completed band, pruned, to out[at..] with its keep mask. */
  private pruneBand(out: Float64Array, keep: Uint8Array, at: number): void {
    const { inner, order, magnitude, band } = this;
    const channels = Math.min(this.m, this.C - this.firstChannel);
    const kept = Math.min(this.n, channels);
    for (let p = 0; p < inner; p++) {
      // Stable insertion sort of the group's channels by |w|, largest first.
      for (let c = 0; c < channels; c++) {
        const a = Math.abs(band[c * inner + p]!);
        const value = a === a ? a : 0;
        let j = c - 1;
        while (j >= 0 && magnitude[j]! < value) {
          magnitude[j + 1] = magnitude[j]!;
          order[j + 1] = order[j]!;
          j--;
        }
        magnitude[j + 1] = value;
        order[j + 1] = c;
      }
      for (let r = 0; r < channels; r++) {
        const index = order[r]! * inner + p;
        const stays = r < kept;
        out[at + index] = stays ? band[index]! : 0;
        keep[at + index] = stays ? 1 : 0;
      }
    }
  }
}
