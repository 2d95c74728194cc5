/**
 * Planner of the Winograd kernels (assembly/winograd.ts), on NCHW: winograd-2x3/4x3/5x3/6x3/7x3 (F(m x m,
 * 3 x 3), stride 1) and winograd-4x3s2/7x3s2 (3 x 3 stride 2, alpha = 2m + 1 = 9 or 15, from F(m, 2):
 * core/winograd/strided.ts); stride-1 variants run dilation and unequal pads on the input's phases
 * (polyphase.ts). The input and output transforms are generated code; setup computes
 * U = G g G^T here in fp64, with G from the same generator, packed per (xi, nu). Unit = (image, chunk
 * of TB output tiles, output-channel chunk). Scratch: alpha^2 (C + chunk K) TB floats (the chunk's
 * transformed input and GEMM output).
 */
import { convOutputSize } from '../core/conv/reference';
import { toNumericMatrices } from '../core/winograd/index';
import { engineWinogradMatrices } from '../core/winograd/engineVariants';
import { polyphaseSpec } from './polyphase';
import { type AlgorithmSpec, ceilDiv, chunking, depthBlock, minUnitsPerImageFor, panelIndex, roundUp } from './planner';

const winogradGCache = new Map<string, number[][]>();
/**
 * G of the engine's Winograd variant (F(m, 3), or the stride-2 algorithm from F(m, 2)) from the
 * project's generator: the same source the generated input/output transforms use (engineVariants.ts).
 */
function winogradG(m: number, stride: 1 | 2): number[][] {
  const key = `${m}s${stride}`;
  let G = winogradGCache.get(key);
  if (!G) {
    G = toNumericMatrices(engineWinogradMatrices(m, stride)).G;
    winogradGCache.set(key, G);
  }
  return G;
}

/** Bytes of per-unit working set a Winograd unit aims for (V and M buffers), about half of L2. */
const WINOGRAD_UNIT_TARGET_BYTES = 640 * 1024;
/** Fewest output channels per Winograd work unit when a layer is split for several threads. */
const WINOGRAD_MIN_K_CHUNK = 64;

/**
 * Winograd with m x m output tiles: F(m x m, 3 x 3) for stride 1 (alpha = m + 2), or, for stride 2,
 * the algorithm nesting F(m, 2) on the even input samples with plain products on the odd ones
 * (alpha = 2m + 1: 9 for m = 4, 15 for m = 7; see extension/core/winograd/strided.ts).
 */
export function winogradSpec(m: 2 | 4 | 5 | 6 | 7, stride: 1 | 2 = 1): AlgorithmSpec {
  const plain = plainWinogradSpec(m, stride);
  // Stride 1 runs dilated and unequally padded shapes on the input's phases (polyphase.ts).
  return stride === 1 ? polyphaseSpec(`winograd-${m}x3`, plain, false) : plain;
}

function plainWinogradSpec(m: 2 | 4 | 5 | 6 | 7, stride: 1 | 2): AlgorithmSpec {
  const alpha = stride === 1 ? m + 2 : 2 * m + 1;
  const name = stride === 1 ? `winograd-${m}x3` : `winograd-${m}x3s2`;
  const flopsId = stride === 1 ? `${m}` : `${m}S2`;
  return {
    layouts: ['nchw'],
    applies: (shape) =>
      shape.R === 3 && shape.S === 3 && shape.stride === stride
        ? undefined
        : `${name} needs a 3x3 kernel with stride ${stride}, got ${shape.R}x${shape.S} stride ${shape.stride}`,
    plan: (shape, _layout, threads, engine) => {
      const { N, C, K } = shape;
      const { P, Q } = convOutputSize(shape);
      const tilesY = ceilDiv(P, m);
      const tilesX = ceilDiv(Q, m);
      const tiles = tilesX * tilesY;
      const alpha2 = alpha * alpha;
      const { MR, NR } = engine;
      const minUnitsPerImage = minUnitsPerImageFor(threads, N);
      const perTileBytes = alpha2 * (C + K) * 4;
      let maxTB = Math.min(64, Math.max(NR, Math.floor(WINOGRAD_UNIT_TARGET_BYTES / perTileBytes / NR) * NR));
      // Every tile chunk streams all of U (alpha^2 K C floats); when U outweighs the chunk's own data,
      // take all tiles at once so that U is read once.
      if (alpha2 * K * C * 4 > 4 * perTileBytes * maxTB) maxTB = Math.min(256, roundUp(tiles, NR));
      const cols = chunking(tiles, NR, maxTB, minUnitsPerImage);
      // Every output-channel chunk of a tile chunk repeats that chunk's input transform, so chunks keep
      // at least WINOGRAD_MIN_K_CHUNK channels even if fewer units than asked for result (the input
      // transform of F(7,3) costs a quarter of the GEMM at 16 channels per chunk).
      const kSplits = Math.min(ceilDiv(minUnitsPerImage, cols.chunks), Math.max(1, Math.floor(K / WINOGRAD_MIN_K_CHUNK)));
      const rows = chunking(K, MR, K, kSplits);
      const Kpad = roundUp(K, MR);
      const kc = depthBlock(C);
      const inputFlops = engine.constant(`WINOGRAD${flopsId}_INPUT_FLOPS`);
      const outputFlops = engine.constant(`WINOGRAD${flopsId}_OUTPUT_FLOPS`);
      return {
        kernel: 'convWinograd',
        units: N * cols.chunks * rows.chunks,
        unit: `(image, ${cols.chunk}-tile chunk, ${rows.chunk}-output-channel chunk)`,
        slots: {
          colChunk: cols.chunk, colChunks: cols.chunks, rowChunk: rows.chunk, rowChunks: rows.chunks,
          kc, x0: m, x1: alpha, x2: tilesY, x3: tilesX,
        },
        scratchBytes:
          engine.constant('WINOGRAD_FIXED_SCRATCH') +
          alpha2 * ((C + rows.chunk) * cols.chunk * 4 + 2 * engine.constant('PANEL_BUFFER_SKEW')),
        weightBytes: alpha2 * Kpad * C * 4,
        realFlops: N * tiles * (2 * alpha2 * K * C + C * inputFlops + K * outputFlops),
        packWeights: (w, packed) => {
          // U = G g GT in fp64, rounded once to fp32 where it lands; per (xi, nu) a depth-block-major
          // A operand. Each (k, c) goes straight to its place in the panels: a whole fp64 U first
          // would be twice the packed weights (170 MB for F(7,3) on 512 channels).
          const G = winogradG(m, stride);
          const Gg = new Float64Array(alpha * 3);
          for (let k = 0; k < K; k++) {
            for (let c = 0; c < C; c++) {
              const g = (k * C + c) * 9;
              for (let i = 0; i < alpha; i++) {
                for (let j = 0; j < 3; j++) {
                  Gg[i * 3 + j] = G[i][0] * w[g + j] + G[i][1] * w[g + 3 + j] + G[i][2] * w[g + 6 + j];
                }
              }
              const at = panelIndex(K, C, MR, kc, k, c);
              for (let i = 0; i < alpha; i++) {
                for (let j = 0; j < alpha; j++) {
                  packed[(i * alpha + j) * Kpad * C + at] = Gg[i * 3] * G[j][0] + Gg[i * 3 + 1] * G[j][1] + Gg[i * 3 + 2] * G[j][2];
                }
              }
            }
          }
        },
      };
    },
  };
}
