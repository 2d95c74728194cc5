/**
 * Structured sparsity of a streamed weight tensor, from its zero mask, in memory proportional to its
 * dimensions rather than its size:
 *   - 4-D: per-kernel nonzero flags (K*C bytes, numel / (R*S)); filters and channels follow from them.
 *   - 2-D (and 1x1 convolutions): per-row (K) and per-column (C) flags.
 *   - 2:4 (NVIDIA ASP, m4n2_1d): groups of 4 consecutive input channels at each output and spatial
 *     position; a group complies when at least 2 of its 4 are zero. ASP pads the last group of a
 *     channel count that is not a multiple of 4 with zeros, and so does this count. One counter per
 *     position of the axes stored inside C (R*S for OIHW, K for HWIO, none when C is innermost).
 *   - blocks of [bh, bw] over the [O, I*R*S] view (column c*R*S + r*S + s): when K is the outermost
 *     stored axis, one row of blocks at a time (I*R*S/bw flags); when K is innermost (HWIO, Keras
 *     [I, O]) the rows interleave, so one bit per block (numel / (8*bh*bw) bytes). Edge blocks are
 *     partial blocks: all-zero when all the elements they do cover are zero.
 * Values stream in stored order; each chunk boundary may fall anywhere inside a run.
 */
import type { WeightView } from './layout';
import type { MatrixStructureCounter } from './scanKernel';

/**
 * 1 for true, 0 for false without a branch (see accumulator.ts). Local, not imported: a CommonJS
 * build reaches an imported function through an export getter on every call, which blocks inlining.
 */
const bit = (b: boolean): number => (b as unknown as number) | 0;

export interface StructureSummary {
  filters?: number;
  channels?: number;
  kernels?: number;
  rows?: number;
  cols?: number;
  nm24: number;
  nm24Full: boolean;
  block?: { size: [number, number]; sparsity: number };
}

/**
 * Everything a StructureTracker has counted, in a form that can cross threads: trackers of
 * consecutive stretches of one tensor (see structureSplitPeriod) add up with mergeStructureStates.
 */
export interface StructureState {
  kernelNonzero: Uint8Array;
  rowNonzero: Uint8Array;
  colNonzero: Uint8Array;
  blockBits: Uint8Array;
  compliantGroups: number;
  groups: number;
  zeroBlocks: number;
}

/**
 * Stored elements between the places where a tensor may be cut into stretches scanned apart: whole
 * rows of blocks of the K-outer orders (so no 2:4 group, N:M band, block or kernel spans a cut), or
 * undefined where K is innermost and every row of blocks spans the whole tensor.
 */
export function structureSplitPeriod(view: WeightView, blockSize: [number, number]): number | undefined {
  if (view.order === 'PCK' || view.order === 'CK') return undefined;
  return view.C * view.P * blockSize[0];
}

/** Adds `from`'s counts into `into` (flags of the same tensor's other stretches: nonzero anywhere is nonzero). */
export function mergeStructureStates(into: StructureState, from: StructureState): void {
  for (const key of ['kernelNonzero', 'rowNonzero', 'colNonzero', 'blockBits'] as const) {
    const a = into[key];
    const b = from[key];
    if (a.length !== b.length) throw new RangeError(`structure states of different tensors (${key}: ${a.length} and ${b.length} flags)`);
    for (let i = 0; i < a.length; i++) a[i]! |= b[i]!;
  }
  into.compliantGroups += from.compliantGroups;
  into.groups += from.groups;
  into.zeroBlocks += from.zeroBlocks;
}

export class StructureTracker {
  private readonly view: WeightView;
  private readonly K: number;
  private readonly C: number;
  private readonly P: number;
  /** Innermost stored run length and the two outer stored dimensions (outer1 fastest). */
  private readonly runLength: number;
  private readonly outer1: number;
  private offset = 0;
  private o0 = 0;
  private o1 = 0;

  private readonly kernelNonzero: Uint8Array;
  private readonly rowNonzero: Uint8Array;
  private readonly colNonzero: Uint8Array;

  /** Zero counts per position of the current 2:4 groups (for C not innermost). */
  private readonly groupCounters: Uint8Array;
  /** Zero count of the current group when C is innermost. */
  private groupZeros = 0;
  private compliantGroups = 0;
  private groups = 0;

  private readonly blockRows: number;
  private readonly blockCols: number;
  private readonly blockColumns: number;
  private readonly blockRowsTotal: number;
  private readonly rollingBlocks: Uint8Array;
  private readonly blockBits: Uint8Array;
  private zeroBlocks = 0;

  /** The engine's counter of a row-major matrix (order KC), which then does all the work of consume. */
  private readonly matrixCounter: MatrixStructureCounter | undefined;

  constructor(view: WeightView, blockSize: [number, number] = [4, 4], matrixCounter?: MatrixStructureCounter) {
    this.view = view;
    const { K, C, P, order } = view;
    this.K = K;
    this.C = C;
    this.P = P;
    switch (order) {
      case 'KCP':
        this.runLength = P;
        this.outer1 = C;
        break;
      case 'KPC':
        this.runLength = C;
        this.outer1 = P;
        break;
      case 'PCK':
        this.runLength = K;
        this.outer1 = C;
        break;
      case 'KC':
        this.runLength = C;
        this.outer1 = 1;
        break;
      case 'CK':
        this.runLength = K;
        this.outer1 = 1;
        break;
    }
    // Every field is set on every tracker, unused ones to an empty array, so that trackers of all
    // orders share one hidden class and the hot loops stay monomorphic.
    const matrix = order === 'KC' || order === 'CK';
    this.rowNonzero = new Uint8Array(matrix ? K : 0);
    this.colNonzero = new Uint8Array(matrix ? C : 0);
    this.kernelNonzero = new Uint8Array(matrix ? 0 : K * C);
    this.groupCounters = new Uint8Array(order === 'KCP' ? P : order === 'PCK' || order === 'CK' ? K : 0);

    const [bh, bw] = blockSize;
    if (!(Number.isInteger(bh) && Number.isInteger(bw) && bh >= 1 && bw >= 1)) {
      throw new RangeError(`block size must be two positive integers, got ${bh}x${bw}`);
    }
    this.blockRows = bh;
    this.blockCols = bw;
    this.blockColumns = Math.ceil((C * P) / bw);
    this.blockRowsTotal = Math.ceil(K / bh);
    const kInnermost = order === 'PCK' || order === 'CK';
    this.blockBits = new Uint8Array(kInnermost ? Math.ceil((this.blockColumns * this.blockRowsTotal) / 8) : 0);
    this.rollingBlocks = new Uint8Array(kInnermost ? 0 : this.blockColumns);
    // One loop per order, each calling one segment method, bound once here: a scan meets convs and
    // matrices alike, and each loop then only ever sees its own order, so it stays inlinable.
    const loops = { KCP: this.consumeKCP, KPC: this.consumeKPC, PCK: this.consumePCK, KC: this.consumeKC, CK: this.consumeCK };
    this.matrixCounter = order === 'KC' ? matrixCounter : undefined;
    this.consume = this.matrixCounter ? this.matrixCounter.consume.bind(this.matrixCounter) : loops[order].bind(this);
  }

  /** Consumes mask[0..n): 1 where the element is zero. */
  readonly consume: (mask: Uint8Array, n: number) => void;

  private consumeKCP(mask: Uint8Array, n: number): void {
    let i = 0;
    while (i < n) {
      if (this.offset === 0 && n - i >= this.P) {
        i = this.wholeKernelsKCP(mask, i, n);
        continue;
      }
      const take = Math.min(this.runLength - this.offset, n - i);
      this.segmentKCP(mask, i, take);
      i += take;
      if ((this.offset += take) === this.runLength) this.endRun();
    }
  }

  /** Feeds the mask run by run (a run ends where a structured unit does) to one layout's segment scan. */
  private consumeRuns(mask: Uint8Array, n: number, segment: (mask: Uint8Array, start: number, count: number) => void): void {
    for (let i = 0; i < n; ) {
      const take = Math.min(this.runLength - this.offset, n - i);
      segment.call(this, mask, i, take);
      i += take;
      if ((this.offset += take) === this.runLength) this.endRun();
    }
  }

  private consumeKPC(mask: Uint8Array, n: number): void {
    this.consumeRuns(mask, n, this.segmentKPC);
  }

  private consumePCK(mask: Uint8Array, n: number): void {
    this.consumeRuns(mask, n, this.segmentPCK);
  }

  private consumeKC(mask: Uint8Array, n: number): void {
    this.consumeRuns(mask, n, this.segmentKC);
  }

  private consumeCK(mask: Uint8Array, n: number): void {
    this.consumeRuns(mask, n, this.segmentCK);
  }

  /**
   * OIHW fast path: whole kernels of P <= 10 values from mask[i..], with the per-kernel bookkeeping of
   * endRun inlined. Kernels are short (9 values for 3x3), so the work is kept in registers: the
   * kernel's nonzero pattern as P bits, and its zeros per spatial position as P 3-bit fields of one
   * integer (a 2:4 group adds at most 4 to each), added to the running group counters at once; a
   * kernel's columns then mark their blocks through precomputed (block, bit mask) pieces.
   * Returns where it stopped: at the first kernel that does not fit before n.
   */
  private wholeKernelsKCP(mask: Uint8Array, i: number, n: number): number {
    const { P, C } = this;
    if (P > 10) return this.wholeKernelsKCPWide(mask, i, n);
    const blocks = this.rollingBlocks;
    const kernels = this.kernelNonzero;
    const pieces = this.kcpPieces();
    const pieceStart = pieces.start;
    const pieceBlock = pieces.block;
    const pieceBits = pieces.bits;
    const fullPattern = (1 << P) - 1;
    let k = this.o0;
    let c = this.o1;
    // Open groups move from groupCounters (where the partial-kernel path keeps them) into the word.
    const counters = this.groupCounters;
    let counterWord = 0;
    for (let p = 0; p < P; p++) {
      counterWord += counters[p]! << (3 * p);
      counters[p] = 0;
    }
    while (n - i >= P) {
      let zeroFields = 0;
      let nonzeroBits = 0;
      for (let p = 0; p < P; p++) {
        const z = mask[i + p]!;
        zeroFields |= z << (3 * p);
        nonzeroBits |= (1 - z) << p;
      }
      counterWord += zeroFields;
      kernels[k * C + c]! |= bit(nonzeroBits !== 0);
      if (nonzeroBits === fullPattern) {
        for (let q = pieceStart[c]!, end = pieceStart[c + 1]!; q < end; q++) blocks[pieceBlock[q]!] = 1;
      } else if (nonzeroBits !== 0) {
        for (let q = pieceStart[c]!, end = pieceStart[c + 1]!; q < end; q++) blocks[pieceBlock[q]!]! |= bit((nonzeroBits & pieceBits[q]!) !== 0);
      }
      if ((c & 3) === 3 || c === C - 1) {
        const pad = 3 - (c & 3);
        let compliant = 0;
        for (let p = 0; p < P; p++) compliant += bit(((counterWord >>> (3 * p)) & 7) + pad >= 2);
        this.compliantGroups += compliant;
        this.groups += P;
        counterWord = 0;
      }
      i += P;
      if (++c === C) {
        c = 0;
        this.closeBlockRow(k);
        k++;
      }
    }
    for (let p = 0; p < P; p++) counters[p] = (counterWord >>> (3 * p)) & 7;
    this.o0 = k;
    this.o1 = c;
    return i;
  }

  /** The same for kernels of more than 10 values, with the counters in groupCounters. */
  private wholeKernelsKCPWide(mask: Uint8Array, i: number, n: number): number {
    const P = this.P;
    while (n - i >= P) {
      this.segmentKCP(mask, i, P);
      i += P;
      this.offset = P;
      this.endRun();
    }
    return i;
  }

  private pieces?: { start: Int32Array; block: Int32Array; bits: Int32Array };

  /**
   * For each input channel c of a filter row, the blocks its columns c*P .. c*P+P-1 fall in, each with
   * the bits of the kernel positions inside it: C+1 starts and at most C*(P+1) pieces.
   */
  private kcpPieces(): { start: Int32Array; block: Int32Array; bits: Int32Array } {
    if (this.pieces) return this.pieces;
    const { C, P } = this;
    const bw = this.blockCols;
    const start = new Int32Array(C + 1);
    const block: number[] = [];
    const bits: number[] = [];
    for (let c = 0; c < C; c++) {
      start[c] = block.length;
      for (let p = 0; p < P; ) {
        const b = Math.floor((c * P + p) / bw);
        const end = Math.min(P, (b + 1) * bw - c * P);
        block.push(b);
        bits.push(((1 << (end - p)) - 1) << p);
        p = end;
      }
    }
    start[C] = block.length;
    this.pieces = { start, block: Int32Array.from(block), bits: Int32Array.from(bits) };
    return this.pieces;
  }

  /** OIHW: run = the R*S elements of kernel (k = o0, c = o1). */
  private segmentKCP(mask: Uint8Array, start: number, length: number): void {
    const k = this.o0;
    const c = this.o1;
    const counters = this.groupCounters;
    const blocks = this.rollingBlocks;
    const bw = this.blockCols;
    const firstColumn = c * this.P + this.offset;
    let blockColumn = (firstColumn / bw) | 0;
    let inBlock = firstColumn - blockColumn * bw;
    let zeros = 0;
    let p = this.offset;
    for (let j = start, end = start + length; j < end; j++, p++) {
      const z = mask[j]!;
      zeros += z;
      counters[p]! += z;
      blocks[blockColumn]! |= 1 - z;
      if (++inBlock === bw) {
        inBlock = 0;
        blockColumn++;
      }
    }
    if (zeros < length) this.kernelNonzero[k * this.C + c] = 1;
  }

  /** OHWI: run = the C input channels at (k = o0, p = o1). */
  private segmentKPC(mask: Uint8Array, start: number, length: number): void {
    const k = this.o0;
    const p = this.o1;
    const kernels = this.kernelNonzero;
    const blocks = this.rollingBlocks;
    const bw = this.blockCols;
    const P = this.P;
    const last = this.C - 1;
    const kernelBase = k * this.C;
    let c = this.offset;
    for (let j = start, end = start + length; j < end; j++, c++) {
      const z = mask[j]!;
      kernels[kernelBase + c]! |= 1 - z;
      blocks[((c * P + p) / bw) | 0]! |= 1 - z;
      this.groupZeros += z;
      if ((c & 3) === 3 || c === last) this.closeInnerGroup(c);
    }
  }

  /** HWIO: run = the K outputs at (p = o0, c = o1). */
  private segmentPCK(mask: Uint8Array, start: number, length: number): void {
    const p = this.o0;
    const c = this.o1;
    const C = this.C;
    const kernels = this.kernelNonzero;
    const counters = this.groupCounters;
    const bits = this.blockBits;
    const bh = this.blockRows;
    const blockColumn = ((c * this.P + p) / this.blockCols) | 0;
    const columns = this.blockColumns;
    let k = this.offset;
    let blockRow = (k / bh) | 0;
    let inBlock = k - blockRow * bh;
    for (let j = start, end = start + length; j < end; j++, k++) {
      const z = mask[j]!;
      kernels[k * C + c]! |= 1 - z;
      counters[k]! += z;
      if (z === 0) {
        const id = blockRow * columns + blockColumn;
        bits[id >> 3]! |= 1 << (id & 7);
      }
      if (++inBlock === bh) {
        inBlock = 0;
        blockRow++;
      }
    }
  }

  /** 2-D [O, I] or 1x1 OIHW/OHWI: run = row k = o0. */
  private segmentKC(mask: Uint8Array, start: number, length: number): void {
    const k = this.o0;
    const cols = this.colNonzero;
    const blocks = this.rollingBlocks;
    const bw = this.blockCols;
    // A whole 2:4 group then falls inside one block, so a group updates its block once.
    const groupsFitBlocks = bw % 4 === 0;
    const last = this.C - 1;
    let c = this.offset;
    let blockColumn = (c / bw) | 0;
    let inBlock = c - blockColumn * bw;
    let zeros = 0;
    let groupZeros = this.groupZeros;
    let compliant = 0;
    let groups = 0;
    const end = start + length;
    let j = start;
    while (j < end) {
      if ((c & 3) === 0 && groupsFitBlocks && j + 4 <= end && c + 3 <= last) {
        // The common case, a whole group of 4 at once.
        const z0 = mask[j]!;
        const z1 = mask[j + 1]!;
        const z2 = mask[j + 2]!;
        const z3 = mask[j + 3]!;
        cols[c]! |= 1 - z0;
        cols[c + 1]! |= 1 - z1;
        cols[c + 2]! |= 1 - z2;
        cols[c + 3]! |= 1 - z3;
        const g = z0 + z1 + z2 + z3;
        zeros += g;
        compliant += bit(g >= 2);
        groups++;
        blocks[blockColumn]! |= bit(g < 4);
        inBlock += 4;
        if (inBlock === bw) {
          inBlock = 0;
          blockColumn++;
        }
        j += 4;
        c += 4;
        continue;
      }
      const z = mask[j]!;
      zeros += z;
      cols[c]! |= 1 - z;
      blocks[blockColumn]! |= 1 - z;
      if (++inBlock === bw) {
        inBlock = 0;
        blockColumn++;
      }
      groupZeros += z;
      if ((c & 3) === 3 || c === last) {
        // A short last group is padded with zeros, as ASP's reshape_1d does.
        compliant += bit(groupZeros + 3 - (c & 3) >= 2);
        groups++;
        groupZeros = 0;
      }
      j++;
      c++;
    }
    this.groupZeros = groupZeros;
    this.compliantGroups += compliant;
    this.groups += groups;
    if (zeros < length) this.rowNonzero[k] = 1;
  }

  /** 2-D [I, O] or 1x1 HWIO: run = the K outputs of column c = o0. */
  private segmentCK(mask: Uint8Array, start: number, length: number): void {
    const c = this.o0;
    const rows = this.rowNonzero;
    const counters = this.groupCounters;
    const bits = this.blockBits;
    const bh = this.blockRows;
    const blockColumn = (c / this.blockCols) | 0;
    const columns = this.blockColumns;
    let k = this.offset;
    let blockRow = (k / bh) | 0;
    let inBlock = k - blockRow * bh;
    let zeros = 0;
    for (let j = start, end = start + length; j < end; j++, k++) {
      const z = mask[j]!;
      zeros += z;
      rows[k]! |= 1 - z;
      counters[k]! += z;
      if (z === 0) {
        const id = blockRow * columns + blockColumn;
        bits[id >> 3]! |= 1 << (id & 7);
      }
      if (++inBlock === bh) {
        inBlock = 0;
        blockRow++;
      }
    }
    if (zeros < length) this.colNonzero[c] = 1;
  }

  private closeInnerGroup(c: number): void {
    this.compliantGroups += bit(this.groupZeros + 3 - (c & 3) >= 2);
    this.groups++;
    this.groupZeros = 0;
  }

  /** Closes the groups held in the counters when channel c ends a group of 4 (or the channel axis). */
  private closeCounterGroups(c: number): void {
    if ((c & 3) !== 3 && c !== this.C - 1) return;
    const pad = 3 - (c & 3);
    const counters = this.groupCounters;
    let compliant = 0;
    for (let j = 0; j < counters.length; j++) {
      compliant += bit(counters[j]! + pad >= 2);
      counters[j] = 0;
    }
    this.compliantGroups += compliant;
    this.groups += counters.length;
  }

  /** Closes the current row of blocks after row k when it ends a block row (K-outer orders). */
  private closeBlockRow(k: number): void {
    if ((k + 1) % this.blockRows !== 0 && k !== this.K - 1) return;
    const blocks = this.rollingBlocks;
    let zero = 0;
    for (let b = 0; b < blocks.length; b++) {
      zero += bit(blocks[b]! === 0);
      blocks[b] = 0;
    }
    this.zeroBlocks += zero;
  }

  private endRun(): void {
    this.offset = 0;
    const order = this.view.order;
    if (order === 'KCP' || order === 'PCK') this.closeCounterGroups(this.o1);
    else if (order === 'CK') this.closeCounterGroups(this.o0);
    if (++this.o1 === this.outer1) {
      this.o1 = 0;
      if (order === 'KCP' || order === 'KPC' || order === 'KC') this.closeBlockRow(this.o0);
      this.o0++;
    }
  }

  /**
   * Starts at stored element `first` instead of the tensor's first, before anything is consumed:
   * `first` must be a multiple of structureSplitPeriod (the start of a row of blocks).
   */
  startAt(first: number): void {
    const period = structureSplitPeriod(this.view, [this.blockRows, this.blockCols]);
    if (period === undefined || first % period !== 0) throw new RangeError(`a ${this.view.order} tensor's structure cannot start at element ${first}`);
    this.o0 = first / (this.C * this.P);
    this.matrixCounter?.startAtRow(this.o0);
  }

  /** The counts so far (the engine's, where it counted). */
  state(): StructureState {
    const engine = this.matrixCounter?.counts();
    return {
      kernelNonzero: this.kernelNonzero,
      rowNonzero: engine ? engine.rowNonzero : this.rowNonzero,
      colNonzero: engine ? engine.colNonzero : this.colNonzero,
      blockBits: this.blockBits,
      compliantGroups: engine ? engine.compliantGroups : this.compliantGroups,
      groups: engine ? engine.groups : this.groups,
      zeroBlocks: engine ? engine.zeroBlocks : this.zeroBlocks,
    };
  }

  summary(state = this.state()): StructureSummary {
    const { K, C } = this;
    const { compliantGroups, groups } = state;
    const out: StructureSummary = {
      nm24: groups === 0 ? 0 : compliantGroups / groups,
      nm24Full: groups > 0 && compliantGroups === groups,
    };
    if (this.view.order !== 'KC' && this.view.order !== 'CK') {
      const kernels = state.kernelNonzero;
      const filterNonzero = new Uint8Array(K);
      const channelNonzero = new Uint8Array(C);
      let zeroKernels = 0;
      for (let k = 0; k < K; k++) {
        for (let c = 0; c < C; c++) {
          const nz = kernels[k * C + c]!;
          zeroKernels += 1 - nz;
          filterNonzero[k]! |= nz;
          channelNonzero[c]! |= nz;
        }
      }
      out.filters = countZeros(filterNonzero) / K;
      out.channels = countZeros(channelNonzero) / C;
      out.kernels = zeroKernels / (K * C);
    } else {
      const rows = countZeros(state.rowNonzero) / K;
      const cols = countZeros(state.colNonzero) / C;
      if (this.view.rank === 4) {
        // A 1x1 convolution: filters are rows, channels are columns, and a kernel is one element.
        out.filters = rows;
        out.channels = cols;
      } else {
        out.rows = rows;
        out.cols = cols;
      }
    }
    const totalBlocks = this.blockColumns * this.blockRowsTotal;
    let zeroBlocks = state.zeroBlocks;
    if (this.view.order === 'PCK' || this.view.order === 'CK') {
      let nonzero = 0;
      for (let id = 0; id < totalBlocks; id++) nonzero += (state.blockBits[id >> 3]! >> (id & 7)) & 1;
      zeroBlocks = totalBlocks - nonzero;
    }
    out.block = { size: [this.blockRows, this.blockCols], sparsity: totalBlocks === 0 ? 0 : zeroBlocks / totalBlocks };
    return out;
  }
}

function countZeros(flags: Uint8Array): number {
  let zeros = 0;
  for (let i = 0; i < flags.length; i++) zeros += flags[i] === 0 ? 1 : 0;
  return zeros;
}
