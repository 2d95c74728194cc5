// Register-blocked direct convolution on nchw{B}c (B = 4, 8, 16), any kernel size, stride, padding.
// Work unit = (image n, group of KO output channels, output row p); units write disjoint outputs.
// KO = B for B = 8, 16 and KO = 8 (two output blocks) for B = 4. Weights are packed once by the host
// as [K/KO][C/B][R][S][B ci][KO ko] (zero-padded channels).
// Each output row is split into the columns whose input window lies inside the image (generated
// kernels without bounds checks, one per pixel count) and the border columns (checked kernel).
import {
  param, paramPtr, P_C, P_H, P_W, P_K, P_R, P_S, P_STRIDE, P_PAD, P_P, P_Q, P_INPUT, P_OUTPUT, P_WEIGHTS,
  P_BIAS, P_X0,
} from './params';
import {
  directPixel4, directPixel8, directPixel16, directInterior4, directInterior8, directInterior16,
  DIRECT4_PIXELS, DIRECT8_PIXELS, DIRECT16_PIXELS, DIRECT4_OUT_CHANNELS, DIRECT8_OUT_CHANNELS,
  DIRECT16_OUT_CHANNELS,
} from './generated/directKernels';

/** Pixels [q0, q1) of one output row with bounds checks on the input columns (borders). */
function checkedRun(
  B: i32, img: usize, CB: i32, H: i32, W: i32, w: usize, R: i32, S: i32, stride: i32, pad: i32,
  p: i32, q0: i32, q1: i32, rowOut: usize, b: usize, blockStride: usize, second: bool,
): void {
  for (let q = q0; q < q1; q++) {
    const out = rowOut + (<usize>(q * B) << 2);
    if (B == 4) directPixel4(img, CB, H, W, w, R, S, stride, pad, p, q, 1, out, b, blockStride, second);
    else if (B == 8) directPixel8(img, CB, H, W, w, R, S, stride, pad, p, q, 1, out, b, blockStride, second);
    else directPixel16(img, CB, H, W, w, R, S, stride, pad, p, q, 1, out, b, blockStride, second);
  }
}

export function convDirectBlocked(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const R = param(plan, P_R), S = param(plan, P_S), stride = param(plan, P_STRIDE), pad = param(plan, P_PAD);
  const P = param(plan, P_P), Q = param(plan, P_Q);
  const input = paramPtr(plan, P_INPUT), output = paramPtr(plan, P_OUTPUT);
  const weights = paramPtr(plan, P_WEIGHTS), bias = paramPtr(plan, P_BIAS);
  const B = param(plan, P_X0);
  const CB = (C + B - 1) / B;
  const KB = (K + B - 1) / B;
  const KO = B == 4 ? DIRECT4_OUT_CHANNELS : B == 8 ? DIRECT8_OUT_CHANNELS : DIRECT16_OUT_CHANNELS;
  const blocksPerGroup = KO / B;
  const groups = (K + KO - 1) / KO;
  const pixels = B == 4 ? DIRECT4_PIXELS : B == 8 ? DIRECT8_PIXELS : DIRECT16_PIXELS;
  const imageIn = <usize>CB * H * W * B * 4;
  const imageOut = <usize>KB * P * Q * B * 4;
  const blockStride = <usize>P * Q * B * 4;
  const weightsPerGroup = <usize>CB * R * S * B * KO * 4;
  // Columns whose whole input window lies inside the image: [qLeft, qRight).
  const qLeft = min(Q, (pad + stride - 1) / stride);
  const qRight = max(qLeft, min(Q, W - S + pad >= 0 ? (W - S + pad) / stride + 1 : 0));
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / (groups * P);
    const rest = u - n * groups * P;
    const g = rest / P;
    const p = rest - g * P;
    const kb = g * blocksPerGroup;
    // The group's second output block exists unless K ends inside its first one.
    const second = kb + 1 < KB;
    const img = input + <usize>n * imageIn;
    const w = weights + <usize>g * weightsPerGroup;
    const b = bias != 0 ? bias + (<usize>(g * KO) << 2) : 0;
    const rowOut = output + <usize>n * imageOut + (<usize>((kb * P + p) * Q * B) << 2);
    checkedRun(B, img, CB, H, W, w, R, S, stride, pad, p, 0, qLeft, rowOut, b, blockStride, second);
    for (let q0 = qLeft; q0 < qRight; q0 += pixels) {
      const count = min(pixels, qRight - q0);
      const out = rowOut + (<usize>(q0 * B) << 2);
      if (B == 4) directInterior4(img, CB, H, W, w, R, S, stride, pad, p, q0, count, out, b, blockStride, second);
      else if (B == 8) directInterior8(img, CB, H, W, w, R, S, stride, pad, p, q0, count, out, b, blockStride, second);
      else directInterior16(img, CB, H, W, w, R, S, stride, pad, p, q0, count, out, b, blockStride, second);
    }
    checkedRun(B, img, CB, H, W, w, R, S, stride, pad, p, qRight, Q, rowOut, b, blockStride, second);
  }
}
