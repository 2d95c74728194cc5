// Border-safe loads of input patches, shared by the Winograd gather (generated) and its callers, and
// the tile origins that the tiled kernels (Winograd, FFT) keep per work unit.

/**
 * Stores the (y, x) i32 pair of tiles t0 .. t0 + count - 1 (raster order over rows of tilesX tiles)
 * at origins + 8 i: (tile row * stepY + offset, tile column * stepX + offset).
 */
export function storeTileOrigins(
  origins: usize, t0: i32, count: i32, tilesX: i32, stepY: i32, stepX: i32, offset: i32,
): void {
  for (let i = 0; i < count; i++) {
    const t = t0 + i;
    const ty = t / tilesX;
    store<i32>(origins + (<usize>i << 3), ty * stepY + offset);
    store<i32>(origins + (<usize>i << 3), (t - ty * tilesX) * stepX + offset, 4);
  }
}

/** Input floats x .. x+3 of row y of an H x W plane, zero where outside it (and when !valid). */
// @ts-ignore: decorator
@inline export function loadPatch4(plane: usize, H: i32, W: i32, y: i32, x: i32, valid: bool): v128 {
  if (!valid || y < 0 || y >= H) return f32x4.splat(0);
  const row = plane + (<usize>(y * W) << 2);
  if (x >= 0 && x + 4 <= W) return v128.load(row + (<usize>x << 2));
  let v = f32x4.splat(0);
  if (x >= 0 && x < W) v = f32x4.replace_lane(v, 0, load<f32>(row + (<usize>x << 2)));
  if (x + 1 >= 0 && x + 1 < W) v = f32x4.replace_lane(v, 1, load<f32>(row + (<usize>(x + 1) << 2)));
  if (x + 2 >= 0 && x + 2 < W) v = f32x4.replace_lane(v, 2, load<f32>(row + (<usize>(x + 2) << 2)));
  if (x + 3 >= 0 && x + 3 < W) v = f32x4.replace_lane(v, 3, load<f32>(row + (<usize>(x + 3) << 2)));
  return v;
}
