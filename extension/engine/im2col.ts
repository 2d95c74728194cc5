/**
 * Planner of im2col + packed SGEMM (assembly/im2col.ts, assembly/gemm.ts), in NCHW (pixels as GEMM
 * columns) or NHWC (pixels as GEMM rows). Setup packs W into depth-block-major GEMM panels. Unit =
 * (image, pixel chunk, output-channel chunk). Scratch: one packed im2col depth block (kc x chunk
 * floats).
 */
import { convDirectFlops, convOutputSize } from '../core/conv/reference';
import { type AlgorithmSpec, ceilDiv, chunking, depthBlock, minUnitsPerImageFor, packPanels, roundUp } from './planner';

export const im2colSpec: AlgorithmSpec = {
  layouts: ['nchw', 'nhwc'],
  plan: (shape, layout, threads, engine) => {
    const { MR, NR } = engine;
    const { N, C, K, R, S } = shape;
    const { P, Q } = convOutputSize(shape);
    const PQ = P * Q;
    const depth = C * R * S;
    const kc = depthBlock(depth);
    const realFlops = convDirectFlops(shape);
    const minUnitsPerImage = minUnitsPerImageFor(threads, N);
    if (layout === 'nchw') {
      // Columns = pixels (B panels built by im2col), rows = output channels (pre-packed A panels).
      const cols = chunking(PQ, NR, 384, minUnitsPerImage);
      const rows = chunking(K, MR, K, ceilDiv(minUnitsPerImage, cols.chunks));
      return {
        kernel: 'convIm2colNchw',
        units: N * cols.chunks * rows.chunks,
        unit: `(image, ${cols.chunk}-pixel chunk, ${rows.chunk}-output-channel chunk)`,
        slots: { colChunk: cols.chunk, colChunks: cols.chunks, rowChunk: rows.chunk, rowChunks: rows.chunks, kc },
        // tile tmp, packed B (kc x chunk), panel origins (2 x i32 per panel)
        scratchBytes: engine.tileTmpBytes + kc * cols.chunk * 4 + (cols.chunk / NR) * 8,
        weightBytes: roundUp(K, MR) * depth * 4,
        realFlops,
        packWeights: (w, packed) => packPanels(K, depth, MR, kc, (k, d) => w[k * depth + d], packed),
      };
    }
    // NHWC: rows = pixels (A panels built by im2col), columns = output channels (pre-packed B panels).
    const rows = chunking(PQ, MR, 192, minUnitsPerImage);
    const cols = chunking(K, NR, K, ceilDiv(minUnitsPerImage, rows.chunks));
    return {
      kernel: 'convIm2colNhwc',
      units: N * cols.chunks * rows.chunks,
      unit: `(image, ${cols.chunk}-output-channel chunk, ${rows.chunk}-pixel chunk)`,
      slots: { colChunk: cols.chunk, colChunks: cols.chunks, rowChunk: rows.chunk, rowChunks: rows.chunks, kc },
      scratchBytes: engine.tileTmpBytes + kc * rows.chunk * 4,
      weightBytes: roundUp(K, NR) * depth * 4,
      realFlops,
      packWeights: (w, packed) => {
        // Depth order (r, s, c): d = rs * C + c.
        const RS = R * S;
        packPanels(K, depth, NR, kc, (k, d) => w[(k * C + (d % C)) * RS + Math.floor(d / C)], packed);
      },
    };
  },
};
