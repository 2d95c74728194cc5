// im2col + packed SGEMM convolution, NCHW and NHWC.
//
// NCHW: out[n] (K x PQ) = W (K x CRS) * col (CRS x PQ). W is pre-packed as A panels by the host; col is
//   built straight into B panels (im2col and packing fused), one depth block at a time, in scratch.
// NHWC: out[n] (PQ x K) = col (PQ x RSC) * W^T (RSC x K). col rows are pixels, packed as A panels in
//   scratch; W^T is pre-packed as B panels by the host; depth order (r, s, c) keeps c contiguous.
// Groups: each group is its own GEMM (K/groups output channels over (C/groups) R S depth rows of its
// input channels), with weights packed per group. Dilation spaces the taps that im2col gathers; the
// top and left pads place them (bottom and right follow from P and Q).
// Work unit = (image n, group, column chunk, row chunk) of the output matrix; units write disjoint outputs.
import { MR, NR, INIT_LOAD, INIT_ZERO, INIT_ROW_BIAS, INIT_COL_BIAS, gemmBlock } from './gemm';
import {
  param, paramPtr, P_N, P_C, P_H, P_W, P_K, P_R, P_S, P_STRIDE, P_PAD, P_P, P_Q, P_INPUT, P_OUTPUT,
  P_WEIGHTS, P_BIAS, P_COL_CHUNK, P_COL_CHUNKS, P_ROW_CHUNK, P_ROW_CHUNKS, P_KC, P_GROUPS, P_DILATION, P_PAD_LEFT,
} from './params';

/** Bytes of scratch reserved for a partial micro tile at the start of every scratch area. */
export const TILE_TMP_BYTES: usize = 256;

/**
 * im2col of depth rows [k0, k0 + kc) and output pixels [col0, col0 + ncols) of one NCHW image into B
 * panels [ceil(ncols/NR)][kc][NR] at dst. Depth index k = (c * R + r) * S + s. panelOrigins holds the
 * output (p, q) of each panel's first pixel as i32 pairs (see panelOriginsOf).
 */
export function packIm2colNchw(
  img: usize, H: i32, W: i32, R: i32, S: i32, stride: i32, padTop: i32, padLeft: i32, dilation: i32, Q: i32,
  k0: i32, kc: i32, col0: i32, ncols: i32, dst: usize, panelOrigins: usize,
): void {
  const RS = R * S;
  const panels = (ncols + NR - 1) / NR;
  const planeBytes = <usize>(H * W) << 2;
  const strideBytes = <usize>stride << 2;
  for (let kk = 0; kk < kc; kk++) {
    const k = k0 + kk;
    const c = k / RS;
    const rs = k - c * RS;
    const r = rs / S;
    const s = rs - r * S;
    const plane = img + <usize>c * planeBytes;
    for (let j = 0; j < panels; j++) {
      const d = dst + (<usize>(j * kc + kk) * NR << 2);
      const count = min(NR, ncols - j * NR);
      let p = load<i32>(panelOrigins + (<usize>j << 3));
      let q = load<i32>(panelOrigins + (<usize>j << 3), 4);
      if (count == NR && q + NR <= Q) {
        // The common case first: all NR pixels on one output row, reading one input row.
        const y = p * stride - padTop + r * dilation;
        if (y < 0 || y >= H) {
          v128.store(d, f32x4.splat(0));
          v128.store(d, f32x4.splat(0), 16);
          continue;
        }
        const x = q * stride - padLeft + s * dilation;
        const src = plane + (<usize>(y * W + x) << 2);
        if (x >= 0 && stride == 1 && x + NR <= W) {
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
          continue;
        }
        if (x >= 0 && stride == 2 && x + 2 * NR <= W) {
          // Even lanes of 16 consecutive floats.
          const a = v128.load(src), b = v128.load(src, 16), e = v128.load(src, 32), f = v128.load(src, 48);
          v128.store(d, v128.shuffle<f32>(a, b, 0, 2, 4, 6));
          v128.store(d, v128.shuffle<f32>(e, f, 0, 2, 4, 6), 16);
          continue;
        }
        // Same row, partly in the left/right padding: only the column needs checking.
        for (let t = 0; t < NR; t++) {
          const xx = x + t * stride;
          store<f32>(d + (<usize>t << 2), xx >= 0 && xx < W ? load<f32>(plane + (<usize>(y * W + xx) << 2)) : 0);
        }
        continue;
      }
      // Otherwise the panel's pixels as runs along output rows, each reading input row y at columns
      // x, x + stride, ...: unchecked inside the image, checked where a run reaches into the padding.
      let t = 0;
      while (t < count) {
        const n = min(count - t, Q - q);
        const y = p * stride - padTop + r * dilation;
        const x = q * stride - padLeft + s * dilation;
        const dt = d + (<usize>t << 2);
        if (y < 0 || y >= H) {
          for (let e = 0; e < n; e++) store<f32>(dt + (<usize>e << 2), 0);
        } else {
          const src = plane + (<usize>(y * W + x) << 2);
          if (x >= 0 && x + (n - 1) * stride < W) {
            let from = src;
            for (let e = 0; e < n; e++) { store<f32>(dt + (<usize>e << 2), load<f32>(from)); from += strideBytes; }
          } else {
            for (let e = 0; e < n; e++) {
              const xx = x + e * stride;
              store<f32>(dt + (<usize>e << 2), xx >= 0 && xx < W ? load<f32>(plane + (<usize>(y * W + xx) << 2)) : 0);
            }
          }
        }
        t += n;
        q += n;
        if (q == Q) { q = 0; p++; }
      }
      for (; t < NR; t++) store<f32>(d + (<usize>t << 2), 0);
    }
  }
}

/**
 * im2col of output pixels [pix0, pix0 + npix) and depth rows [k0, k0 + kc) of one NHWC image into A
 * panels [ceil(npix/MR)][kc][MR] at dst. Depth index k = (r * S + s) * Cg + c over the Cg channels
 * starting at channel c0 of each C-channel pixel.
 */
export function packIm2colNhwc(
  img: usize, C: i32, c0Group: i32, Cg: i32, H: i32, W: i32, S: i32, stride: i32, padTop: i32, padLeft: i32,
  dilation: i32, Q: i32,
  k0: i32, kc: i32, pix0: i32, npix: i32, dst: usize,
): void {
  const panels = (npix + MR - 1) / MR;
  const rs0 = k0 / Cg;
  const c0 = k0 - rs0 * Cg;
  const r0 = rs0 / S;
  const s0 = rs0 - r0 * S;
  for (let j = 0; j < panels; j++) {
    for (let i = 0; i < MR; i++) {
      const pix = pix0 + j * MR + i;
      let d = dst + (<usize>(j * kc * MR + i) << 2);
      if (j * MR + i >= npix) {
        for (let kk = 0; kk < kc; kk++) { store<f32>(d, 0); d += MR << 2; }
        continue;
      }
      const p = pix / Q;
      const q = pix - p * Q;
      let r = r0;
      let s = s0;
      let c = c0;
      let kk = 0;
      while (kk < kc) {
        const run = min(Cg - c, kc - kk);
        const y = p * stride - padTop + r * dilation;
        const x = q * stride - padLeft + s * dilation;
        if (y >= 0 && y < H && x >= 0 && x < W) {
          let src = img + (<usize>((y * W + x) * C + c0Group + c) << 2);
          for (let t = 0; t < run; t++) { store<f32>(d, load<f32>(src)); d += MR << 2; src += 4; }
        } else {
          for (let t = 0; t < run; t++) { store<f32>(d, 0); d += MR << 2; }
        }
        kk += run;
        c = 0;
        s++;
        if (s == S) { s = 0; r++; }
      }
    }
  }
}

/** (p, q) of the first pixel of each NR-pixel panel of [col0, col0 + ncols), as i32 pairs at dst. */
export function panelOriginsOf(col0: i32, ncols: i32, Q: i32, dst: usize): void {
  for (let j = 0; j * NR < ncols; j++) {
    const col = col0 + j * NR;
    const p = col / Q;
    store<i32>(dst + (<usize>j << 3), p);
    store<i32>(dst + (<usize>j << 3), col - p * Q, 4);
  }
}

/** NCHW im2col convolution over work units [unitBegin, unitEnd). */
export function convIm2colNchw(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const R = param(plan, P_R), S = param(plan, P_S), stride = param(plan, P_STRIDE), pad = param(plan, P_PAD);
  const P = param(plan, P_P), Q = param(plan, P_Q);
  const input = paramPtr(plan, P_INPUT), output = paramPtr(plan, P_OUTPUT);
  const weights = paramPtr(plan, P_WEIGHTS), bias = paramPtr(plan, P_BIAS);
  const colChunk = param(plan, P_COL_CHUNK), colChunks = param(plan, P_COL_CHUNKS);
  const rowChunk = param(plan, P_ROW_CHUNK), rowChunks = param(plan, P_ROW_CHUNKS);
  const kcBlock = param(plan, P_KC);
  const groups = param(plan, P_GROUPS), dilation = param(plan, P_DILATION), padLeft = param(plan, P_PAD_LEFT);
  const Cg = C / groups, Kg = K / groups;
  const PQ = P * Q;
  const depth = Cg * R * S;
  const Kpad = (Kg + MR - 1) / MR * MR;
  const tmp = scratch;
  const packed = scratch + TILE_TMP_BYTES;
  const perImage = groups * colChunks * rowChunks;
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / perImage;
    let rest = u - n * perImage;
    const g = rest / (colChunks * rowChunks);
    rest -= g * colChunks * rowChunks;
    const cc = rest / rowChunks;
    const rc = rest - cc * rowChunks;
    const col0 = cc * colChunk;
    const ncols = min(colChunk, PQ - col0);
    const m0 = rc * rowChunk;
    const mrows = min(rowChunk, Kg - m0);
    const img = input + (<usize>(n * C + g * Cg) * H * W << 2);
    const kOut = g * Kg + m0;
    const out = output + (<usize>((n * K + kOut) * PQ + col0) << 2);
    const groupWeights = weights + (<usize>g * Kpad * depth << 2);
    const origins = packed + (<usize>kcBlock * ((colChunk + NR - 1) / NR * NR) << 2);
    panelOriginsOf(col0, ncols, Q, origins);
    for (let k0 = 0; k0 < depth; k0 += kcBlock) {
      const kc = min(kcBlock, depth - k0);
      packIm2colNchw(img, H, W, R, S, stride, pad, padLeft, dilation, Q, k0, kc, col0, ncols, packed, origins);
      const init = k0 > 0 ? INIT_LOAD : bias != 0 ? INIT_ROW_BIAS : INIT_ZERO;
      // Weights are depth-block-major: block k0 holds all row panels of kc depth rows.
      gemmBlock(
        groupWeights + (<usize>(k0 * Kpad + (m0 / MR) * kc * MR) << 2), <usize>kc * MR * 4,
        packed, <usize>kc * NR * 4, kc,
        out, PQ, mrows, ncols, init, bias + (<usize>kOut << 2), tmp,
      );
    }
  }
}

/** NHWC im2col convolution over work units [unitBegin, unitEnd). Columns = output channels. */
export function convIm2colNhwc(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const R = param(plan, P_R), S = param(plan, P_S), stride = param(plan, P_STRIDE), pad = param(plan, P_PAD);
  const P = param(plan, P_P), Q = param(plan, P_Q);
  const input = paramPtr(plan, P_INPUT), output = paramPtr(plan, P_OUTPUT);
  const weights = paramPtr(plan, P_WEIGHTS), bias = paramPtr(plan, P_BIAS);
  const colChunk = param(plan, P_COL_CHUNK), colChunks = param(plan, P_COL_CHUNKS);
  const rowChunk = param(plan, P_ROW_CHUNK), rowChunks = param(plan, P_ROW_CHUNKS);
  const kcBlock = param(plan, P_KC);
  const groups = param(plan, P_GROUPS), dilation = param(plan, P_DILATION), padLeft = param(plan, P_PAD_LEFT);
  const Cg = C / groups, Kg = K / groups;
  const PQ = P * Q;
  const depth = Cg * R * S;
  const Kpad = (Kg + NR - 1) / NR * NR;
  const tmp = scratch;
  const packed = scratch + TILE_TMP_BYTES;
  const perImage = groups * colChunks * rowChunks;
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / perImage;
    let rest = u - n * perImage;
    const g = rest / (colChunks * rowChunks);
    rest -= g * colChunks * rowChunks;
    const cc = rest / rowChunks;
    const rc = rest - cc * rowChunks;
    const ko0 = cc * colChunk;
    const nko = min(colChunk, Kg - ko0);
    const pix0 = rc * rowChunk;
    const npix = min(rowChunk, PQ - pix0);
    const img = input + (<usize>n * C * H * W << 2);
    const kOut = g * Kg + ko0;
    const out = output + (<usize>((n * PQ + pix0) * K + kOut) << 2);
    const groupWeights = weights + (<usize>g * Kpad * depth << 2);
    for (let k0 = 0; k0 < depth; k0 += kcBlock) {
      const kc = min(kcBlock, depth - k0);
      packIm2colNhwc(img, C, g * Cg, Cg, H, W, S, stride, pad, padLeft, dilation, Q, k0, kc, pix0, npix, packed);
      const init = k0 > 0 ? INIT_LOAD : bias != 0 ? INIT_COL_BIAS : INIT_ZERO;
      gemmBlock(
        packed, <usize>kc * MR * 4,
        groupWeights + (<usize>(k0 * Kpad + (ko0 / NR) * kc * NR) << 2), <usize>kc * NR * 4, kc,
        out, K, npix, nko, init, bias + (<usize>kOut << 2), tmp,
      );
    }
  }
}
