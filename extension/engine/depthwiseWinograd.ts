/**
 * Planner of Winograd F(m x m, 3 x 3) per channel on depthwise 3x3 stride 1 (assembly/depthwiseWinograd.ts),
 * on nchw4c, nchw8c and nchw16c: winograd-2x3, -4x3 and -6x3 on such shapes. Setup computes each
 * channel's U = G g GT in fp64, packed as [K/4][alpha^2][4]. Unit = (image, channel quad, block of
 * tile rows). Scratch: 3 x 64 v128 (the tile, its gathered patch and the output pass).
 */
import type { ConvLayout, ConvShape } from '../shared/payloads';
import { convOutputSize } from '../core/conv/reference';
import { type AlgorithmPlan, blockOfLayout, ceilDiv, chunking, minUnitsPerImageFor } from './planner';

/**
 * The plan for F(m x m, 3 x 3) with interpolation matrix G; transformFlops: per tile and channel, the
 * generated transforms' (the engine's WINOGRAD{m}_INPUT/OUTPUT_FLOPS).
 */
export function planDepthwiseWinograd(
  shape: ConvShape, layout: ConvLayout, threads: number, m: 2 | 4 | 6, G: number[][], scratchBytes: number,
  transformFlops: { input: number; output: number },
): AlgorithmPlan {
  const { N, K } = shape;
  const { P, Q } = convOutputSize(shape);
  const alpha = m + 2;
  const alpha2 = alpha * alpha;
  const quads = ceilDiv(K, 4);
  const tilesY = ceilDiv(P, m);
  const tilesX = ceilDiv(Q, m);
  const rows = chunking(tilesY, 1, tilesY, ceilDiv(minUnitsPerImageFor(threads, N), quads));
  return {
    kernel: 'convDepthwiseWinograd',
    units: N * quads * rows.chunks,
    unit: `(image, 4-channel quad, ${rows.chunk}-tile-row block)`,
    slots: { x0: blockOfLayout(layout), x1: m, rowChunk: rows.chunk, rowChunks: rows.chunks },
    scratchBytes,
    weightBytes: quads * alpha2 * 16,
    realFlops: N * K * tilesY * tilesX * (alpha2 + transformFlops.input + transformFlops.output),
    packWeights: (w, packed) => {
      const Gg = new Float64Array(alpha * 3);
      for (let k = 0; k < K; k++) {
        const g = k * 9;
        for (let i = 0; i < alpha; i++) {
          for (let j = 0; j < 3; j++) Gg[i * 3 + j] = G[i][0] * w[g + j] + G[i][1] * w[g + 3 + j] + G[i][2] * w[g + 6 + j];
        }
        const base = Math.floor(k / 4) * alpha2 * 4 + (k % 4);
        for (let i = 0; i < alpha; i++) {
          for (let j = 0; j < alpha; j++) {
            packed[base + (i * alpha + j) * 4] = Gg[i * 3] * G[j][0] + Gg[i * 3 + 1] * G[j][1] + Gg[i * 3 + 2] * G[j][2];
          }
        }
      }
    },
  };
}
