/**
 * N:M statistics of a streamed weight tensor, for any number of patterns at once:
 *   - compliance: the share of groups of M consecutive input channels (at each output and spatial
 *     position, the axis NVIDIA ASP groups along) holding at least M-N zeros;
 *   - retained: the share of the tensor's magnitude sum |w| that N:M magnitude pruning would keep,
 *     that is the sum over groups of the N largest |w| of the group, over the sum of all |w|.
 * As ASP does, a short last group (C not a multiple of M) is padded with zeros: it complies when its
 * zeros plus the padding reach M-N, and pruning keeps its N largest values.
 *
 * Values stream in stored order. A group's M channels lie `inner` elements apart (R*S for OIHW, K
 * for HWIO and [I, O], 1 when C is innermost), so the tracker fills a band of M channels (M*inner
 * consecutive stored elements) and settles its `inner` groups when the band is complete: memory
 * M*inner values per group size, whatever the tensor size.
 *
 * Sums are plain float64 additions of float64 group sums: relative error below numel * 2^-53.
 * NaN magnitudes count as 0 in both sums (and NaN is never zero, as in the zero count).
 */
import type { WeightView } from './layout';
import type { NmPattern } from './nmPattern';
import type { FloatChunk } from '../formats/types';

export interface NmCounts {
  pattern: NmPattern;
  groups: number;
  compliant: number;
  /** Sum of |w| that N:M pruning keeps, and of all |w|. */
  kept: number;
  magnitude: number;
}

/** The share pruning keeps; a tensor without magnitude loses nothing. */
export const retainedShare = (kept: number, magnitude: number): number => (magnitude > 0 ? kept / magnitude : 1);

/** Stored elements between two consecutive input channels at the same output and spatial position. */
export function channelStride(view: WeightView): number {
  switch (view.order) {
    case 'KCP':
      return view.P;
    case 'PCK':
    case 'CK':
      return view.K;
    case 'KPC':
    case 'KC':
      return 1;
  }
}

/** Insertion sort of a[0..n) into descending order (n <= 32). */
function sortDescending(a: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! < x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

/** All patterns sharing one group size M: one band, one sort per group. */
class GroupSize {
  readonly counts: NmCounts[];
  private readonly ns: Int32Array;
  private readonly m: number;
  private readonly C: number;
  private readonly inner: number;
  private readonly bandMagnitude: Float64Array;
  private readonly bandZero: Uint8Array;
  private readonly group = new Float64Array(32);
  private readonly keptByN: Float64Array;
  private readonly compliantByN: Float64Array;
  /** First channel of the current band, and stored elements of it filled so far. */
  private firstChannel = 0;
  private filled = 0;
  private groups = 0;
  private magnitude = 0;

  constructor(patterns: NmPattern[], C: number, inner: number) {
    this.m = patterns[0]!.m;
    this.C = C;
    this.inner = inner;
    this.counts = patterns.map((pattern) => ({ pattern, groups: 0, compliant: 0, kept: 0, magnitude: 0 }));
    this.ns = Int32Array.from(patterns, (p) => p.n);
    this.bandMagnitude = new Float64Array(this.m * inner);
    this.bandZero = new Uint8Array(this.m * inner);
    this.keptByN = new Float64Array(patterns.length);
    this.compliantByN = new Float64Array(patterns.length);
  }

  private bandChannels(): number {
    return Math.min(this.m, this.C - this.firstChannel);
  }

  consume(values: FloatChunk, zeroMask: Uint8Array, n: number): void {
    const magnitudes = this.bandMagnitude;
    const zeros = this.bandZero;
    let i = 0;
    while (i < n) {
      const length = this.bandChannels() * this.inner;
      const take = Math.min(length - this.filled, n - i);
      for (let j = 0; j < take; j++) {
        const a = Math.abs(values[i + j]!);
        magnitudes[this.filled + j] = a === a ? a : 0;
        zeros[this.filled + j] = zeroMask[i + j]!;
      }
      i += take;
      this.filled += take;
      if (this.filled === length) this.settleBand();
    }
  }

  /** Settles the `inner` groups of a complete band and moves to the next M channels. */
  private settleBand(): void {
    const { m, inner, ns } = this;
    const channels = this.bandChannels();
    const padding = m - channels;
    const group = this.group;
    const magnitudes = this.bandMagnitude;
    const zeros = this.bandZero;
    const kept = this.keptByN;
    const compliant = this.compliantByN;
    let magnitude = 0;
    for (let p = 0; p < inner; p++) {
      let z = padding;
      let sum = 0;
      for (let c = 0; c < channels; c++) {
        const a = magnitudes[c * inner + p]!;
        group[c] = a;
        sum += a;
        z += zeros[c * inner + p]!;
      }
      magnitude += sum;
      sortDescending(group, channels);
      for (let q = 0; q < ns.length; q++) {
        const keep = Math.min(ns[q]!, channels);
        let top = 0;
        for (let c = 0; c < keep; c++) top += group[c]!;
        kept[q]! += top;
        compliant[q]! += z >= m - ns[q]! ? 1 : 0;
      }
    }
    this.magnitude += magnitude;
    this.groups += inner;
    this.filled = 0;
    this.firstChannel += m;
    if (this.firstChannel >= this.C) this.firstChannel = 0;
  }

  summary(): NmCounts[] {
    return this.counts.map((count, q) => ({ ...count, groups: this.groups, compliant: this.compliantByN[q]!, kept: this.keptByN[q]!, magnitude: this.magnitude }));
  }
}

export class NmTracker {
  private readonly sizes: GroupSize[];
  private readonly order: NmPattern[];

  /** `patterns` must all have M <= view.C (smaller channel counts are all padding). */
  constructor(view: WeightView, patterns: readonly NmPattern[]) {
    this.order = patterns.slice();
    const byM = new Map<number, NmPattern[]>();
    for (const pattern of patterns) {
      if (pattern.m > view.C) throw new RangeError(`pattern ${pattern.name} needs at least ${pattern.m} input channels, the tensor has ${view.C}`);
      const list = byM.get(pattern.m) ?? [];
      list.push(pattern);
      byM.set(pattern.m, list);
    }
    const inner = channelStride(view);
    this.sizes = [...byM.values()].map((list) => new GroupSize(list, view.C, inner));
  }

  consume(values: FloatChunk, zeroMask: Uint8Array, n: number): void {
    for (const size of this.sizes) size.consume(values, zeroMask, n);
  }

  /** Counts per pattern, in the order the patterns were given. */
  summary(): NmCounts[] {
    const all = this.sizes.flatMap((size) => size.summary());
    return this.order.map((pattern) => all.find((c) => c.pattern.name === pattern.name)!);
  }
}
