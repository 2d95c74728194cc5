/**
 * Planner of the register-blocked direct kernels (assembly/direct.ts, generated/directKernels.ts) on
 * the blocked layouts nchw4c, nchw8c and nchw16c: any kernel size, stride, padding and dilation, one
 * group or groups that fill the kernels' 8 output channels (see blockedGroupSpan; the other grouped
 * shapes run planGrouped's kernel, depthwise 3x3 its own). Setup packs W as [K/8][span/Bi][R][S][Bi][8]
 * over the span of input channels 8 outputs read (Bi from directInputBlock, independent of the layout).
 * Unit = (image, block of output rows). Scratch: the rows the block reads in blocks of Bi channels,
 * zero-padded left and right (at most ~2 MiB; more units when larger).
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
  // Three channels (an RGB stem): one block of 3, not 4 with a zero channel in every fourth step.
  if (C === 3) return 3;
  let best = 16;
  for (const Bi of [16, 8, 4]) if (ceilDiv(C, Bi) * (Bi + 2) < ceilDiv(C, best) * (best + 2)) best = Bi;
  return best;
}

/** Input block of a grouped span: blocks must not straddle groups, so the largest that divides it. */
function groupedInputBlock(span: number): number {
  return [16, 8, 4].find((Bi) => span % Bi === 0) ?? 4;
}

/**
 * Input channels that one kernel call's 8 output channels read, when the register-blocked kernel runs
 * the shape: all C for one group; a group's C/groups when K/groups is a multiple of 8; two groups'
 * 2 C/groups when K/groups = 4 (the weights across the two groups are zero: twice the multiply-adds, still
 * several times the grouped kernel's speed). Spans must be whole blocks of 4 input channels. Else
 * undefined (the grouped kernel runs it).
 */
export function blockedGroupSpan(shape: ConvShape): number | undefined {
  const { groups } = convGeometry(shape);
  if (groups === 1) return shape.C;
  const Cg = shape.C / groups;
  const Kg = shape.K / groups;
  const span = Kg % DIRECT_KERNEL_OUTPUTS === 0 ? Cg : Kg === DIRECT_KERNEL_OUTPUTS / 2 ? 2 * Cg : undefined;
  return span !== undefined && span % 4 === 0 ? span : undefined;
}

/** Output channels of one register-blocked kernel call (DIRECT_OUT_CHANNELS of the engine). */
const DIRECT_KERNEL_OUTPUTS = 8;

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
    const { groups, dilation } = convGeometry(shape);
    if (isDepthwise3x3(shape)) return planGrouped(shape, layout, threads, 'convDepthwise3x3');
    const span = blockedGroupSpan(shape);
    if (span === undefined) return planGrouped(shape, layout, threads);
    const { N, C, H, K, R, S, stride } = shape;
    const { P, Q } = convOutputSize(shape);
    const B = blockOfLayout(layout);
    const Bi = groups === 1 ? directInputBlock(C) : groupedInputBlock(span);
    // Output channels per kernel call.
    const KO = engine.constant('DIRECT_OUT_CHANNELS');
    if (KO !== DIRECT_KERNEL_OUTPUTS) throw new Error(`engine: direct kernels compute ${KO} output channels, the planner assumes ${DIRECT_KERNEL_OUTPUTS}`);
    const CBi = ceilDiv(C, Bi);
    const spanBlocks = groups === 1 ? CBi : span / Bi;
    const Cg = C / groups;
    const Kg = K / groups;
    const outGroups = ceilDiv(K, KO);
    // A unit copies the input rows of its output rows, zero-padded to every column they read: undilated,
    // the rows from the first one read to the last; dilated, one band of rows per kernel row.
    const paddedRowBytes = CBi * ((Q - 1) * stride + (S - 1) * dilation + 1) * Bi * 4;
    const rowsRead = (rows: number): number =>
      dilation === 1 ? Math.min(H, (rows - 1) * stride + R) : R * ((rows - 1) * stride + 1);
    let maxRows = 1;
    while (maxRows < P && rowsRead(maxRows + 1) * paddedRowBytes <= DIRECT_MAX_ROWS_BYTES) maxRows++;
    const rows = chunking(P, 1, maxRows, minUnitsPerImageFor(threads, N));
    return {
      kernel: 'convDirectBlocked',
      units: N * rows.chunks,
      unit: `(image, ${rows.chunk}-output-row block)`,
      slots: { x0: B, x1: Bi, x2: spanBlocks, rowChunk: rows.chunk, rowChunks: rows.chunks },
      scratchBytes: rowsRead(rows.chunk) * paddedRowBytes + 64,
      weightBytes: outGroups * spanBlocks * R * S * Bi * KO * 4,
      realFlops: convDirectFlops(shape),
      packWeights: (w, packed) => {
        // [K/KO][span/Bi][R][S][Bi ci][KO ko]: for each input channel, the KO output channels' weights are
        // one contiguous run of f32x4 vectors; zero where an output's group does not read the channel.
        const RS = R * S;
        for (let k = 0; k < K; k++) {
          const g = Math.floor(k / KO);
          const ko = k % KO;
          const group = Math.floor(k / Kg);
          const firstChannel = Math.floor((g * KO) / Kg) * Cg;
          for (let c = group * Cg; c < (group + 1) * Cg; c++) {
            const local = c - firstChannel;
            const cb = Math.floor(local / Bi);
            const ci = local % Bi;
            for (let rs = 0; rs < RS; rs++) {
              packed[(((g * spanBlocks + cb) * RS + rs) * Bi + ci) * KO + ko] = w[(k * Cg + c - group * Cg) * RS + rs];
            }
          }
        }
      },
    };
  },
};
