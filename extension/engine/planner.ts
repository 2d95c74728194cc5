/**
 * What every algorithm planner shares: the plan it returns (block sizes, work split, weight packing),
 * the options a caller may pass, and the chunking and panel-packing helpers. One planner per
 * algorithm sits beside this file, mirroring assembly/.
 */
import type { ConvLayout, ConvShape } from '../shared/payloads';
import type { PLAN_SLOT } from './planDescriptor';

export interface PlanOptions {
  /** Threads the plan will be split across; shapes the work units (default 1). */
  threads?: number;
  /** Reserve a bias vector (default true). */
  bias?: boolean;
  /**
   * strassen only: recurse while every dimension of the halves stays >= this (default
   * STRASSEN_DEFAULT_CUTOFF); below it the product runs on the packed SGEMM.
   */
  strassenCutoff?: number;
}

/** What a planner reads from the engine instance: the micro-kernel's block sizes and exported constants. */
export interface PlannerEngine {
  readonly MR: number;
  readonly NR: number;
  readonly tileTmpBytes: number;
  constant(name: string): number;
}

/** Per-algorithm planning: chosen block sizes and the work split. */
export interface AlgorithmPlan {
  kernel: string;
  units: number;
  unit: string;
  slots: Partial<Record<keyof typeof PLAN_SLOT, number>>;
  scratchBytes: number;
  /** Bytes of the packed / transformed weights. */
  weightBytes: number;
  realFlops: number;
  /** Fills the packed weights from OIHW weights (host side, fp64 where it matters). */
  packWeights?: (weights: Float32Array, packed: Float32Array) => void;
  /** Or: a kernel that packs/transforms weights (plan, raw OIHW ptr, scratch). */
  weightKernel?: string;
  /** Strassen recursion levels chosen (strassen only). */
  levels?: number;
  /** Engine-memory buffers the phases share, each one's address written to its slot of this plan. */
  buffers?: { slot: keyof typeof PLAN_SLOT; bytes: number; what: string }[];
  /**
   * Another algorithm's plan run over one of the buffers (polyphase.ts): it gets a plan block of its
   * own for `shape` with output size P x Q, reading the buffer in `inputSlot` and writing the buffer in
   * `outputSlot` (or this plan's output); it shares this plan's packed weights, bias and scratch.
   */
  inner?: {
    shape: ConvShape; P: number; Q: number; plan: AlgorithmPlan;
    inputSlot: keyof typeof PLAN_SLOT; outputSlot?: keyof typeof PLAN_SLOT;
  };
  /** Phases after the first (kernel, units, unit above); `inner: true` runs the inner plan's kernel on its block. */
  laterPhases?: { kernel: string; units: number; unit: string; inner?: boolean }[];
}

export interface AlgorithmSpec {
  layouts: readonly ConvLayout[];
  /** Runs groups, dilation and asymmetric pads (else applies() refuses such shapes for it). */
  general?: boolean;
  applies?: (shape: ConvShape) => string | undefined;
  plan: (shape: ConvShape, layout: ConvLayout, threads: number, engine: PlannerEngine, options: PlanOptions) => AlgorithmPlan;
}

export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
export const roundUp = (a: number, b: number): number => ceilDiv(a, b) * b;

/**
 * Work units each image should at least be cut into: none for one thread (splitting only re-reads the
 * weights), else two per thread so that uneven units still balance.
 */
export function minUnitsPerImageFor(threads: number, N: number): number {
  return threads === 1 ? 1 : ceilDiv(2 * threads, N);
}

/** Depth block: at most `max`, blocks of equal size. */
export function depthBlock(depth: number, max = 256): number {
  return ceilDiv(depth, ceilDiv(depth, max));
}

/**
 * Packs a rows x depth operand (element get(row, k)) into depth-block-major panels of `lanes` rows:
 * [depth block of kcBlock][panel][kc][lanes], rows padded with zeros to a multiple of lanes. This is
 * the layout the kernels read pre-packed weights in (see gemmPacked in assembly/gemm.ts).
 */
export function packPanels(
  rows: number, depth: number, lanes: number, kcBlock: number,
  get: (row: number, k: number) => number, out: Float32Array, base = 0,
): void {
  const rowsPad = roundUp(rows, lanes);
  for (let k0 = 0; k0 < depth; k0 += kcBlock) {
    const kc = Math.min(kcBlock, depth - k0);
    const block = base + k0 * rowsPad;
    for (let row = 0; row < rows; row++) {
      const start = block + Math.floor(row / lanes) * kc * lanes + (row % lanes);
      for (let kk = 0; kk < kc; kk++) out[start + kk * lanes] = get(row, k0 + kk);
    }
  }
}

/** Where packPanels puts element (row, k): for packers that produce elements in another order. */
export function panelIndex(rows: number, depth: number, lanes: number, kcBlock: number, row: number, k: number): number {
  const k0 = Math.floor(k / kcBlock) * kcBlock;
  const kc = Math.min(kcBlock, depth - k0);
  return k0 * roundUp(rows, lanes) + Math.floor(row / lanes) * kc * lanes + (row % lanes) + (k - k0) * lanes;
}

/**
 * Splits `extent` into chunks (multiples of `multiple`, at most `maxChunk`) so that there are at least
 * `minUnits` chunks when the extent allows it.
 */
export function chunking(extent: number, multiple: number, maxChunk: number, minUnits: number): { chunk: number; chunks: number } {
  let chunk = Math.min(roundUp(extent, multiple), Math.max(multiple, Math.floor(maxChunk / multiple) * multiple));
  const wanted = Math.max(1, minUnits);
  if (ceilDiv(extent, chunk) < wanted) chunk = Math.max(multiple, roundUp(ceilDiv(extent, wanted), multiple));
  return { chunk, chunks: ceilDiv(extent, chunk) };
}

/** Channels per block of a blocked layout (1 for nchw and nhwc). */
export function blockOfLayout(layout: ConvLayout): number {
  return layout === 'nchw4c' ? 4 : layout === 'nchw8c' ? 8 : layout === 'nchw16c' ? 16 : 1;
}
