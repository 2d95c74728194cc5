// Shared SIMD helpers. One source compiles to both engine variants: the relaxed-SIMD build
// (ASC_FEATURE_RELAXED_SIMD true) fuses multiply-add into f32x4.relaxed_madd, the plain SIMD128
// build uses f32x4.mul + f32x4.add. The branch is a compile-time constant, so it costs nothing.

/** a * b + c, four lanes. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

/** Zero n floats starting at ptr (ptr need not be aligned). */
export function zeroFloats(ptr: usize, n: i32): void {
  memory.fill(ptr, 0, <usize>n << 2);
}
