// Register-blocked direct convolution on nchw{B}c (B = 4, 8, 16), any kernel size, stride, dilation and
// padding (top, left, bottom, right), one group or groups whose output channels come in whole groups of
// 8 kernel outputs (K/groups a multiple of 8, or 4: two groups per 8, their weights zero across groups);
// grouped.ts runs the other grouped shapes.
// Work unit = (image n, block of output rows); units write disjoint outputs. A unit first copies the
// input rows its output rows read into scratch as [CBi][rows][Wp][Bi]: zero-padded left and right to
// Wp = (Q-1)*stride + (S-1)*dilation + 1 columns, so that every output pixel runs the generated kernels
// without column checks and each row splits into balanced pixel runs (no slow lone border pixels), and
// regrouped into blocks of Bi input channels (chosen by the host: 16 keeps the kernels' inner loop long
// whatever the layout's B; 3 for an RGB stem). Undilated, the rows are the image rows the block reads, rows above or below
// the image skipped (their kernel rows contribute nothing). Dilated, they are R bands, one per kernel
// row, of the rows that kernel row reads (rows outside the image zero), so that the rows between the
// taps are never copied. Then for each group of 8 output channels (weights packed by the host as
// [K/8][span/Bi][R][S][Bi ci][8 ko] over the span of input channels the 8 read: all C, or their groups')
// it computes its rows; the group's weights are reused from cache across them.
import {
  param, paramPtr, P_C, P_H, P_W, P_K, P_R, P_S, P_STRIDE, P_PAD, P_P, P_Q, P_INPUT, P_OUTPUT, P_WEIGHTS,
  P_BIAS, P_ROW_CHUNK, P_ROW_CHUNKS, P_X0, P_X1, P_X2, P_PAD_LEFT, P_GROUPS, P_DILATION,
} from './params';
import {
  directRows3, directRows4, directRows8, directRows16, directRowDilated3, directRowDilated4, directRowDilated8, directRowDilated16, DIRECT_OUT_CHANNELS, DIRECT_PIXELS,
} from './generated/directKernels';

/**
 * Copies input rows [y0, y1) of one nchw{B}c image (CB blocks) into dst as [CBi][y1-y0][Wp][Bi], the
 * blocks blockBytes apart: image column x at padded column x + pad; columns outside the image and
 * channels past CB * B are zero.
 */
function copyPaddedRows(
  img: usize, CB: i32, H: i32, W: i32, B: i32, Bi: i32, CBi: i32, y0: i32, y1: i32, pad: i32, Wp: i32, dst: usize,
  blockBytes: usize,
): void {
  // Padded columns [xLo, xHi) hold image columns [xLo - pad, xHi - pad).
  const xLo = min(pad, Wp);
  const xHi = max(xLo, min(Wp, W + pad));
  const first = <usize>(xHi > xLo ? xLo - pad : <i32>0);
  const inPixel = <usize>B << 2;
  const outPixel = <usize>Bi << 2;
  const rowBytes = <usize>Wp * outPixel;
  for (let cbi = 0; cbi < CBi; cbi++) {
    let d = dst + <usize>cbi * blockBytes;
    for (let y = y0; y < y1; y++) {
      if (xLo > 0) memory.fill(d, 0, <usize>xLo * outPixel);
      if (xHi < Wp) memory.fill(d + <usize>xHi * outPixel, 0, <usize>(Wp - xHi) * outPixel);
      if (B == Bi) {
        const s = img + (<usize>(cbi * H + y) * W + first) * inPixel;
        if (xHi > xLo) memory.copy(d + <usize>xLo * outPixel, s, <usize>(xHi - xLo) * outPixel);
      } else if (Bi == 3) {
        // An RGB stem (C = 3): one block, three floats per pixel.
        let o = d + <usize>xLo * outPixel;
        let s = img + (<usize>y * W + first) * inPixel;
        for (let x = xLo; x < xHi; x++) {
          store<f32>(o, load<f32>(s)); store<f32>(o, load<f32>(s, 4), 4); store<f32>(o, load<f32>(s, 8), 8);
          o += outPixel; s += inPixel;
        }
      } else {
        // Four channels at a time: channel c of block c / Bi comes from block c / B of the image.
        for (let c = cbi * Bi; c < (cbi + 1) * Bi; c += 4) {
          let o = d + <usize>xLo * outPixel + (<usize>(c - cbi * Bi) << 2);
          if (c < CB * B) {
            let s = img + (<usize>((c / B) * H + y) * W + first) * inPixel + (<usize>(c % B) << 2);
            for (let x = xLo; x < xHi; x++) { v128.store(o, v128.load(s)); o += outPixel; s += inPixel; }
          } else {
            for (let x = xLo; x < xHi; x++) { v128.store(o, f32x4.splat(0)); o += outPixel; }
          }
        }
      }
      d += rowBytes;
    }
  }
}

export function convDirectBlocked(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const R = param(plan, P_R), S = param(plan, P_S), stride = param(plan, P_STRIDE);
  // Top and left padding; bottom and right follow from P and Q.
  const padTop = param(plan, P_PAD), padLeft = param(plan, P_PAD_LEFT);
  const P = param(plan, P_P), Q = param(plan, P_Q);
  const groups = param(plan, P_GROUPS), dilation = param(plan, P_DILATION);
  const input = paramPtr(plan, P_INPUT), output = paramPtr(plan, P_OUTPUT);
  const weights = paramPtr(plan, P_WEIGHTS), bias = paramPtr(plan, P_BIAS);
  const rowChunk = param(plan, P_ROW_CHUNK), rowChunks = param(plan, P_ROW_CHUNKS);
  const B = param(plan, P_X0);
  const Bi = param(plan, P_X1);
  // Input blocks one group of KO output channels reads (all CBi for one group).
  const spanBlocks = param(plan, P_X2);
  const Cg = C / groups, Kg = K / groups;
  const CB = (C + B - 1) / B;
  const CBi = (C + Bi - 1) / Bi;
  const KB = (K + B - 1) / B;
  const KO = DIRECT_OUT_CHANNELS;
  const outGroups = (K + KO - 1) / KO;
  const imageIn = <usize>CB * H * W * B * 4;
  const imageOut = <usize>KB * P * Q * B * 4;
  const blockStride = <usize>P * Q * B * 4;
  const outPixelBytes = <usize>B << 2;
  const weightsPerGroup = <usize>spanBlocks * R * S * Bi * KO * 4;
  const Wp = (Q - 1) * stride + (S - 1) * dilation + 1;
  const rowBytes = <usize>Wp * Bi * 4;
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / rowChunks;
    const p0 = (u - n * rowChunks) * rowChunk;
    const p1 = min(P, p0 + rowChunk);
    const img = input + <usize>n * imageIn;
    // Undilated: the image rows [yStart, yEnd) the unit reads. Dilated: R bands of `band` rows.
    const band = (p1 - p0 - 1) * stride + 1;
    let yStart = 0;
    let cbBytes: usize;
    if (dilation == 1) {
      yStart = max(0, p0 * stride - padTop);
      const yEnd = max(yStart, min(H, (p1 - 1) * stride - padTop + R));
      cbBytes = <usize>(yEnd - yStart) * rowBytes;
      copyPaddedRows(img, CB, H, W, B, Bi, CBi, yStart, yEnd, padLeft, Wp, scratch, cbBytes);
    } else {
      cbBytes = <usize>R * band * rowBytes;
      for (let r = 0; r < R; r++) {
        const y0 = p0 * stride - padTop + r * dilation;
        const lo = max(0, y0), hi = min(H, y0 + band);
        if (lo < hi) {
          copyPaddedRows(img, CB, H, W, B, Bi, CBi, lo, hi, padLeft, Wp, scratch + <usize>(r * band + lo - y0) * rowBytes, cbBytes);
        }
      }
    }
    for (let g = 0; g < outGroups; g++) {
      const k0 = g * KO;
      const kb = k0 / B;
      // The input blocks of the channels these outputs read (their groups'), clipped to the image's.
      const firstBlock = (k0 / Kg) * Cg / Bi;
      const blocks = min(spanBlocks, CBi - firstBlock);
      const src = scratch + <usize>firstBlock * cbBytes;
      const w = weights + <usize>g * weightsPerGroup;
      const b = bias != 0 ? bias + (<usize>k0 << 2) : 0;
      // Channels k0..k0+3 and k0+4..k0+7: the same block for B >= 8, the next block for B = 4 (which
      // may not exist when K ends in the first).
      const groupOut = output + <usize>n * imageOut + (<usize>kb * P * Q * B + <usize>(k0 - kb * B)) * 4;
      const upper: usize = B > 4 ? 16 : kb + 1 < KB ? blockStride : 0;
      if (dilation != 1) {
        for (let p = p0; p < p1; p++) {
          const y = p * stride - padTop;
          // Kernel rows whose image row y + r * dilation is inside the image.
          const rLo = y >= 0 ? 0 : (dilation - 1 - y) / dilation;
          const rHi = y >= H ? 0 : min(R, (H - 1 - y) / dilation + 1);
          const out0 = groupOut + (<usize>p * Q * B << 2);
          const out1 = upper != 0 ? out0 + upper : 0;
          const yRow = (p - p0) * stride;
          if (Bi == 3) directRowDilated3(src, cbBytes, rowBytes, blocks, R, S, stride, dilation, Q, padLeft, W, yRow, band, rLo, rHi, w, out0, out1, outPixelBytes, b);
          else if (Bi == 4) directRowDilated4(src, cbBytes, rowBytes, blocks, R, S, stride, dilation, Q, padLeft, W, yRow, band, rLo, rHi, w, out0, out1, outPixelBytes, b);
          else if (Bi == 8) directRowDilated8(src, cbBytes, rowBytes, blocks, R, S, stride, dilation, Q, padLeft, W, yRow, band, rLo, rHi, w, out0, out1, outPixelBytes, b);
          else directRowDilated16(src, cbBytes, rowBytes, blocks, R, S, stride, dilation, Q, padLeft, W, yRow, band, rLo, rHi, w, out0, out1, outPixelBytes, b);
        }
        continue;
      }
      // Output rows that read the same kernel rows [rLo, rHi) run as one sequence of pixels (the kernels
      // reach the next row's pixels at a constant offset for stride 1 and 2, across at most one row end).
      const joinRows = stride <= 2 && Q >= DIRECT_PIXELS;
      let p = p0;
      while (p < p1) {
        const y = p * stride - padTop;
        const rLo = max(0, -y);
        const rHi = min(R, H - y);
        let rows = 1;
        while (joinRows && p + rows < p1) {
          const yNext = (p + rows) * stride - padTop;
          if (max(0, -yNext) != rLo || min(R, H - yNext) != rHi) break;
          rows++;
        }
        const out0 = groupOut + (<usize>p * Q * B << 2);
        const out1 = upper != 0 ? out0 + upper : 0;
        const yRow = y - yStart;
        if (Bi == 3) directRows3(src, cbBytes, rowBytes, blocks, R, S, stride, Q, rows, yRow, rLo, rHi, w, out0, out1, outPixelBytes, b);
        else if (Bi == 4) directRows4(src, cbBytes, rowBytes, blocks, R, S, stride, Q, rows, yRow, rLo, rHi, w, out0, out1, outPixelBytes, b);
        else if (Bi == 8) directRows8(src, cbBytes, rowBytes, blocks, R, S, stride, Q, rows, yRow, rLo, rHi, w, out0, out1, outPixelBytes, b);
        else directRows16(src, cbBytes, rowBytes, blocks, R, S, stride, Q, rows, yRow, rLo, rHi, w, out0, out1, outPixelBytes, b);
        p += rows;
      }
    }
  }
}
