/**
 * The plan descriptor: the 32-slot i32 plan block the kernels read (mirrors assembly/params.ts) and
 * the plain-data description of a plan that is posted to workers.
 */
import type { ConvAlgorithm, ConvLayout, ConvShape } from '../shared/payloads';

/**
 * Slots of the 32 x i32 plan block; mirrors extension/engine/assembly/params.ts. `pad` holds the top
 * padding, `padLeft` the left one (bottom and right follow from P and Q).
 */
export const PLAN_SLOT = {
  N: 0, C: 1, H: 2, W: 3, K: 4, R: 5, S: 6, stride: 7, pad: 8, P: 9, Q: 10,
  input: 11, output: 12, weights: 13, bias: 14,
  colChunk: 15, colChunks: 16, rowChunk: 17, rowChunks: 18, kc: 19,
  x0: 20, x1: 21, x2: 22, x3: 23, x4: 24, x5: 25, x6: 26, x7: 27,
  groups: 28, dilation: 29, padLeft: 30,
} as const;
export const PLAN_BLOCK_BYTES = 128;

/** One parallel phase of a plan: units [0, units) split across callers, outputs disjoint. */
export interface PlanPhase {
  /** Exported kernel run by runPart. */
  kernel: string;
  units: number;
  /** What one unit is, for logs and docs. */
  unit: string;
  /** The plan block this phase's kernel reads, when not the descriptor's (a decomposed plan's inner stage). */
  planPtr?: number;
}

/** Everything a worker needs to run its share of a plan. Plain data: structured-clone safe. */
export interface ConvPlanDescriptor {
  algo: ConvAlgorithm;
  layout: ConvLayout;
  shape: ConvShape;
  P: number;
  Q: number;
  /** Address of the plan block the kernels read. */
  planPtr: number;
  /** Bytes of private scratch each concurrent runPart caller needs. */
  scratchBytes: number;
  phases: PlanPhase[];
}
