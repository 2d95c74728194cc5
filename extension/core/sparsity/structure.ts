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

  private readonly kernelNonzero?: Uint8Array;
  private readonly rowNonzero?: Uint8Array;
  private readonly colNonzero?: Uint8Array;

  /** Zero counts per position of the current 2:4 groups (for C not innermost). */
  private readonly groupCounters?: Uint8Array;
  /** Zero count of the current group when C is innermost. */
  private groupZeros = 0;
  private compliantGroups = 0;
  private groups = 0;

  private readonly blockRows: number;
  private readonly blockCols: number;
  private readonly blockColumns: number;
  private readonly blockRowsTotal: number;
  private readonly rollingBlocks?: Uint8Array;
  private readonly blockBits?: Uint8Array;
  private zeroBlocks = 0;

  constructor(view: WeightView, blockSize: [number, number] = [4, 4]) {
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
    if (order === 'KC' || order === 'CK') {
      this.rowNonzero = new Uint8Array(K);
      this.colNonzero = new Uint8Array(C);
    } else {
      this.kernelNonzero = new Uint8Array(K * C);
    }
    if (order === 'KCP') this.groupCounters = new Uint8Array(P);
    else if (order === 'PCK' || order === 'CK') this.groupCounters = new Uint8Array(K);

    const [bh, bw] = blockSize;
    if (!(Number.isInteger(bh) && Number.isInteger(bw) && bh >= 1 && bw >= 1)) {
      throw new RangeError(`block size must be two positive integers, got ${bh}x${bw}`);
    }
    this.blockRows = bh;
    this.blockCols = bw;
    this.blockColumns = Math.ceil((C * P) / bw);
    this.blockRowsTotal = Math.ceil(K / bh);
    if (order === 'PCK' || order === 'CK') this.blockBits = new Uint8Array(Math.ceil((this.blockColumns * this.blockRowsTotal) / 8));
    else this.rollingBlocks = new Uint8Array(this.blockColumns);
  }

  /** Consumes mask[0..n): 1 where the element is zero. */
  consume(mask: Uint8Array, n: number): void {
    let i = 0;
    while (i < n) {
      const take = Math.min(this.runLength - this.offset, n - i);
      switch (this.view.order) {
        case 'KCP':
          this.segmentKCP(mask, i, take);
          break;
        case 'KPC':
          this.segmentKPC(mask, i, take);
          break;
        case 'PCK':
          this.segmentPCK(mask, i, take);
          break;
        case 'KC':
          this.segmentKC(mask, i, take);
          break;
        case 'CK':
          this.segmentCK(mask, i, take);
          break;
      }
      i += take;
      this.offset += take;
      if (this.offset === this.runLength) this.endRun();
    }
  }

  /** OIHW: run = the R*S elements of kernel (k = o0, c = o1). */
  private segmentKCP(mask: Uint8Array, start: number, length: number): void {
    const k = this.o0;
    const c = this.o1;
    const counters = this.groupCounters!;
    const blocks = this.rollingBlocks!;
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
    if (zeros < length) this.kernelNonzero![k * this.C + c] = 1;
  }

  /** OHWI: run = the C input channels at (k = o0, p = o1). */
  private segmentKPC(mask: Uint8Array, start: number, length: number): void {
    const k = this.o0;
    const p = this.o1;
    const kernels = this.kernelNonzero!;
    const blocks = this.rollingBlocks!;
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
    const kernels = this.kernelNonzero!;
    const counters = this.groupCounters!;
    const bits = this.blockBits!;
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
    const cols = this.colNonzero!;
    const blocks = this.rollingBlocks!;
    const bw = this.blockCols;
    const last = this.C - 1;
    let c = this.offset;
    let blockColumn = (c / bw) | 0;
    let inBlock = c - blockColumn * bw;
    let zeros = 0;
    let groupZeros = this.groupZeros;
    for (let j = start, end = start + length; j < end; j++, c++) {
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
        this.compliantGroups += groupZeros + 3 - (c & 3) >= 2 ? 1 : 0;
        this.groups++;
        groupZeros = 0;
      }
    }
    this.groupZeros = groupZeros;
    if (zeros < length) this.rowNonzero![k] = 1;
  }

  /** 2-D [I, O] or 1x1 HWIO: run = the K outputs of column c = o0. */
  private segmentCK(mask: Uint8Array, start: number, length: number): void {
    const c = this.o0;
    const rows = this.rowNonzero!;
    const counters = this.groupCounters!;
    const bits = this.blockBits!;
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
    if (zeros < length) this.colNonzero![c] = 1;
  }

  private closeInnerGroup(c: number): void {
    this.compliantGroups += this.groupZeros + 3 - (c & 3) >= 2 ? 1 : 0;
    this.groups++;
    this.groupZeros = 0;
  }

  /** Closes the groups held in the counters when channel c ends a group of 4 (or the channel axis). */
  private closeCounterGroups(c: number): void {
    if ((c & 3) !== 3 && c !== this.C - 1) return;
    const pad = 3 - (c & 3);
    const counters = this.groupCounters!;
    let compliant = 0;
    for (let j = 0; j < counters.length; j++) {
      compliant += counters[j]! + pad >= 2 ? 1 : 0;
      counters[j] = 0;
    }
    this.compliantGroups += compliant;
    this.groups += counters.length;
  }

  /** Closes the current row of blocks after row k when it ends a block row (K-outer orders). */
  private closeBlockRow(k: number): void {
    if ((k + 1) % this.blockRows !== 0 && k !== this.K - 1) return;
    const blocks = this.rollingBlocks!;
    let zero = 0;
    for (let b = 0; b < blocks.length; b++) {
      zero += blocks[b]! === 0 ? 1 : 0;
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

  summary(): StructureSummary {
    const { K, C } = this;
    const out: StructureSummary = {
      nm24: this.groups === 0 ? 0 : this.compliantGroups / this.groups,
      nm24Full: this.groups > 0 && this.compliantGroups === this.groups,
    };
    if (this.kernelNonzero) {
      const kernels = this.kernelNonzero;
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
      const rows = countZeros(this.rowNonzero!) / K;
      const cols = countZeros(this.colNonzero!) / C;
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
    let zeroBlocks = this.zeroBlocks;
    if (this.blockBits) {
      let nonzero = 0;
      for (let id = 0; id < totalBlocks; id++) nonzero += (this.blockBits[id >> 3]! >> (id & 7)) & 1;
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
