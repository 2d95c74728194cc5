/**
 * Planner of the tiled FFT convolution (assembly/fft.ts), on NCHW, stride 1, kernels up to 16 x 16;
 * other strides, dilation and unequal pads run it on the input's phases (polyphase.ts).
 * Setup computes the filters' T x (T/2+1) spectra in fp64; the per-bin complex products run as real
 * GEMMs. Unit = (image, chunk of tiles, output-channel chunk). Scratch: bins (2C + 2 chunk K) TB
 * floats.
 */
import type { ConvShape } from '../shared/payloads';
import { convOutputSize } from '../core/conv/reference';
import { polyphaseSpec } from './polyphase';
import { type AlgorithmSpec, ceilDiv, chunking, depthBlock, minUnitsPerImageFor, packPanels, roundUp } from './planner';

/** Smallest FFT tile edge for a kernel: the smallest power of two >= 2 max(R, S), at least 8. */
function fftMinTileSize(shape: ConvShape): number {
  let T = 8;
  while (T < 2 * Math.max(shape.R, shape.S)) T *= 2;
  return T;
}
const FFT_MAX_TILE = 32;
const FFT_MAX_WEIGHT_BYTES = 512 * 2 ** 20;
/** Larger tiles are taken only while their transformed weights stay about cache-sized. */
const FFT_LARGER_TILE_WEIGHT_BYTES = 16 * 2 ** 20;

function fftWeightBytes(shape: ConvShape, T: number, MR: number): number {
  return T * (T / 2 + 1) * roundUp(2 * shape.K, MR) * 2 * shape.C * 4;
}

/** Flops of the tiled FFT convolution with tile edge T: forward FFTs, per-bin complex MACs, inverse FFTs. */
function fftFlopsFor(shape: ConvShape, T: number): number {
  const { P, Q } = convOutputSize(shape);
  const half = T / 2 + 1;
  const tiles = ceilDiv(P, T - shape.R + 1) * ceilDiv(Q, T - shape.S + 1);
  const fftFlops = (T + half) * 5 * T * Math.log2(T);
  return shape.N * tiles * (shape.C * fftFlops + T * half * 8 * shape.K * shape.C + shape.K * fftFlops);
}

/**
 * FFT tile edge: the power of two (from the smallest that fits the kernel up to 32) with the fewest
 * flops, larger than the smallest only while its transformed weights stay within
 * FFT_LARGER_TILE_WEIGHT_BYTES (bigger spectra stream from memory on every tile chunk).
 */
function fftTileSize(shape: ConvShape): number {
  let best = fftMinTileSize(shape);
  for (let T = best * 2; T <= FFT_MAX_TILE; T *= 2) {
    if (fftWeightBytes(shape, T, 4) > FFT_LARGER_TILE_WEIGHT_BYTES) break;
    if (fftFlopsFor(shape, T) < fftFlopsFor(shape, best)) best = T;
  }
  return best;
}

/** The tiled FFT on what it runs itself: stride 1, one group, no dilation, equal pads. */
const stride1FftSpec: AlgorithmSpec = {
  layouts: ['nchw'],
  applies: (shape) => {
    const T = fftMinTileSize(shape);
    if (T > FFT_MAX_TILE) return `fft supports kernels up to 16x16, got ${shape.R}x${shape.S}`;
    const bytes = fftWeightBytes(shape, T, 4);
    if (bytes > FFT_MAX_WEIGHT_BYTES) {
      return `fft would need ${(bytes / 2 ** 20).toFixed(0)} MiB of transformed weights (limit ${FFT_MAX_WEIGHT_BYTES / 2 ** 20} MiB)`;
    }
    return undefined;
  },
  plan: (shape, _layout, threads, engine) => {
    const { N, C, K, R, S } = shape;
    const { P, Q } = convOutputSize(shape);
    const { MR, NR } = engine;
    const T = fftTileSize(shape);
    const half = T / 2 + 1;
    const bins = T * half;
    const mY = T - R + 1;
    const mX = T - S + 1;
    const tilesY = ceilDiv(P, mY);
    const tilesX = ceilDiv(Q, mX);
    const tiles = tilesX * tilesY;
    const minUnitsPerImage = minUnitsPerImageFor(threads, N);
    const perTileBytes = bins * (2 * C + 2 * K) * 4;
    const maxTB = Math.min(64, Math.max(NR, Math.floor((1024 * 1024) / perTileBytes / NR) * NR));
    const cols = chunking(tiles, NR, maxTB, minUnitsPerImage);
    // Row chunks count output channels; 2 rows each, so an even count keeps panels aligned to MR = 4.
    const rows = chunking(K, 2, K, ceilDiv(minUnitsPerImage, cols.chunks));
    const depth = 2 * C;
    const kc = depthBlock(depth);
    const rowsPad = roundUp(2 * K, MR);
    const packedBytes = fftWeightBytes(shape, T, MR);
    return {
      kernel: 'convFft',
      units: N * cols.chunks * rows.chunks,
      unit: `(image, ${cols.chunk}-tile chunk, ${rows.chunk}-output-channel chunk)`,
      slots: {
        colChunk: cols.chunk, colChunks: cols.chunks, rowChunk: rows.chunk, rowChunks: rows.chunks,
        kc, x0: T, x1: tilesY, x2: tilesX, x3: packedBytes,
      },
      scratchBytes:
        engine.constant('FFT_FIXED_SCRATCH') +
        bins * ((2 * C + 2 * rows.chunk) * cols.chunk * 4 + 2 * engine.constant('PANEL_BUFFER_SKEW')),
      weightBytes: packedBytes + (T / 2) * 8,
      realFlops: fftFlopsFor(shape, T),
      packWeights: (w, packed) => {
        // Wf[a][b] = sum_{r,s} w[r][s] exp(-2 pi i (a r + b s) / T) in fp64; per bin a real GEMM operand
        // with rows (re k, im k) and depth (re c, im c): [[Wr, Wi], [-Wi, Wr]] applies conj(Wf).
        // One bin's K x C spectrum at a time: the whole one would be bins times larger (in fp64,
        // twice the packed weights: 335 MB for ResNet-18's 512-channel stride-2 layer).
        const cosTable = Float64Array.from({ length: T }, (_, j) => Math.cos((2 * Math.PI * j) / T));
        const sinTable = Float64Array.from({ length: T }, (_, j) => Math.sin((2 * Math.PI * j) / T));
        const spectrum = new Float64Array(K * C * 2);
        const binCos = new Float64Array(R * S);
        const binSin = new Float64Array(R * S);
        for (let a = 0; a < T; a++) {
          for (let b = 0; b < half; b++) {
            for (let r = 0; r < R; r++) {
              for (let s = 0; s < S; s++) {
                const phase = (a * r + b * s) % T;
                binCos[r * S + s] = cosTable[phase];
                binSin[r * S + s] = sinTable[phase];
              }
            }
            for (let pair = 0; pair < K * C; pair++) {
              const base = pair * R * S;
              let sumRe = 0;
              let sumIm = 0;
              for (let j = 0; j < R * S; j++) {
                const value = w[base + j];
                sumRe += value * binCos[j];
                sumIm -= value * binSin[j];
              }
              spectrum[pair * 2] = sumRe;
              spectrum[pair * 2 + 1] = sumIm;
            }
            packPanels(2 * K, depth, MR, kc, (row, d) => {
              const at = ((row >> 1) * C + (d >> 1)) * 2;
              const wr = spectrum[at];
              const wi = spectrum[at + 1];
              if ((row & 1) === 0) return (d & 1) === 0 ? wr : wi;
              return (d & 1) === 0 ? -wi : wr;
            }, packed, (a * half + b) * rowsPad * depth);
          }
        }
        const twiddles = packedBytes / 4;
        for (let j = 0; j < T / 2; j++) {
          packed[twiddles + 2 * j] = cosTable[j];
          packed[twiddles + 2 * j + 1] = sinTable[j];
        }
      },
    };
  },
};

/** fft on every stride up to 4, dilation and unequal pads, by polyphase decomposition (polyphase.ts). */
export const fftSpec = polyphaseSpec('fft', stride1FftSpec, true);
