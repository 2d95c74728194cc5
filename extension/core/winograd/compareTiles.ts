/**
 * Error against tile size: the same measurement for F(m, r) over a range of m, each with its default
 * (best published or searched) points, so a user sees how accuracy falls as the tile grows.
 */
import type { FractionsIn, Precision, WinogradTileError } from '../../shared/payloads';
import { generateWinograd } from './generate';

/** Tile sizes compared by default: the ones used in practice for 3x3 filters and their neighbours. */
export const COMPARED_TILE_SIZES = [2, 3, 4, 5, 6, 7, 8];

export function errorByTileSize(
  r: number,
  options: { sizes?: number[]; fractionsIn?: FractionsIn; precision?: Precision; seed?: number; signal?: AbortSignal } = {},
): WinogradTileError[] {
  const rows: WinogradTileError[] = [];
  for (const m of options.sizes ?? COMPARED_TILE_SIZES) {
    if (options.signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
    const result = generateWinograd({ m, r, fractionsIn: options.fractionsIn, precision: options.precision, seed: options.seed });
    rows.push({ m, r, points: result.points, error: result.error });
  }
  return rows;
}
