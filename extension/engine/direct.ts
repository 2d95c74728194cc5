/**
 * Planner of the register-blocked direct kernels (assembly/direct.ts, generated/directKernels.ts) on
 * the blocked layouts nchw4c, nchw8c and nchw16c: any kernel size, stride and padding, one group and
 * no dilation (grouped and dilated shapes run planGrouped's kernels: depthwise 3x3 its own). Setup packs W
 * as [K/8][C/Bi][R][S][Bi][8] (Bi from directInputBlock(C), independent of the layout). Unit =
 * (image, block of output rows). Scratch: the block's input rows in blocks of Bi channels, zero-padded
 * left and right (at most ~2 MiB; more units when larger).
 */
import type { ConvLayout, ConvShape } from '../shared/payloads';
import { convDirectFlops, convGeometry, convOutputSize } from '../core/conv/reference';
import { type AlgorithmPlan, type AlgorithmSpec, blockOfLayout, ceilDiv, chunking, minUnitsPerImageFor } from './planner';

const DIRECT_LAYOUTS = ['nchw4c', 'nchw8c', 'nchw16c'] as const;

/** Bytes of padded input rows one direct-convolution unit may copy into its scratch, at most. */
const DIRECT_MAX_ROWS_BYTES = 2 * 2 ** 20;

/**
 * Input channels per block of the direct kernels' padded input copy: the kernels' inner loop runs
 * S * Bi steps per (block, kernel row), so small blocks pay the outer loops' overhead more often, large
 * ones pad C further. Cost model: ceil(C / Bi) blocks of Bi + 2 steps' worth each (the overhead
 * measured on the ResNet-18 layers, S = 3: Bi = 4 ~20% slower than 8 or 16).
 */
export function directInputBlock(C: number): number {
  let best = 16;
  for (const Bi of [16, 8, 4]) if (ceilDiv(C, Bi) * (Bi + 2) < ceilDiv(C, best) * (best + 2)) best = Bi;
  return best;
}

/**
 * The grouped/dilated kernel (assembly/grouped.ts): four output channels per v128, weights packed as
 * [K/4][C/groups][R][S][4] with zero lanes past K. Unit = (image, output-channel quad, block of output
 * rows); no scratch.
 */
function planGrouped(shape: ConvShape, layout: ConvLayout, threads: number, kernel = 'convDirectGrouped'): AlgorithmPlan {
  const { N, C, K, R, S } = shape;
  const { groups } = convGeometry(shape);
  const { P } = convOutputSize(shape);
  const Cg = C / groups;
  const quads = ceilDiv(K, 4);
  const rows = chunking(P, 1, P, ceilDiv(minUnitsPerImageFor(threads, N), quads));
  return {
    kernel,
    units: N * quads * rows.chunks,
    unit: `(image, 4-output-channel quad, ${rows.chunk}-output-row block)`,
    slots: { x0: blockOfLayout(layout), rowChunk: rows.chunk, rowChunks: rows.chunks },
    scratchBytes: 0,
    weightBytes: quads * Cg * R * S * 16,
    realFlops: convDirectFlops(shape),
    packWeights: (w, packed) => {
      const RS = R * S;
      for (let k = 0; k < K; k++) {
        const kq = Math.floor(k / 4);
        for (let ci = 0; ci < Cg; ci++) {
          for (let rs = 0; rs < RS; rs++) packed[((kq * Cg + ci) * RS + rs) * 4 + (k % 4)] = w[(k * Cg + ci) * RS + rs];
        }
      }
    },
  };
}

/**
 * Shapes the depthwise kernel (assembly/depthwise.ts) runs: groups = C = K (multiplier 1), 3x3,
 * dilation 1, stride 1 or 2. Same weight packing and units as the grouped kernel.
 */
export function isDepthwise3x3(shape: ConvShape): boolean {
  const { groups, dilation } = convGeometry(shape);
  return groups === shape.C && shape.K === shape.C && shape.R === 3 && shape.S === 3 && dilation === 1 && shape.stride <= 2;
}

export const directSpec: AlgorithmSpec = {
  layouts: DIRECT_LAYOUTS,
  general: true,
  plan: (shape, layout, threads, engine) => {
    const geometry = convGeometry(shape);
    if (isDepthwise3x3(shape)) return planGrouped(shape, layout, threads, 'convDepthwise3x3');
    if (geometry.groups !== 1 || geometry.dilation !== 1) return planGrouped(shape, layout, threads);
    const { N, C, H, K, R, S, stride } = shape;
    const { P, Q } = convOutputSize(shape);
    const B = blockOfLayout(layout);
    const Bi = directInputBlock(C);
    // Output channels per kernel call.
    const KO = engine.constant('DIRECT_OUT_CHANNELS');
    const CBi = ceilDiv(C, Bi);
    const groups = ceilDiv(K, KO);
    // A unit copies the input rows of its output rows, zero-padded to every column they read.
    const paddedRowBytes = CBi * ((Q - 1) * stride + S) * Bi * 4;
    const spanOf = (rows: number): number => Math.min(H, (rows - 1) * stride + R);
    const maxRows = Math.max(1, Math.floor((Math.floor(DIRECT_MAX_ROWS_BYTES / paddedRowBytes) - R) / stride) + 1);
    const rows = chunking(P, 1, maxRows, minUnitsPerImageFor(threads, N));
    return {
      kernel: 'convDirectBlocked',
      units: N * rows.chunks,
      unit: `(image, ${rows.chunk}-output-row block)`,
      slots: { x0: B, x1: Bi, rowChunk: rows.chunk, rowChunks: rows.chunks },
      scratchBytes: spanOf(rows.chunk) * paddedRowBytes + 64,
      weightBytes: groups * CBi * R * S * Bi * KO * 4,
      realFlops: convDirectFlops(shape),
      packWeights: (w, packed) => {
        // [K/KO][C/Bi][R][S][Bi ci][KO ko]: for each input channel, the KO output channels' weights are
        // one contiguous run of f32x4 vectors.
        for (let k = 0; k < K; k++) {
          const g = Math.floor(k / KO);
          const ko = k % KO;
          for (let c = 0; c < C; c++) {
            const cb = Math.floor(c / Bi);
            const ci = c % Bi;
            for (let r = 0; r < R; r++) {
              for (let s = 0; s < S; s++) {
                packed[((((g * CBi + cb) * R + r) * S + s) * Bi + ci) * KO + ko] = w[((k * C + c) * R + r) * S + s];
              }
            }
          }
        }
      },
    };
  },
};

