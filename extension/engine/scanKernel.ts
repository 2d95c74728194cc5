/**
 * The sparsity scan's per-chunk statistics on the engine (assembly/scanStats.ts): an implementation
 * of core's ScanKernel over one engine instance with its own memory. Its chunk buffers, the zero
 * mask and the output slots are allocated once, at the bottom of the arena; each matrix structure
 * counter takes its flags and state above them for one tensor and gives them back when released.
 */
import type { HistogramTables } from '../core/sparsity/accumulator';
import type { ChunkValueSums, MatrixStructureCounter, MatrixStructureCounts, ScanKernel } from '../core/sparsity/scanKernel';
import { type EngineCreateOptions, EngineInstance } from './instance';

/** Elements per chunk buffer: the scan's chunk size (core/sparsity/scan.ts SCAN_CHUNK_ELEMENTS). */
export const SCAN_KERNEL_CAPACITY = 1 << 21;
/** Most histogram bins the kernel counts (the default histogram has 100). */
const MAX_HISTOGRAM_BINS = 4096;
/** Entries of MagnitudeHistogram's prefix table: one per top 15 bits of a float32 magnitude. */
const PREFIX_ENTRIES = 1 << 15;

/** The largest float32 not above t (t >= 0 finite): |x| <= it exactly when |x| <= t, for float32 x. */
export function float32AtOrBelow(t: number): number {
  const f = Math.fround(t);
  if (f <= t) return f;
  // f is the next float32 above t: step one ulp down through the bit pattern (f > 0 here).
  const bits = new Uint32Array(Float32Array.of(f).buffer);
  bits[0]! -= 1;
  return new Float32Array(bits.buffer)[0]!;
}

/**
 * Sets `flag` on the entries of a prefix table (see HistogramTables) whose prefix holds values above
 * its category's upper edge: the largest float32 of prefix p is the bit pattern p << 16 | 0xffff
 * (NaN patterns compare false and are told apart by the kernel anyway).
 */
export function flagStraddlingPrefixes(table: Uint16Array, categoryUpper: Float64Array, flag: number): void {
  const bits = new Uint32Array(1);
  const largest = new Float32Array(bits.buffer);
  for (let p = 0; p < table.length; p++) {
    bits[0] = ((p << 16) | 0xffff) >>> 0;
    if (largest[0]! > categoryUpper[table[p]!]!) table[p]! |= flag;
  }
}

export class EngineScanKernel implements ScanKernel {
  readonly capacity: number;
  private readonly engine: EngineInstance;
  private readonly slots: [number, number];
  private readonly maskPtr: number;
  private readonly outPtr: number;
  private readonly stateBytes: number;
  private readonly tablePtr: number;
  private readonly upperPtr: number;
  private readonly countsPtr: number;
  /** The tables last copied into engine memory (a histogram makes its arrays once and keeps them). */
  private tablesInMemory: HistogramTables | undefined;
  /** Where the last valueSums found its values. */
  private lastValuesPtr = 0;

  constructor(options: EngineCreateOptions & { capacity?: number } = {}) {
    this.capacity = options.capacity ?? SCAN_KERNEL_CAPACITY;
    this.engine = EngineInstance.create(options);
    const arena = this.engine.arena;
    this.slots = [arena.alloc(this.capacity * 4, 'scan chunk'), arena.alloc(this.capacity * 4, 'scan chunk')];
    this.maskPtr = arena.alloc(this.capacity, 'scan zero mask');
    this.outPtr = arena.alloc(this.engine.constant('SCAN_OUT_SLOTS') * 8, 'scan sums');
    this.stateBytes = this.engine.constant('SCAN_KC_STATE_BYTES');
    this.tablePtr = arena.alloc(PREFIX_ENTRIES * 2, 'histogram prefix table');
    this.upperPtr = arena.alloc((MAX_HISTOGRAM_BINS + 2) * 8, 'histogram edges');
    // Four sub-histograms (see scanHistogramF32).
    this.countsPtr = arena.alloc(4 * (MAX_HISTOGRAM_BINS + 4) * 4, 'histogram counts');
  }

  /** Which build runs the kernels ('relaxed' or 'simd'). */
  get variant(): string {
    return this.engine.variant;
  }

  /**
   * Every buffer object views of engine memory were made on: a grown shared memory hands out a new
   * SharedArrayBuffer object for the same memory, and older views keep theirs.
   */
  private readonly ownBuffers = new WeakSet<ArrayBufferLike>();

  private memoryBuffer(): ArrayBufferLike {
    const buffer = this.engine.memory.buffer;
    this.ownBuffers.add(buffer);
    return buffer;
  }

  /** Whether `view` lies in engine memory (then its byteOffset is its address). */
  owns(view: ArrayBufferView): boolean {
    return this.ownBuffers.has(view.buffer);
  }

  chunkBuffer(slot: 0 | 1): Float32Array {
    return new Float32Array(this.memoryBuffer(), this.slots[slot], this.capacity);
  }

  /**
   * Address of values in engine memory. Values read into a chunk buffer are scanned in place; others
   * are copied into slot 1 first. That never overwrites a read under way: a tensor's chunks come
   * either all from the direct reader (all in the slots) or all from elsewhere.
   */
  private place(values: Float32Array, n: number): number {
    if (this.owns(values)) {
      for (const ptr of this.slots) if (values.byteOffset >= ptr && values.byteOffset + n * 4 <= ptr + this.capacity * 4) return values.byteOffset;
    }
    new Float32Array(this.memoryBuffer(), this.slots[1], n).set(values.subarray(0, n));
    return this.slots[1];
  }

  valueSums(values: Float32Array, n: number, threshold: number): { sums: ChunkValueSums; mask: Uint8Array } {
    if (!(n > 0 && n <= this.capacity && n <= values.length)) throw new RangeError(`scan kernel: chunk of ${n} values (capacity ${this.capacity})`);
    const ptr = this.place(values, n);
    this.lastValuesPtr = ptr;
    this.engine.call('scanValuesF32', ptr, n, float32AtOrBelow(threshold), this.maskPtr, this.outPtr);
    const out = new Float64Array(this.memoryBuffer(), this.outPtr, 6);
    return {
      sums: { zeros: out[0]!, min: out[1]!, max: out[2]!, sumD: out[3]!, sumDD: out[4]!, sumAbs: out[5]! },
      mask: new Uint8Array(this.memoryBuffer(), this.maskPtr, n),
    };
  }

  histogramCounts(n: number, tables: HistogramTables): Uint32Array | undefined {
    const slots = tables.categoryUpper.length + 2;
    if (tables.prefixCategory.length !== PREFIX_ENTRIES || slots > MAX_HISTOGRAM_BINS + 4 || this.lastValuesPtr === 0) return undefined;
    const buffer = this.memoryBuffer();
    const copied = this.tablesInMemory;
    if (copied?.prefixCategory !== tables.prefixCategory || copied.categoryUpper !== tables.categoryUpper) {
      const table = new Uint16Array(buffer, this.tablePtr, PREFIX_ENTRIES);
      table.set(tables.prefixCategory);
      flagStraddlingPrefixes(table, tables.categoryUpper, this.engine.constant('SCAN_HIST_STRADDLES'));
      new Float64Array(buffer, this.upperPtr, tables.categoryUpper.length).set(tables.categoryUpper);
      this.tablesInMemory = tables;
    }
    const lanes = new Uint32Array(buffer, this.countsPtr, 4 * slots);
    lanes.fill(0);
    this.engine.call('scanHistogramF32', this.lastValuesPtr, n, this.maskPtr, this.tablePtr, this.upperPtr, this.countsPtr, slots - 4);
    const counts = new Uint32Array(slots);
    for (let lane = 0; lane < 4; lane++) for (let c = 0; c < slots; c++) counts[c]! += lanes[lane * slots + c]!;
    return counts;
  }

  /** Address of mask[from, from + count) in engine memory, copying it there when it lies elsewhere. */
  maskAddress(mask: Uint8Array, from: number, count: number): number {
    if (this.owns(mask)) return mask.byteOffset + from;
    new Uint8Array(this.memoryBuffer(), this.maskPtr, count).set(mask.subarray(from, from + count));
    return this.maskPtr;
  }

  matrixStructure(K: number, C: number, blockSize: [number, number]): MatrixStructureCounter | undefined {
    const [bh, bw] = blockSize;
    if (!(K >= 1 && C >= 1 && bh >= 1 && bw >= 1)) return undefined;
    return new EngineMatrixCounter(this, this.engine, this.stateBytes, K, C, bh, bw);
  }
}

/** A K x C matrix's structure counts in engine memory, from a mark of the arena up, for one tensor. */
class EngineMatrixCounter implements MatrixStructureCounter {
  private readonly mark: number;
  private readonly state: number;
  private readonly cols: number;
  private readonly rows: number;
  private readonly blocks: number;
  private released = false;

  constructor(
    private readonly kernel: EngineScanKernel,
    private readonly engine: EngineInstance,
    stateBytes: number,
    private readonly K: number,
    private readonly C: number,
    private readonly bh: number,
    private readonly bw: number,
  ) {
    const arena = engine.arena;
    this.mark = arena.mark();
    this.state = arena.alloc(stateBytes, 'scan structure state', true);
    this.cols = arena.alloc(C, 'scan column flags', true);
    this.rows = arena.alloc(K, 'scan row flags', true);
    // The whole-row path ORs four block flags at a time.
    this.blocks = arena.alloc(Math.ceil(C / bw) + 4, 'scan block flags', true);
  }

  consume(mask: Uint8Array, n: number): void {
    for (let done = 0; done < n; ) {
      const count = Math.min(this.kernel.capacity, n - done);
      const ptr = this.kernel.maskAddress(mask, done, count);
      this.engine.call('scanStructureKC', ptr, count, this.state, this.cols, this.rows, this.blocks, this.K, this.C, this.bh, this.bw);
      done += count;
    }
  }

  startAtRow(k: number): void {
    if (!(Number.isInteger(k) && k >= 0 && k < this.K)) throw new RangeError(`scan structure: row ${k} of ${this.K}`);
    new Int32Array(this.engine.memory.buffer, this.state, 4)[this.engine.constant('SCAN_KC_ROW')] = k;
  }

  counts(): MatrixStructureCounts {
    const buffer = this.engine.memory.buffer;
    const totals = new Float64Array(buffer, this.state + 16, 3);
    return {
      rowNonzero: new Uint8Array(buffer, this.rows, this.K).slice(),
      colNonzero: new Uint8Array(buffer, this.cols, this.C).slice(),
      compliantGroups: totals[0]!,
      groups: totals[1]!,
      zeroBlocks: totals[2]!,
    };
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.engine.arena.release(this.mark);
  }
}
