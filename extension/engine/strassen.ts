/**
 * Planner of Strassen-Winograd matrix multiplication over im2col columns (assembly/strassen.ts), on
 * NCHW. Setup stores W row-major, zero-padded. Unit = (image, pixel chunk). Scratch: the im2col
 * block, the product block and the recursion's temporaries.
 */
import { convOutputSize } from '../core/conv/reference';
import { type AlgorithmSpec, chunking, depthBlock, minUnitsPerImageFor, roundUp } from './planner';

/** Strassen recursion stops when a dimension would drop below this (default of PlanOptions.strassenCutoff). */
export const STRASSEN_DEFAULT_CUTOFF = 64;

function strassenWorkspace(levels: number, m: number, k: number, n: number, MR: number, NR: number, tileTmp: number): number {
  if (levels === 0) return (roundUp(m, MR) * k + roundUp(n, NR) * k) * 4 + tileTmp;
  const [m2, k2, n2] = [m / 2, k / 2, n / 2];
  return (4 * m2 * k2 + 4 * k2 * n2 + 7 * m2 * n2) * 4 + strassenWorkspace(levels - 1, m2, k2, n2, MR, NR, tileTmp);
}

/** Flops of Strassen-Winograd: 7 products per level, 15 quarter-size additions per level. */
function strassenFlops(levels: number, m: number, k: number, n: number): number {
  if (levels === 0) return 2 * m * k * n;
  const [m2, k2, n2] = [m / 2, k / 2, n / 2];
  return 4 * m2 * k2 + 4 * k2 * n2 + 7 * m2 * n2 + 7 * strassenFlops(levels - 1, m2, k2, n2);
}

export const strassenSpec: AlgorithmSpec = {
  layouts: ['nchw'],
  plan: (shape, _layout, threads, engine, options) => {
    const { N, C, K, R, S } = shape;
    const { P, Q } = convOutputSize(shape);
    const PQ = P * Q;
    const D = C * R * S;
    const cutoff = options.strassenCutoff ?? STRASSEN_DEFAULT_CUTOFF;
    if (!Number.isInteger(cutoff) || cutoff < 1) throw new Error(`engine: strassenCutoff must be a positive integer, got ${cutoff}`);
    const cols = chunking(PQ, engine.NR, 1024, minUnitsPerImageFor(threads, N));
    let levels = 0;
    while (Math.min(K, D, cols.chunk) / 2 ** (levels + 1) >= cutoff) levels++;
    const unit = 2 ** levels;
    const [Kp, Dp, NCp] = [roundUp(K, unit), roundUp(D, unit), roundUp(cols.chunk, unit)];
    const kc = depthBlock(Dp / unit);
    return {
      kernel: 'convStrassen',
      units: N * cols.chunks,
      unit: `(image, ${cols.chunk}-pixel chunk)`,
      slots: { colChunk: cols.chunk, colChunks: cols.chunks, kc, x0: levels, x1: Kp, x2: Dp, x3: NCp },
      scratchBytes: (Dp * NCp + Kp * NCp) * 4 + strassenWorkspace(levels, Kp, Dp, NCp, engine.MR, engine.NR, engine.tileTmpBytes),
      weightBytes: Kp * Dp * 4,
      realFlops: N * cols.chunks * strassenFlops(levels, Kp, Dp, NCp),
      // Row-major K x D, zero-padded to Kp x Dp.
      packWeights: (w, packed) => {
        for (let k = 0; k < K; k++) packed.set(w.subarray(k * D, (k + 1) * D), k * Dp);
      },
      levels,
    };
  },
};
