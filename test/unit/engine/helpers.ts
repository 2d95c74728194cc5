import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { ConvShape } from '../../../extension/shared/payloads';
import { referenceConv2d } from '../../../extension/core/conv/reference';
import { REPO_ROOT } from '../../paths';

const root = REPO_ROOT;

/** Builds dist/engine/*.wasm when stale (a no-op when up to date). */
export function ensureEngineBuilt(): void {
  execFileSync(process.execPath, [join(root, 'scripts', 'buildEngine.mjs'), '--quiet'], { cwd: root, stdio: 'pipe' });
}

/** Deterministic values in [-1, 1) (xorshift32), so failures reproduce. */
export function seededValues(count: number, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    values[i] = state / 2 ** 31 - 1;
  }
  return values;
}

export interface ConvCase {
  shape: ConvShape;
  input: Float32Array;
  weights: Float32Array;
  bias: Float32Array;
  reference: Float64Array;
  /** fp64 sum of |x| |w| + |b| per output: the scale fp32 rounding errors are proportional to. */
  magnitude: Float64Array;
}

export function makeCase(shape: ConvShape, seed: number): ConvCase {
  const input = seededValues(shape.N * shape.C * shape.H * shape.W, seed);
  const weights = seededValues(shape.K * (shape.C / (shape.groups ?? 1)) * shape.R * shape.S, seed + 1);
  const bias = seededValues(shape.K, seed + 2);
  const reference = referenceConv2d(input, weights, bias, shape);
  const magnitude = referenceConv2d(input.map(Math.abs), weights.map(Math.abs), bias.map(Math.abs), shape);
  return { shape, input, weights, bias, reference, magnitude };
}

/** fp32 unit roundoff. */
export const FP32_UNIT_ROUNDOFF = 2 ** -24;

/**
 * Largest err_i / (u * magnitude_i): the error in units of fp32 roundoff times the output's
 * magnitude. Recursive summation of D products is bounded by about D (the bound of Higham's gamma_D);
 * a missing or doubled term shows as ~1/D of the magnitude, i.e. ~2^24 / D units.
 */
export function errorInRoundoffUnits(actual: Float32Array, testCase: ConvCase): number {
  if (actual.length !== testCase.reference.length) {
    throw new Error(`output has ${actual.length} elements, expected ${testCase.reference.length}`);
  }
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const units = Math.abs(actual[i] - testCase.reference[i]) / (FP32_UNIT_ROUNDOFF * testCase.magnitude[i]);
    if (!(units <= worst)) worst = units;
  }
  return worst;
}

export function shapeName(s: ConvShape): string {
  return `N${s.N} C${s.C} ${s.H}x${s.W} K${s.K} ${s.R}x${s.S} s${s.stride} p${s.pad}`;
}
