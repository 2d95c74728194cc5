// Packed SGEMM: C[rows x cols] (init) += A[rows x depth] * B[depth x cols].
//
// Packed formats (host and kernels agree on them; MR/NR are exported to the host):
//   A: panels of MR rows,  [ceil(rows/MR)][depth][MR]  (rows past the end are zero)
//   B: panels of NR cols,  [ceil(cols/NR)][depth][NR]  (cols past the end are zero)
// Operands packed once (weights) are stored depth-block-major instead: [depth block][panel][kc][MR],
// see gemmPacked.
//
// The register block is MR x NR = 4 x 8 floats: 8 f32x4 accumulators, 2 B vectors and 1 broadcast
// A value stay within x64's 16 vector registers.
import { storeTransposed } from './layout';
import { madd } from './simd';

export const MR: i32 = 4;
export const NR: i32 = 8;
/**
 * Bytes added between consecutive per-element GEMM operand buffers (Winograd's V[e] and M[e], FFT's
 * bins), so that their strides are never 4 KiB multiples: otherwise a transform's alpha^2 strided
 * stores or loads of one tile group all map to one L1 set and evict each other.
 */
export const PANEL_BUFFER_SKEW: usize = 64;

/** How a micro tile's accumulators start. */
export const INIT_ZERO: i32 = 0;
/** Accumulate onto the values already in C (depth blocks after the first). */
export const INIT_LOAD: i32 = 1;
/** Start from bias[row] (bias points at the tile's first row). */
export const INIT_ROW_BIAS: i32 = 2;
/** Start from bias[col] (bias points at the tile's first column). */
export const INIT_COL_BIAS: i32 = 3;

/** Full MR x NR tile. a, b: packed panels already offset to the depth block; ldc in floats. */
// @ts-ignore: decorator
@inline function micro4x8(kc: i32, a: usize, b: usize, c: usize, ldc: i32, init: i32, bias: usize): void {
  const ldcBytes = <usize>ldc << 2;
  const c0 = c;
  const c1 = c0 + ldcBytes;
  const c2 = c1 + ldcBytes;
  const c3 = c2 + ldcBytes;
  let x00: v128, x01: v128, x10: v128, x11: v128, x20: v128, x21: v128, x30: v128, x31: v128;
  if (init == INIT_LOAD) {
    x00 = v128.load(c0); x01 = v128.load(c0, 16);
    x10 = v128.load(c1); x11 = v128.load(c1, 16);
    x20 = v128.load(c2); x21 = v128.load(c2, 16);
    x30 = v128.load(c3); x31 = v128.load(c3, 16);
  } else if (init == INIT_ROW_BIAS) {
    x00 = v128.load32_splat(bias); x01 = x00;
    x10 = v128.load32_splat(bias, 4); x11 = x10;
    x20 = v128.load32_splat(bias, 8); x21 = x20;
    x30 = v128.load32_splat(bias, 12); x31 = x30;
  } else if (init == INIT_COL_BIAS) {
    x00 = v128.load(bias); x01 = v128.load(bias, 16);
    x10 = x00; x11 = x01; x20 = x00; x21 = x01; x30 = x00; x31 = x01;
  } else {
    x00 = f32x4.splat(0); x01 = x00; x10 = x00; x11 = x00;
    x20 = x00; x21 = x00; x30 = x00; x31 = x00;
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let s = v128.load32_splat(a);
    x00 = madd(s, b0, x00); x01 = madd(s, b1, x01);
    s = v128.load32_splat(a, 4);
    x10 = madd(s, b0, x10); x11 = madd(s, b1, x11);
    s = v128.load32_splat(a, 8);
    x20 = madd(s, b0, x20); x21 = madd(s, b1, x21);
    s = v128.load32_splat(a, 12);
    x30 = madd(s, b0, x30); x31 = madd(s, b1, x31);
    a += 16;
    b += 32;
  }
  v128.store(c0, x00); v128.store(c0, x01, 16);
  v128.store(c1, x10); v128.store(c1, x11, 16);
  v128.store(c2, x20); v128.store(c2, x21, 16);
  v128.store(c3, x30); v128.store(c3, x31, 16);
}

/**
 * Narrow tile for blocks of at most 4 columns (Winograd on small images has 4 tiles per GEMM): 8 rows x
 * 4 columns, the roles of 4x8 swapped. Two A panels (rows i..i+3 and i+4..i+7) give the vectors and the
 * B panel's first 4 columns the broadcasts, so no half-empty B vector is multiplied. Accumulators hold
 * columns of C (4 rows each); they are transposed in registers on the way in and out of row-major C.
 */
// @ts-ignore: decorator
@inline function micro8x4(
  kc: i32, a0: usize, a1: usize, b: usize, c: usize, ldc: i32, init: i32, bias: usize,
): void {
  const ldcBytes = <usize>ldc << 2;
  let x0: v128, x1: v128, x2: v128, x3: v128, y0: v128, y1: v128, y2: v128, y3: v128;
  if (init == INIT_LOAD) {
    x0 = v128.load(c); x1 = v128.load(c + ldcBytes);
    x2 = v128.load(c + 2 * ldcBytes); x3 = v128.load(c + 3 * ldcBytes);
    y0 = v128.load(c + 4 * ldcBytes); y1 = v128.load(c + 5 * ldcBytes);
    y2 = v128.load(c + 6 * ldcBytes); y3 = v128.load(c + 7 * ldcBytes);
    // Rows of C -> columns (lane = row).
    let t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
    let t2 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
    x0 = v128.shuffle<f32>(t0, t2, 0, 1, 4, 5); x1 = v128.shuffle<f32>(t0, t2, 2, 3, 6, 7);
    x2 = v128.shuffle<f32>(t1, t3, 0, 1, 4, 5); x3 = v128.shuffle<f32>(t1, t3, 2, 3, 6, 7);
    t0 = v128.shuffle<f32>(y0, y1, 0, 4, 1, 5); t1 = v128.shuffle<f32>(y0, y1, 2, 6, 3, 7);
    t2 = v128.shuffle<f32>(y2, y3, 0, 4, 1, 5); t3 = v128.shuffle<f32>(y2, y3, 2, 6, 3, 7);
    y0 = v128.shuffle<f32>(t0, t2, 0, 1, 4, 5); y1 = v128.shuffle<f32>(t0, t2, 2, 3, 6, 7);
    y2 = v128.shuffle<f32>(t1, t3, 0, 1, 4, 5); y3 = v128.shuffle<f32>(t1, t3, 2, 3, 6, 7);
  } else if (init == INIT_ROW_BIAS) {
    x0 = v128.load(bias); x1 = x0; x2 = x0; x3 = x0;
    y0 = v128.load(bias, 16); y1 = y0; y2 = y0; y3 = y0;
  } else if (init == INIT_COL_BIAS) {
    x0 = v128.load32_splat(bias); x1 = v128.load32_splat(bias, 4);
    x2 = v128.load32_splat(bias, 8); x3 = v128.load32_splat(bias, 12);
    y0 = x0; y1 = x1; y2 = x2; y3 = x3;
  } else {
    x0 = f32x4.splat(0); x1 = x0; x2 = x0; x3 = x0;
    y0 = x0; y1 = x0; y2 = x0; y3 = x0;
  }
  for (let k = 0; k < kc; k++) {
    const va = v128.load(a0);
    const vb = v128.load(a1);
    let s = v128.load32_splat(b);
    x0 = madd(va, s, x0); y0 = madd(vb, s, y0);
    s = v128.load32_splat(b, 4);
    x1 = madd(va, s, x1); y1 = madd(vb, s, y1);
    s = v128.load32_splat(b, 8);
    x2 = madd(va, s, x2); y2 = madd(vb, s, y2);
    s = v128.load32_splat(b, 12);
    x3 = madd(va, s, x3); y3 = madd(vb, s, y3);
    a0 += 16;
    a1 += 16;
    b += 32;
  }
  // Columns -> rows of C.
  storeTransposed(x0, x1, x2, x3, c, ldcBytes);
  storeTransposed(y0, y1, y2, y3, c + 4 * ldcBytes, ldcBytes);
}

/** Column j of a row-major 4-row block of C as one vector (lane = row). */
// @ts-ignore: decorator
@inline function loadColumn(c: usize, ldcBytes: usize, j: i32): v128 {
  const p = c + (<usize>j << 2);
  return f32x4(load<f32>(p), load<f32>(p + ldcBytes), load<f32>(p + 2 * ldcBytes), load<f32>(p + 3 * ldcBytes));
}

/** Stores a vector (lane = row) as column j of a row-major 4-row block of C. */
// @ts-ignore: decorator
@inline function storeColumn(v: v128, c: usize, ldcBytes: usize, j: i32): void {
  const p = c + (<usize>j << 2);
  v128.store32_lane(p, v, 0);
  v128.store32_lane(p + ldcBytes, v, 1);
  v128.store32_lane(p + 2 * ldcBytes, v, 2);
  v128.store32_lane(p + 3 * ldcBytes, v, 3);
}

/**
 * Narrow tile of 8 rows x `cols` (1-3) columns, the 8x4 tile with only the broadcasts and
 * accumulators of those columns: a GEMM of 9 columns (F(5,3) on a 14x14 image) costs 9 columns of
 * products, not 12. The multiply-add latency needs about 8 independent chains to keep both FMA pipes
 * busy (3 columns have 6); with 1 or 2 columns, consecutive k go to separate sets of accumulators
 * (the 8x1 tile ran at a quarter of the micro-kernel's speed with one set). b points at the first
 * of the columns inside a B panel; nothing past them in C or the bias is read or written.
 */
function micro8xFew(
  kc: i32, a0: usize, a1: usize, b: usize, c: usize, ldc: i32, cols: i32, init: i32, bias: usize,
): void {
  const ldcBytes = <usize>ldc << 2;
  const c1 = c + 4 * ldcBytes;
  let x0 = f32x4.splat(0), x1 = x0, x2 = x0, y0 = x0, y1 = x0, y2 = x0;
  if (init == INIT_LOAD) {
    x0 = loadColumn(c, ldcBytes, 0); y0 = loadColumn(c1, ldcBytes, 0);
    if (cols > 1) { x1 = loadColumn(c, ldcBytes, 1); y1 = loadColumn(c1, ldcBytes, 1); }
    if (cols > 2) { x2 = loadColumn(c, ldcBytes, 2); y2 = loadColumn(c1, ldcBytes, 2); }
  } else if (init == INIT_ROW_BIAS) {
    x0 = v128.load(bias); x1 = x0; x2 = x0;
    y0 = v128.load(bias, 16); y1 = y0; y2 = y0;
  } else if (init == INIT_COL_BIAS) {
    x0 = v128.load32_splat(bias); y0 = x0;
    if (cols > 1) { x1 = v128.load32_splat(bias, 4); y1 = x1; }
    if (cols > 2) { x2 = v128.load32_splat(bias, 8); y2 = x2; }
  }
  if (cols == 3) {
    for (let k = 0; k < kc; k++) {
      const va = v128.load(a0), vb = v128.load(a1);
      let s = v128.load32_splat(b);
      x0 = madd(va, s, x0); y0 = madd(vb, s, y0);
      s = v128.load32_splat(b, 4);
      x1 = madd(va, s, x1); y1 = madd(vb, s, y1);
      s = v128.load32_splat(b, 8);
      x2 = madd(va, s, x2); y2 = madd(vb, s, y2);
      a0 += 16; a1 += 16; b += 32;
    }
  } else if (cols == 2) {
    // Four accumulators would wait on the multiply-add latency: even and odd k go to two sets (8
    // chains), added at the end.
    let u0 = f32x4.splat(0), u1 = u0, v0 = u0, v1 = u0;
    let k = 0;
    for (; k + 2 <= kc; k += 2) {
      const va = v128.load(a0), vb = v128.load(a1), wa = v128.load(a0, 16), wb = v128.load(a1, 16);
      let s = v128.load32_splat(b);
      x0 = madd(va, s, x0); y0 = madd(vb, s, y0);
      s = v128.load32_splat(b, 4);
      x1 = madd(va, s, x1); y1 = madd(vb, s, y1);
      s = v128.load32_splat(b, 32);
      u0 = madd(wa, s, u0); v0 = madd(wb, s, v0);
      s = v128.load32_splat(b, 36);
      u1 = madd(wa, s, u1); v1 = madd(wb, s, v1);
      a0 += 32; a1 += 32; b += 64;
    }
    if (k < kc) {
      const va = v128.load(a0), vb = v128.load(a1);
      let s = v128.load32_splat(b);
      x0 = madd(va, s, x0); y0 = madd(vb, s, y0);
      s = v128.load32_splat(b, 4);
      x1 = madd(va, s, x1); y1 = madd(vb, s, y1);
    }
    x0 = f32x4.add(x0, u0); y0 = f32x4.add(y0, v0);
    x1 = f32x4.add(x1, u1); y1 = f32x4.add(y1, v1);
  } else {
    // One column: k mod 4 goes to four sets of two accumulators (8 chains), added at the end.
    let u0 = f32x4.splat(0), v0 = u0, u1 = u0, v1 = u0, u2 = u0, v2 = u0;
    let k = 0;
    for (; k + 4 <= kc; k += 4) {
      let s = v128.load32_splat(b);
      x0 = madd(v128.load(a0), s, x0); y0 = madd(v128.load(a1), s, y0);
      s = v128.load32_splat(b, 32);
      u0 = madd(v128.load(a0, 16), s, u0); v0 = madd(v128.load(a1, 16), s, v0);
      s = v128.load32_splat(b, 64);
      u1 = madd(v128.load(a0, 32), s, u1); v1 = madd(v128.load(a1, 32), s, v1);
      s = v128.load32_splat(b, 96);
      u2 = madd(v128.load(a0, 48), s, u2); v2 = madd(v128.load(a1, 48), s, v2);
      a0 += 64; a1 += 64; b += 128;
    }
    for (; k < kc; k++) {
      const s = v128.load32_splat(b);
      x0 = madd(v128.load(a0), s, x0); y0 = madd(v128.load(a1), s, y0);
      a0 += 16; a1 += 16; b += 32;
    }
    x0 = f32x4.add(f32x4.add(x0, u0), f32x4.add(u1, u2));
    y0 = f32x4.add(f32x4.add(y0, v0), f32x4.add(v1, v2));
  }
  storeColumn(x0, c, ldcBytes, 0); storeColumn(y0, c1, ldcBytes, 0);
  if (cols > 1) { storeColumn(x1, c, ldcBytes, 1); storeColumn(y1, c1, ldcBytes, 1); }
  if (cols > 2) { storeColumn(x2, c, ldcBytes, 2); storeColumn(y2, c1, ldcBytes, 2); }
}

/** Exported so the GEMM benchmark can time the micro-kernel alone. */
export function gemmMicroKernel(kc: i32, a: usize, b: usize, c: usize, ldc: i32, init: i32, bias: usize): void {
  micro4x8(kc, a, b, c, ldc, init, bias);
}

/** Repeats the micro-kernel `repeats` times on the same panels: a pure compute-bound measurement. */
export function gemmMicroKernelRepeat(repeats: i32, kc: i32, a: usize, b: usize, c: usize): void {
  for (let i = 0; i < repeats; i++) micro4x8(kc, a, b, c, NR, INIT_LOAD, 0);
}

/**
 * A partial tile (rows < MR or cols < NR): computes a full tile into `tmp` (MR*NR floats, private to
 * the caller) and copies back only the valid part, so nothing outside C is read or written.
 */
function microEdge(
  kc: i32, a: usize, b: usize, c: usize, ldc: i32, rows: i32, cols: i32, init: i32, bias: usize, tmp: usize,
): void {
  for (let i = 0; i < MR; i++) {
    for (let j = 0; j < NR; j++) {
      let v: f32 = 0;
      if (i < rows && j < cols) {
        if (init == INIT_LOAD) v = load<f32>(c + ((<usize>(i * ldc + j)) << 2));
        else if (init == INIT_ROW_BIAS) v = load<f32>(bias + (<usize>i << 2));
        else if (init == INIT_COL_BIAS) v = load<f32>(bias + (<usize>j << 2));
      }
      store<f32>(tmp + (<usize>(i * NR + j) << 2), v);
    }
  }
  micro4x8(kc, a, b, tmp, NR, INIT_LOAD, 0);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      store<f32>(c + ((<usize>(i * ldc + j)) << 2), load<f32>(tmp + (<usize>(i * NR + j) << 2)));
    }
  }
}

/**
 * The last 1-7 columns (rest) of 8 rows: an 8x4 tile and/or an 8x(1-3) one. a0: the first of two
 * consecutive A panels; b: the rest's B panel; c and bias at the rest's first column (row bias at the
 * 8 rows' first).
 */
// @ts-ignore: decorator
@inline function narrowRest(
  kc: i32, a0: usize, aPanelStride: usize, b: usize, c: usize, ldc: i32, rest: i32, init: i32, bias: usize,
): void {
  const a1 = a0 + aPanelStride;
  if (rest >= 4) micro8x4(kc, a0, a1, b, c, ldc, init, bias);
  const few = rest & 3;
  if (few != 0) {
    const skip = <usize>(rest - few) << 2;
    micro8xFew(kc, a0, a1, b + skip, c + skip, ldc, few, init, init == INIT_COL_BIAS ? bias + skip : bias);
  }
}

/**
 * C block of `rows` x `cols` (C row-major with leading dimension ldc floats) from a depth block of kc:
 * a = first A panel (offset to the depth block), aPanelStride = bytes between A panels; the same for b.
 * bias points at the block's first row (INIT_ROW_BIAS) or first column (INIT_COL_BIAS).
 * Loop order: the smaller operand's block is re-read from L2 for every panel of the larger one, which
 * streams through L1 once: with B smaller (cols < rows), each A panel (kc x MR) stays in L1 while all
 * B panels pass; otherwise each B panel (kc x NR) stays while all A panels pass.
 */
export function gemmBlock(
  a: usize, aPanelStride: usize, b: usize, bPanelStride: usize, kc: i32,
  c: usize, ldc: i32, rows: i32, cols: i32, init: i32, bias: usize, tmp: usize,
): void {
  const ldcBytes = <usize>ldc << 2;
  // A last panel of 1 to 7 columns goes through 8-row narrow tiles of 4 and 1-3 columns instead of a
  // mostly empty 4x8 one (4 tiles of a Winograd GEMM on a 7x7 image, 9 on 14x14; 49 pixels of im2col
  // leave 1): only the columns that exist are multiplied. Rows [0, pairRows) take them, in pairs of
  // A panels; the rows past the last pair go through the edge tile.
  const rest = cols & (NR - 1);
  const full = cols - rest;
  const pairRows = rest != 0 ? rows & ~(2 * MR - 1) : 0;
  const bRest = b + <usize>(full / NR) * bPanelStride;
  const restBias = init == INIT_COL_BIAS ? bias + (<usize>full << 2) : bias;
  if (cols < rows) {
    // Each A panel stays in L1 while all B panels pass, and each pair of A panels while the rest's
    // narrow tiles pass, so A is streamed once.
    for (let i = 0; i < rows; i += MR) {
      const mc = min(MR, rows - i);
      const aPanel = a + <usize>(i / MR) * aPanelStride;
      const rowBias = init == INIT_ROW_BIAS ? bias + (<usize>i << 2) : bias;
      const end = i < pairRows ? full : cols;
      for (let j = 0; j < end; j += NR) {
        const nc = min(NR, cols - j);
        const bPanel = b + <usize>(j / NR) * bPanelStride;
        const cTile = c + <usize>i * ldcBytes + (<usize>j << 2);
        const tileBias = init == INIT_COL_BIAS ? bias + (<usize>j << 2) : rowBias;
        if (mc == MR && nc == NR) {
          micro4x8(kc, aPanel, bPanel, cTile, ldc, init, tileBias);
        } else {
          microEdge(kc, aPanel, bPanel, cTile, ldc, mc, nc, init, tileBias, tmp);
        }
      }
      if (i < pairRows && (i & MR) != 0) {
        const i0 = i - MR;
        narrowRest(
          kc, aPanel - aPanelStride, aPanelStride, bRest, c + <usize>i0 * ldcBytes + (<usize>full << 2), ldc, rest, init,
          init == INIT_ROW_BIAS ? bias + (<usize>i0 << 2) : restBias,
        );
      }
    }
    return;
  }
  for (let i = 0; i < pairRows; i += 2 * MR) {
    narrowRest(
      kc, a + <usize>(i / MR) * aPanelStride, aPanelStride, bRest, c + <usize>i * ldcBytes + (<usize>full << 2), ldc, rest, init,
      init == INIT_ROW_BIAS ? bias + (<usize>i << 2) : restBias,
    );
  }
  for (let j = 0; j < cols; j += NR) {
    const nc = min(NR, cols - j);
    const bPanel = b + <usize>(j / NR) * bPanelStride;
    const colBias = init == INIT_COL_BIAS ? bias + (<usize>j << 2) : bias;
    for (let i = j == full ? pairRows : 0; i < rows; i += MR) {
      const mc = min(MR, rows - i);
      const aPanel = a + <usize>(i / MR) * aPanelStride;
      const cTile = c + <usize>i * ldcBytes + (<usize>j << 2);
      const tileBias = init == INIT_ROW_BIAS ? bias + (<usize>i << 2) : colBias;
      if (mc == MR && nc == NR) {
        micro4x8(kc, aPanel, bPanel, cTile, ldc, init, tileBias);
      } else {
        microEdge(kc, aPanel, bPanel, cTile, ldc, mc, nc, init, tileBias, tmp);
      }
    }
  }
}

/**
 * Whole packed GEMM with depth blocking: C = init + A * B. The first depth block starts from `init`,
 * the others accumulate.
 *
 * A is either panel-major ([panel][depth][MR], aRowsPad = 0) or depth-block-major
 * ([depth block][panel][kc][MR], aRowsPad = rows rounded up to MR): the latter keeps each depth
 * block's panels contiguous, which matters when A is large (panel strides that are multiples of
 * 4 KiB alias in L2 and thrash). B likewise with bColsPad.
 */
export function gemmPacked(
  a: usize, aRowsPad: i32, b: usize, bColsPad: i32, depth: i32,
  c: usize, ldc: i32, rows: i32, cols: i32, init: i32, bias: usize, tmp: usize, kcBlock: i32,
): void {
  for (let k0 = 0; k0 < depth; k0 += kcBlock) {
    const kc = min(kcBlock, depth - k0);
    const aBlock = aRowsPad > 0 ? a + (<usize>k0 * aRowsPad << 2) : a + (<usize>k0 * MR << 2);
    const aPanelStride: usize = aRowsPad > 0 ? <usize>kc * MR * 4 : <usize>depth * MR * 4;
    const bBlock = bColsPad > 0 ? b + (<usize>k0 * bColsPad << 2) : b + (<usize>k0 * NR << 2);
    const bPanelStride: usize = bColsPad > 0 ? <usize>kc * NR * 4 : <usize>depth * NR * 4;
    gemmBlock(aBlock, aPanelStride, bBlock, bPanelStride, kc, c, ldc, rows, cols, k0 == 0 ? init : INIT_LOAD, bias, tmp);
  }
}
