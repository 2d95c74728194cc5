// Fused Winograd F(m x m, 3 x 3) convolution, NCHW, any padding, ragged tiles: stride 1, or stride 2
// with the algorithms built from F(m, 2) (extension/core/winograd/strided.ts: alpha = 2m + 1, tiles of
// m x m outputs read alpha x alpha input patches 2m apart; m = 4 or 7).
//
// Work unit = (image n, chunk of TB tiles, chunk of output channels). Per unit, all in private scratch
// sized to stay near L2:
//   1. input transform: V[xi,nu] (C x TB) = BT d B for each channel and 4 tiles at a time (SIMD lanes =
//      tiles): patch rows gathered, transposed and row-transformed in registers (generated code), then
//      the column pass writes straight into packed B panels;
//   2. alpha^2 packed GEMMs M[xi,nu] (K x TB) = U[xi,nu] (K x C) V[xi,nu] with the SGEMM micro-kernel;
//      U, the filter transform G g GT, is packed once per plan by the host as depth-block-major A
//      panels (depth = C, blocks of P_KC);
//   3. output transform Y = AT M A, 4 tiles at a time, plus bias, scattered into the output (tiles
//      past the bottom/right edge are cut).
import { MR, NR, INIT_ZERO, INIT_LOAD, PANEL_BUFFER_SKEW, gemmBlock } from './gemm';
import { TILE_TMP_BYTES } from './im2col';
import {
  param, paramPtr, P_C, P_H, P_W, P_K, P_STRIDE, P_PAD, P_P, P_Q, P_INPUT, P_OUTPUT, P_WEIGHTS, P_BIAS,
  P_COL_CHUNK, P_COL_CHUNKS, P_ROW_CHUNK, P_ROW_CHUNKS, P_KC, P_X0, P_X1, P_X2, P_X3,
} from './params';
import {
  winogradGatherInput2, winogradGatherInput4, winogradGatherInput6, winogradOutput2, winogradOutput4, winogradOutput6,
  winogradGatherInput4s2, winogradOutput4s2, winogradGatherInput5, winogradOutput5, winogradGatherInput7, winogradOutput7,
  winogradGatherInput7s2, winogradOutput7s2,
} from './generated/winogradTransforms';
import { storeTileOrigins } from './patch';

/** Byte offsets inside a Winograd unit's scratch area. */
const T_TILE: usize = TILE_TMP_BYTES; // alpha^2 v128 (alpha <= 15), transform temporary
const Y_TILE: usize = T_TILE + 225 * 16; // m^2 v128 (m <= 7); the output path reads up to 3 v128 past them
const ORIGINS: usize = Y_TILE + 52 * 16; // (y, x) i32 pairs of up to WINOGRAD_MAX_TB tiles
export const WINOGRAD_MAX_TB: i32 = 256;
export const WINOGRAD_FIXED_SCRATCH: usize = ORIGINS + <usize>WINOGRAD_MAX_TB * 8;

export function convWinograd(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const stride = param(plan, P_STRIDE), pad = param(plan, P_PAD), P = param(plan, P_P), Q = param(plan, P_Q);
  const input = paramPtr(plan, P_INPUT), output = paramPtr(plan, P_OUTPUT);
  const weights = paramPtr(plan, P_WEIGHTS), bias = paramPtr(plan, P_BIAS);
  const TB = param(plan, P_COL_CHUNK), colChunks = param(plan, P_COL_CHUNKS);
  const rowChunk = param(plan, P_ROW_CHUNK), rowChunks = param(plan, P_ROW_CHUNKS);
  const kcBlock = param(plan, P_KC);
  const m = param(plan, P_X0), alpha = param(plan, P_X1), tilesY = param(plan, P_X2), tilesX = param(plan, P_X3);
  const tiles = tilesX * tilesY;
  const alpha2 = alpha * alpha;
  const Kpad = (K + MR - 1) / MR * MR;
  const tmp = scratch;
  const ttile = scratch + T_TILE;
  const ytile = scratch + Y_TILE;
  const vBuf = scratch + WINOGRAD_FIXED_SCRATCH;
  // V[e] and M[e] sit one cache line more than a whole number of panels apart: with C * TB * 4 a
  // multiple of 4 KiB (C = 64, TB = 8: 2 KiB), the transforms' alpha^2 strided stores and loads of one
  // tile group all mapped to two L1 sets and evicted each other (10-12% of F(7,3) on conv2_x).
  const vStride = <usize>C * TB * 4 + PANEL_BUFFER_SKEW;
  const mBuf = vBuf + <usize>alpha2 * vStride;
  const mStride = <usize>rowChunk * TB * 4 + PANEL_BUFFER_SKEW;
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / (colChunks * rowChunks);
    const rest = u - n * colChunks * rowChunks;
    const cc = rest / rowChunks;
    const rc = rest - cc * rowChunks;
    const t0 = cc * TB;
    const nt = min(TB, tiles - t0);
    // Tiles the transforms handle, in groups of 4 (SIMD lanes); the GEMMs multiply only the nt real
    // columns (lanes past them are zeros in V; in M they hold stale values that are never stored).
    const cols = (nt + 3) & ~3;
    const k0 = rc * rowChunk;
    const kn = min(rowChunk, K - k0);
    const img = input + (<usize>n * C * H * W << 2);
    const origins = scratch + ORIGINS;
    storeTileOrigins(origins, t0, cols, tilesX, m * stride, m * stride, -pad);

    for (let c = 0; c < C; c++) {
      const plane = img + (<usize>c * H * W << 2);
      for (let g = 0; g < cols; g += 4) {
        // Lanes past the chunk's last tile (up to the panel's end) transform zeros.
        const valid = max(0, min(4, nt - g));
        const org = origins + (<usize>g << 3);
        const dst = vBuf + (<usize>(((g >> 3) * C + c) * NR + (g & 7)) << 2);
        if (stride == 2 && m == 4) winogradGatherInput4s2(plane, H, W, org, valid, ttile, dst, vStride);
        else if (stride == 2) winogradGatherInput7s2(plane, H, W, org, valid, ttile, dst, vStride);
        else if (m == 2) winogradGatherInput2(plane, H, W, org, valid, ttile, dst, vStride);
        else if (m == 4) winogradGatherInput4(plane, H, W, org, valid, ttile, dst, vStride);
        else if (m == 5) winogradGatherInput5(plane, H, W, org, valid, ttile, dst, vStride);
        else if (m == 6) winogradGatherInput6(plane, H, W, org, valid, ttile, dst, vStride);
        else winogradGatherInput7(plane, H, W, org, valid, ttile, dst, vStride);
      }
    }

    for (let e = 0; e < alpha2; e++) {
      // U[e] is depth-block-major over C with Kpad rows: rows k0.. of block [c0, c0 + kc) start at
      // c0 * Kpad + k0 * kc floats.
      const u = weights + (<usize>e * Kpad * C << 2);
      for (let c0 = 0; c0 < C; c0 += kcBlock) {
        const kc = min(kcBlock, C - c0);
        gemmBlock(
          u + (<usize>(c0 * Kpad + k0 * kc) << 2), <usize>kc * MR * 4,
          vBuf + <usize>e * vStride + (<usize>c0 * NR << 2), <usize>C * NR * 4, kc,
          mBuf + <usize>e * mStride, TB, kn, nt, c0 == 0 ? INIT_ZERO : INIT_LOAD, 0, tmp,
        );
      }
    }

    for (let k = 0; k < kn; k++) {
      const out = output + (<usize>(n * K + k0 + k) * P * Q << 2);
      const b = f32x4.splat(bias != 0 ? load<f32>(bias + (<usize>(k0 + k) << 2)) : 0);
      for (let g = 0; g < nt; g += 4) {
        const src = mBuf + (<usize>(k * TB + g) << 2);
        if (stride == 2 && m == 4) winogradOutput4s2(src, mStride, ttile, ytile);
        else if (stride == 2) winogradOutput7s2(src, mStride, ttile, ytile);
        else if (m == 2) winogradOutput2(src, mStride, ttile, ytile);
        else if (m == 4) winogradOutput4(src, mStride, ttile, ytile);
        else if (m == 5) winogradOutput5(src, mStride, ttile, ytile);
        else if (m == 6) winogradOutput6(src, mStride, ttile, ytile);
        else winogradOutput7(src, mStride, ttile, ytile);
        for (let i = 0; i < m * m; i++) {
          const y = ytile + (<usize>i << 4);
          v128.store(y, f32x4.add(v128.load(y), b));
        }
        const lanes = min(4, nt - g);
        if (lanes == 4) {
          const o0 = origins + (<usize>g << 3);
          // Origins hold input patch corners; output tile corners are (origin + pad) / stride.
          const oy0 = (load<i32>(o0) + pad) / stride, ox0 = (load<i32>(o0, 4) + pad) / stride;
          const oy1 = (load<i32>(o0, 8) + pad) / stride, ox1 = (load<i32>(o0, 12) + pad) / stride;
          const oy2 = (load<i32>(o0, 16) + pad) / stride, ox2 = (load<i32>(o0, 20) + pad) / stride;
          const oy3 = (load<i32>(o0, 24) + pad) / stride, ox3 = (load<i32>(o0, 28) + pad) / stride;
          if (max(max(oy0, oy1), max(oy2, oy3)) + m <= P && max(max(ox0, ox1), max(ox2, ox3)) + m <= Q) {
            // Four whole tiles: transpose 4x4 blocks of Y so each tile's output row segment is one
            // vector store (lane stores of the last m - j < 4 floats when m is not a multiple of 4).
            let d0 = out + (<usize>(oy0 * Q + ox0) << 2);
            let d1 = out + (<usize>(oy1 * Q + ox1) << 2);
            let d2 = out + (<usize>(oy2 * Q + ox2) << 2);
            let d3 = out + (<usize>(oy3 * Q + ox3) << 2);
            const rowBytes = <usize>Q << 2;
            for (let a = 0; a < m; a++) {
              const yRow = ytile + (<usize>(a * m) << 4);
              for (let j = 0; j < m; j += 4) {
                // Reads up to 3 vectors past the row when m - j < 4; those lanes are never stored.
                const yj = yRow + (<usize>j << 4);
                const v0 = v128.load(yj), v1 = v128.load(yj, 16), v2 = v128.load(yj, 32), v3 = v128.load(yj, 48);
                const lo01 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5);
                const hi01 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
                const lo23 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
                const hi23 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
                const t0v = v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5);
                const t1v = v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7);
                const t2v = v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5);
                const t3v = v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7);
                const off = <usize>j << 2;
                if (j + 4 <= m) {
                  v128.store(d0 + off, t0v); v128.store(d1 + off, t1v);
                  v128.store(d2 + off, t2v); v128.store(d3 + off, t3v);
                } else if (m - j == 1) {
                  v128.store32_lane(d0 + off, t0v, 0); v128.store32_lane(d1 + off, t1v, 0);
                  v128.store32_lane(d2 + off, t2v, 0); v128.store32_lane(d3 + off, t3v, 0);
                } else {
                  v128.store64_lane(d0 + off, t0v, 0); v128.store64_lane(d1 + off, t1v, 0);
                  v128.store64_lane(d2 + off, t2v, 0); v128.store64_lane(d3 + off, t3v, 0);
                  if (m - j == 3) {
                    v128.store32_lane(d0 + off, t0v, 2, 8); v128.store32_lane(d1 + off, t1v, 2, 8);
                    v128.store32_lane(d2 + off, t2v, 2, 8); v128.store32_lane(d3 + off, t3v, 2, 8);
                  }
                }
              }
              d0 += rowBytes; d1 += rowBytes; d2 += rowBytes; d3 += rowBytes;
            }
            continue;
          }
        }
        for (let lane = 0; lane < lanes; lane++) {
          const oy = (load<i32>(origins + (<usize>(g + lane) << 3)) + pad) / stride;
          const ox = (load<i32>(origins + (<usize>(g + lane) << 3), 4) + pad) / stride;
          const rowsHere = min(m, P - oy);
          const colsHere = min(m, Q - ox);
          let o = out + (<usize>(oy * Q + ox) << 2);
          let y = ytile + (<usize>lane << 2);
          for (let a = 0; a < rowsHere; a++) {
            for (let bb = 0; bb < colsHere; bb++) store<f32>(o + (<usize>bb << 2), load<f32>(y + (<usize>bb << 4)));
            y += <usize>m << 4;
            o += <usize>Q << 2;
          }
        }
      }
    }
  }
}
