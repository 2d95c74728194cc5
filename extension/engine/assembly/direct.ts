// Register-blocked direct convolution on nchw{B}c (B = 4, 8, 16), any kernel size, stride, padding.
// Work unit = (image n, block of output rows); units write disjoint outputs. A unit first copies the
// input rows its output rows read into scratch, zero-padded left and right to Wp = (Q-1)*stride + S
// columns, so that every output pixel runs the generated kernels without column checks and each row
// splits into balanced pixel blocks (no slow lone border pixels). Rows above or below the image are
// skipped (their kernel rows contribute nothing). Then for each group of KO output channels (weights
// packed by the host as [K/KO][C/B][R][S][B ci][KO ko], zero-padded channels) it computes its rows;
// the group's weights are reused from cache across those rows.
import {
  param, paramPtr, P_C, P_H, P_W, P_K, P_R, P_S, P_STRIDE, P_PAD, P_P, P_Q, P_INPUT, P_OUTPUT, P_WEIGHTS,
  P_BIAS, P_ROW_CHUNK, P_ROW_CHUNKS, P_X0,
} from './params';
import {
  directRow4, directRow8, directRow16, DIRECT4_OUT_CHANNELS, DIRECT8_OUT_CHANNELS, DIRECT16_OUT_CHANNELS,
} from './generated/directKernels';

/**
 * Copies input rows [y0, y1) of every channel block of one nchw{B}c image into dst as [CB][y1-y0][Wp][B],
 * column x of the image at padded column x + pad; columns outside the image are zero.
 */
function copyPaddedRows(
  img: usize, CB: i32, H: i32, W: i32, B: i32, y0: i32, y1: i32, pad: i32, Wp: i32, dst: usize,
): void {
  const pixelBytes = <usize>B << 2;
  // Padded columns [xLo, xHi) hold image columns [xLo - pad, xHi - pad).
  const xLo = min(pad, Wp);
  const xHi = max(xLo, min(Wp, W + pad));
  const rowBytes = <usize>Wp * pixelBytes;
  const copied = xHi > xLo;
  let d = dst;
  for (let cb = 0; cb < CB; cb++) {
    let s = img + (<usize>(cb * H + y0) * W + <usize>(copied ? xLo - pad : <i32>0)) * pixelBytes;
    for (let y = y0; y < y1; y++) {
      if (xLo > 0) memory.fill(d, 0, <usize>xLo * pixelBytes);
      if (copied) memory.copy(d + <usize>xLo * pixelBytes, s, <usize>(xHi - xLo) * pixelBytes);
      if (xHi < Wp) memory.fill(d + <usize>xHi * pixelBytes, 0, <usize>(Wp - xHi) * pixelBytes);
      d += rowBytes;
      s += <usize>W * pixelBytes;
    }
  }
}

export function convDirectBlocked(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const R = param(plan, P_R), S = param(plan, P_S), stride = param(plan, P_STRIDE), pad = param(plan, P_PAD);
  const P = param(plan, P_P), Q = param(plan, P_Q);
  const input = paramPtr(plan, P_INPUT), output = paramPtr(plan, P_OUTPUT);
  const weights = paramPtr(plan, P_WEIGHTS), bias = paramPtr(plan, P_BIAS);
  const rowChunk = param(plan, P_ROW_CHUNK), rowChunks = param(plan, P_ROW_CHUNKS);
  const B = param(plan, P_X0);
  const CB = (C + B - 1) / B;
  const KB = (K + B - 1) / B;
  const KO = B == 4 ? DIRECT4_OUT_CHANNELS : B == 8 ? DIRECT8_OUT_CHANNELS : DIRECT16_OUT_CHANNELS;
  const groups = (K + KO - 1) / KO;
  const imageIn = <usize>CB * H * W * B * 4;
  const imageOut = <usize>KB * P * Q * B * 4;
  const blockStride = <usize>P * Q * B * 4;
  const weightsPerGroup = <usize>CB * R * S * B * KO * 4;
  const Wp = (Q - 1) * stride + S;
  const rowBytes = <usize>Wp * B * 4;
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / rowChunks;
    const p0 = (u - n * rowChunks) * rowChunk;
    const p1 = min(P, p0 + rowChunk);
    const img = input + <usize>n * imageIn;
    // Input rows the unit's output rows read, clipped to the image.
    const yStart = max(0, p0 * stride - pad);
    const yEnd = max(yStart, min(H, (p1 - 1) * stride - pad + R));
    copyPaddedRows(img, CB, H, W, B, yStart, yEnd, pad, Wp, scratch);
    const cbBytes = <usize>(yEnd - yStart) * rowBytes;
    for (let g = 0; g < groups; g++) {
      const k0 = g * KO;
      const kb = k0 / B;
      // Output blocks of the group (KO > B) that exist: K may end inside the group.
      const blocks = min(max(1, KO / B), KB - kb);
      const w = weights + <usize>g * weightsPerGroup;
      const b = bias != 0 ? bias + (<usize>k0 << 2) : 0;
      const groupOut = output + <usize>n * imageOut + (<usize>kb * P * Q * B + <usize>(k0 - kb * B)) * 4;
      for (let p = p0; p < p1; p++) {
        const y = p * stride - pad;
        const rLo = max(0, -y);
        const rHi = min(R, H - y);
        const yRow = y - yStart;
        const out = groupOut + (<usize>p * Q * B << 2);
        if (B == 4) directRow4(scratch, cbBytes, rowBytes, CB, R, S, stride, Q, yRow, rLo, rHi, w, out, b, blockStride, blocks);
        else if (B == 8) directRow8(scratch, cbBytes, rowBytes, CB, R, S, stride, Q, yRow, rLo, rHi, w, out, b, blockStride, blocks);
        else directRow16(scratch, cbBytes, rowBytes, CB, R, S, stride, Q, yRow, rLo, rHi, w, out, b, blockStride, blocks);
      }
    }
  }
}
