// Direct convolution on nchw{B}c (B = 4, 8, 16) for what the register-blocked kernel does not run:
// groups (depthwise included, with any channel multiplier), dilation, any kernel, stride and pads.
// Four output channels (a quad, one v128) at a time; weights packed by the host as
// [K/4][C/groups][R][S][4]: lane l holds output channel 4 kq + l's weight for input channel ci of its
// own group. The quad's lanes read their input channels in one of three ways:
//  - splat: all four lanes in one group (K/groups a multiple of 4): one input value for all lanes;
//  - vector: depthwise with multiplier 1: lane l reads channel 4 kq + l, one v128 load of the block;
//  - gather: otherwise (for example multiplier 2, or groups of 2 channels): four scalar loads.
// Work unit = (image, output-channel quad, block of output rows); units write disjoint outputs.
// Four output pixels along the row are computed at once (register tile), without column checks where
// all their taps fall inside the image.
import { madd } from './simd';
import {
  param, paramPtr, P_C, P_H, P_W, P_K, P_R, P_S, P_STRIDE, P_PAD, P_P, P_Q, P_INPUT, P_OUTPUT, P_WEIGHTS,
  P_BIAS, P_ROW_CHUNK, P_ROW_CHUNKS, P_X0, P_GROUPS, P_DILATION, P_PAD_LEFT,
} from './params';

const MODE_SPLAT: i32 = 0;
const MODE_VECTOR: i32 = 1;
const MODE_GATHER: i32 = 2;

/** The quad's input at pixel byte offset `at` of each lane's channel plane. */
// @ts-ignore: decorator
@inline function loadLanes(mode: i32, c0: usize, c1: usize, c2: usize, c3: usize, at: usize): v128 {
  if (mode == MODE_VECTOR) return v128.load(c0 + at);
  if (mode == MODE_SPLAT) return v128.load32_splat(c0 + at);
  let v = f32x4.splat(load<f32>(c0 + at));
  v = f32x4.replace_lane(v, 1, load<f32>(c1 + at));
  v = f32x4.replace_lane(v, 2, load<f32>(c2 + at));
  return f32x4.replace_lane(v, 3, load<f32>(c3 + at));
}

/** Address of channel c's plane in an nchw{B}c image, plus the channel's lane within its block. */
// @ts-ignore: decorator
@inline function channelPlane(img: usize, c: i32, B: i32, HW: i32): usize {
  return img + ((<usize>(c / B) * HW * B + <usize>(c % B)) << 2);
}

export function convDirectGrouped(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const R = param(plan, P_R), S = param(plan, P_S), stride = param(plan, P_STRIDE);
  const padTop = param(plan, P_PAD), padLeft = param(plan, P_PAD_LEFT);
  const P = param(plan, P_P), Q = param(plan, P_Q);
  const groups = param(plan, P_GROUPS), dilation = param(plan, P_DILATION);
  const input = paramPtr(plan, P_INPUT), output = paramPtr(plan, P_OUTPUT);
  const weights = paramPtr(plan, P_WEIGHTS), bias = paramPtr(plan, P_BIAS);
  const rowChunk = param(plan, P_ROW_CHUNK), rowChunks = param(plan, P_ROW_CHUNKS);
  const B = param(plan, P_X0);
  const Cg = C / groups, Kg = K / groups;
  const quads = (K + 3) / 4;
  const HW = H * W;
  const imageIn = <usize>((C + B - 1) / B) * HW * B * 4;
  const imageOut = <usize>((K + B - 1) / B) * P * Q * B * 4;
  const pixelBytes = <usize>B << 2;
  const weightsPerQuad = <usize>Cg * R * S * 16;
  const mode = Kg % 4 == 0 ? MODE_SPLAT : Cg == 1 && Kg == 1 ? MODE_VECTOR : MODE_GATHER;
  // Output columns [qLo, qHi) read only columns inside the image for every tap.
  const qLo = min(Q, (padLeft + stride - 1) / stride);
  const lastInside = W - 1 + padLeft - (S - 1) * dilation;
  const qHi = lastInside < 0 ? qLo : max(qLo, min(Q, lastInside / stride + 1));
  const stepBytes = <usize>stride * pixelBytes;
  const tapBytes = <usize>dilation * pixelBytes;
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / (quads * rowChunks);
    const rest = u - n * quads * rowChunks;
    const kq = rest / rowChunks;
    const p0 = (rest - kq * rowChunks) * rowChunk;
    const p1 = min(P, p0 + rowChunk);
    const k0 = kq * 4;
    const img = input + <usize>n * imageIn;
    // First input channel of each lane's group; lanes past K repeat the last channel (their weights are 0).
    const g0 = <i32>min(k0, K - 1) / Kg, g1 = <i32>min(k0 + 1, K - 1) / Kg;
    const g2 = <i32>min(k0 + 2, K - 1) / Kg, g3 = <i32>min(k0 + 3, K - 1) / Kg;
    const w0 = weights + <usize>kq * weightsPerQuad;
    const bv = bias != 0 ? v128.load(bias + (<usize>k0 << 2)) : f32x4.splat(0);
    const outQuad = output + <usize>n * imageOut + ((<usize>(k0 / B) * P * Q * B + <usize>(k0 % B)) << 2);
    for (let p = p0; p < p1; p++) {
      const outRow = outQuad + <usize>p * Q * pixelBytes;
      const yTop = p * stride - padTop;
      let q = 0;
      while (q < Q) {
        // Four interior pixels at once, else one pixel with column checks.
        const four = q >= qLo && q + 4 <= qHi;
        let a0 = bv, a1 = bv, a2 = bv, a3 = bv;
        const xLeft = q * stride - padLeft;
        for (let ci = 0; ci < Cg; ci++) {
          const l0 = mode == MODE_VECTOR ? channelPlane(img, k0, B, HW) : channelPlane(img, g0 * Cg + ci, B, HW);
          const l1 = channelPlane(img, g1 * Cg + ci, B, HW);
          const l2 = channelPlane(img, g2 * Cg + ci, B, HW);
          const l3 = channelPlane(img, g3 * Cg + ci, B, HW);
          let w = w0 + <usize>ci * R * S * 16;
          for (let r = 0; r < R; r++) {
            const y = yTop + r * dilation;
            if (y < 0 || y >= H) { w += <usize>S * 16; continue; }
            const rowAt = <usize>y * W * pixelBytes;
            if (four) {
              let at = rowAt + <usize>xLeft * pixelBytes;
              for (let s = 0; s < S; s++) {
                const wv = v128.load(w);
                a0 = madd(wv, loadLanes(mode, l0, l1, l2, l3, at), a0);
                a1 = madd(wv, loadLanes(mode, l0, l1, l2, l3, at + stepBytes), a1);
                a2 = madd(wv, loadLanes(mode, l0, l1, l2, l3, at + 2 * stepBytes), a2);
                a3 = madd(wv, loadLanes(mode, l0, l1, l2, l3, at + 3 * stepBytes), a3);
                at += tapBytes;
                w += 16;
              }
            } else {
              for (let s = 0; s < S; s++) {
                const x = xLeft + s * dilation;
                if (x >= 0 && x < W) {
                  a0 = madd(v128.load(w), loadLanes(mode, l0, l1, l2, l3, rowAt + <usize>x * pixelBytes), a0);
                }
                w += 16;
              }
            }
          }
        }
        const out = outRow + <usize>q * pixelBytes;
        v128.store(out, a0);
        if (four) {
          v128.store(out + pixelBytes, a1);
          v128.store(out + 2 * pixelBytes, a2);
          v128.store(out + 3 * pixelBytes, a3);
          q += 4;
        } else {
          q++;
        }
      }
    }
  }
}
