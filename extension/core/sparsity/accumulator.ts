/**
 * One-pass-per-chunk value statistics of a streamed tensor: zero count (|w| <= threshold), mean,
 * population std, min, max, mean |w|, and optionally a log10 magnitude histogram.
 *
 * Accuracy: each chunk is summed in float64 in blocks of BLOCK elements (a float32 value has 24
 * significant bits, so a block sum of 4096 of them in float64 loses almost nothing), block sums are
 * added with Neumaier compensation, and chunk sums likewise into the tensor total. The variance of a
 * chunk comes from deviations from one of its own values (see add), in the same single pass, and
 * chunks are merged with Chan et al.'s pairwise update, so there is no sum-of-squares cancellation
 * however large the mean is against the spread.
 */
import type { Histogram } from '../../shared/payloads';
import type { FloatChunk } from '../formats/types';
import type { ChunkValueSums } from './scanKernel';
import { MagnitudeKeys } from './select';

const BLOCK = 4096;

/**
 * 1 for true, 0 for false, without a branch: V8 turns `b ? 1 : 0` into a jump, which mispredicts on
 * data such as zero/nonzero, but `b | 0` into a flag-setting instruction.
 */
export const bit = (b: boolean): number => (b as unknown as number) | 0;

export interface ValueSummary {
  numel: number;
  zeros: number;
  nan: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  absMean: number;
}

/**
 * What one chunk adds to a ValueAccumulator (NaNs left out of everything but `nan`): a scan that
 * adds the records of a tensor's chunks in file order computes the sums bit for bit as one that
 * streams the chunks itself, whichever threads scanned them.
 */
export interface ChunkRecord {
  zeros: number;
  nan: number;
  min: number;
  max: number;
  sum: number;
  abs: number;
  /** Values other than NaN, their mean and sum of squared deviations from it (Chan's merge). */
  count: number;
  mean: number;
  m2: number;
}

export class ValueAccumulator {
  private count = 0;
  private zeros = 0;
  private nan = 0;
  private sum = 0;
  private sumCompensation = 0;
  private absSum = 0;
  private absSumCompensation = 0;
  /** Running mean and sum of squared deviations for Chan's merge. */
  private runningMean = 0;
  private m2 = 0;
  private min = Infinity;
  private max = -Infinity;

  constructor(
    readonly threshold: number,
    readonly histogram?: MagnitudeHistogram,
  ) {}

  /**
   * Adds values[0..n) and writes zeroMask[i] = 1 where |values[i]| <= threshold, 0 elsewhere (NaN is
   * never zero), so the structured statistics can reuse the classification.
   */
  add(values: FloatChunk, n: number, zeroMask: Uint8Array): void {
    if (n === 0) return;
    const t = this.threshold;
    // Deviations are taken from the chunk's first value, so the chunk's sum of squared deviations
    // about its own mean, sdd - sd^2/n, loses only about eps * (1 + (x0 - mean)^2 / var) relatively:
    // x0 is one of the values, never far out in units of their spread.
    const shift = values[0]!;
    let zeros = 0;
    let mn = this.min;
    let mx = this.max;
    let sd = 0;
    let sdC = 0;
    let sdd = 0;
    let abs = 0;
    let absC = 0;
    for (let start = 0; start < n; start += BLOCK) {
      const end = start + BLOCK < n ? start + BLOCK : n;
      let d1 = 0;
      let d2 = 0;
      let a = 0;
      // Branch-free on purpose (see bit): `x < mn ? x : mn` compiles to a jump, Math.min/max do not.
      // (Unrolling into two accumulator chains measured no faster.)
      for (let i = start; i < end; i++) {
        const x = values[i]!;
        const ax = Math.abs(x);
        const d = x - shift;
        d1 += d;
        d2 += d * d;
        a += ax;
        mn = Math.min(mn, x);
        mx = Math.max(mx, x);
        const z = bit(ax <= t);
        zeroMask[i] = z;
        zeros += z;
      }
      const ts = sd + d1;
      sdC += Math.abs(sd) >= Math.abs(d1) ? sd - ts + d1 : d1 - ts + sd;
      sd = ts;
      sdd += d2;
      const ta = abs + a;
      absC += abs >= a ? abs - ta + a : a - ta + abs;
      abs = ta;
    }
    this.merge(values, n, { zeros, min: mn, max: mx, sumD: sd + sdC, sumDD: sdd, sumAbs: abs + absC }, zeroMask);
  }

  /**
   * Adds values[0..n) whose zero mask and sums were computed elsewhere (the engine's scan kernel,
   * see scanKernel.ts), exactly as `add` would from the same sums.
   */
  addSums(values: FloatChunk, n: number, sums: ChunkValueSums, zeroMask: Uint8Array, histogramCounts?: Uint32Array): void {
    if (n > 0) this.merge(values, n, sums, zeroMask, histogramCounts);
  }

  private merge(values: FloatChunk, n: number, sums: ChunkValueSums, zeroMask: Uint8Array, histogramCounts?: Uint32Array): void {
    const shift = values[0]!;
    const sd = sums.sumD;
    const chunk: ChunkRecord = {
      zeros: sums.zeros,
      nan: 0,
      min: sums.min,
      max: sums.max,
      sum: n * shift + sd,
      abs: sums.sumAbs,
      count: n,
      mean: shift + sd / n,
      m2: sums.sumDD - (sd * sd) / n,
    };
    if (Number.isNaN(chunk.sum) || Number.isNaN(chunk.m2)) {
      // Rare: a NaN (or an infinity) poisoned the sums and Math.min/max; redo the chunk without the
      // NaNs, two-pass, so the fast loop stays free of the test. The zero count is right as it is:
      // NaN <= t is false.
      const redo = this.sumIgnoringNaN(values, n);
      chunk.sum = redo.sum;
      chunk.abs = redo.abs;
      chunk.count = n - redo.nan;
      chunk.min = redo.min;
      chunk.max = redo.max;
      chunk.nan = redo.nan;
      chunk.mean = chunk.sum / chunk.count;
      chunk.m2 = sumSquaredDeviations(values, n, chunk.mean);
    }
    this.addChunk(chunk);
    this.records?.push(chunk);
    if (histogramCounts) this.histogram?.addCategoryCounts(histogramCounts);
    else this.histogram?.add(values, n, zeroMask);
  }

  /**
   * Every chunk's record from here on, in order (see ChunkRecord): for a stretch of a tensor scanned
   * apart from the rest, whose records are then added to the tensor's accumulator in file order.
   */
  recordChunks(): ChunkRecord[] {
    return (this.records ??= []);
  }

  private records: ChunkRecord[] | undefined;

  /** Adds one chunk's record: the same operations, in the same order, as the chunk's own merge. */
  addChunk(chunk: ChunkRecord): void {
    this.zeros += chunk.zeros;
    this.nan += chunk.nan;
    this.min = Math.min(this.min, chunk.min);
    this.max = Math.max(this.max, chunk.max);
    this.addCompensated(chunk.sum, chunk.abs);
    if (chunk.count > 0) this.mergeMoments(chunk.count, chunk.mean, Math.max(0, chunk.m2));
  }

  /** Adds `count` copies of `value` at once (a constant tensor), as `add` would for them one by one. */
  addRepeated(value: number, count: number): void {
    if (count === 0) return;
    const one = new ValueAccumulator(this.threshold, this.histogram?.emptyLike());
    one.add(Float64Array.of(value), 1, new Uint8Array(1));
    this.zeros += one.zeros * count;
    this.nan += one.nan * count;
    this.min = Math.min(this.min, one.min);
    this.max = Math.max(this.max, one.max);
    if (one.count > 0) {
      this.addCompensated(one.sum * count, one.absSum * count);
      this.mergeMoments(count, one.runningMean, 0);
    }
    if (this.histogram && one.histogram) this.histogram.addScaled(one.histogram, count);
  }

  private sumIgnoringNaN(values: FloatChunk, n: number): { sum: number; abs: number; nan: number; min: number; max: number } {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let sumC = 0;
    let abs = 0;
    let absC = 0;
    let nan = 0;
    for (let i = 0; i < n; i++) {
      const x = values[i]!;
      if (x !== x) {
        nan++;
        continue;
      }
      min = Math.min(min, x);
      max = Math.max(max, x);
      const ts = sum + x;
      sumC += Math.abs(sum) >= Math.abs(x) ? sum - ts + x : x - ts + sum;
      sum = ts;
      const ax = Math.abs(x);
      const ta = abs + ax;
      absC += abs >= ax ? abs - ta + ax : ax - ta + abs;
      abs = ta;
    }
    return { sum: sum + sumC, abs: abs + absC, nan, min, max };
  }

  private addCompensated(chunkSum: number, chunkAbs: number): void {
    const ts = this.sum + chunkSum;
    this.sumCompensation += Math.abs(this.sum) >= Math.abs(chunkSum) ? this.sum - ts + chunkSum : chunkSum - ts + this.sum;
    this.sum = ts;
    const ta = this.absSum + chunkAbs;
    this.absSumCompensation += this.absSum >= chunkAbs ? this.absSum - ta + chunkAbs : chunkAbs - ta + this.absSum;
    this.absSum = ta;
  }

  private mergeMoments(countB: number, meanB: number, m2B: number): void {
    const countA = this.count;
    const total = countA + countB;
    const delta = meanB - this.runningMean;
    this.runningMean += (delta * countB) / total;
    this.m2 += m2B + ((delta * delta * countA) / total) * countB;
    this.count = total;
  }

  /** Elements seen so far, NaNs included. */
  get seen(): number {
    return this.count + this.nan;
  }

  summary(): ValueSummary {
    const numel = this.count + this.nan;
    if (this.count === 0) {
      return { numel, zeros: this.zeros, nan: this.nan, mean: 0, std: 0, min: 0, max: 0, absMean: 0 };
    }
    return {
      numel,
      zeros: this.zeros,
      nan: this.nan,
      mean: (this.sum + this.sumCompensation) / this.count,
      std: Math.sqrt(Math.max(0, this.m2 / this.count)),
      min: this.min,
      max: this.max,
      absMean: (this.absSum + this.absSumCompensation) / this.count,
    };
  }
}

/** Two-pass fallback for chunks holding NaNs: NaN elements are left out. */
function sumSquaredDeviations(values: FloatChunk, n: number, mean: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    total += d === d ? d * d : 0;
  }
  return total;
}

/** Default log10 range of the magnitude histogram: 1e-8 .. 1e2, ten bins per decade. */
export const HISTOGRAM_LOG10_MIN = -8;
export const HISTOGRAM_LOG10_MAX = 2;
export const HISTOGRAM_BINS_PER_DECADE = 10;

/**
 * What MagnitudeHistogram classifies |w| with. `prefixCategory`: the category of every float32
 * magnitude prefix (sign dropped, the top 15 bits: exponent and 7 mantissa bits), taken at the
 * smallest value of the prefix: 0 = below, 1..bins = bin c-1, bins+1 = above. A prefix spans a
 * factor of at most 1 + 2^-7, far less than a bin, so one comparison with the category's upper edge
 * settles each element. `categoryUpper`: 10^e[0], 10^e[1], ..., 10^e[bins], +Infinity.
 */
export interface HistogramTables {
  prefixCategory: Uint16Array;
  categoryUpper: Float64Array;
}

/**
 * The tables depend only on the edges, and building one walks all 32768 prefixes: a report keeps
 * one histogram per tensor, so they are built once per set of edges and shared (read-only).
 */
const categoryTablesByEdges = new Map<string, HistogramTables>();
/** Reports use one set of edges; a caller choosing many others only rebuilds, never accumulates. */
const MAX_CACHED_EDGE_SETS = 8;

function categoryTablesOf(edgeValues: Float64Array): HistogramTables {
  const key = edgeValues.join(',');
  const known = categoryTablesByEdges.get(key);
  if (known) return known;
  const bins = edgeValues.length - 1;
  const upper = new Float64Array(bins + 2);
  upper.set(edgeValues);
  upper[bins + 1] = Infinity;
  const table = new Uint16Array(1 << 15);
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  let category = 0;
  for (let prefix = 0; prefix < table.length; prefix++) {
    bits[0] = prefix << 16;
    const lowest = asFloat[0]!;
    while (category < bins + 1 && lowest > upper[category]!) category++;
    table[prefix] = category;
  }
  const tables = { prefixCategory: table, categoryUpper: upper };
  if (categoryTablesByEdges.size >= MAX_CACHED_EDGE_SETS) categoryTablesByEdges.clear();
  categoryTablesByEdges.set(key, tables);
  return tables;
}

/**
 * Log-scale histogram of |w| over the nonzero elements. Bins are (10^e[i], 10^e[i+1]] so that
 * "how many |w| <= 10^e" is exact at every edge, which makes the sparsity-against-threshold curve
 * exact at the edges rather than interpolated.
 */
export class MagnitudeHistogram {
  readonly log10Edges: number[];
  /** 10^edge as float64, the values the comparisons use. */
  private readonly edgeValues: Float64Array;
  readonly counts: Float64Array;
  below = 0;
  above = 0;
  zeros = 0;
  nan = 0;

  constructor(lowLog10 = HISTOGRAM_LOG10_MIN, highLog10 = HISTOGRAM_LOG10_MAX, binsPerDecade = HISTOGRAM_BINS_PER_DECADE) {
    if (!(highLog10 > lowLog10) || !(binsPerDecade > 0 && binsPerDecade <= 100)) {
      throw new RangeError('histogram range must be increasing, with 1 to 100 bins per decade');
    }
    const bins = Math.round((highLog10 - lowLog10) * binsPerDecade);
    this.log10Edges = Array.from({ length: bins + 1 }, (_, i) => lowLog10 + i / binsPerDecade);
    this.edgeValues = Float64Array.from(this.log10Edges, (e) => 10 ** e);
    this.counts = new Float64Array(bins);
  }

  /** The category tables (see HistogramTables), shared by every histogram with these edges; for a kernel that counts categories itself. */
  tables(): HistogramTables {
    return (this.categoryTables ??= categoryTablesOf(this.edgeValues));
  }

  private categoryTables?: HistogramTables;

  private keys = new MagnitudeKeys();
  /** Per-chunk counts by category, plus one slot for zeros and one for NaN; flushed after each chunk. */
  private categoryCounts?: Uint32Array;

  add(values: FloatChunk, n: number, zeroMask: Uint8Array): void {
    const { prefixCategory, categoryUpper } = this.tables();
    const bins = this.counts.length;
    const zeroSlot = bins + 2;
    const nanSlot = bins + 3;
    const slots = bins + 4;
    const counts = (this.categoryCounts ??= new Uint32Array(slots));
    const keys = this.keys.keys(values);
    if (values instanceof Float32Array) {
      for (let i = 0; i < n; i++) {
        const key = keys[i]! & 0x7fffffff;
        let category = prefixCategory[key >>> 16]!;
        // One step up settles it: a prefix spans less than a bin (binsPerDecade <= 100).
        category += bit(Math.abs(values[i]!) > categoryUpper[category]!);
        // Branch-free choices (NaN bit patterns lie above infinity's; zeros are unpredictable).
        category += bit(key > 0x7f800000) * (nanSlot - category);
        const z = zeroMask[i]!;
        counts[category + z * (zeroSlot - category)]!++;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const a = Math.abs(values[i]!);
        let category = prefixCategory[(keys[i]! & 0x7fffffff) >>> 16]!;
        // Looked up through its float32 rounding, a float64 value lands at most one category off.
        category += bit(a > categoryUpper[category]!);
        if (category > 0 && a <= categoryUpper[category - 1]!) category--;
        if (a !== a) category = nanSlot;
        const z = zeroMask[i]!;
        counts[category + z * (zeroSlot - category)]!++;
      }
    }
    this.addCategoryCounts(counts);
  }

  /**
   * Adds per-category counts of one chunk (bins + 4 slots: below, the bins, above, zeros, NaN),
   * counted with tables() as add counts them, and clears them.
   */
  addCategoryCounts(counts: Uint32Array): void {
    const bins = this.counts.length;
    this.below += counts[0]!;
    for (let b = 0; b < bins; b++) this.counts[b]! += counts[b + 1]!;
    this.above += counts[bins + 1]!;
    this.zeros += counts[bins + 2]!;
    this.nan += counts[bins + 3]!;
    counts.fill(0);
  }

  /** A histogram with the same edges and no counts. */
  emptyLike(): MagnitudeHistogram {
    const bins = this.counts.length;
    const low = this.log10Edges[0]!;
    const high = this.log10Edges[bins]!;
    return new MagnitudeHistogram(low, high, Math.round(bins / (high - low)));
  }

  /** Adds `times` copies of `other`'s counts (same edges). */
  addScaled(other: MagnitudeHistogram, times: number): void {
    for (let b = 0; b < this.counts.length; b++) this.counts[b]! += other.counts[b]! * times;
    this.below += other.below * times;
    this.above += other.above * times;
    this.zeros += other.zeros * times;
    this.nan += other.nan * times;
  }

  toJSON(): Histogram {
    return {
      log10Edges: this.log10Edges.slice(),
      counts: Array.from(this.counts),
      zeros: this.zeros,
      below: this.below,
      above: this.above,
      nan: this.nan,
    };
  }
}

/** Adds histogram b into a (same edges). */
export function mergeHistograms(a: Histogram, b: Histogram): Histogram {
  if (a.log10Edges.length !== b.log10Edges.length || a.log10Edges.some((e, i) => e !== b.log10Edges[i])) {
    throw new RangeError('cannot merge histograms with different edges');
  }
  return {
    log10Edges: a.log10Edges.slice(),
    counts: a.counts.map((c, i) => c + b.counts[i]!),
    zeros: a.zeros + b.zeros,
    below: (a.below ?? 0) + (b.below ?? 0),
    above: (a.above ?? 0) + (b.above ?? 0),
    nan: (a.nan ?? 0) + (b.nan ?? 0),
  };
}

/**
 * Sparsity against threshold from histogram counts: at threshold 10^e (every edge at or above the
 * scan threshold) the share of elements with |w| <= 10^e. Exact at the edges by the bin convention.
 */
export function thresholdCurveOf(histogram: Histogram, numel: number, scanThreshold: number): { thresholds: number[]; sparsity: number[] } {
  const thresholds: number[] = [];
  const sparsity: number[] = [];
  if (numel === 0) return { thresholds, sparsity };
  let atOrBelow = histogram.zeros + (histogram.below ?? 0);
  histogram.log10Edges.forEach((edge, i) => {
    if (i > 0) atOrBelow += histogram.counts[i - 1]!;
    const value = 10 ** edge;
    if (value < scanThreshold) return;
    thresholds.push(value);
    sparsity.push(atOrBelow / numel);
  });
  return { thresholds, sparsity };
}
