/**
 * The Winograd request: generate the transforms of F(m x n, r x s) (or search points that lower
 * their error), add the error-against-tile-size comparison and the exports the request asks for.
 */
import type { WinogradResult } from '../../shared/payloads';
import type { WinogradRequest } from '../../shared/requests';
import { exportWinograd, generateWinograd, searchPoints } from '../winograd/index';
import { errorByTileSize } from '../winograd/compareTiles';
import type { RequestHooks } from './hooks';

export async function runWinograd(request: WinogradRequest, hooks: RequestHooks = {}): Promise<WinogradResult> {
  const comparing = request.compareTileSizes === true && request.n === undefined && request.s === undefined;
  const share = comparing ? 0.9 : 1;
  const result = request.search
    ? await searchPoints(request, { onProgress: (fraction, message) => hooks.onProgress?.(fraction * share, message), signal: hooks.signal })
    : generateWinograd(request);
  for (const format of request.exports ?? []) {
    result.exports ??= {};
    result.exports[format] ??= exportWinograd(result, format);
  }
  if (comparing) {
    hooks.onProgress?.(0.9, 'error against tile size');
    result.errorByTile = errorByTileSize(request.r, { fractionsIn: request.fractionsIn, precision: request.precision, seed: request.seed, signal: hooks.signal });
  }
  return result;
}
