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

/** NCHW -> NCHW{B}c over images [n0, n1). */
export function nchwToBlocked(src: usize, dst: usize, C: i32, HW: i32, B: i32, n0: i32, n1: i32): void {
  const CB = (C + B - 1) / B;
  for (let n = n0; n < n1; n++) {
    const s = src + (<usize>n * C * HW << 2);
    const d = dst + (<usize>n * CB * B * HW << 2);
    for (let cb = 0; cb < CB; cb++) {
      const db = d + (<usize>cb * HW * B << 2);
      for (let ci = 0; ci < B; ci++) {
        const c = cb * B + ci;
        if (c < C) {
          const sc = s + (<usize>c * HW << 2);
          for (let i = 0; i < HW; i++) store<f32>(db + (<usize>(i * B + ci) << 2), load<f32>(sc + (<usize>i << 2)));
        } else {
          for (let i = 0; i < HW; i++) store<f32>(db + (<usize>(i * B + ci) << 2), 0);
        }
      }
    }
  }
}

/** NCHW{B}c -> NCHW over images [n0, n1) (padding channels dropped). */
export function blockedToNchw(src: usize, dst: usize, C: i32, HW: i32, B: i32, n0: i32, n1: i32): void {
  const CB = (C + B - 1) / B;
  for (let n = n0; n < n1; n++) {
    const s = src + (<usize>n * CB * B * HW << 2);
    const d = dst + (<usize>n * C * HW << 2);
    for (let c = 0; c < C; c++) {
      const sb = s + (<usize>((c / B) * HW * B + (c % B)) << 2);
      const dc = d + (<usize>c * HW << 2);
      for (let i = 0; i < HW; i++) store<f32>(dc + (<usize>i << 2), load<f32>(sb + (<usize>(i * B) << 2)));
    }
  }
}
