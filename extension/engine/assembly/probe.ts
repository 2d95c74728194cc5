// Machine probe for the benchmarks: how fast one thread streams memory, the bound for kernels that
// read each operand byte once (Winograd on small images streams its transformed weights).

/**
 * Sums the floats of `bytes` (a multiple of 64) from ptr, `repeats` times, with v128 loads, and stores
 * the total at `out` (so that the reads cannot be optimised away and a test can check them).
 */
export function streamRead(ptr: usize, bytes: usize, repeats: i32, out: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  const end = ptr + bytes;
  for (let r = 0; r < repeats; r++) {
    for (let p = ptr; p < end; p += 64) {
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32));
      a3 = f32x4.add(a3, v128.load(p, 48));
    }
  }
  const s = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  store<f32>(out, f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
}
