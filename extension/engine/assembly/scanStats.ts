// Per-chunk value statistics of the sparsity scan over float32 values, in one SIMD pass: the zero
// mask (|w| <= threshold), the zero count, min, max, and the sums the scan's mean, std and mean |w|
// come from. It is the engine's counterpart of core/sparsity/accumulator.ts (ValueAccumulator.add)
// and returns the same quantities:
//   - zeros, min and max exactly (f32x4 min/max equal Math.min/max of the promoted values, -0 below
//     +0 included);
//   - sums in float64, as there: deviations d = x - x0 from the chunk's first value, sum d, sum d^2
//     and sum |x|, each over blocks of SCAN_BLOCK elements, block sums added with Neumaier
//     compensation. Inside a block the engine keeps four interleaved partial sums per quantity
//     (two f64x2 accumulators) where the JavaScript loop keeps one, so a block sum may differ from
//     the JavaScript one by the rounding of a 4096-term float64 sum: at most 4096 * 2^-53 of the
//     block's sum of magnitudes (the bound the tests check).
// A NaN or an infinity poisons the sums exactly as in JavaScript; the caller then redoes that chunk
// without the NaNs (rare, and off the fast path in both).

/** Elements per compensated block, as ValueAccumulator's BLOCK. */
export const SCAN_BLOCK: i32 = 4096;

/** Float64 slots written at `out` by scanValuesF32. */
export const SCAN_OUT_ZEROS: i32 = 0;
export const SCAN_OUT_MIN: i32 = 1;
export const SCAN_OUT_MAX: i32 = 2;
/** Compensated sum of d = x - x0 over the chunk. */
export const SCAN_OUT_SUM_D: i32 = 3;
/** Sum of d^2. */
export const SCAN_OUT_SUM_DD: i32 = 4;
/** Compensated sum of |x|. */
export const SCAN_OUT_SUM_ABS: i32 = 5;
export const SCAN_OUT_SLOTS: i32 = 6;

// @ts-ignore: decorator
@inline function laneSum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/**
 * Statistics of the n > 0 float32 values at ptr (16-byte aligned): writes mask[i] = 1 where
 * |x[i]| <= threshold and 0 elsewhere (NaN is never zero), and the SCAN_OUT_* slots at out.
 * `thresholdF32` is the largest float32 not above the float64 threshold, so that for every float32
 * x, |x| <= thresholdF32 exactly when |x| <= threshold.
 */
export function scanValuesF32(ptr: usize, n: i32, thresholdF32: f32, mask: usize, out: usize): void {
  const shift = <f64>load<f32>(ptr);
  const shiftV = f64x2.splat(shift);
  const tV = f32x4.splat(thresholdF32);
  const one = i8x16.splat(1);
  let mnV = f32x4.splat(Infinity);
  let mxV = f32x4.splat(-Infinity);
  let zeros: i32 = 0;
  let sd: f64 = 0, sdC: f64 = 0, sdd: f64 = 0, abs: f64 = 0, absC: f64 = 0;
  for (let start = 0; start < n; start += SCAN_BLOCK) {
    const end = start + SCAN_BLOCK < n ? start + SCAN_BLOCK : n;
    const vectorEnd = start + ((end - start) & ~15);
    let d1a = f64x2.splat(0), d1b = d1a, d2a = d1a, d2b = d1a, aa = d1a, ab = d1a;
    let zc = i16x8.splat(0);
    for (let i = start; i < vectorEnd; i += 16) {
      const p = ptr + (<usize>i << 2);
      const v0 = v128.load(p);
      const v1 = v128.load(p, 16);
      const v2 = v128.load(p, 32);
      const v3 = v128.load(p, 48);
      mnV = f32x4.min(mnV, f32x4.min(f32x4.min(v0, v1), f32x4.min(v2, v3)));
      mxV = f32x4.max(mxV, f32x4.max(f32x4.max(v0, v1), f32x4.max(v2, v3)));
      const h0 = i16x8.narrow_i32x4_s(f32x4.le(f32x4.abs(v0), tV), f32x4.le(f32x4.abs(v1), tV));
      const h1 = i16x8.narrow_i32x4_s(f32x4.le(f32x4.abs(v2), tV), f32x4.le(f32x4.abs(v3), tV));
      zc = i16x8.sub(i16x8.sub(zc, h0), h1);
      v128.store(mask + <usize>i, v128.and(i8x16.narrow_i16x8_s(h0, h1), one));
      // Each group of four values as two f64x2: lanes 0-1 and, shuffled down, lanes 2-3.
      let x = f64x2.promote_low_f32x4(v0);
      let d = f64x2.sub(x, shiftV);
      d1a = f64x2.add(d1a, d);
      d2a = f64x2.add(d2a, f64x2.mul(d, d));
      aa = f64x2.add(aa, f64x2.abs(x));
      x = f64x2.promote_low_f32x4(i32x4.shuffle(v0, v0, 2, 3, 0, 1));
      d = f64x2.sub(x, shiftV);
      d1b = f64x2.add(d1b, d);
      d2b = f64x2.add(d2b, f64x2.mul(d, d));
      ab = f64x2.add(ab, f64x2.abs(x));
      x = f64x2.promote_low_f32x4(v1);
      d = f64x2.sub(x, shiftV);
      d1a = f64x2.add(d1a, d);
      d2a = f64x2.add(d2a, f64x2.mul(d, d));
      aa = f64x2.add(aa, f64x2.abs(x));
      x = f64x2.promote_low_f32x4(i32x4.shuffle(v1, v1, 2, 3, 0, 1));
      d = f64x2.sub(x, shiftV);
      d1b = f64x2.add(d1b, d);
      d2b = f64x2.add(d2b, f64x2.mul(d, d));
      ab = f64x2.add(ab, f64x2.abs(x));
      x = f64x2.promote_low_f32x4(v2);
      d = f64x2.sub(x, shiftV);
      d1a = f64x2.add(d1a, d);
      d2a = f64x2.add(d2a, f64x2.mul(d, d));
      aa = f64x2.add(aa, f64x2.abs(x));
      x = f64x2.promote_low_f32x4(i32x4.shuffle(v2, v2, 2, 3, 0, 1));
      d = f64x2.sub(x, shiftV);
      d1b = f64x2.add(d1b, d);
      d2b = f64x2.add(d2b, f64x2.mul(d, d));
      ab = f64x2.add(ab, f64x2.abs(x));
      x = f64x2.promote_low_f32x4(v3);
      d = f64x2.sub(x, shiftV);
      d1a = f64x2.add(d1a, d);
      d2a = f64x2.add(d2a, f64x2.mul(d, d));
      aa = f64x2.add(aa, f64x2.abs(x));
      x = f64x2.promote_low_f32x4(i32x4.shuffle(v3, v3, 2, 3, 0, 1));
      d = f64x2.sub(x, shiftV);
      d1b = f64x2.add(d1b, d);
      d2b = f64x2.add(d2b, f64x2.mul(d, d));
      ab = f64x2.add(ab, f64x2.abs(x));
    }
    // A block of 4096 adds at most 2 per 16 values to each i16 lane: no overflow.
    const z32 = i32x4.extadd_pairwise_i16x8_s(zc);
    zeros += i32x4.extract_lane(z32, 0) + i32x4.extract_lane(z32, 1) + i32x4.extract_lane(z32, 2) + i32x4.extract_lane(z32, 3);
    let d1 = laneSum(d1a) + laneSum(d1b);
    let d2 = laneSum(d2a) + laneSum(d2b);
    let a = laneSum(aa) + laneSum(ab);
    // The ragged end of the last block, one value at a time.
    for (let i = vectorEnd; i < end; i++) {
      const xf = load<f32>(ptr + (<usize>i << 2));
      mnV = f32x4.min(mnV, f32x4.splat(xf));
      mxV = f32x4.max(mxV, f32x4.splat(xf));
      const x = <f64>xf;
      const d = x - shift;
      d1 += d;
      d2 += d * d;
      a += Math.abs(x);
      const z: i32 = Math.abs(xf) <= thresholdF32 ? 1 : 0;
      store<u8>(mask + <usize>i, <u8>z);
      zeros += z;
    }
    const ts = sd + d1;
    sdC += Math.abs(sd) >= Math.abs(d1) ? sd - ts + d1 : d1 - ts + sd;
    sd = ts;
    sdd += d2;
    const ta = abs + a;
    absC += abs >= a ? abs - ta + a : a - ta + abs;
    abs = ta;
  }
  let mn = f32x4.min(mnV, i32x4.shuffle(mnV, mnV, 2, 3, 0, 1));
  mn = f32x4.min(mn, i32x4.shuffle(mn, mn, 1, 0, 3, 2));
  let mx = f32x4.max(mxV, i32x4.shuffle(mxV, mxV, 2, 3, 0, 1));
  mx = f32x4.max(mx, i32x4.shuffle(mx, mx, 1, 0, 3, 2));
  store<f64>(out + (<usize>SCAN_OUT_ZEROS << 3), <f64>zeros);
  store<f64>(out + (<usize>SCAN_OUT_MIN << 3), <f64>f32x4.extract_lane(mn, 0));
  store<f64>(out + (<usize>SCAN_OUT_MAX << 3), <f64>f32x4.extract_lane(mx, 0));
  store<f64>(out + (<usize>SCAN_OUT_SUM_D << 3), sd + sdC);
  store<f64>(out + (<usize>SCAN_OUT_SUM_DD << 3), sdd);
  store<f64>(out + (<usize>SCAN_OUT_SUM_ABS << 3), abs + absC);
}

// Structured counts of a [K, C] matrix stored row by row (C innermost: [O, I] linear weights and
// 1x1 convolutions in OIHW/OHWI), from the zero mask scanValuesF32 wrote: the engine's counterpart
// of StructureTracker's KC path (core/sparsity/structure.ts), with the same results. Its running
// state lives at `state` (SCAN_KC_* slots) so that a tensor's chunks can end anywhere in a row.

/** i32 slots at `state`: column inside the current row, current row, zeros of the open 2:4 group. */
export const SCAN_KC_COLUMN: i32 = 0;
export const SCAN_KC_ROW: i32 = 1;
export const SCAN_KC_GROUP_ZEROS: i32 = 2;
/** f64 slots after them (byte offset 16): compliant 2:4 groups, groups, all-zero blocks. */
export const SCAN_KC_COMPLIANT: i32 = 2;
export const SCAN_KC_GROUPS: i32 = 3;
export const SCAN_KC_ZERO_BLOCKS: i32 = 4;
export const SCAN_KC_STATE_BYTES: i32 = 48;

/**
 * Consumes mask[0..n) (1 = zero) of a K x C matrix. `cols` (C bytes) and `rows` (K bytes) collect
 * nonzero flags, `blocks` (ceil(C / bw) bytes) the nonzero flags of the current row of bh x bw
 * blocks, closed (counted and cleared) after every bh-th row and the last.
 */
export function scanStructureKC(mask: usize, n: i32, state: usize, cols: usize, rows: usize, blocks: usize, K: i32, C: i32, bh: i32, bw: i32): void {
  let c = load<i32>(state, SCAN_KC_COLUMN << 2);
  let k = load<i32>(state, SCAN_KC_ROW << 2);
  let groupZeros = load<i32>(state, SCAN_KC_GROUP_ZEROS << 2);
  let compliant = load<f64>(state, 16 + (SCAN_KC_COMPLIANT - 2) * 8);
  let groups = load<f64>(state, 16 + (SCAN_KC_GROUPS - 2) * 8);
  let zeroBlocks = load<f64>(state, 16 + (SCAN_KC_ZERO_BLOCKS - 2) * 8);
  const blockColumns = (C + bw - 1) / bw;
  const wholeRows = (C & 15) == 0 && bw == 4;
  const one = i8x16.splat(1);
  const two = i32x4.splat(2);
  const four = i32x4.splat(4);
  let i = 0;
  while (i < n) {
    if (c == 0 && wholeRows && n - i >= C) {
      // A whole row: 16 columns (four 2:4 groups, four 4-wide blocks) per step.
      let any = i8x16.splat(0);
      let compliantV = i32x4.splat(0);
      for (let j = 0; j < C; j += 16) {
        const z = v128.load(mask + <usize>(i + j));
        const nonzero = v128.xor(z, one);
        const colPtr = cols + <usize>j;
        v128.store(colPtr, v128.or(v128.load(colPtr), nonzero));
        any = v128.or(any, nonzero);
        const sums = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(z));
        compliantV = i32x4.sub(compliantV, i32x4.ge_u(sums, two));
        const partial = i32x4.lt_u(sums, four);
        const flags = v128.and(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(partial, partial), i16x8.splat(0)), one);
        const blockPtr = blocks + <usize>(j >> 2);
        store<u32>(blockPtr, load<u32>(blockPtr) | i32x4.extract_lane(flags, 0));
      }
      compliant += <f64>(i32x4.extract_lane(compliantV, 0) + i32x4.extract_lane(compliantV, 1) + i32x4.extract_lane(compliantV, 2) + i32x4.extract_lane(compliantV, 3));
      groups += <f64>(C >> 2);
      if (v128.any_true(any)) store<u8>(rows + <usize>k, 1);
      i += C;
      c = C;
    } else {
      // Part of a row, one column at a time, as StructureTracker.segmentKC.
      const end = i + (C - c < n - i ? C - c : n - i);
      let zeros = 0;
      const length = end - i;
      for (; i < end; i++, c++) {
        const z = <i32>load<u8>(mask + <usize>i);
        zeros += z;
        const colPtr = cols + <usize>c;
        store<u8>(colPtr, load<u8>(colPtr) | <u8>(1 - z));
        const blockPtr = blocks + <usize>(c / bw);
        store<u8>(blockPtr, load<u8>(blockPtr) | <u8>(1 - z));
        groupZeros += z;
        if ((c & 3) == 3 || c == C - 1) {
          // A short last group is padded with zeros, as ASP's reshape_1d does.
          if (groupZeros + 3 - (c & 3) >= 2) compliant += 1;
          groups += 1;
          groupZeros = 0;
        }
      }
      if (zeros < length) store<u8>(rows + <usize>k, 1);
    }
    if (c == C) {
      c = 0;
      if ((k + 1) % bh == 0 || k == K - 1) {
        let zero = 0;
        for (let b = 0; b < blockColumns; b++) {
          zero += load<u8>(blocks + <usize>b) == 0 ? 1 : 0;
        }
        memory.fill(blocks, 0, <usize>blockColumns);
        zeroBlocks += <f64>zero;
      }
      k++;
    }
  }
  store<i32>(state, c, SCAN_KC_COLUMN << 2);
  store<i32>(state, k, SCAN_KC_ROW << 2);
  store<i32>(state, groupZeros, SCAN_KC_GROUP_ZEROS << 2);
  store<f64>(state, compliant, 16 + (SCAN_KC_COMPLIANT - 2) * 8);
  store<f64>(state, groups, 16 + (SCAN_KC_GROUPS - 2) * 8);
  store<f64>(state, zeroBlocks, 16 + (SCAN_KC_ZERO_BLOCKS - 2) * 8);
}

/** Bit of a prefix table entry (scanHistogramF32) set where values of the prefix lie above its category's upper edge. */
export const SCAN_HIST_STRADDLES: i32 = 0x8000;

// @ts-ignore: decorator
@inline function histogramCategory(key: u32, zero: u32, table: usize, upper: usize, zeroSlot: i32, nanSlot: i32): i32 {
  const entry = <i32>load<u16>(table + (<usize>(key >>> 16) << 1));
  let category = entry & (SCAN_HIST_STRADDLES - 1);
  // Rare (about one prefix in forty straddles an edge), so a well-predicted branch.
  if (entry & SCAN_HIST_STRADDLES) category += <f64>reinterpret<f32>(key) > load<f64>(upper + (<usize>category << 3)) ? 1 : 0;
  category = key > 0x7f800000 ? nanSlot : category;
  return zero != 0 ? zeroSlot : category;
}

// @ts-ignore: decorator
@inline function bump(counts: usize, category: i32): void {
  const slot = counts + (<usize>category << 2);
  store<u32>(slot, load<u32>(slot) + 1);
}

/**
 * Histogram categories of the n float32 values at ptr, as MagnitudeHistogram.add computes them
 * (core/sparsity/accumulator.ts): `table` maps the top 15 bits of |x| to a category (u16), with
 * SCAN_HIST_STRADDLES set where the prefix's values reach past the category's upper edge (`upper`,
 * f64): only those values are compared with it, and one step up settles them. NaN goes to slot
 * bins + 3 and values the mask marks zero to slot bins + 2. Four values per step: |x| for four lanes
 * at once, each lane counted in its own sub-histogram (bins + 4 u32 slots each, the four one after
 * another at `counts`), so that a run of one category (zeros above all) does not wait on one
 * counter's last increment; the caller adds the four up.
 */
export function scanHistogramF32(ptr: usize, n: i32, mask: usize, table: usize, upper: usize, counts: usize, bins: i32): void {
  const zeroSlot = bins + 2;
  const nanSlot = bins + 3;
  const stride = <usize>(bins + 4) << 2;
  const counts1 = counts + stride;
  const counts2 = counts1 + stride;
  const counts3 = counts2 + stride;
  const magnitude = i32x4.splat(0x7fffffff);
  const vectorEnd = n & ~3;
  for (let i = 0; i < vectorEnd; i += 4) {
    const keys = v128.and(v128.load(ptr + (<usize>i << 2)), magnitude);
    const zeros = load<u32>(mask + <usize>i);
    bump(counts, histogramCategory(<u32>i32x4.extract_lane(keys, 0), zeros & 0xff, table, upper, zeroSlot, nanSlot));
    bump(counts1, histogramCategory(<u32>i32x4.extract_lane(keys, 1), zeros & 0xff00, table, upper, zeroSlot, nanSlot));
    bump(counts2, histogramCategory(<u32>i32x4.extract_lane(keys, 2), zeros & 0xff0000, table, upper, zeroSlot, nanSlot));
    bump(counts3, histogramCategory(<u32>i32x4.extract_lane(keys, 3), zeros & 0xff000000, table, upper, zeroSlot, nanSlot));
  }
  for (let i = vectorEnd; i < n; i++) {
    const key = load<u32>(ptr + (<usize>i << 2)) & 0x7fffffff;
    bump(counts, histogramCategory(key, <u32>load<u8>(mask + <usize>i), table, upper, zeroSlot, nanSlot));
  }
}
