// Fused Winograd F(m x m, 3 x 3) convolution, NCHW, stride 1, any padding, ragged tiles.
//
// Work unit = (image n, chunk of TB tiles, chunk of output channels). Per unit, all in private scratch
// sized to stay near L2:
//   1. input transform: V[xi,nu] (C x TB) = BT d B for each channel and 4 tiles at a time (SIMD lanes =
//      tiles), written straight into packed B panels;
//   2. alpha^2 packed GEMMs M[xi,nu] (K x TB) = U[xi,nu] (K x C) V[xi,nu] with the SGEMM micro-kernel;
//      U, the filter transform G g GT, is packed once per plan by the host as depth-block-major A
//      panels (depth = C, blocks of P_KC);
//   3. output transform Y = AT M A, 4 tiles at a time, plus bias, scattered into the output (tiles
//      past the bottom/right edge are cut).
import { MR, NR, INIT_ZERO, INIT_LOAD, gemmBlock } from './gemm';
import { TILE_TMP_BYTES } from './im2col';
import {
  param, paramPtr, P_C, P_H, P_W, P_K, P_PAD, P_P, P_Q, P_INPUT, P_OUTPUT, P_WEIGHTS, P_BIAS,
  P_COL_CHUNK, P_COL_CHUNKS, P_ROW_CHUNK, P_ROW_CHUNKS, P_KC, P_X0, P_X1, P_X2, P_X3,
} from './params';
import {
  winogradInput2, winogradInput4, winogradInput6, winogradOutput2, winogradOutput4, winogradOutput6,
} from './generated/winogradTransforms';

/** Byte offsets inside a Winograd unit's scratch area. */
const D_TILE: usize = TILE_TMP_BYTES; // alpha^2 v128 (max 64 * 16)
const T_TILE: usize = D_TILE + 1024; // alpha^2 v128, transform temporary
const Y_TILE: usize = T_TILE + 1024; // m^2 v128
export const WINOGRAD_FIXED_SCRATCH: usize = Y_TILE + 576;

/**
 * Gathers the alpha x alpha input patches of 4 tiles (lane i = tile t0 + i, tiles >= tEnd are zero)
 * into dtile, zero outside the image.
 */
function gatherTiles(
  plane: usize, H: i32, W: i32, m: i32, alpha: i32, pad: i32, tilesX: i32, t0: i32, tEnd: i32, dtile: usize,
): void {
  const y00 = (t0 / tilesX) * m - pad;
  const x00 = (t0 % tilesX) * m - pad;
  const y01 = ((t0 + 1) / tilesX) * m - pad;
  const x01 = ((t0 + 1) % tilesX) * m - pad;
  const y02 = ((t0 + 2) / tilesX) * m - pad;
  const x02 = ((t0 + 2) % tilesX) * m - pad;
  const y03 = ((t0 + 3) / tilesX) * m - pad;
  const x03 = ((t0 + 3) % tilesX) * m - pad;
  const inside =
    t0 + 4 <= tEnd &&
    min(min(y00, y01), min(y02, y03)) >= 0 && max(max(y00, y01), max(y02, y03)) + alpha <= H &&
    min(min(x00, x01), min(x02, x03)) >= 0 && max(max(x00, x01), max(x02, x03)) + alpha <= W;
  if (inside) {
    const rowBytes = <usize>W << 2;
    let p0 = plane + (<usize>(y00 * W + x00) << 2);
    let p1 = plane + (<usize>(y01 * W + x01) << 2);
    let p2 = plane + (<usize>(y02 * W + x02) << 2);
    let p3 = plane + (<usize>(y03 * W + x03) << 2);
    let d = dtile;
    for (let a = 0; a < alpha; a++) {
      for (let b = 0; b < alpha; b++) {
        const off = <usize>b << 2;
        let v = f32x4.splat(load<f32>(p0 + off));
        v = f32x4.replace_lane(v, 1, load<f32>(p1 + off));
        v = f32x4.replace_lane(v, 2, load<f32>(p2 + off));
        v = f32x4.replace_lane(v, 3, load<f32>(p3 + off));
        v128.store(d, v);
        d += 16;
      }
      p0 += rowBytes; p1 += rowBytes; p2 += rowBytes; p3 += rowBytes;
    }
    return;
  }
  for (let lane = 0; lane < 4; lane++) {
    const t = t0 + lane;
    const y0 = (t / tilesX) * m - pad;
    const x0 = (t % tilesX) * m - pad;
    for (let a = 0; a < alpha; a++) {
      const y = y0 + a;
      for (let b = 0; b < alpha; b++) {
        const x = x0 + b;
        let v: f32 = 0;
        if (t < tEnd && y >= 0 && y < H && x >= 0 && x < W) v = load<f32>(plane + (<usize>(y * W + x) << 2));
        store<f32>(dtile + (<usize>((a * alpha + b) * 4 + lane) << 2), v);
      }
    }
  }
}

export function convWinograd(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const pad = param(plan, P_PAD), P = param(plan, P_P), Q = param(plan, P_Q);
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
  const dtile = scratch + D_TILE;
  const ttile = scratch + T_TILE;
  const ytile = scratch + Y_TILE;
  const vBuf = scratch + WINOGRAD_FIXED_SCRATCH;
  const vStride = <usize>C * TB * 4;
  const mBuf = vBuf + <usize>alpha2 * vStride;
  const mStride = <usize>rowChunk * TB * 4;
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

    for (let c = 0; c < C; c++) {
      const plane = img + (<usize>c * H * W << 2);
      for (let g = 0; g < cols; g += 4) {
        gatherTiles(plane, H, W, m, alpha, pad, tilesX, t0 + g, t0 + nt, dtile);
        const dst = vBuf + (<usize>(((g >> 3) * C + c) * NR + (g & 7)) << 2);
        if (m == 2) winogradInput2(dtile, ttile, dst, vStride);
        else if (m == 4) winogradInput4(dtile, ttile, dst, vStride);
        else winogradInput6(dtile, ttile, dst, vStride);
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
          mBuf + <usize>e * mStride, TB, kn, cols, c0 == 0 ? INIT_ZERO : INIT_LOAD, 0, tmp,
        );
      }
    }

    for (let k = 0; k < kn; k++) {
      const out = output + (<usize>(n * K + k0 + k) * P * Q << 2);
      const b = f32x4.splat(bias != 0 ? load<f32>(bias + (<usize>(k0 + k) << 2)) : 0);
      for (let g = 0; g < nt; g += 4) {
        const src = mBuf + (<usize>(k * TB + g) << 2);
        if (m == 2) winogradOutput2(src, mStride, ttile, ytile);
        else if (m == 4) winogradOutput4(src, mStride, ttile, ytile);
        else winogradOutput6(src, mStride, ttile, ytile);
        for (let i = 0; i < m * m; i++) {
          const y = ytile + (<usize>i << 4);
          v128.store(y, f32x4.add(v128.load(y), b));
        }
        const lanes = min(4, nt - g);
        for (let lane = 0; lane < lanes; lane++) {
          const t = t0 + g + lane;
          const ty = t / tilesX;
          const tx = t - ty * tilesX;
          const rowsHere = min(m, P - ty * m);
          const colsHere = min(m, Q - tx * m);
          let o = out + (<usize>(ty * m * Q + tx * m) << 2);
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
