// Depthwise 3x3 convolution (groups = C = K, dilation 1, stride 1 or 2, any pads) on nchw{B}c: SIMD
// across channels, each v128 one quad of channels read straight from the layout, and register tiles
// of DEPTHWISE_PIXELS pixels along the output row (generated/depthwiseKernels.ts). Weights packed by the
// host as [K/4][3][3][4] (as for grouped.ts). Work unit = (image, channel quad, block of output rows);
// units write disjoint outputs. On a row with at least DEPTHWISE_PIXELS interior outputs (whose taps
// stay inside the image) the pixels in the padding run one at a time with checks, and the last run
// overlaps the one before; narrower rows (7 or 14 wide) run in edge runs, which skip the columns
// outside the image and store only the row's pixels. Measured: edge runs everywhere made 56-wide rows
// 2x slower; one pixel at a time on 7-wide rows was 2x slower than edge runs.
import { madd } from './simd';
import {
  param, paramPtr, P_C, P_H, P_W, P_K, P_STRIDE, P_PAD, P_P, P_Q, P_INPUT, P_OUTPUT, P_WEIGHTS, P_BIAS,
  P_ROW_CHUNK, P_ROW_CHUNKS, P_X0, P_PAD_LEFT,
} from './params';
import {
  DEPTHWISE_PIXELS, depthwiseEdge4s1, depthwiseEdge4s2, depthwiseEdge8s1, depthwiseEdge8s2, depthwiseEdge16s1,
  depthwiseEdge16s2, depthwiseRun4s1, depthwiseRun4s2, depthwiseRun8s1, depthwiseRun8s2, depthwiseRun16s1,
  depthwiseRun16s2,
} from './generated/depthwiseKernels';

/** One output pixel with column checks; rows are 0 when outside the image. */
function depthwisePixel(
  row0: usize, row1: usize, row2: usize, x: i32, W: i32, pixelBytes: usize, w: usize, bias: usize, out: usize,
): void {
  let acc = bias != 0 ? v128.load(bias) : f32x4.splat(0);
  for (let s = 0; s < 3; s++) {
    const xs = x + s;
    if (xs < 0 || xs >= W) continue;
    const at = <usize>xs * pixelBytes;
    const ws = w + (<usize>s << 4);
    if (row0 != 0) acc = madd(v128.load(ws), v128.load(row0 + at), acc);
    if (row1 != 0) acc = madd(v128.load(ws, 48), v128.load(row1 + at), acc);
    if (row2 != 0) acc = madd(v128.load(ws, 96), v128.load(row2 + at), acc);
  }
  v128.store(out, acc);
}

// @ts-ignore: decorator
@inline function depthwiseRun(B: i32, stride: i32, row0: usize, row1: usize, row2: usize, w: usize, bias: usize, out: usize): void {
  if (B == 4) {
    if (stride == 1) depthwiseRun4s1(row0, row1, row2, w, bias, out); else depthwiseRun4s2(row0, row1, row2, w, bias, out);
  } else if (B == 8) {
    if (stride == 1) depthwiseRun8s1(row0, row1, row2, w, bias, out); else depthwiseRun8s2(row0, row1, row2, w, bias, out);
  } else {
    if (stride == 1) depthwiseRun16s1(row0, row1, row2, w, bias, out); else depthwiseRun16s2(row0, row1, row2, w, bias, out);
  }
}

// @ts-ignore: decorator
@inline function depthwiseEdge(
  B: i32, stride: i32, row0: usize, row1: usize, row2: usize, w: usize, bias: usize, out: usize, x0: i32, W: i32, count: i32,
): void {
  if (B == 4) {
    if (stride == 1) depthwiseEdge4s1(row0, row1, row2, w, bias, out, x0, W, count);
    else depthwiseEdge4s2(row0, row1, row2, w, bias, out, x0, W, count);
  } else if (B == 8) {
    if (stride == 1) depthwiseEdge8s1(row0, row1, row2, w, bias, out, x0, W, count);
    else depthwiseEdge8s2(row0, row1, row2, w, bias, out, x0, W, count);
  } else {
    if (stride == 1) depthwiseEdge16s1(row0, row1, row2, w, bias, out, x0, W, count);
    else depthwiseEdge16s2(row0, row1, row2, w, bias, out, x0, W, count);
  }
}

export function convDepthwise3x3(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const stride = param(plan, P_STRIDE), padTop = param(plan, P_PAD), padLeft = param(plan, P_PAD_LEFT);
  const P = param(plan, P_P), Q = param(plan, P_Q);
  const input = paramPtr(plan, P_INPUT), output = paramPtr(plan, P_OUTPUT);
  const weights = paramPtr(plan, P_WEIGHTS), bias = paramPtr(plan, P_BIAS);
  const rowChunk = param(plan, P_ROW_CHUNK), rowChunks = param(plan, P_ROW_CHUNKS);
  const B = param(plan, P_X0);
  const T = DEPTHWISE_PIXELS;
  const quads = (K + 3) / 4;
  const HW = H * W;
  const imageIn = <usize>((C + B - 1) / B) * HW * B * 4;
  const imageOut = <usize>((K + B - 1) / B) * P * Q * B * 4;
  const pixelBytes = <usize>B << 2;
  const rowBytes = <usize>W * pixelBytes;
  // Output columns [qLo, qHi) read only columns inside the image.
  const qLo = min(Q, (padLeft + stride - 1) / stride);
  const lastInside = W - 3 + padLeft;
  const qHi = lastInside < 0 ? qLo : max(qLo, min(Q, lastInside / stride + 1));
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / (quads * rowChunks);
    const rest = u - n * quads * rowChunks;
    const kq = rest / rowChunks;
    const p0 = (rest - kq * rowChunks) * rowChunk;
    const p1 = min(P, p0 + rowChunk);
    const k0 = kq * 4;
    const inQuad = input + <usize>n * imageIn + ((<usize>(k0 / B) * HW * B + <usize>(k0 % B)) << 2);
    const outQuad = output + <usize>n * imageOut + ((<usize>(k0 / B) * P * Q * B + <usize>(k0 % B)) << 2);
    const w = weights + <usize>kq * 144;
    const bv = bias != 0 ? bias + (<usize>k0 << 2) : 0;
    for (let p = p0; p < p1; p++) {
      const y = p * stride - padTop;
      const row0 = y >= 0 && y < H ? inQuad + <usize>y * rowBytes : 0;
      const row1 = y + 1 >= 0 && y + 1 < H ? inQuad + <usize>(y + 1) * rowBytes : 0;
      const row2 = y + 2 >= 0 && y + 2 < H ? inQuad + <usize>(y + 2) * rowBytes : 0;
      const outRow = outQuad + <usize>p * Q * pixelBytes;
      if (qHi - qLo < T) {
        for (let q = 0; q < Q; q += T) {
          depthwiseEdge(B, stride, row0, row1, row2, w, bv, outRow + <usize>q * pixelBytes, q * stride - padLeft, W, min(T, Q - q));
        }
        continue;
      }
      let q = 0;
      for (; q < qLo; q++) depthwisePixel(row0, row1, row2, q * stride - padLeft, W, pixelBytes, w, bv, outRow + <usize>q * pixelBytes);
      if (qHi - qLo >= T) {
        for (; q + T <= qHi; q += T) {
          const at = <usize>(q * stride - padLeft) * pixelBytes;
          depthwiseRun(B, stride, row0 != 0 ? row0 + at : 0, row1 != 0 ? row1 + at : 0, row2 != 0 ? row2 + at : 0, w, bv, outRow + <usize>q * pixelBytes);
        }
        if (q < qHi) {
          // The last interior run ends at qHi, recomputing a few pixels of the one before (same values).
          const qs = qHi - T;
          const at = <usize>(qs * stride - padLeft) * pixelBytes;
          depthwiseRun(B, stride, row0 != 0 ? row0 + at : 0, row1 != 0 ? row1 + at : 0, row2 != 0 ? row2 + at : 0, w, bv, outRow + <usize>qs * pixelBytes);
          q = qHi;
        }
      }
      for (; q < Q; q++) depthwisePixel(row0, row1, row2, q * stride - padLeft, W, pixelBytes, w, bv, outRow + <usize>q * pixelBytes);
    }
  }
}
