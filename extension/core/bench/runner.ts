/**
 * What a benchmark request names, checked: its layers, its algorithms, and the deterministic data
 * every layer is timed on. The run itself is core/requests/bench.ts.
 */
import type { ConvAlgorithm } from '../../shared/payloads';
import type { BenchRequest } from '../../shared/requests';
import { BENCH_SUITES, CONV_ALGORITHMS } from '../../shared/payloads';
import { shapeLabel, suiteLayers, type BenchLayer } from './layers';

export const DEFAULT_WARMUP_MS = 500;
export const DEFAULT_BUDGET_MS = 2000;

/** Deterministic uniform values in [-1, 1) (mulberry32), so runs with one seed see the same data. */
export function fillUniform(target: Float32Array, seed: number): Float32Array {
  let state = seed >>> 0;
  for (let i = 0; i < target.length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    target[i] = ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1;
  }
  return target;
}

/** Float32 values in a SharedArrayBuffer, so the pool's workers read them without a copy. */
export function sharedFloats(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, length) * 4), 0, length);
}

/** The layers a request names; throws a clear error for a bad combination. */
export function requestedLayers(request: BenchRequest): BenchLayer[] {
  if (request.suite && request.shape) throw new Error('give either a suite or a shape, not both');
  if (request.suite) return suiteLayers(request.suite, request.layers);
  if (request.shape) {
    if (request.layers?.length) throw new Error('layer names select layers of a suite; they do not apply to a custom shape');
    return [{ name: shapeLabel(request.shape), shape: request.shape, count: 1 }];
  }
  throw new Error(`nothing to benchmark: give a suite (${BENCH_SUITES.join(', ')}) or a shape`);
}

/** The algorithms a request names (default: all), validated. */
export function requestedAlgorithms(request: BenchRequest): ConvAlgorithm[] {
  if (!request.algos || request.algos.length === 0) return [...CONV_ALGORITHMS];
  return request.algos.map((name) => {
    if (!(CONV_ALGORITHMS as readonly string[]).includes(name)) {
      throw new Error(`unknown algorithm '${name}'; the algorithms are ${CONV_ALGORITHMS.join(', ')}`);
    }
    return name as ConvAlgorithm;
  });
}
