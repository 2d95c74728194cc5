/**
 * Planner of im2col + packed SGEMM (assembly/im2col.ts, assembly/gemm.ts), in NCHW (pixels as GEMM
 * columns) or NHWC (pixels as GEMM rows). Every shape: each of the groups is its own GEMM over its
 * K/groups output channels and (C/groups) R S depth rows; dilation and pads only move the taps im2col
 * gathers. Setup packs W into depth-block-major GEMM panels, one set per group. Unit = (image, group,
 * pixel chunk, output-channel chunk). Scratch: one packed im2col depth block (kc x chunk floats).
 */
import { convDirectFlops, convGeometry, convOutputSize } from '../core/conv/reference';
import { type AlgorithmSpec, ceilDiv, chunking, depthBlock, minUnitsPerImageFor, packPanels, roundUp } from './planner';

export const im2colSpec: AlgorithmSpec = {
  layouts: ['nchw', 'nhwc'],
  general: true,
  plan: (shape, layout, threads, engine) => {
    const { MR, NR } = engine;
    const { N, C, K, R, S } = shape;
    const { groups } = convGeometry(shape);
    const Cg = C / groups;
    const Kg = K / groups;
    const { P, Q } = convOutputSize(shape);
    const PQ = P * Q;
    const depth = Cg * R * S;
    const kc = depthBlock(depth);
    const realFlops = convDirectFlops(shape);
    const minUnitsPerGroup = ceilDiv(minUnitsPerImageFor(threads, N), groups);
    const perGroup = (units: string): string => (groups === 1 ? units : `group, ${units}`);
    if (layout === 'nchw') {
      // Columns = pixels (B panels built by im2col), rows = output channels (pre-packed A panels).
      const cols = chunking(PQ, NR, 384, minUnitsPerGroup);
      const rows = chunking(Kg, MR, Kg, ceilDiv(minUnitsPerGroup, cols.chunks));
      const groupFloats = roundUp(Kg, MR) * depth;
      return {
        kernel: 'convIm2colNchw',
        units: N * groups * cols.chunks * rows.chunks,
        unit: `(image, ${perGroup(`${cols.chunk}-pixel chunk, ${rows.chunk}-output-channel chunk`)})`,
        slots: { colChunk: cols.chunk, colChunks: cols.chunks, rowChunk: rows.chunk, rowChunks: rows.chunks, kc },
        // tile tmp, packed B (kc x chunk), panel origins (2 x i32 per panel)
        scratchBytes: engine.tileTmpBytes + kc * cols.chunk * 4 + (cols.chunk / NR) * 8,
        weightBytes: groups * groupFloats * 4,
        realFlops,
        packWeights: (w, packed) => {
          for (let g = 0; g < groups; g++) {
            packPanels(Kg, depth, MR, kc, (k, d) => w[(g * Kg + k) * depth + d], packed, g * groupFloats);
          }
        },
      };
    }
    // NHWC: rows = pixels (A panels built by im2col), columns = output channels (pre-packed B panels).
    const rows = chunking(PQ, MR, 192, minUnitsPerGroup);
    const cols = chunking(Kg, NR, Kg, ceilDiv(minUnitsPerGroup, rows.chunks));
    const groupFloats = roundUp(Kg, NR) * depth;
    return {
      kernel: 'convIm2colNhwc',
      units: N * groups * cols.chunks * rows.chunks,
      unit: `(image, ${perGroup(`${cols.chunk}-output-channel chunk, ${rows.chunk}-pixel chunk`)})`,
      slots: { colChunk: cols.chunk, colChunks: cols.chunks, rowChunk: rows.chunk, rowChunks: rows.chunks, kc },
      scratchBytes: engine.tileTmpBytes + kc * rows.chunk * 4,
      weightBytes: groups * groupFloats * 4,
      realFlops,
      packWeights: (w, packed) => {
        // Depth order (r, s, c) within the group: d = rs * Cg + c.
        const RS = R * S;
        for (let g = 0; g < groups; g++) {
          packPanels(Kg, depth, NR, kc, (k, d) => w[((g * Kg + k) * Cg + (d % Cg)) * RS + Math.floor(d / Cg)], packed, g * groupFloats);
        }
      },
    };
  },
};
