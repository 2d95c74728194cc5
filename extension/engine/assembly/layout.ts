// Layout conversions, separate entry points so they can be timed apart from the kernels.
// Blocked layouts nchw{B}c: [N][ceil(C/B)][H][W][B], channels past C are zero.

/** NCHW -> NHWC over images [n0, n1). */
export function nchwToNhwc(src: usize, dst: usize, C: i32, HW: i32, n0: i32, n1: i32): void {
  for (let n = n0; n < n1; n++) {
    const s = src + (<usize>n * C * HW << 2);
    const d = dst + (<usize>n * C * HW << 2);
    for (let c = 0; c < C; c++) {
      const sc = s + (<usize>c * HW << 2);
      for (let i = 0; i < HW; i++) store<f32>(d + (<usize>(i * C + c) << 2), load<f32>(sc + (<usize>i << 2)));
    }
  }
}

/** NHWC -> NCHW over images [n0, n1). */
export function nhwcToNchw(src: usize, dst: usize, C: i32, HW: i32, n0: i32, n1: i32): void {
  for (let n = n0; n < n1; n++) {
    const s = src + (<usize>n * C * HW << 2);
    const d = dst + (<usize>n * C * HW << 2);
    for (let i = 0; i < HW; i++) {
      const si = s + (<usize>i * C << 2);
      for (let c = 0; c < C; c++) store<f32>(d + (<usize>(c * HW + i) << 2), load<f32>(si + (<usize>c << 2)));
    }
  }
}

// Four channels x four pixels at a time: four v128 loads, a 4x4 transpose, four v128 stores. The
// blocked layouts keep a quad of channels contiguous at every pixel, so a quad's four rows of NCHW
// become four pixel vectors. Quads that run past C and pixels past the last multiple of 4 go one
// value at a time.

/** Stores the 4x4 transpose of rows x0..x3 (lanes = pixels) as four vectors `stride` bytes apart. */
// @ts-ignore: decorator
@inline export function storeTransposed(x0: v128, x1: v128, x2: v128, x3: v128, d: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(d + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(d + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(d + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

/** NCHW -> NCHW{B}c over images [n0, n1). */
export function nchwToBlocked(src: usize, dst: usize, C: i32, HW: i32, B: i32, n0: i32, n1: i32): void {
  const CB = (C + B - 1) / B;
  const pixelBytes = <usize>B << 2;
  const HW4 = HW & ~3;
  for (let n = n0; n < n1; n++) {
    const s = src + (<usize>n * C * HW << 2);
    const d = dst + (<usize>n * CB * B * HW << 2);
    for (let cb = 0; cb < CB; cb++) {
      const db = d + (<usize>cb * HW * B << 2);
      for (let ci = 0; ci < B; ci += 4) {
        const c = cb * B + ci;
        const dq = db + (<usize>ci << 2);
        if (c + 4 <= C) {
          const s0 = s + (<usize>c * HW << 2), rowBytes = <usize>HW << 2;
          for (let i = 0; i < HW4; i += 4) {
            const at = <usize>i << 2;
            storeTransposed(
              v128.load(s0 + at), v128.load(s0 + rowBytes + at), v128.load(s0 + 2 * rowBytes + at), v128.load(s0 + 3 * rowBytes + at),
              dq + <usize>i * pixelBytes, pixelBytes,
            );
          }
          for (let i = HW4; i < HW; i++) {
            for (let l = 0; l < 4; l++) store<f32>(dq + <usize>i * pixelBytes + (<usize>l << 2), load<f32>(s0 + (<usize>(l * HW + i) << 2)));
          }
        } else {
          for (let l = 0; l < 4; l++) {
            const sc = s + (<usize>(c + l) * HW << 2);
            for (let i = 0; i < HW; i++) store<f32>(dq + <usize>i * pixelBytes + (<usize>l << 2), c + l < C ? load<f32>(sc + (<usize>i << 2)) : 0);
          }
        }
      }
    }
  }
}

/** NCHW{B}c -> NCHW over images [n0, n1) (padding channels dropped). */
export function blockedToNchw(src: usize, dst: usize, C: i32, HW: i32, B: i32, n0: i32, n1: i32): void {
  const CB = (C + B - 1) / B;
  const pixelBytes = <usize>B << 2;
  const HW4 = HW & ~3;
  for (let n = n0; n < n1; n++) {
    const s = src + (<usize>n * CB * B * HW << 2);
    const d = dst + (<usize>n * C * HW << 2);
    for (let c = 0; c < C; c += 4) {
      const sq = s + (<usize>((c / B) * HW * B + (c % B)) << 2);
      const d0 = d + (<usize>c * HW << 2), rowBytes = <usize>HW << 2;
      if (c + 4 <= C) {
        for (let i = 0; i < HW4; i += 4) {
          const at = sq + <usize>i * pixelBytes;
          storeTransposed(v128.load(at), v128.load(at + pixelBytes), v128.load(at + 2 * pixelBytes), v128.load(at + 3 * pixelBytes), d0 + (<usize>i << 2), rowBytes);
        }
        for (let i = HW4; i < HW; i++) {
          for (let l = 0; l < 4; l++) store<f32>(d0 + <usize>l * rowBytes + (<usize>i << 2), load<f32>(sq + <usize>i * pixelBytes + (<usize>l << 2)));
        }
      } else {
        for (let l = 0; c + l < C; l++) {
          for (let i = 0; i < HW; i++) store<f32>(d0 + <usize>l * rowBytes + (<usize>i << 2), load<f32>(sq + <usize>i * pixelBytes + (<usize>l << 2)));
        }
      }
    }
  }
}
