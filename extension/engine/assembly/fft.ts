// Tiled FFT convolution (overlap-save), NCHW, stride 1, any kernel up to T/2+1 per side.
//
// The input is cut into T x T tiles overlapping by R-1 rows and S-1 columns; each gives an
// (T-R+1) x (T-S+1) output tile. Per work unit = (image n, chunk of TB tiles, chunk of output channels):
//   1. real 2-D FFT of every (channel, tile), 4 tiles per f32x4 (lanes = tiles), half spectrum
//      T x (T/2+1) bins, written as packed GEMM B panels: per bin f, rows (re c, im c) interleaved;
//   2. per bin, the complex multiply-accumulate over channels Y[k] = sum_c conj(W[k,c]) X[c] as one real
//      GEMM with the SGEMM micro-kernel: rows (re k, im k) of A_f = [[Wr, Wi], [-Wi, Wr]] per (k, c),
//      packed once by the host (conj(W) turns circular convolution into the cross-correlation CNNs use);
//   3. inverse 2-D FFT per (output channel, 4 tiles), scale 1/T^2, bias, scatter the valid region.
import { MR, NR, INIT_ZERO, INIT_LOAD, PANEL_BUFFER_SKEW, gemmBlock } from './gemm';
import { TILE_TMP_BYTES } from './im2col';
import { storeTileOrigins } from './patch';
import {
  param, paramPtr, P_C, P_H, P_W, P_K, P_R, P_S, P_PAD, P_P, P_Q, P_INPUT, P_OUTPUT, P_WEIGHTS, P_BIAS,
  P_COL_CHUNK, P_COL_CHUNKS, P_ROW_CHUNK, P_ROW_CHUNKS, P_KC, P_X0, P_X1, P_X2, P_X3,
} from './params';

// Scratch: [tmp tile][re: T*T v128][im: T*T v128][B buffer][C buffer]; T <= 32.
const RE: usize = TILE_TMP_BYTES;
export const FFT_MAX_T: i32 = 32;
const IM: usize = RE + <usize>(FFT_MAX_T * FFT_MAX_T) * 16;
const ORIGINS: usize = IM + <usize>(FFT_MAX_T * FFT_MAX_T) * 16;
export const FFT_MAX_TB: i32 = 256;
export const FFT_FIXED_SCRATCH: usize = ORIGINS + <usize>FFT_MAX_TB * 8;

/**
 * In-place radix-2 complex FFT of length T (a power of 2) over v128 elements at `stride` bytes apart.
 * twiddles: T/2 pairs (cos, sin) of 2 pi j / T as f32; forward uses exp(-i..), inverse exp(+i..).
 */
function fft1d(re: usize, im: usize, stride: usize, T: i32, twiddles: usize, inverse: bool): void {
  // Bit-reversal permutation.
  let j = 0;
  for (let i = 0; i < T - 1; i++) {
    if (i < j) {
      const a = re + <usize>i * stride, b = re + <usize>j * stride;
      const t = v128.load(a); v128.store(a, v128.load(b)); v128.store(b, t);
      const c = im + <usize>i * stride, d = im + <usize>j * stride;
      const u = v128.load(c); v128.store(c, v128.load(d)); v128.store(d, u);
    }
    let bit = T >> 1;
    while (j & bit) { j ^= bit; bit >>= 1; }
    j |= bit;
  }
  for (let len = 2; len <= T; len <<= 1) {
    const half = len >> 1;
    const step = T / len;
    for (let k = 0; k < half; k++) {
      const tw = twiddles + (<usize>(k * step) << 3);
      const wr = f32x4.splat(load<f32>(tw));
      const wi = f32x4.splat(inverse ? load<f32>(tw, 4) : -load<f32>(tw, 4));
      for (let start = 0; start < T; start += len) {
        const ia = <usize>(start + k) * stride;
        const ib = <usize>(start + k + half) * stride;
        const ar = v128.load(re + ia), ai = v128.load(im + ia);
        const br = v128.load(re + ib), bi = v128.load(im + ib);
        const tr = f32x4.sub(f32x4.mul(br, wr), f32x4.mul(bi, wi));
        const ti = f32x4.add(f32x4.mul(br, wi), f32x4.mul(bi, wr));
        v128.store(re + ia, f32x4.add(ar, tr)); v128.store(im + ia, f32x4.add(ai, ti));
        v128.store(re + ib, f32x4.sub(ar, tr)); v128.store(im + ib, f32x4.sub(ai, ti));
      }
    }
  }
}

export function convFft(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const R = param(plan, P_R), S = param(plan, P_S), pad = param(plan, P_PAD);
  const P = param(plan, P_P), Q = param(plan, P_Q);
  const input = paramPtr(plan, P_INPUT), output = paramPtr(plan, P_OUTPUT);
  const weights = paramPtr(plan, P_WEIGHTS), bias = paramPtr(plan, P_BIAS);
  const TB = param(plan, P_COL_CHUNK), colChunks = param(plan, P_COL_CHUNKS);
  const rowChunk = param(plan, P_ROW_CHUNK), rowChunks = param(plan, P_ROW_CHUNKS);
  const kcBlock = param(plan, P_KC);
  const T = param(plan, P_X0), tilesY = param(plan, P_X1), tilesX = param(plan, P_X2);
  const twiddles = weights + <usize>param(plan, P_X3); // the host stores them after the packed weights
  const mY = T - R + 1, mX = T - S + 1;
  const half = T / 2 + 1;
  const bins = T * half;
  const tiles = tilesX * tilesY;
  const depth = 2 * C; // rows (re c, im c)
  const rowsAll = 2 * K; // padded to MR by the host: K even or one zero pair
  const rowsPad = (rowsAll + MR - 1) / MR * MR;
  const re = scratch + RE;
  const im = scratch + IM;
  const tmp = scratch;
  const bBuf = scratch + FFT_FIXED_SCRATCH;
  // Bytes per bin, skewed by a cache line (see PANEL_BUFFER_SKEW).
  const bStride = <usize>depth * TB * 4 + PANEL_BUFFER_SKEW;
  const cBuf = bBuf + <usize>bins * bStride;
  const cStride = <usize>2 * rowChunk * TB * 4 + PANEL_BUFFER_SKEW;
  const rowBytes = <usize>T << 4; // one row of T v128
  const invScale: f32 = <f32>1.0 / <f32>(T * T);
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / (colChunks * rowChunks);
    const rest = u - n * colChunks * rowChunks;
    const cc = rest / rowChunks;
    const rc = rest - cc * rowChunks;
    const t0 = cc * TB;
    const nt = min(TB, tiles - t0);
    const cols = (nt + NR - 1) / NR * NR;
    const k0 = rc * rowChunk;
    const kn = min(rowChunk, K - k0);
    const img = input + (<usize>n * C * H * W << 2);
    // Output origin (y, x) of each tile of the chunk; the input patch starts pad rows/cols earlier.
    const origins = scratch + ORIGINS;
    storeTileOrigins(origins, t0, cols, tilesX, mY, mX, 0);

    // 1. forward FFTs.
    for (let c = 0; c < C; c++) {
      const plane = img + (<usize>c * H * W << 2);
      for (let g = 0; g < cols; g += 4) {
        // Gather 4 tiles into the lanes of re; zero outside the image and for tiles past the chunk.
        memory.fill(re, 0, <usize>(T * T) << 4);
        memory.fill(im, 0, <usize>(T * T) << 4);
        for (let lane = 0; lane < 4; lane++) {
          if (g + lane >= nt) break;
          const y0 = load<i32>(origins + (<usize>(g + lane) << 3)) - pad;
          const x0 = load<i32>(origins + (<usize>(g + lane) << 3), 4) - pad;
          for (let a = 0; a < T; a++) {
            const y = y0 + a;
            if (y < 0 || y >= H) continue;
            const row = plane + (<usize>(y * W) << 2);
            const dst = re + (<usize>(a * T) << 4) + (<usize>lane << 2);
            const bStart = max(0, -x0);
            const bEnd = min(T, W - x0);
            for (let b = bStart; b < bEnd; b++) store<f32>(dst + (<usize>b << 4), load<f32>(row + (<usize>(x0 + b) << 2)));
          }
        }
        for (let a = 0; a < T; a++) fft1d(re + <usize>a * rowBytes, im + <usize>a * rowBytes, 16, T, twiddles, false);
        for (let b = 0; b < half; b++) fft1d(re + (<usize>b << 4), im + (<usize>b << 4), rowBytes, T, twiddles, false);
        // Bin f = a * half + b: B panel rows 2c (re) and 2c + 1 (im), columns = tiles.
        const col = bBuf + (<usize>(((g >> 3) * depth + 2 * c) * NR + (g & 7)) << 2);
        for (let a = 0; a < T; a++) {
          for (let b = 0; b < half; b++) {
            const f = a * half + b;
            const dst = col + <usize>f * bStride;
            v128.store(dst, v128.load(re + (<usize>(a * T + b) << 4)));
            v128.store(dst + (NR << 2), v128.load(im + (<usize>(a * T + b) << 4)));
          }
        }
      }
    }

    // 2. one real GEMM per bin over the interleaved (re, im) depth.
    for (let f = 0; f < bins; f++) {
      const aF = weights + (<usize>f * rowsPad * depth << 2);
      for (let d0 = 0; d0 < depth; d0 += kcBlock) {
        const kc = min(kcBlock, depth - d0);
        gemmBlock(
          aF + (<usize>(d0 * rowsPad + 2 * k0 * kc) << 2), <usize>kc * MR * 4,
          bBuf + <usize>f * bStride + (<usize>d0 * NR << 2), <usize>depth * NR * 4, kc,
          cBuf + <usize>f * cStride, TB, 2 * kn, cols, d0 == 0 ? INIT_ZERO : INIT_LOAD, 0, tmp,
        );
      }
    }

    // 3. inverse FFTs, valid region, bias.
    for (let k = 0; k < kn; k++) {
      const out = output + (<usize>(n * K + k0 + k) * P * Q << 2);
      const bk = bias != 0 ? load<f32>(bias + (<usize>(k0 + k) << 2)) : 0;
      for (let g = 0; g < nt; g += 4) {
        for (let a = 0; a < T; a++) {
          for (let b = 0; b < half; b++) {
            const src = cBuf + <usize>(a * half + b) * cStride + (<usize>(2 * k * TB + g) << 2);
            v128.store(re + (<usize>(a * T + b) << 4), v128.load(src));
            v128.store(im + (<usize>(a * T + b) << 4), v128.load(src + (<usize>TB << 2)));
          }
        }
        for (let b = 0; b < half; b++) fft1d(re + (<usize>b << 4), im + (<usize>b << 4), rowBytes, T, twiddles, true);
        for (let a = 0; a < T; a++) {
          // Each row now holds the 1-D spectrum of a real signal: bins T/2+1 .. T-1 are the
          // conjugates of bins T-1 .. 1 of the same row.
          const rowRe = re + <usize>a * rowBytes;
          const rowIm = im + <usize>a * rowBytes;
          for (let b = half; b < T; b++) {
            v128.store(rowRe + (<usize>b << 4), v128.load(rowRe + (<usize>(T - b) << 4)));
            v128.store(rowIm + (<usize>b << 4), f32x4.neg(v128.load(rowIm + (<usize>(T - b) << 4))));
          }
        }
        for (let a = 0; a < T; a++) fft1d(re + <usize>a * rowBytes, im + <usize>a * rowBytes, 16, T, twiddles, true);
        const lanes = min(4, nt - g);
        for (let lane = 0; lane < lanes; lane++) {
          const oy = load<i32>(origins + (<usize>(g + lane) << 3));
          const ox = load<i32>(origins + (<usize>(g + lane) << 3), 4);
          const rowsHere = min(mY, P - oy);
          const colsHere = min(mX, Q - ox);
          let o = out + (<usize>(oy * Q + ox) << 2);
          let src = re + (<usize>lane << 2);
          for (let a = 0; a < rowsHere; a++) {
            for (let b = 0; b < colsHere; b++) store<f32>(o + (<usize>b << 2), load<f32>(src + (<usize>b << 4)) * invScale + bk);
            src += rowBytes;
            o += <usize>Q << 2;
          }
        }
      }
    }
  }
}
