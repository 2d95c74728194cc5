// Winograd F(m x m, 3 x 3) per channel for depthwise 3x3 stride 1 (groups = C = K) on nchw{B}c: each
// v128 one quad of channels read straight from the layout, as in depthwise.ts. Per m x m output tile and
// quad: V = BT d B (row pass read from the image, column pass in place), M = U (.) V with the quad's
// alpha^2 transformed filter vectors, Y = AT M A, plus bias. The transforms are the generated ones of
// the dense Winograd kernels (the same matrices). Weights packed by the host as [K/4][alpha^2][4].
// Work unit = (image, channel quad, block of tile rows). Scratch: 3 alpha^2 v128.
import {
  param, paramPtr, P_H, P_W, P_K, P_PAD, P_P, P_Q, P_INPUT, P_OUTPUT, P_WEIGHTS, P_BIAS,
  P_ROW_CHUNK, P_ROW_CHUNKS, P_X0, P_X1, P_PAD_LEFT, P_C,
} from './params';
import { at2, at4, at6, bt2, bt4, bt6 } from './generated/winogradTransforms';

export const DEPTHWISE_WINOGRAD_SCRATCH: usize = 3 * 64 * 16;

// @ts-ignore: decorator
@inline function bt(m: i32, src: usize, srcStep: usize, dst: usize, dstStep: usize): void {
  if (m == 2) bt2(src, srcStep, dst, dstStep);
  else if (m == 4) bt4(src, srcStep, dst, dstStep);
  else bt6(src, srcStep, dst, dstStep);
}

// @ts-ignore: decorator
@inline function at(m: i32, src: usize, srcStep: usize, dst: usize, dstStep: usize): void {
  if (m == 2) at2(src, srcStep, dst, dstStep);
  else if (m == 4) at4(src, srcStep, dst, dstStep);
  else at6(src, srcStep, dst, dstStep);
}

// @ts-ignore: decorator
@inline function tile(
  m: i32, alpha: i32, inQuad: usize, H: i32, W: i32, pixelBytes: usize, y0: i32, x0: i32,
  u: usize, b: v128, outQuad: usize, P: i32, Q: i32, oy: i32, ox: i32, scratch: usize,
): void {
  const v = scratch;
  const patch = scratch + 64 * 16;
  const rows = scratch + 2 * 64 * 16;
  const rowBytes = <usize>W * pixelBytes;
  const vRow = <usize>alpha << 4;
  if (y0 >= 0 && y0 + alpha <= H && x0 >= 0 && x0 + alpha <= W) {
    let src = inQuad + <usize>y0 * rowBytes + <usize>x0 * pixelBytes;
    for (let a = 0; a < alpha; a++) {
      bt(m, src, pixelBytes, v + <usize>a * vRow, 16);
      src += rowBytes;
    }
  } else {
    for (let a = 0; a < alpha; a++) {
      const y = y0 + a;
      const dst = patch + <usize>a * vRow;
      for (let j = 0; j < alpha; j++) {
        const x = x0 + j;
        const inside = y >= 0 && y < H && x >= 0 && x < W;
        v128.store(dst + (<usize>j << 4), inside ? v128.load(inQuad + <usize>y * rowBytes + <usize>x * pixelBytes) : f32x4.splat(0));
      }
      bt(m, dst, 16, v + <usize>a * vRow, 16);
    }
  }
  for (let j = 0; j < alpha; j++) bt(m, v + (<usize>j << 4), vRow, v + (<usize>j << 4), vRow);
  for (let e = 0; e < alpha * alpha; e++) {
    const ve = v + (<usize>e << 4);
    v128.store(ve, f32x4.mul(v128.load(ve), v128.load(u + (<usize>e << 4))));
  }
  for (let j = 0; j < alpha; j++) at(m, v + (<usize>j << 4), vRow, rows + (<usize>j << 4), vRow);
  const rowsHere = min(m, P - oy);
  const colsHere = min(m, Q - ox);
  for (let i = 0; i < rowsHere; i++) {
    at(m, rows + <usize>i * vRow, 16, patch, 16);
    const out = outQuad + (<usize>((oy + i) * Q + ox)) * pixelBytes;
    for (let j = 0; j < colsHere; j++) v128.store(out + <usize>j * pixelBytes, f32x4.add(v128.load(patch + (<usize>j << 4)), b));
  }
}

export function convDepthwiseWinograd(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  // One copy of the loops per tile size, so that m, alpha and every transform stride are constants.
  const m = param(plan, P_X1);
  if (m == 2) depthwiseWinogradUnits(2, plan, unitBegin, unitEnd, scratch);
  else if (m == 4) depthwiseWinogradUnits(4, plan, unitBegin, unitEnd, scratch);
  else depthwiseWinogradUnits(6, plan, unitBegin, unitEnd, scratch);
}

// @ts-ignore: decorator
@inline function depthwiseWinogradUnits(m: i32, plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const padTop = param(plan, P_PAD), padLeft = param(plan, P_PAD_LEFT);
  const P = param(plan, P_P), Q = param(plan, P_Q);
  const input = paramPtr(plan, P_INPUT), output = paramPtr(plan, P_OUTPUT);
  const weights = paramPtr(plan, P_WEIGHTS), bias = paramPtr(plan, P_BIAS);
  const rowChunk = param(plan, P_ROW_CHUNK), rowChunks = param(plan, P_ROW_CHUNKS);
  const B = param(plan, P_X0);
  const alpha = m + 2;
  const quads = (K + 3) / 4;
  const tilesY = (P + m - 1) / m, tilesX = (Q + m - 1) / m;
  const HW = H * W;
  const imageIn = <usize>((C + B - 1) / B) * HW * B * 4;
  const imageOut = <usize>((K + B - 1) / B) * P * Q * B * 4;
  const pixelBytes = <usize>B << 2;
  for (let unit = unitBegin; unit < unitEnd; unit++) {
    const n = unit / (quads * rowChunks);
    const rest = unit - n * quads * rowChunks;
    const kq = rest / rowChunks;
    const t0 = (rest - kq * rowChunks) * rowChunk;
    const t1 = min(tilesY, t0 + rowChunk);
    const k0 = kq * 4;
    const inQuad = input + <usize>n * imageIn + ((<usize>(k0 / B) * HW * B + <usize>(k0 % B)) << 2);
    const outQuad = output + <usize>n * imageOut + ((<usize>(k0 / B) * P * Q * B + <usize>(k0 % B)) << 2);
    const u = weights + <usize>kq * alpha * alpha * 16;
    const b = bias != 0 ? v128.load(bias + (<usize>k0 << 2)) : f32x4.splat(0);
    for (let ty = t0; ty < t1; ty++) {
      const oy = ty * m;
      for (let tx = 0; tx < tilesX; tx++) {
        const ox = tx * m;
        tile(m, alpha, inQuad, H, W, pixelBytes, oy - padTop, ox - padLeft, u, b, outQuad, P, Q, oy, ox, scratch);
      }
    }
  }
}
