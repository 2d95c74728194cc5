/**
 * The scan's per-chunk work on float32 chunks, as a surface that may use the engine hands it to the
 * scan (engine/scanKernel.ts implements it on the WebAssembly SIMD engine; core cannot import the
 * engine). Without one the scan runs its JavaScript loops (accumulator.ts, structure.ts); with one
 * the counts (zeros, structured shares), min and max are the same, and the sums behind mean, std
 * and mean |w| agree within the rounding of 4096-term float64 block sums (see scanStats.ts in
 * engine/assembly).
 */

import type { HistogramTables } from './accumulator';

/** What ValueAccumulator.add computes from one chunk before merging it (see accumulator.ts). */
export interface ChunkValueSums {
  zeros: number;
  min: number;
  max: number;
  /** Compensated sum of x - x[0], sum of its squares, compensated sum of |x|. */
  sumD: number;
  sumDD: number;
  sumAbs: number;
}

/** What StructureTracker keeps of a [K, C] matrix stored row by row, after the last element. */
export interface MatrixStructureCounts {
  rowNonzero: Uint8Array;
  colNonzero: Uint8Array;
  compliantGroups: number;
  groups: number;
  zeroBlocks: number;
}

export interface MatrixStructureCounter {
  /** Consumes mask[0..n) (1 = zero); the mask valueSums returned is read in place, others are copied. */
  consume(mask: Uint8Array, n: number): void;
  counts(): MatrixStructureCounts;
  /** Starts at the first element of row `k` instead of row 0, before anything is consumed. */
  startAtRow(k: number): void;
  /** Frees the counter's memory (counters are released in the reverse order of their creation). */
  release(): void;
}

export interface ScanKernel {
  /** Most elements one chunk may hold. */
  readonly capacity: number;
  /**
   * One of two buffers (slot 0 or 1) of `capacity` float32 values that the kernel reads in place,
   * so a reader can fill them without a copy.
   */
  chunkBuffer(slot: 0 | 1): Float32Array;
  /**
   * Zero mask (|x| <= threshold) and sums of values[0..n), n <= capacity; values are copied into the
   * kernel's memory unless they already lie in one of its chunk buffers. The mask stays valid until
   * the next call.
   */
  valueSums(values: Float32Array, n: number, threshold: number): { sums: ChunkValueSums; mask: Uint8Array };
  /**
   * Histogram category counts (see MagnitudeHistogram.addCategoryCounts) of the chunk and mask the
   * last valueSums call saw, classified with `tables`; undefined when the kernel cannot take them.
   */
  histogramCounts(n: number, tables: HistogramTables): Uint32Array | undefined;
  /** Structure counter of a K x C matrix stored row by row, or undefined where the kernel has none. */
  matrixStructure(K: number, C: number, blockSize: [number, number]): MatrixStructureCounter | undefined;
}
