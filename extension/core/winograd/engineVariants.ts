/**
 * The matrices of the engine's Winograd kernels, one source for the generated transforms
 * (scripts/engineCodegen.ts) and the filter transform the engine packs (engine/winograd.ts).
 *
 * Stride 1 uses F(m, 3) with DEFAULT_POINTS, except F(5,3): the default {0, +-1, 1/2, -1/2, 2} (Barabasz et
 * al.) measures 14.4x direct's mean fp32 error, the searched {+-1/4, +-7/8, +-2} 9.3x (POINTS.md), about
 * half F(6,3)'s 19.7x. Magnitudes ascending: the order that rounds best (9.4x against 9.8x descending).
 * Stride 2 uses the algorithms nested from F(m, 2) (strided.ts).
 */
import { generateMatrices, type GeneratedMatrices } from './generate';
import { generateStride2Matrices } from './strided';

/** Interpolation points of the engine's F(m, 3) kernels where they differ from DEFAULT_POINTS. */
export const ENGINE_STRIDE1_POINTS: Readonly<Record<number, readonly string[]>> = {
  5: ['1/4', '-1/4', '7/8', '-7/8', '2', '-2'],
};

/** The matrices of the engine's Winograd kernel with m x m output tiles and this stride. */
export function engineWinogradMatrices(m: number, stride: 1 | 2): GeneratedMatrices {
  if (stride === 2) return generateStride2Matrices(m);
  const points = ENGINE_STRIDE1_POINTS[m];
  return generateMatrices(m, 3, points ? { points: [...points] } : {});
}
