/**
 * Channel permutation for N:M sparsity (Pool and Yu, "Channel Permutations for N:M Sparsity",
 * NeurIPS 2021; NVIDIA apex's permutation search): N:M pruning groups M consecutive input channels,
 * so reordering the input channels changes which values share a group and so what pruning keeps.
 * Permuting a layer's input channels and the previous layer's output channels the same way leaves
 * the network's function unchanged, so the best order is free accuracy.
 *
 * The weight is read as a matrix of magnitudes with one column per input channel and one row per
 * (output channel, spatial position). An order is a partition of the columns into stripes of M
 * (the order inside a stripe and the order of stripes do not matter). What pruning loses is, per
 * row and stripe, the sum of the M-N smallest magnitudes; the search minimises the total loss:
 *
 *   - at most 3 stripes: every partition is tried, so the order found is the best one;
 *   - more: stripe-pair search (the paper's "optimise stripe groups" with groups of two): for a pair
 *     of stripes, every way of splitting their 2M columns into two stripes is tried and the best
 *     kept. Pairs are visited in a fixed order and only re-visited when one of their stripes changed
 *     since, so the search ends at an order that no pair re-split improves. From there it escapes
 *     local optima the way apex does: a seeded random exchange of two columns, a new descent, and
 *     the better of the two orders kept, until the escapes or the time run out. The exchange takes
 *     one column of a stripe that still loses magnitude, so the kicks go where the loss is.
 *
 * Everything is deterministic (fixed visiting order, fixed seed). Only the time bound can cut a
 * search short; then `budgetExhausted` says so and the result depends on the machine's speed.
 * A loss of exactly 0 (every pruned magnitude is 0: the weight is N:M after the permutation) ends
 * the search at once.
 */
import type { ChannelPermutation } from '../../shared/payloads';
import type { TensorSource } from '../formats/types';
import type { WeightView } from './layout';
import type { NmPattern } from './nmPattern';
import { mulberry32 } from '../random';

/** Magnitudes of a weight as columns (input channels) of R = K * P rows, column-major. */
export interface ColumnMagnitudes {
  columns: number;
  rows: number;
  /** |w| (NaN as 0) of column c, row r at data[c * rows + r]. */
  data: Float32Array;
}

export interface PermutationSearchOptions {
  /** Wall-clock bound of the search in milliseconds. */
  budgetMs: number;
  /** Random escapes tried after the descent settles (default 200). */
  escapes?: number;
  signal?: AbortSignal;
  /** Called every few tens of milliseconds with the share of the budget used and the retained share. */
  onProgress?: (fraction: number, retained: number) => void;
  /** The clock (tests replace it). */
  now?: () => number;
}

export interface PermutationSearchResult extends ChannelPermutation {
  /** Sum of |w| over the weight, the base of both shares. */
  magnitude: number;
  /** Pair re-splits evaluated and random escapes tried. */
  pairsEvaluated: number;
  escapesTried: number;
}

/** Weights above this many elements are not permuted: the magnitudes are held in memory. */
export const MAX_PERMUTE_ELEMENTS = 1 << 26;

/** Which stored elements belong to which column and row, for each axis order. */
function columnAndRow(view: WeightView): (i: number) => [number, number] {
  const { K, C, P } = view;
  switch (view.order) {
    case 'KCP':
      return (i) => [Math.floor(i / P) % C, Math.floor(i / (C * P)) * P + (i % P)];
    case 'KPC':
      return (i) => [i % C, Math.floor(i / C)];
    case 'PCK':
      return (i) => [Math.floor(i / K) % C, (i % K) * P + Math.floor(i / (K * C))];
    case 'KC':
      return (i) => [i % C, Math.floor(i / C)];
    case 'CK':
      return (i) => [Math.floor(i / K), i % K];
  }
}

/** Reads a weight's magnitudes into columns, one per input channel. */
export async function readColumnMagnitudes(tensor: TensorSource, view: WeightView, options: { signal?: AbortSignal; maxChunkElements?: number } = {}): Promise<ColumnMagnitudes> {
  const rows = view.K * view.P;
  const columns = view.C;
  if (rows * columns !== tensor.numel) throw new Error(`tensor "${tensor.name}": view ${view.layout} [${view.K}, ${view.C}, ${view.P}] does not cover its ${tensor.numel} values`);
  const data = new Float32Array(tensor.numel);
  const place = columnAndRow(view);
  let i = 0;
  const chunkOptions: { maxChunkElements: number; signal?: AbortSignal } = { maxChunkElements: options.maxChunkElements ?? 1 << 20 };
  if (options.signal) chunkOptions.signal = options.signal;
  for await (const chunk of tensor.chunks(chunkOptions)) {
    for (let j = 0; j < chunk.length; j++, i++) {
      const [c, r] = place(i);
      const a = Math.abs(chunk[j]!);
      data[c * rows + r] = a === a ? a : 0;
    }
  }
  if (i !== tensor.numel) throw new Error(`tensor "${tensor.name}": the parser streamed ${i} values, its shape has ${tensor.numel}`);
  return { columns, rows, data };
}

/** The M-N smallest of the values a[0..m) summed (a is clobbered). */
function smallestSum(a: Float64Array, m: number, pruned: number): number {
  for (let i = 1; i < m; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
  let s = 0;
  for (let i = 0; i < pruned; i++) s += a[i]!;
  return s;
}

/** 2:4: per row, the two smallest of four columns' magnitudes, summed. */
function loss24(data: Float32Array, rows: number, a: number, b: number, c: number, d: number): number {
  let s = 0;
  for (let r = 0; r < rows; r++) {
    const x = data[a + r]!, y = data[b + r]!, z = data[c + r]!, w = data[d + r]!;
    const lo1 = x < y ? x : y, hi1 = x < y ? y : x;
    const lo2 = z < w ? z : w, hi2 = z < w ? w : z;
    const least = lo1 < lo2 ? lo1 : lo2;
    const other = lo1 < lo2 ? lo2 : lo1;
    const high = hi1 < hi2 ? hi1 : hi2;
    s += least + (other < high ? other : high);
  }
  return s;
}

/** Loss of one stripe: per row, the M-N smallest magnitudes of its columns. */
class StripeLoss {
  private readonly scratch: Float64Array;
  private readonly offsets: Int32Array;

  constructor(
    private readonly magnitudes: ColumnMagnitudes,
    private readonly m: number,
    private readonly pruned: number,
  ) {
    this.scratch = new Float64Array(m);
    this.offsets = new Int32Array(m);
  }

  of(columns: Int32Array): number {
    const { rows, data } = this.magnitudes;
    if (this.m === 4 && this.pruned === 2) return loss24(data, rows, columns[0]! * rows, columns[1]! * rows, columns[2]! * rows, columns[3]! * rows);
    const { offsets, scratch, m } = this;
    for (let k = 0; k < m; k++) offsets[k] = columns[k]! * rows;
    let s = 0;
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < m; k++) scratch[k] = data[offsets[k]! + r]!;
      s += smallestSum(scratch, m, this.pruned);
    }
    return s;
  }
}

/** The ways to split 2M columns into two stripes of M: the subsets of size M that hold column 0. */
function pairSplits(m: number): Int32Array[] {
  const splits: Int32Array[] = [];
  const pick = [0];
  const walk = (next: number): void => {
    if (pick.length === m) {
      splits.push(Int32Array.from(pick));
      return;
    }
    for (let c = next; c < 2 * m; c++) {
      pick.push(c);
      walk(c + 1);
      pick.pop();
    }
  };
  walk(1);
  return splits;
}

/** Every partition of `columns` into stripes of m (first free column opens each stripe). */
function* partitions(columns: number[], m: number): Generator<number[][]> {
  if (columns.length === 0) {
    yield [];
    return;
  }
  const [first, ...rest] = columns as [number, ...number[]];
  const choose = function* (from: number, need: number, chosen: number[]): Generator<number[]> {
    if (need === 0) {
      yield chosen.slice();
      return;
    }
    for (let i = from; i <= rest.length - need; i++) {
      chosen.push(rest[i]!);
      yield* choose(i + 1, need - 1, chosen);
      chosen.pop();
    }
  };
  for (const mates of choose(0, m - 1, [])) {
    const remaining = rest.filter((c) => !mates.includes(c));
    for (const others of partitions(remaining, m)) yield [[first, ...mates], ...others];
  }
}

/** Rows on which candidate re-splits of large weights are ranked. */
export const SCREEN_ROWS = 256;

/** Every k-th row, so that about `count` remain; the weight itself when it has few rows. */
function sampledRows(magnitudes: ColumnMagnitudes, count: number): ColumnMagnitudes {
  const { rows, columns, data } = magnitudes;
  if (rows <= 2 * count) return magnitudes;
  const step = Math.floor(rows / count);
  const kept = Math.ceil(rows / step);
  const out = new Float32Array(kept * columns);
  for (let c = 0; c < columns; c++) for (let i = 0; i < kept; i++) out[c * kept + i] = data[c * rows + i * step]!;
  return { rows: kept, columns, data: out };
}

/** Stripes listed in order of their first column, each sorted: the identity stays the identity. */
function canonicalOrder(stripes: Int32Array, m: number): number[] {
  const groups: number[][] = [];
  for (let s = 0; s < stripes.length / m; s++) groups.push(Array.from(stripes.subarray(s * m, s * m + m)).sort((a, b) => a - b));
  groups.sort((a, b) => a[0]! - b[0]!);
  return groups.flat();
}

/**
 * Searches an input-channel order maximising what N:M magnitude pruning keeps. The weight must
 * have a multiple of M input channels (the caller says why others are left alone).
 */
export function searchPermutation(magnitudes: ColumnMagnitudes, pattern: NmPattern, options: PermutationSearchOptions): PermutationSearchResult {
  const { m, n } = pattern;
  const C = magnitudes.columns;
  if (C % m !== 0 || C === 0) throw new RangeError(`a permutation for ${pattern.name} needs a multiple of ${m} input channels, got ${C}`);
  const now = options.now ?? (() => performance.now());
  const started = now();
  const deadline = started + Math.max(0, options.budgetMs);
  const S = C / m;
  const loss = new StripeLoss(magnitudes, m, m - n);
  let total = 0;
  for (let i = 0; i < magnitudes.data.length; i++) total += magnitudes.data[i]!;
  const retainedOf = (lost: number): number => (total > 0 ? 1 - lost / total : 1);

  const stripes = Int32Array.from({ length: C }, (_, i) => i);
  const stripeLoss = new Float64Array(S);
  for (let s = 0; s < S; s++) stripeLoss[s] = loss.of(stripes.subarray(s * m, s * m + m));
  const sumLoss = (): number => stripeLoss.reduce((a, b) => a + b, 0);
  const lossBefore = sumLoss();

  let lastProgress = started;
  let budgetExhausted = false;
  let pairsEvaluated = 0;
  let escapesTried = 0;
  /** True when the caller should stop: time out (cancel throws). */
  const checkpoint = (current: () => number): boolean => {
    const t = now();
    if (t - lastProgress >= 50) {
      lastProgress = t;
      options.onProgress?.(Math.min(1, (t - started) / Math.max(1, options.budgetMs)), retainedOf(current()));
      options.signal?.throwIfAborted();
    }
    if (t >= deadline) budgetExhausted = true;
    return budgetExhausted;
  };
  const result = (exhaustive: boolean): PermutationSearchResult => {
    const lost = sumLoss();
    return {
      pattern: pattern.name,
      magnitude: total,
      retainedBefore: retainedOf(lossBefore),
      retainedAfter: retainedOf(lost),
      order: canonicalOrder(stripes, m),
      perfect: lost === 0,
      exhaustive,
      budgetExhausted,
      pairsEvaluated,
      escapesTried,
      ms: now() - started,
    };
  };
  if (lossBefore === 0) return result(S <= 3);

  if (S <= 3) {
    // Every partition (5775 for twelve columns of 2:4), each stripe's loss computed once.
    const cache = new Map<string, number>();
    const lossOfStripe = (columns: number[]): number => {
      const key = columns.join(',');
      let value = cache.get(key);
      if (value === undefined) cache.set(key, (value = loss.of(Int32Array.from(columns))));
      return value;
    };
    let best = lossBefore;
    let bestPartition: number[][] | undefined;
    for (const partition of partitions(Array.from({ length: C }, (_, i) => i), m)) {
      const lost = partition.reduce((sum, stripe) => sum + lossOfStripe(stripe), 0);
      if (lost < best) {
        best = lost;
        bestPartition = partition;
        if (lost === 0) break;
      }
      if (checkpoint(() => best)) break;
    }
    if (bestPartition) {
      bestPartition.forEach((stripe, s) => {
        stripes.set(stripe, s * m);
        stripeLoss[s] = lossOfStripe(stripe);
      });
    }
    return result(!budgetExhausted);
  }

  const splits = pairSplits(m);
  // Candidate re-splits are ranked on a sample of the rows (all of them for small weights); only the
  // best candidate is then measured on every row, and applied when it loses less there too.
  const sample = sampledRows(magnitudes, SCREEN_ROWS);
  const screen = sample === magnitudes ? loss : new StripeLoss(sample, m, m - n);
  const both = new Int32Array(2 * m);
  const first = new Int32Array(m);
  const second = new Int32Array(m);
  const bestFirst = new Int32Array(m);
  const bestSecond = new Int32Array(m);
  const inSplit = new Uint8Array(2 * m);
  const splitInto = (q: number, into1: Int32Array, into2: Int32Array): void => {
    const split = splits[q]!;
    inSplit.fill(0);
    for (let k = 0; k < m; k++) inSplit[split[k]!] = 1;
    let f = 0;
    let s = 0;
    for (let k = 0; k < 2 * m; k++) {
      if (inSplit[k]) into1[f++] = both[k]!;
      else into2[s++] = both[k]!;
    }
  };
  // A pair needs a visit when one of its stripes changed after the pair's last visit.
  const changedAt = new Uint32Array(S).fill(1);
  const visitedAt = new Uint32Array(S * S);
  let clock = 1;
  /** Best re-split of stripes a and b: applies it when it loses less; true when it did. */
  const resplit = (a: number, b: number): boolean => {
    both.set(stripes.subarray(a * m, a * m + m), 0);
    both.set(stripes.subarray(b * m, b * m + m), m);
    const current = sample === magnitudes ? stripeLoss[a]! + stripeLoss[b]! : screen.of(both.subarray(0, m)) + screen.of(both.subarray(m));
    let best = current - current * 1e-12;
    let bestSplit = -1;
    let bestLosses: [number, number] = [0, 0];
    for (let q = 0; q < splits.length; q++) {
      splitInto(q, first, second);
      const lostFirst = screen.of(first);
      if (lostFirst >= best) continue;
      const lostSecond = screen.of(second);
      if (lostFirst + lostSecond < best) {
        best = lostFirst + lostSecond;
        bestSplit = q;
        bestLosses = [lostFirst, lostSecond];
      }
    }
    pairsEvaluated++;
    // The margin keeps rounding from making a re-split of equal loss look better and cycling.
    if (bestSplit < 0) return false;
    splitInto(bestSplit, bestFirst, bestSecond);
    if (sample !== magnitudes) {
      bestLosses = [loss.of(bestFirst), loss.of(bestSecond)];
      const exact = stripeLoss[a]! + stripeLoss[b]!;
      if (!(bestLosses[0] + bestLosses[1] < exact - exact * 1e-12)) return false;
    }
    stripes.set(bestFirst, a * m);
    stripes.set(bestSecond, b * m);
    stripeLoss[a] = bestLosses[0];
    stripeLoss[b] = bestLosses[1];
    clock++;
    changedAt[a] = clock;
    changedAt[b] = clock;
    return true;
  };
  /** Re-splits pairs until none improves; false when the time ran out first. */
  const descend = (): boolean => {
    for (let busy = true; busy; ) {
      busy = false;
      for (let a = 0; a < S; a++) {
        for (let b = a + 1; b < S; b++) {
          const key = a * S + b;
          if (visitedAt[key]! >= Math.max(changedAt[a]!, changedAt[b]!)) continue;
          visitedAt[key] = clock;
          busy = true;
          // Two stripes that lose nothing cannot lose less.
          if (stripeLoss[a] === 0 && stripeLoss[b] === 0) continue;
          if (resplit(a, b)) {
            visitedAt[key] = clock;
            if (stripeLoss[a] === 0 && stripeLoss[b] === 0 && sumLoss() === 0) return true;
          }
          if (checkpoint(sumLoss)) return false;
        }
      }
    }
    return true;
  };

  if (!descend() || sumLoss() === 0) return result(false);
  const random = mulberry32(0x9e3779b9);
  const escapes = options.escapes ?? Math.max(200, 4 * S);
  let bestLoss = sumLoss();
  const bestStripes = stripes.slice();
  const bestStripeLoss = stripeLoss.slice();
  for (let e = 0; e < escapes && bestLoss > 0; e++) {
    escapesTried++;
    // Kick a stripe that still loses something: exchange one of its columns with another stripe's.
    let lossy = 0;
    for (let s = 0; s < S; s++) if (stripeLoss[s]! > 0) lossy++;
    let pick = Math.floor(random() * lossy);
    let a = 0;
    while (!(stripeLoss[a]! > 0) || pick-- > 0) a++;
    const b = (a + 1 + Math.floor(random() * (S - 1))) % S;
    const i = a * m + Math.floor(random() * m);
    const j = b * m + Math.floor(random() * m);
    const swapped = stripes[i]!;
    stripes[i] = stripes[j]!;
    stripes[j] = swapped;
    stripeLoss[a] = loss.of(stripes.subarray(a * m, a * m + m));
    stripeLoss[b] = loss.of(stripes.subarray(b * m, b * m + m));
    clock++;
    changedAt[a] = clock;
    changedAt[b] = clock;
    const settled = descend();
    const lost = sumLoss();
    if (lost < bestLoss - bestLoss * 1e-12) {
      bestLoss = lost;
      bestStripes.set(stripes);
      bestStripeLoss.set(stripeLoss);
    } else {
      // Back to the best order, which every pair had settled: nothing needs a visit.
      stripes.set(bestStripes);
      stripeLoss.set(bestStripeLoss);
      clock++;
      visitedAt.fill(clock);
    }
    if (!settled) break;
  }
  if (sumLoss() > bestLoss) {
    stripes.set(bestStripes);
    stripeLoss.set(bestStripeLoss);
  }
  return result(false);
}

/** Why a weight gets no permutation search, or undefined when it can have one. */
export function whyNotPermuted(view: WeightView | undefined, numel: number, pattern: NmPattern): string | undefined {
  if (!view) return 'no input-channel axis';
  if (view.C < 2 * pattern.m) return `fewer than ${2 * pattern.m} input channels (nothing to reorder)`;
  if (view.C % pattern.m !== 0) return `input channels not a multiple of ${pattern.m}`;
  if (numel > MAX_PERMUTE_ELEMENTS) return `more than ${MAX_PERMUTE_ELEMENTS} values`;
  return undefined;
}

/** Reads a weight and searches its input-channel order (see whyNotPermuted for which weights qualify). */
export async function permuteWeight(
  tensor: TensorSource,
  view: WeightView,
  pattern: NmPattern,
  options: PermutationSearchOptions,
): Promise<PermutationSearchResult> {
  const magnitudes = await readColumnMagnitudes(tensor, view, options.signal ? { signal: options.signal } : {});
  return searchPermutation(magnitudes, pattern, options);
}
