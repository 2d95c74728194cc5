// im2col + Strassen-Winograd GEMM, NCHW. out[n] (K x PQ) = W (K x D) * col (D x PQ), D = C R S.
//
// Work unit = (image n, column chunk of pixels). Per unit: im2col into a zero-padded row-major
// Dp x NCp block, then `levels` levels of Winograd's Strassen variant (7 products, 15 additions per
// level) on Kp x Dp x NCp (all multiples of 2^levels, zero padding), whose 7^levels leaf products run
// on the packed SGEMM micro-kernel; finally the valid K x ncols part plus bias is copied out.
// The host pads and stores W row-major (Kp x Dp) once per plan.
import { gemmPacked, MR, NR, INIT_ZERO } from './gemm';
import { TILE_TMP_BYTES } from './im2col';
import {
  param, paramPtr, P_C, P_H, P_W, P_K, P_R, P_S, P_STRIDE, P_PAD, P_P, P_Q, P_INPUT, P_OUTPUT, P_WEIGHTS,
  P_BIAS, P_COL_CHUNK, P_COL_CHUNKS, P_KC, P_X0, P_X1, P_X2, P_X3,
} from './params';

/** dst = a + sign * b, element-wise over rows x cols (leading dimensions in floats). */
function matAdd(dst: usize, ldd: i32, a: usize, lda: i32, b: usize, ldb: i32, rows: i32, cols: i32, subtract: bool): void {
  for (let i = 0; i < rows; i++) {
    const d = dst + (<usize>(i * ldd) << 2);
    const x = a + (<usize>(i * lda) << 2);
    const y = b + (<usize>(i * ldb) << 2);
    let j = 0;
    if (subtract) {
      for (; j + 4 <= cols; j += 4) v128.store(d + (<usize>j << 2), f32x4.sub(v128.load(x + (<usize>j << 2)), v128.load(y + (<usize>j << 2))));
      for (; j < cols; j++) store<f32>(d + (<usize>j << 2), load<f32>(x + (<usize>j << 2)) - load<f32>(y + (<usize>j << 2)));
    } else {
      for (; j + 4 <= cols; j += 4) v128.store(d + (<usize>j << 2), f32x4.add(v128.load(x + (<usize>j << 2)), v128.load(y + (<usize>j << 2))));
      for (; j < cols; j++) store<f32>(d + (<usize>j << 2), load<f32>(x + (<usize>j << 2)) + load<f32>(y + (<usize>j << 2)));
    }
  }
}

/** Packs rows x depth of row-major A (lda) into panel-major A panels [ceil(rows/MR)][depth][MR]. */
function packRowsA(src: usize, lda: i32, rows: i32, depth: i32, dst: usize): void {
  const panels = (rows + MR - 1) / MR;
  for (let p = 0; p < panels; p++) {
    for (let i = 0; i < MR; i++) {
      const row = p * MR + i;
      let d = dst + (<usize>(p * depth * MR + i) << 2);
      if (row >= rows) {
        for (let k = 0; k < depth; k++) { store<f32>(d, 0); d += MR << 2; }
        continue;
      }
      const s = src + (<usize>(row * lda) << 2);
      for (let k = 0; k < depth; k++) { store<f32>(d, load<f32>(s + (<usize>k << 2))); d += MR << 2; }
    }
  }
}

/** Packs depth x cols of row-major B (ldb) into panel-major B panels [ceil(cols/NR)][depth][NR]. */
function packColsB(src: usize, ldb: i32, depth: i32, cols: i32, dst: usize): void {
  const panels = (cols + NR - 1) / NR;
  for (let p = 0; p < panels; p++) {
    let d = dst + (<usize>(p * depth * NR) << 2);
    for (let k = 0; k < depth; k++) {
      const s = src + (<usize>(k * ldb + p * NR) << 2);
      if (p * NR + NR <= cols) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
      } else {
        for (let j = 0; j < NR; j++) store<f32>(d + (<usize>j << 2), p * NR + j < cols ? load<f32>(s + (<usize>j << 2)) : 0);
      }
      d += NR << 2;
    }
  }
}

/** Bytes of workspace strassenMul needs for (levels, m, k, n); mirrored by the host. */
export function strassenWorkspaceBytes(levels: i32, m: i32, k: i32, n: i32): usize {
  if (levels == 0) {
    return (<usize>((m + MR - 1) / MR * MR) * k + <usize>((n + NR - 1) / NR * NR) * k) * 4 + TILE_TMP_BYTES;
  }
  const m2 = m / 2, k2 = k / 2, n2 = n / 2;
  return (<usize>(4 * m2 * k2 + 4 * k2 * n2 + 7 * m2 * n2)) * 4 + strassenWorkspaceBytes(levels - 1, m2, k2, n2);
}

/** C (m x n, ldc) = A (m x k, lda) * B (k x n, ldb); m, k, n divisible by 2^levels. */
export function strassenMul(
  levels: i32, m: i32, k: i32, n: i32, A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32, ws: usize, kcBlock: i32,
): void {
  if (levels == 0) {
    const packedA = ws + TILE_TMP_BYTES;
    const packedB = packedA + (<usize>((m + MR - 1) / MR * MR) * k << 2);
    packRowsA(A, lda, m, k, packedA);
    packColsB(B, ldb, k, n, packedB);
    gemmPacked(packedA, 0, packedB, 0, k, C, ldc, m, n, INIT_ZERO, 0, ws, kcBlock);
    return;
  }
  const m2 = m / 2, k2 = k / 2, n2 = n / 2;
  const A11 = A, A12 = A + (<usize>k2 << 2), A21 = A + (<usize>(m2 * lda) << 2), A22 = A21 + (<usize>k2 << 2);
  const B11 = B, B12 = B + (<usize>n2 << 2), B21 = B + (<usize>(k2 * ldb) << 2), B22 = B21 + (<usize>n2 << 2);
  const C11 = C, C12 = C + (<usize>n2 << 2), C21 = C + (<usize>(m2 * ldc) << 2), C22 = C21 + (<usize>n2 << 2);
  const sA = <usize>(m2 * k2) << 2, sB = <usize>(k2 * n2) << 2, sC = <usize>(m2 * n2) << 2;
  const S1 = ws, S2 = S1 + sA, S3 = S2 + sA, S4 = S3 + sA;
  const T1 = S4 + sA, T2 = T1 + sB, T3 = T2 + sB, T4 = T3 + sB;
  const M1 = T4 + sB, M2 = M1 + sC, M3 = M2 + sC, M4 = M3 + sC, M5 = M4 + sC, M6 = M5 + sC, M7 = M6 + sC;
  const inner = M7 + sC;
  matAdd(S1, k2, A21, lda, A22, lda, m2, k2, false); // S1 = A21 + A22
  matAdd(S2, k2, S1, k2, A11, lda, m2, k2, true); // S2 = S1 - A11
  matAdd(S3, k2, A11, lda, A21, lda, m2, k2, true); // S3 = A11 - A21
  matAdd(S4, k2, A12, lda, S2, k2, m2, k2, true); // S4 = A12 - S2
  matAdd(T1, n2, B12, ldb, B11, ldb, k2, n2, true); // T1 = B12 - B11
  matAdd(T2, n2, B22, ldb, T1, n2, k2, n2, true); // T2 = B22 - T1
  matAdd(T3, n2, B22, ldb, B12, ldb, k2, n2, true); // T3 = B22 - B12
  matAdd(T4, n2, T2, n2, B21, ldb, k2, n2, true); // T4 = T2 - B21
  const l = levels - 1;
  strassenMul(l, m2, k2, n2, A11, lda, B11, ldb, M1, n2, inner, kcBlock);
  strassenMul(l, m2, k2, n2, A12, lda, B21, ldb, M2, n2, inner, kcBlock);
  strassenMul(l, m2, k2, n2, S4, k2, B22, ldb, M3, n2, inner, kcBlock);
  strassenMul(l, m2, k2, n2, A22, lda, T4, n2, M4, n2, inner, kcBlock);
  strassenMul(l, m2, k2, n2, S1, k2, T1, n2, M5, n2, inner, kcBlock);
  strassenMul(l, m2, k2, n2, S2, k2, T2, n2, M6, n2, inner, kcBlock);
  strassenMul(l, m2, k2, n2, S3, k2, T3, n2, M7, n2, inner, kcBlock);
  matAdd(C11, ldc, M1, n2, M2, n2, m2, n2, false); // C11 = M1 + M2
  matAdd(M6, n2, M1, n2, M6, n2, m2, n2, false); // U2 = M1 + M6
  matAdd(M7, n2, M6, n2, M7, n2, m2, n2, false); // U3 = U2 + M7
  matAdd(M6, n2, M6, n2, M5, n2, m2, n2, false); // U4 = U2 + M5
  matAdd(C12, ldc, M6, n2, M3, n2, m2, n2, false); // C12 = U4 + M3
  matAdd(C21, ldc, M7, n2, M4, n2, m2, n2, true); // C21 = U3 - M4
  matAdd(C22, ldc, M7, n2, M5, n2, m2, n2, false); // C22 = U3 + M5
}

/** Plain im2col of output pixels [col0, col0 + ncols) into row-major rows x ld (zero padding). */
function im2colRowMajor(
  img: usize, C: i32, H: i32, W: i32, R: i32, S: i32, stride: i32, pad: i32, Q: i32,
  col0: i32, ncols: i32, rows: i32, ld: i32, dst: usize,
): void {
  memory.fill(dst, 0, <usize>rows * ld * 4);
  const D = C * R * S;
  for (let d = 0; d < D; d++) {
    const c = d / (R * S);
    const rs = d - c * R * S;
    const r = rs / S;
    const s = rs - r * S;
    const plane = img + (<usize>(c * H * W) << 2);
    const row = dst + (<usize>(d * ld) << 2);
    let p = col0 / Q;
    let q = col0 - p * Q;
    for (let j = 0; j < ncols; j++) {
      const y = p * stride - pad + r;
      const x = q * stride - pad + s;
      if (y >= 0 && y < H && x >= 0 && x < W) store<f32>(row + (<usize>j << 2), load<f32>(plane + (<usize>(y * W + x) << 2)));
      q++;
      if (q == Q) { q = 0; p++; }
    }
  }
}

export function convStrassen(plan: usize, unitBegin: i32, unitEnd: i32, scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W), K = param(plan, P_K);
  const R = param(plan, P_R), S = param(plan, P_S), stride = param(plan, P_STRIDE), pad = param(plan, P_PAD);
  const P = param(plan, P_P), Q = param(plan, P_Q);
  const input = paramPtr(plan, P_INPUT), output = paramPtr(plan, P_OUTPUT);
  const weights = paramPtr(plan, P_WEIGHTS), bias = paramPtr(plan, P_BIAS);
  const colChunk = param(plan, P_COL_CHUNK), colChunks = param(plan, P_COL_CHUNKS);
  const kcBlock = param(plan, P_KC);
  const levels = param(plan, P_X0), Kp = param(plan, P_X1), Dp = param(plan, P_X2), NCp = param(plan, P_X3);
  const PQ = P * Q;
  const colBuf = scratch;
  const cBuf = colBuf + (<usize>(Dp * NCp) << 2);
  const ws = cBuf + (<usize>(Kp * NCp) << 2);
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / colChunks;
    const cc = u - n * colChunks;
    const col0 = cc * colChunk;
    const ncols = min(colChunk, PQ - col0);
    const img = input + (<usize>n * C * H * W << 2);
    im2colRowMajor(img, C, H, W, R, S, stride, pad, Q, col0, ncols, Dp, NCp, colBuf);
    strassenMul(levels, Kp, Dp, NCp, weights, Dp, colBuf, NCp, cBuf, NCp, ws, kcBlock);
    for (let k = 0; k < K; k++) {
      const b: f32 = bias != 0 ? load<f32>(bias + (<usize>k << 2)) : 0;
      const src = cBuf + (<usize>(k * NCp) << 2);
      const dst = output + (<usize>((n * K + k) * PQ + col0) << 2);
      for (let j = 0; j < ncols; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)) + b);
    }
  }
}
