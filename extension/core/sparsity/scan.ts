/**
 * Sparsity statistics of weight files: a header-only summary at once, then a streaming scan of every
 * tensor in bounded memory (one reused chunk, one zero mask of the same length, and structured flags
 * proportional to tensor dimensions), with progress and cancellation for the worker that runs it.
 */
import type { Histogram, LayerType, SparsityReport, SparsityTotals, TensorStats, WeightFileSummary, WeightFormat } from '../../shared/payloads';
import { type FileHandle, open as openFile } from 'node:fs/promises';
import * as os from 'node:os';
import { openWeightFile } from '../formats/index';
import { type OpenedWeightFile, type TensorSource, WeightFileError } from '../formats/types';
import { type ChunkRecord, MagnitudeHistogram, ValueAccumulator, type ValueSummary, mergeHistograms, thresholdCurveOf } from './accumulator';
import { type LayoutOverride, type WeightView, applyLayoutOverride, isPrunable, layerTypeOf, weightViewOf } from './layout';
import { effectiveMaskedTensor, findPruningMasks } from './masks';
import { type NmCounts, NmTracker, retainedShare } from './nmGroups';
import type { NmPattern } from './nmPattern';
import type { ScanKernel } from './scanKernel';
import { type StructureState, type StructureSummary, StructureTracker, mergeStructureStates, structureSplitPeriod } from './structure';
import { permuteWeight, whyNotPermuted } from './permute';

/** Elements per chunk asked of the parsers: 8 MB of float32, large enough to amortise each read. */
export const SCAN_CHUNK_ELEMENTS = 1 << 21;
/**
 * A constant tensor (TensorSource.constant) above this many elements is summarised in closed form;
 * below it, it is streamed like any other so that every statistic, the structured ones included, is
 * computed the usual way.
 */
export const CONSTANT_STREAM_LIMIT = 1 << 24;
export const DEFAULT_BLOCK_SIZE: [number, number] = [4, 4];

export interface TensorStatsOptions {
  /** |w| <= threshold counts as zero; default 0. */
  threshold?: number;
  histogram?: boolean;
  /** Block shape over the [O, I*R*S] view; default 4x4. */
  blockSize?: [number, number];
  /** N:M patterns whose compliance and retained magnitude to report (see nmGroups.ts); default none. */
  nm?: readonly NmPattern[];
  /** The file's format, which decides the default axis order of 4-D and 2-D tensors. */
  format?: WeightFormat;
  signal?: AbortSignal;
  maxChunkElements?: number;
  /** Called after each chunk with the number of elements it held. */
  onChunk?: (elements: number) => void;
  /** Reads qualifying float32 tensors straight from the file (see DirectFloat32Reader). */
  directReader?: DirectFloat32Reader;
  /** The engine's per-chunk statistics for float32 chunks (see scanKernel.ts); JavaScript without. */
  kernel?: ScanKernel;
}

/**
 * The scan's fast path for the common case, float32 safetensors: little-endian values lying in one
 * contiguous run of a single file. They are read straight into one reused buffer and viewed as a
 * Float32Array, where the generic parser path allocates (and zero-fills) a fresh buffer per read and
 * then copies it into its output chunk: about a third of the scan time, measured on a 1 GiB file.
 * Everything else goes through the parser's chunks().
 */
export class DirectFloat32Reader {
  private readonly buffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];

  private constructor(
    private readonly file: string,
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  /** A reader for the opened file when its layout allows one, else undefined. */
  static async open(opened: OpenedWeightFile): Promise<DirectFloat32Reader | undefined> {
    // A sharded index (.json) lists tensors whose offsets lie in other files.
    if (opened.format !== 'safetensors' || opened.file.endsWith('.json') || os.endianness() !== 'LE') return undefined;
    if (!opened.tensors.some((t) => t.dtype === 'float32' && t.byteOffset !== undefined)) return undefined;
    const handle = await openFile(opened.file, 'r');
    const stat = await handle.stat();
    return new DirectFloat32Reader(opened.file, handle, stat.size);
  }

  qualifies(tensor: TensorSource): boolean {
    return (
      tensor.dtype === 'float32' &&
      tensor.byteOffset !== undefined &&
      tensor.byteLength === tensor.numel * 4 &&
      tensor.byteOffset + tensor.byteLength <= this.size
    );
  }

  /**
   * With a kernel, values are read into its chunk buffers, which it then scans in place. With a
   * range, elements [from, to) only, in chunks that start where the whole tensor's would when
   * `from` is a multiple of the chunk size.
   */
  async *chunks(tensor: TensorSource, options: { maxChunkElements: number; signal?: AbortSignal }, kernel?: ScanKernel, range?: ElementRange): AsyncGenerator<Float32Array> {
    const from = range?.from ?? 0;
    const to = range?.to ?? tensor.numel;
    if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= tensor.numel)) {
      throw new RangeError(`tensor "${tensor.name}": elements [${from}, ${to}) of ${tensor.numel}`);
    }
    const numel = to - from;
    const limit = Math.min(options.maxChunkElements, numel);
    if (kernel && limit <= kernel.capacity) {
      this.buffers[0] = kernel.chunkBuffer(0);
      this.buffers[1] = kernel.chunkBuffer(1);
    }
    for (let b = 0; b < 2; b++) if (this.buffers[b]!.length < limit) this.buffers[b] = new Float32Array(limit);
    const start = tensor.byteOffset! + from * 4;
    const fill = async (buffer: Float32Array, first: number, count: number): Promise<void> => {
      const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, count * 4);
      const offset = start + first * 4;
      for (let filled = 0; filled < bytes.length; ) {
        const { bytesRead } = await this.handle.read(bytes, filled, bytes.length - filled, offset + filled);
        if (bytesRead === 0) throw new WeightFileError(this.file, `tensor "${tensor.name}": the file shrank while being read (short read at byte ${offset + filled})`);
        filled += bytesRead;
      }
    };
    // Double buffering: the next chunk is read (by libuv's thread pool) while this one is scanned.
    let which = 0;
    let pending: Promise<void> | undefined = numel > 0 ? fill(this.buffers[0]!, 0, limit) : undefined;
    try {
      for (let done = 0; done < numel; ) {
        options.signal?.throwIfAborted();
        const count = Math.min(limit, numel - done);
        await pending;
        pending = undefined;
        const next = done + count;
        if (next < numel) pending = fill(this.buffers[1 - which]!, next, Math.min(limit, numel - next));
        yield this.buffers[which]!.subarray(0, count);
        which = 1 - which;
        done = next;
      }
    } finally {
      // A consumer that stops early must not leave a read running into a buffer or a closing handle.
      await pending?.catch(() => undefined);
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** One tensor's scan: its statistics, the raw N:M counts the model totals add up, and a note to show. */
export interface ScannedTensor {
  stats: TensorStats;
  nm: NmCounts[];
  note?: string;
}

/**
 * One unit of a scan spread over threads: the tensor at `index` of the opened file's list (`name`
 * to check it by when another thread opens the file again), whole or, with `range`, one stretch.
 */
export interface ScanUnit {
  index: number;
  name: string;
  range?: ElementRange;
}

/** What a thread hands back for one unit it claimed: a whole tensor's scan or one stretch's. */
export type ScanUnitResult = { unit: number; tensor: ScannedTensor } | { unit: number; stretch: TensorStretch };

/**
 * Scans units of a file on worker threads, for a surface that has a worker pool. The scan runs on
 * this thread and `threads - 1` workers at once: each claims the next unit from a shared counter
 * until none is left (so a worker that starts late or runs slowly takes fewer), opens the file
 * itself and scans with the same options, so its results equal this thread's.
 */
export interface TensorPartScanner {
  /** Threads the scan runs on: this one and threads - 1 workers. */
  readonly threads: number;
  /** Fewest elements the file must hold to be worth the workers' start (default PARALLEL_SCAN_MIN_ELEMENTS). */
  readonly minElements?: number;
  /** Fewest elements of a stretch of a split tensor (default MIN_STRETCH_ELEMENTS). */
  readonly minStretchElements?: number;
  /**
   * One worker's share: it claims units through `claim` (an Int32Array's element 0, the next unit
   * to take, advanced with Atomics.add) until none is left, reporting the fraction of all units'
   * elements it has scanned, and returns the results of the units it took.
   */
  scan(units: ScanUnit[], claim: SharedArrayBuffer, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<ScanUnitResult[]>;
}

/**
 * Below this many elements (128 MB of float32) a file is scanned on the calling thread: starting
 * workers and loading the engine in each costs a few hundred milliseconds.
 */
export const PARALLEL_SCAN_MIN_ELEMENTS = 1 << 25;
/** Fewest elements of a stretch of a split tensor: a unit costs one claim and one message. */
export const MIN_STRETCH_ELEMENTS = 1 << 24;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * The units of a scan on `threads` threads, in file order: whole tensors, and tensors of more than
 * twice the stretch size cut into stretches, each of at least `minStretch` elements and about a
 * quarter of a thread's share (so that the threads finish close together). A tensor is cut only
 * where `cutPeriod` allows (see structureSplitPeriod; undefined: never) and at whole chunks of
 * `chunk` elements, so that each stretch reads the chunks a scan of the whole tensor reads.
 */
export function planScanUnits(
  tensors: readonly { name: string; numel: number }[],
  threads: number,
  chunk: number,
  cutPeriod: (index: number) => number | undefined,
  minStretch = MIN_STRETCH_ELEMENTS,
): ScanUnit[] {
  const total = tensors.reduce((sum, t) => sum + t.numel, 0);
  const target = Math.max(minStretch, Math.ceil(total / (4 * threads)), 1);
  const units: ScanUnit[] = [];
  tensors.forEach((tensor, index) => {
    const period = cutPeriod(index);
    const step = period === undefined ? undefined : (chunk / gcd(chunk, period)) * period;
    const stretch = step === undefined ? undefined : Math.ceil(target / step) * step;
    if (stretch === undefined || tensor.numel <= 2 * stretch) {
      units.push({ index, name: tensor.name });
      return;
    }
    for (let from = 0; from < tensor.numel; from += stretch) units.push({ index, name: tensor.name, range: { from, to: Math.min(tensor.numel, from + stretch) } });
  });
  return units;
}

/** Default time bound of the channel permutation search, per weight. */
export const DEFAULT_PERMUTE_SECONDS = 10;

export interface ScanOptions extends Omit<TensorStatsOptions, 'format' | 'onChunk' | 'directReader'> {
  /** Spreads the tensors over worker threads (see TensorPartScanner); without it, this thread scans them. */
  parts?: TensorPartScanner;
  /**
   * Search an input-channel order of every conv and linear weight that maximises what this N:M
   * pattern's pruning keeps (see permute.ts), each search bounded by `seconds`.
   */
  permute?: { pattern: NmPattern; seconds?: number };
  /** Fraction of elements scanned so far, and what is being scanned. */
  onProgress?: (fraction: number, message: string) => void;
  /** Skip the effective-sparsity pass over pruning masks. */
  skipMasks?: boolean;
  /** Always go through the parser's chunks() (the direct float32 path is an optimisation only). */
  noDirectRead?: boolean;
  /**
   * The user's tensor layouts (parseLayoutOverride), set on the opened file's tensors before the
   * scan, so that later passes over the same opened file (Winograd domain) read them too.
   */
  layout?: LayoutOverride;
}

export function checkPermuteSeconds(seconds: number | undefined): number {
  const s = seconds ?? DEFAULT_PERMUTE_SECONDS;
  if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0 || s > 86400) {
    throw new RangeError(`the permutation time bound must be a number of seconds in (0, 86400], got ${String(seconds)}`);
  }
  return s;
}

export function checkThreshold(threshold: number | undefined): number {
  const t = threshold ?? 0;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) {
    throw new RangeError(`threshold must be a finite number >= 0, got ${String(threshold)}`);
  }
  return t;
}

/** Reused scratch so that a scan allocates its zero mask once, not once per chunk. */
class MaskBuffer {
  private buffer = new Uint8Array(0);
  get(length: number): Uint8Array {
    if (this.buffer.length < length) this.buffer = new Uint8Array(Math.max(length, this.buffer.length * 2));
    return this.buffer;
  }
}

/** Statistics of one tensor, streaming its chunks once. */
export async function computeTensorStats(tensor: TensorSource, options: TensorStatsOptions = {}, scratch = new MaskBuffer()): Promise<TensorStats> {
  return (await scanTensor(tensor, options, scratch)).stats;
}

/** Statistics of one tensor, and the raw N:M counts the model totals add up. */
async function scanTensor(tensor: TensorSource, options: TensorStatsOptions, scratch: MaskBuffer): Promise<ScannedTensor> {
  const threshold = checkThreshold(options.threshold);
  const histogram = options.histogram ? new MagnitudeHistogram() : undefined;
  const values = new ValueAccumulator(threshold, histogram);
  if (tensor.constant !== undefined && tensor.numel > CONSTANT_STREAM_LIMIT) return constantTensorStats(tensor, tensor.constant, values, histogram, options);
  const scanned = await streamTensor(tensor, options, scratch, values, undefined);
  const summary = values.summary();
  if (summary.numel !== tensor.numel) {
    throw new Error(`tensor "${tensor.name}": the parser streamed ${summary.numel} values, its shape has ${tensor.numel}`);
  }
  const structure = scanned.structure?.tracker.summary(scanned.structure.state);
  return tensorResult(tensor, options, summary, scanned.view, structure, scanned.nm, histogram?.toJSON());
}

/** Elements [from, to) of a tensor in stored order. */
export interface ElementRange {
  from: number;
  to: number;
}

/**
 * What one stretch of a split tensor (see planScanUnits) adds to the tensor's statistics, scanned
 * apart from the rest, perhaps on another thread: joinTensorStretches adds the stretches up in
 * file order into what scanning the tensor in one go reports.
 */
export interface TensorStretch {
  chunks: ChunkRecord[];
  structure?: StructureState;
  nm: NmCounts[];
  histogram?: Histogram;
}

/** Elements [range.from, range.to) of a tensor the direct reader reads (see planScanUnits). */
async function scanTensorStretch(tensor: TensorSource, range: ElementRange, options: TensorStatsOptions, scratch: MaskBuffer): Promise<TensorStretch> {
  const histogram = options.histogram ? new MagnitudeHistogram() : undefined;
  const values = new ValueAccumulator(checkThreshold(options.threshold), histogram);
  const chunks = values.recordChunks();
  const scanned = await streamTensor(tensor, options, scratch, values, range);
  if (values.seen !== range.to - range.from) throw new Error(`tensor "${tensor.name}": read ${values.seen} values of elements [${range.from}, ${range.to})`);
  return { chunks, nm: scanned.nm, ...(scanned.structure ? { structure: scanned.structure.state } : {}), ...(histogram ? { histogram: histogram.toJSON() } : {}) };
}

/** A split tensor's statistics from its stretches in file order: those of one scan of the whole tensor. */
export function joinTensorStretches(tensor: TensorSource, stretches: readonly TensorStretch[], options: TensorStatsOptions): ScannedTensor {
  const values = new ValueAccumulator(checkThreshold(options.threshold));
  for (const stretch of stretches) for (const chunk of stretch.chunks) values.addChunk(chunk);
  const summary = values.summary();
  if (summary.numel !== tensor.numel) throw new Error(`tensor "${tensor.name}": its stretches hold ${summary.numel} values, its shape has ${tensor.numel}`);
  const view = weightViewOf(tensor, options.format);
  const first = stretches[0]?.structure;
  let structure: StructureSummary | undefined;
  if (view && first) {
    const state = { ...first, kernelNonzero: first.kernelNonzero.slice(), rowNonzero: first.rowNonzero.slice(), colNonzero: first.colNonzero.slice(), blockBits: first.blockBits.slice() };
    for (const stretch of stretches.slice(1)) mergeStructureStates(state, stretch.structure!);
    structure = new StructureTracker(view, options.blockSize ?? DEFAULT_BLOCK_SIZE).summary(state);
  }
  const nm = (stretches[0]?.nm ?? []).map((c, q) => {
    const sum = { ...c };
    for (const stretch of stretches.slice(1)) {
      const other = stretch.nm[q]!;
      sum.groups += other.groups;
      sum.compliant += other.compliant;
      sum.kept += other.kept;
      sum.magnitude += other.magnitude;
    }
    return sum;
  });
  const histograms = stretches.map((s) => s.histogram).filter((h): h is Histogram => h !== undefined);
  const histogram = histograms.length > 0 ? histograms.reduce((a, b) => mergeHistograms(a, b)) : undefined;
  return tensorResult(tensor, options, summary, view, structure, nm, histogram);
}

/** Streams a tensor's elements (or `range` of them) into `values` and the structure and N:M trackers it makes. */
async function streamTensor(
  tensor: TensorSource,
  options: TensorStatsOptions,
  scratch: MaskBuffer,
  values: ValueAccumulator,
  range: ElementRange | undefined,
): Promise<{ view: WeightView | undefined; structure: { tracker: StructureTracker; state: StructureState } | undefined; nm: NmCounts[] }> {
  const view = weightViewOf(tensor, options.format);
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  const kernel = options.kernel;
  const counter = kernel && view?.order === 'KC' && tensor.numel > 0 ? kernel.matrixStructure(view.K, view.C, blockSize) : undefined;
  try {
    const structure = view && tensor.numel > 0 ? new StructureTracker(view, blockSize, counter) : undefined;
    if (range && range.from > 0) structure?.startAt(range.from);
    // With fewer than M input channels every group is mostly padding: such patterns are left out.
    const patterns = structure && view ? (options.nm ?? []).filter((p) => p.m <= view.C) : [];
    const nm = patterns.length > 0 ? new NmTracker(view!, patterns) : undefined;
    const chunkOptions: { maxChunkElements: number; signal?: AbortSignal } = { maxChunkElements: options.maxChunkElements ?? SCAN_CHUNK_ELEMENTS };
    if (options.signal) chunkOptions.signal = options.signal;
    const direct = options.directReader?.qualifies(tensor) ? options.directReader : undefined;
    if (range && !direct) throw new Error(`tensor "${tensor.name}": only a tensor read straight from the file can be scanned in stretches`);
    const stream = direct ? direct.chunks(tensor, chunkOptions, kernel, range) : tensor.chunks(chunkOptions);
    const threshold = values.threshold;
    const histogram = values.histogram;
    for await (const chunk of stream) {
      options.signal?.throwIfAborted();
      const n = chunk.length;
      let mask: Uint8Array;
      if (kernel && chunk instanceof Float32Array && n > 0 && n <= kernel.capacity) {
        const done = kernel.valueSums(chunk, n, threshold);
        mask = done.mask;
        const counts = histogram ? kernel.histogramCounts(n, histogram.tables()) : undefined;
        values.addSums(chunk, n, done.sums, mask, counts);
      } else {
        mask = scratch.get(n);
        values.add(chunk, n, mask);
      }
      structure?.consume(mask, n);
      nm?.consume(chunk, mask, n);
      options.onChunk?.(n);
    }
    // Read before the engine's memory is given back (finally); the tracker summarises any state.
    return { view, structure: structure ? { tracker: structure, state: structure.state() } : undefined, nm: nm?.summary() ?? [] };
  } finally {
    counter?.release();
  }
}

/** A tensor's statistics from its value summary, structure summary, N:M counts and histogram. */
function tensorResult(
  tensor: TensorSource,
  options: TensorStatsOptions,
  summary: ValueSummary,
  view: WeightView | undefined,
  structure: StructureSummary | undefined,
  nmCounts: NmCounts[],
  histogram: Histogram | undefined,
): ScannedTensor {
  const structured = structure && view ? structuredFields(structure, view, summary.zeros, tensor.numel) : {};
  const stats: TensorStats = {
    name: tensor.name,
    dtype: tensor.dtype,
    shape: tensor.shape.slice(),
    numel: tensor.numel,
    zeros: summary.zeros,
    sparsity: tensor.numel === 0 ? 0 : summary.zeros / tensor.numel,
    layerType: layerTypeOf(tensor),
    // A layout the statistics cannot use (a transposed convolution's HWOI) is still shown.
    ...(view && structure ? { layout: view.layout, layoutBasis: view.basis } : tensor.layout ? { layout: tensor.layout, layoutBasis: tensor.layoutBasis ?? 'format' } : {}),
    ...structured,
    ...(tensor.quantization ? { quantization: tensor.quantization } : {}),
    mean: summary.mean,
    std: summary.std,
    min: summary.min,
    max: summary.max,
    absMean: summary.absMean,
  };
  if (nmCounts.length > 0) {
    stats.nm = Object.fromEntries(nmCounts.map((c) => [c.pattern.name, c.compliant / c.groups]));
    stats.retained = Object.fromEntries(nmCounts.map((c) => [c.pattern.name, retainedShare(c.kept, c.magnitude)]));
  }
  if (histogram) stats.histogram = histogram;
  return { stats, nm: nmCounts };
}

/**
 * Statistics of a tensor whose every element is `value`, without generating them: the value
 * statistics (and histogram) in closed form. The structured ones (filters, blocks, N:M) are left
 * out, and the returned note says so.
 */
function constantTensorStats(
  tensor: TensorSource,
  value: number,
  values: ValueAccumulator,
  histogram: MagnitudeHistogram | undefined,
  options: TensorStatsOptions,
): { stats: TensorStats; nm: NmCounts[]; note: string } {
  values.addRepeated(value, tensor.numel);
  options.onChunk?.(tensor.numel);
  const summary = values.summary();
  const stats: TensorStats = {
    name: tensor.name,
    dtype: tensor.dtype,
    shape: tensor.shape.slice(),
    numel: tensor.numel,
    zeros: summary.zeros,
    sparsity: summary.zeros / tensor.numel,
    layerType: layerTypeOf(tensor),
    mean: summary.mean,
    std: summary.std,
    min: summary.min,
    max: summary.max,
    absMean: summary.absMean,
  };
  if (histogram) stats.histogram = histogram.toJSON();
  const note = `"${tensor.name}" stores no values: all ${tensor.numel} elements are ${value}; its statistics are computed from that value, without structured (filter, block, N:M) figures`;
  return { stats, nm: [], note };
}

type StructuredFields = Pick<TensorStats, 'filters' | 'channels' | 'kernels' | 'rows' | 'cols' | 'nm24' | 'nm24Full' | 'block'>;

function structuredFields(s: StructureSummary, view: WeightView, zeros: number, numel: number): StructuredFields {
  const rank = view.rank;
  const out: StructuredFields = {};
  if (s.filters !== undefined) out.filters = s.filters;
  if (s.channels !== undefined) out.channels = s.channels;
  if (s.kernels !== undefined) out.kernels = s.kernels;
  else if (rank === 4) out.kernels = zeros / numel; // a 1x1 kernel is one element
  if (s.rows !== undefined) out.rows = s.rows;
  if (s.cols !== undefined) out.cols = s.cols;
  // With fewer than 4 input channels every group is mostly padding (depthwise kernels have 1): the
  // share would say nothing about the weights, so it is left out.
  if (view.C >= 4) {
    out.nm24 = s.nm24;
    out.nm24Full = s.nm24Full;
  }
  if (s.block) out.block = s.block;
  return out;
}

function addTotals(into: SparsityTotals, numel: number, zeros: number): void {
  into.numel += numel;
  into.zeros += zeros;
  into.sparsity = into.numel === 0 ? 0 : into.zeros / into.numel;
}

/** N:M counts summed over tensors, per pattern name. */
class NmTotals {
  private readonly sums = new Map<string, { groups: number; compliant: number; kept: number; magnitude: number }>();

  add(counts: readonly NmCounts[]): void {
    for (const c of counts) {
      const sum = this.sums.get(c.pattern.name) ?? { groups: 0, compliant: 0, kept: 0, magnitude: 0 };
      sum.groups += c.groups;
      sum.compliant += c.compliant;
      sum.kept += c.kept;
      sum.magnitude += c.magnitude;
      this.sums.set(c.pattern.name, sum);
    }
  }

  /** Sets nm and retained on `into` for the patterns some tensor had, in the order asked for. */
  writeInto(into: SparsityTotals, patterns: readonly NmPattern[]): void {
    const present = patterns.filter((p) => this.sums.has(p.name));
    if (present.length === 0) return;
    into.nm = Object.fromEntries(present.map((p) => [p.name, this.sums.get(p.name)!.compliant / this.sums.get(p.name)!.groups]));
    into.retained = Object.fromEntries(present.map((p) => [p.name, retainedShare(this.sums.get(p.name)!.kept, this.sums.get(p.name)!.magnitude)]));
  }
}

/** The model's totals, per layer type, and its merged magnitude histogram, over the tensors counted. */
function totalsOf(counted: readonly { stats: TensorStats; nm: NmCounts[] }[], patterns: readonly NmPattern[]) {
  const total: SparsityTotals = { numel: 0, zeros: 0, sparsity: 0 };
  const byLayerType: Partial<Record<LayerType, SparsityTotals>> = {};
  const nmTotal = new NmTotals();
  const nmByLayerType = new Map<LayerType, NmTotals>();
  let histogram: Histogram | undefined;
  for (const { stats, nm } of counted) {
    addTotals(total, stats.numel, stats.zeros);
    const type = stats.layerType ?? 'other';
    addTotals((byLayerType[type] ??= { numel: 0, zeros: 0, sparsity: 0 }), stats.numel, stats.zeros);
    nmTotal.add(nm);
    if (nm.length > 0) {
      if (!nmByLayerType.has(type)) nmByLayerType.set(type, new NmTotals());
      nmByLayerType.get(type)!.add(nm);
    }
    if (stats.histogram) histogram = histogram ? mergeHistograms(histogram, stats.histogram) : stats.histogram;
  }
  nmTotal.writeInto(total, patterns);
  for (const [type, sums] of nmByLayerType) sums.writeInto(byLayerType[type]!, patterns);
  return { total, byLayerType: byLayerType as Record<string, SparsityTotals>, histogram };
}

/** The patterns each weight reports: those asked for and the permutation's, whose retained share is the "before". */
function patternsOf(options: ScanOptions): readonly NmPattern[] {
  const asked = options.nm ?? [];
  return options.permute && !asked.some((p) => p.name === options.permute!.pattern.name) ? [...asked, options.permute.pattern] : asked;
}

/**
 * Every tensor's scan, in file order, on this thread and the scanner's workers at once (see
 * TensorPartScanner); undefined where the file is scanned on this thread alone (no scanner, one
 * thread, too few elements to pay for the workers, or a single unit).
 */
async function scanInParts(
  opened: OpenedWeightFile,
  options: ScanOptions,
  directReader: DirectFloat32Reader | undefined,
  totalElements: number,
  onElements: (elements: number) => void,
): Promise<ScannedTensor[] | undefined> {
  const scanner = options.parts;
  if (!scanner || scanner.threads < 2 || totalElements < (scanner.minElements ?? PARALLEL_SCAN_MIN_ELEMENTS)) return undefined;
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  const units = planScanUnits(opened.tensors, scanner.threads, options.maxChunkElements ?? SCAN_CHUNK_ELEMENTS, (index) => {
    const tensor = opened.tensors[index]!;
    if (!directReader?.qualifies(tensor) || tensor.constant !== undefined) return undefined;
    const view = weightViewOf(tensor, opened.format);
    return view ? structureSplitPeriod(view, blockSize) : 1;
  }, scanner.minStretchElements);
  if (units.length < 2) return undefined;
  const unitElements = units.reduce((sum, u) => sum + (u.range ? u.range.to - u.range.from : opened.tensors[u.index]!.numel), 0);
  const claim = new SharedArrayBuffer(4);
  const workers = Array.from({ length: scanner.threads - 1 }, () => {
    let reported = 0;
    return scanner.scan(
      units,
      claim,
      (fraction) => {
        const now = Math.min(unitElements, Math.round(fraction * unitElements));
        if (now > reported) onElements(now - reported);
        reported = Math.max(reported, now);
      },
      options.signal,
    );
  });
  const here = scanClaimedUnits(opened, units, claim, { ...options, ...(directReader ? { directReader } : {}), onElements });
  const settled = await Promise.allSettled([here, ...workers]);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const byUnit: ScanUnitResult[] = [];
  for (const s of settled) for (const result of (s as PromiseFulfilledResult<ScanUnitResult[]>).value) byUnit[result.unit] = result;
  const out: ScannedTensor[] = [];
  const stretches = new Map<number, TensorStretch[]>();
  units.forEach((unit, u) => {
    const result = byUnit[u];
    if (!result) throw new Error(`unit ${u} of the scan (tensor "${unit.name}") was scanned by no thread`);
    if ('tensor' in result) out[unit.index] = result.tensor;
    else stretches.set(unit.index, [...(stretches.get(unit.index) ?? []), result.stretch]);
  });
  const patterns = patternsOf(options);
  for (const [index, parts] of stretches) out[index] = joinTensorStretches(opened.tensors[index]!, parts, { ...options, nm: patterns, format: opened.format });
  return out;
}

/**
 * One thread's share of a scan spread over threads (see TensorPartScanner): claims units through
 * `claim` until none is left and scans each with the options the whole scan has. On a failure the
 * counter is moved past the last unit, so the other threads stop after the unit they are on.
 */
export async function scanClaimedUnits(
  opened: OpenedWeightFile,
  units: readonly ScanUnit[],
  claim: SharedArrayBuffer,
  options: ScanOptions & { directReader?: DirectFloat32Reader; onElements?: (elements: number) => void },
): Promise<ScanUnitResult[]> {
  const next = new Int32Array(claim);
  const threshold = checkThreshold(options.threshold);
  const patterns = patternsOf(options);
  const scratch = new MaskBuffer();
  const out: ScanUnitResult[] = [];
  try {
    for (let u = Atomics.add(next, 0, 1); u < units.length; u = Atomics.add(next, 0, 1)) {
      options.signal?.throwIfAborted();
      const { index, name, range } = units[u]!;
      const tensor = opened.tensors[index];
      if (tensor?.name !== name) throw new WeightFileError(opened.file, `tensor ${index} is not "${name}" when read again: the file changed during the scan`);
      const tensorOptions: TensorStatsOptions = { ...options, nm: patterns, threshold, format: opened.format, onChunk: (n) => options.onElements?.(n) };
      if (range) out.push({ unit: u, stretch: await scanTensorStretch(tensor, range, tensorOptions, scratch) });
      else out.push({ unit: u, tensor: await scanTensor(tensor, tensorOptions, scratch) });
    }
  } catch (error) {
    Atomics.store(next, 0, units.length);
    throw error;
  }
  return out;
}

/**
 * A worker's share of a scan spread over threads (see TensorPartScanner), on the file it opened
 * itself: scanClaimedUnits with its own direct reader, progress as the fraction of all units' elements.
 */
export async function scanClaimedUnitsOf(opened: OpenedWeightFile, units: readonly ScanUnit[], claim: SharedArrayBuffer, options: ScanOptions = {}): Promise<ScanUnitResult[]> {
  if (options.layout) applyLayoutOverride(opened, options.layout);
  const total = units.reduce((sum, u) => sum + (u.range ? u.range.to - u.range.from : (opened.tensors[u.index]?.numel ?? 0)), 0);
  let done = 0;
  const directReader = options.noDirectRead ? undefined : await DirectFloat32Reader.open(opened);
  try {
    return await scanClaimedUnits(opened, units, claim, {
      ...options,
      ...(directReader ? { directReader } : {}),
      onElements: (n) => {
        done += n;
        options.onProgress?.(total === 0 ? 1 : done / total, 'scanning');
      },
    });
  } finally {
    await directReader?.close();
  }
}

/** Scans a file already opened (the caller closes it). */
export async function scanOpenedWeightFile(opened: OpenedWeightFile, options: ScanOptions = {}): Promise<SparsityReport> {
  const threshold = checkThreshold(options.threshold);
  if (options.layout) applyLayoutOverride(opened, options.layout);
  const totalElements = opened.tensors.reduce((sum, t) => sum + t.numel, 0);
  const scratch = new MaskBuffer();
  let done = 0;
  let lastReport = 0;
  const report = (message: string, force = false) => {
    const now = Date.now();
    if (!options.onProgress || (!force && now - lastReport < 50)) return;
    lastReport = now;
    options.onProgress(totalElements === 0 ? 1 : done / totalElements, message);
  };
  const tensors: TensorStats[] = [];
  /** What the totals add up: every tensor, except that a masked parameter counts once, as orig * mask. */
  const counted = new Map<string, ScannedTensor>();
  const patterns = patternsOf(options);
  const notes: string[] = [];
  const permute = options.permute ? { pattern: options.permute.pattern, seconds: checkPermuteSeconds(options.permute.seconds) } : undefined;
  const permuted = { tensors: 0, kept: 0, keptAfter: 0, magnitude: 0 };
  const notPermuted = new Map<string, string[]>();
  const directReader = options.noDirectRead ? undefined : await DirectFloat32Reader.open(opened);
  try {
    const inParts = await scanInParts(opened, options, directReader, totalElements, (n) => {
      done += n;
      report(`scanning ${opened.tensors.length} tensors on ${options.parts!.threads} threads`);
    });
    for (const [index, tensor] of opened.tensors.entries()) {
      options.signal?.throwIfAborted();
      let scanned: ScannedTensor;
      if (inParts) scanned = inParts[index]!;
      else {
        report(`scanning ${tensor.name}`, true);
        scanned = await scanTensor(
          tensor,
          {
            ...options,
            nm: patterns,
            threshold,
            format: opened.format,
            ...(directReader ? { directReader } : {}),
            onChunk: (n) => {
              done += n;
              report(`scanning ${tensor.name}`);
            },
          },
          scratch,
        );
      }
      if (permute && isPrunable(tensor)) {
        const view = weightViewOf(tensor, opened.format);
        const why = whyNotPermuted(view, tensor.numel, permute.pattern);
        if (why) notPermuted.set(why, [...(notPermuted.get(why) ?? []), tensor.name]);
        else {
          report(`permuting the input channels of ${tensor.name}`, true);
          const found = await permuteWeight(tensor, view!, permute.pattern, {
            budgetMs: permute.seconds * 1000,
            ...(options.signal ? { signal: options.signal } : {}),
            onProgress: (_, retained) => report(`permuting the input channels of ${tensor.name}: ${(retained * 100).toFixed(2)}% of |w| kept`, true),
          });
          const { magnitude, pattern, retainedBefore, retainedAfter, order, perfect, exhaustive, budgetExhausted, ms } = found;
          scanned.stats.permutation = { pattern, retainedBefore, retainedAfter, order, perfect, exhaustive, budgetExhausted, ms };
          permuted.tensors++;
          permuted.magnitude += magnitude;
          permuted.kept += magnitude * found.retainedBefore;
          permuted.keptAfter += magnitude * found.retainedAfter;
        }
      }
      tensors.push(scanned.stats);
      if (scanned.note) notes.push(scanned.note);
      counted.set(tensor.name, scanned);
    }
  } finally {
    await directReader?.close();
  }
  const warnings = opened.warnings.slice();
  let masks: SparsityReport['masks'];
  if (!options.skipMasks) {
    const { pairs, problems } = findPruningMasks(opened.tensors);
    warnings.push(...problems);
    if (pairs.length > 0) {
      const byName = new Map(tensors.map((t) => [t.name, t]));
      masks = [];
      for (const pair of pairs) {
        options.signal?.throwIfAborted();
        report(`effective sparsity of ${pair.parameter}`, true);
        const effective = await scanTensor(effectiveMaskedTensor(pair), { ...options, nm: patterns, threshold, format: opened.format }, scratch);
        const maskStats = byName.get(pair.mask.name);
        const info: NonNullable<SparsityReport['masks']>[number] = {
          parameter: pair.parameter,
          kind: pair.kind,
          orig: pair.orig.name,
          mask: pair.mask.name,
          numel: effective.stats.numel,
          maskSparsity: maskStats?.sparsity ?? 0,
          effectiveSparsity: effective.stats.sparsity,
        };
        if (effective.stats.nm24 !== undefined) info.effectiveNm24 = effective.stats.nm24;
        masks.push(info);
        // The model computes with orig * mask: that, not the two stored tensors, is what it holds.
        counted.delete(pair.orig.name);
        counted.delete(pair.mask.name);
        counted.set(`${pair.parameter}\0effective`, effective);
      }
      warnings.push(
        `${pairs.length} pruning mask${pairs.length === 1 ? '' : 's'} found (${[...new Set(pairs.map((p) => p.kind))].join(', ')}); effective sparsity of orig * mask reported under masks, and the totals count each masked parameter once, as orig * mask`,
      );
    }
  }
  const { total, byLayerType, histogram } = totalsOf([...counted.values()], patterns);
  if (masks) total.maskedParameters = masks.length;
  if (permute && permuted.tensors > 0) {
    total.permutation = {
      pattern: permute.pattern.name,
      tensors: permuted.tensors,
      retainedBefore: retainedShare(permuted.kept, permuted.magnitude),
      retainedAfter: retainedShare(permuted.keptAfter, permuted.magnitude),
    };
  }
  for (const [why, names] of notPermuted) {
    notes.push(`${names.length} conv/linear weight${names.length === 1 ? '' : 's'} not permuted for ${permute!.pattern.name}, ${why}: ${names.join(', ')}`);
  }
  const cutShort = tensors.filter((t) => t.permutation?.budgetExhausted).map((t) => t.name);
  if (cutShort.length > 0) notes.push(`the permutation search ran out of its ${permute!.seconds} s on ${cutShort.join(', ')}: a longer bound may keep more`);
  const leftOut = opened.leftOut ?? [];
  if (leftOut.length > 0) total.leftOut = { tensors: leftOut.length, numel: leftOut.reduce((sum, t) => sum + t.numel, 0) };
  const result: SparsityReport = {
    file: opened.file,
    format: opened.format,
    fileBytes: opened.fileBytes,
    threshold,
    ...(patterns.length > 0 ? { nmPatterns: patterns.map((p) => p.name) } : {}),
    ...(options.layout ? { layoutOverride: options.layout.text } : {}),
    ...(permute ? { permute: { pattern: permute.pattern.name, secondsPerTensor: permute.seconds } } : {}),
    tensors,
    ...(leftOut.length > 0 ? { leftOut: leftOut.map((t) => ({ ...t, shape: t.shape.slice() })) } : {}),
    total,
    byLayerType,
    warnings: [...warnings, ...notes],
  };
  if (histogram) result.thresholdCurve = thresholdCurveOf(histogram, total.numel, threshold);
  if (masks) result.masks = masks;
  done = totalElements;
  report('done', true);
  return result;
}

/** Full statistics of a weight file of any supported format. */
export async function scanWeightFile(file: string, options: ScanOptions = {}): Promise<SparsityReport> {
  const opened = await openWeightFile(file, options.signal ? { signal: options.signal } : undefined);
  try {
    return await scanOpenedWeightFile(opened, options);
  } finally {
    await opened.close();
  }
}

/** What the headers tell, without reading any tensor data. */
export async function summarizeWeightFile(file: string, options: { signal?: AbortSignal } = {}): Promise<WeightFileSummary> {
  const opened = await openWeightFile(file, options.signal ? { signal: options.signal } : undefined);
  try {
    return {
      file: opened.file,
      format: opened.format,
      fileBytes: opened.fileBytes,
      tensors: opened.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape.slice(), numel: t.numel })),
      parameters: opened.tensors.reduce((sum, t) => sum + t.numel, 0),
    };
  } finally {
    await opened.close();
  }
}

/** Most values a preview hands back, whatever is asked: a preview is for eyes, not for analysis. */
export const MAX_PREVIEW_VALUES = 1 << 16;

/**
 * `count` values of one tensor in stored order from `offset` (for the tensorPreview worker task, which
 * pages through a tensor). Values before `offset` are streamed past in bounded chunks, never kept.
 */
export async function previewTensor(file: string, name: string, count: number, options: { offset?: number; signal?: AbortSignal } = {}): Promise<number[]> {
  const offset = options.offset ?? 0;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`preview count must be a non-negative integer, got ${String(count)}`);
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`preview offset must be a non-negative integer, got ${String(offset)}`);
  const opened = await openWeightFile(file, options.signal ? { signal: options.signal } : undefined);
  try {
    const tensor = opened.tensors.find((t) => t.name === name);
    if (!tensor) throw new WeightFileError(file, `no tensor named "${name}"`);
    const wanted = Math.min(count, Math.max(0, tensor.numel - offset), MAX_PREVIEW_VALUES);
    const values: number[] = [];
    if (wanted === 0) return values;
    const chunkElements = Math.min(SCAN_CHUNK_ELEMENTS, Math.max(wanted, offset));
    const chunkOptions = options.signal ? { maxChunkElements: chunkElements, signal: options.signal } : { maxChunkElements: chunkElements };
    let seen = 0;
    for await (const chunk of tensor.chunks(chunkOptions)) {
      const start = Math.max(0, offset - seen);
      for (let i = start; i < chunk.length && values.length < wanted; i++) values.push(chunk[i]!);
      seen += chunk.length;
      if (values.length >= wanted) break;
    }
    return values;
  } finally {
    await opened.close();
  }
}
