/**
 * Numerical error of a 2-D Winograd tile in simulated fp32 / fp16 / bf16.
 *
 * Distribution: every trial draws a fresh alpha x alphaN input tile d and an r x s filter g with
 * entries independent and uniform in [-1, 1) from a seeded xoshiro128** generator (the same
 * distribution Barabasz et al. use for their error tables), then rounds them to the precision
 * under test. The reference is fp64 direct correlation of those rounded inputs, so only
 * arithmetic error is measured, not input quantisation. Both the Winograd tile (matrix constants
 * rounded to the precision, every product and sum rounded) and direct correlation (every product
 * and running sum rounded, taps in row-major order) are computed in the precision; the Winograd
 * error is reported as a multiple of direct's mean and max absolute error.
 *
 * The input and output transforms are applied columns first, then rows, accumulating each output
 * from the lowest index up; zero entries are skipped and +-1 entries are exact, as a real kernel
 * does. The filter transform is done in fp64 and rounded once, because deployed kernels transform
 * weights offline; this is also what brings the harness in line with the published multiples
 * (fp32, 2000 tiles: F(2,3) 1.66x, F(4,3) {0,+-1,+-2} 8.1x, {0,+-5/8,+-3/2} 5.2x,
 * F(6,3) {0,+-1,+-2,+-1/2} 20x, {0,+-1,+-2,+-3} 393x; direct's own fp32 mean error 4.66e-8
 * against the 4.63e-8 Barabasz et al. publish).
 */
import type { Precision, WinogradErrorMeasurement } from '../../shared/payloads';
import { type RationalMatrix, rationalToNumber } from './rational';
import { type Rounder, rounderFor } from './rounding';

/** A matrix compiled for simulation: per row, the column indices and values of its nonzeros. */
interface SparseMatrix {
  rows: number;
  columns: number;
  index: Int32Array[];
  value: Float64Array[];
}

function compile(matrix: RationalMatrix | number[][], round: Rounder): SparseMatrix {
  const index: Int32Array[] = [];
  const value: Float64Array[] = [];
  for (const row of matrix) {
    const indices: number[] = [];
    const values: number[] = [];
    row.forEach((entry: RationalMatrix[number][number] | number, j: number) => {
      const asNumber = typeof entry === 'number' ? entry : rationalToNumber(entry);
      if (asNumber !== 0) {
        indices.push(j);
        values.push(round(asNumber));
      }
    });
    index.push(Int32Array.from(indices));
    value.push(Float64Array.from(values));
  }
  return { rows: matrix.length, columns: matrix[0]?.length ?? 0, index, value };
}

/**
 * Deterministic PRNG: xoshiro128** (32-bit words, fast in JS) seeded through splitmix32, so small
 * seeds still give well-mixed state. `next()` is uniform in [0, 1) with 53 random bits.
 */
export class SeededRandom {
  private readonly state: Uint32Array;
  constructor(seed: number) {
    let mix = Math.floor(seed) >>> 0;
    const splitmix32 = (): number => {
      mix = (mix + 0x9e3779b9) >>> 0;
      let z = mix;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.state = Uint32Array.from([splitmix32(), splitmix32(), splitmix32(), splitmix32()]);
  }
  private next32(): number {
    const s = this.state;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }
  next(): number {
    const high = this.next32() >>> 5;
    const low = this.next32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }
  /** Uniform in [-1, 1). */
  symmetric(): number {
    return this.next() * 2 - 1;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** out (M.rows x columns) = M X, X is (M.columns x columns) row-major. */
function applyLeft(M: SparseMatrix, X: Float64Array, columns: number, round: Rounder, out: Float64Array): void {
  for (let i = 0; i < M.rows; i++) {
    const index = M.index[i]!;
    const value = M.value[i]!;
    for (let c = 0; c < columns; c++) {
      let sum = 0;
      for (let t = 0; t < index.length; t++) {
        const product = round(value[t]! * X[index[t]! * columns + c]!);
        sum = t === 0 ? product : round(sum + product);
      }
      out[i * columns + c] = sum;
    }
  }
}

/** out (rows x M.rows) = X M^T, X is (rows x M.columns) row-major. */
function applyRight(X: Float64Array, rows: number, M: SparseMatrix, round: Rounder, out: Float64Array): void {
  const inner = M.columns;
  for (let row = 0; row < rows; row++) {
    for (let i = 0; i < M.rows; i++) {
      const index = M.index[i]!;
      const value = M.value[i]!;
      let sum = 0;
      for (let t = 0; t < index.length; t++) {
        const product = round(value[t]! * X[row * inner + index[t]!]!);
        sum = t === 0 ? product : round(sum + product);
      }
      out[row * M.rows + i] = sum;
    }
  }
}

function maxAbs(values: Float64Array, current: number): number {
  let best = current;
  for (let i = 0; i < values.length; i++) {
    const magnitude = Math.abs(values[i]!);
    if (magnitude > best) best = magnitude;
  }
  return best;
}

export interface ErrorAlgorithm {
  /** First (row) dimension: m x alpha, alpha x r, alpha x alpha. */
  AT: RationalMatrix | number[][];
  G: RationalMatrix | number[][];
  BT: RationalMatrix | number[][];
  /** Second (column) dimension; defaults to the first. */
  second?: { AT: RationalMatrix | number[][]; G: RationalMatrix | number[][]; BT: RationalMatrix | number[][] };
}

export interface MeasureErrorOptions {
  precision: Precision;
  /** Random tiles to average over; default defaultErrorTrials(m, n). */
  trials?: number;
  /** PRNG seed; default 1. */
  seed?: number;
}

/**
 * Default tile count: enough tiles for about 8000 outputs per precision, which puts the mean's
 * sampling error near 1% (two significant digits) while F(6,3) stays around 0.3 s for all three
 * precisions.
 */
export function defaultErrorTrials(m: number, n: number = m): number {
  return Math.min(2000, Math.max(100, Math.ceil(8000 / (m * n))));
}
/** The default for F(4x4, 3x3)-sized tiles, for messages and docs. */
export const DEFAULT_ERROR_TRIALS = defaultErrorTrials(4);
export const DEFAULT_ERROR_SEED = 1;

/**
 * Simulates `trials` random 2-D tiles of the algorithm and of direct correlation in `precision` and
 * compares both with fp64 direct correlation. Outputs that overflow to +-Infinity or NaN (possible in
 * fp16 for large alpha) are left out of the mean and max and counted in `nonFiniteOutputs`.
 */
export function measureError(algorithm: ErrorAlgorithm, options: MeasureErrorOptions): WinogradErrorMeasurement {
  const precision = options.precision;
  const round = rounderFor(precision);
  const trials = options.trials ?? defaultErrorTrials(algorithm.AT.length, (algorithm.second ?? algorithm).AT.length);
  const seed = options.seed ?? DEFAULT_ERROR_SEED;
  if (!Number.isInteger(trials) || trials < 1) throw new Error(`error trials must be a whole number >= 1, got ${trials}`);
  const second = algorithm.second ?? algorithm;
  const exact: Rounder = (value) => value;
  const AT = compile(algorithm.AT, round);
  // Filter constants stay in fp64: see the filter transform below.
  const G = compile(algorithm.G, exact);
  const BT = compile(algorithm.BT, round);
  const AT2 = compile(second.AT, round);
  const G2 = compile(second.G, exact);
  const BT2 = compile(second.BT, round);
  const m = AT.rows;
  const n = AT2.rows;
  const alpha = BT.rows;
  const alphaN = BT2.rows;
  const r = G.columns;
  const s = G2.columns;
  if (AT.columns !== alpha || G.rows !== alpha || BT.columns !== alpha || alpha !== m + r - 1) {
    throw new Error(`measureError: inconsistent first-dimension shapes AT ${m}x${AT.columns}, G ${G.rows}x${r}, BT ${alpha}x${BT.columns}`);
  }
  if (AT2.columns !== alphaN || G2.rows !== alphaN || BT2.columns !== alphaN || alphaN !== n + s - 1) {
    throw new Error(`measureError: inconsistent second-dimension shapes AT ${n}x${AT2.columns}, G ${G2.rows}x${s}, BT ${alphaN}x${BT2.columns}`);
  }

  const random = new SeededRandom(seed);
  const d = new Float64Array(alpha * alphaN);
  const g = new Float64Array(r * s);
  const filterHalf = new Float64Array(alpha * s);
  const U = new Float64Array(alpha * alphaN);
  const inputHalf = new Float64Array(alpha * alphaN);
  const V = new Float64Array(alpha * alphaN);
  const products = new Float64Array(alpha * alphaN);
  const outputHalf = new Float64Array(m * alphaN);
  const Y = new Float64Array(m * n);

  let winogradSum = 0;
  let winogradMax = 0;
  let directSum = 0;
  let directMax = 0;
  let counted = 0;
  let nonFinite = 0;
  let transformMax = 0;

  for (let trial = 0; trial < trials; trial++) {
    for (let i = 0; i < d.length; i++) d[i] = round(random.symmetric());
    for (let i = 0; i < g.length; i++) g[i] = round(random.symmetric());

    // Filters are transformed once, offline, in fp64 and stored in the precision (as deployed
    // kernels do); only the stored U is rounded.
    applyLeft(G, g, s, exact, filterHalf);
    applyRight(filterHalf, alpha, G2, exact, U);
    for (let i = 0; i < U.length; i++) U[i] = round(U[i]!);
    applyLeft(BT, d, alphaN, round, inputHalf);
    applyRight(inputHalf, alpha, BT2, round, V);
    for (let i = 0; i < products.length; i++) products[i] = round(U[i]! * V[i]!);
    applyLeft(AT, products, alphaN, round, outputHalf);
    applyRight(outputHalf, m, AT2, round, Y);
    transformMax = maxAbs(U, transformMax);
    transformMax = maxAbs(inputHalf, transformMax);
    transformMax = maxAbs(V, transformMax);
    transformMax = maxAbs(products, transformMax);
    transformMax = maxAbs(outputHalf, transformMax);

    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let exact = 0;
        let direct = 0;
        let first = true;
        for (let k = 0; k < r; k++) {
          for (let l = 0; l < s; l++) {
            const tap = g[k * s + l]! * d[(i + k) * alphaN + (j + l)]!;
            exact += tap;
            const roundedTap = round(tap);
            direct = first ? roundedTap : round(direct + roundedTap);
            first = false;
          }
        }
        const winograd = Y[i * n + j]!;
        if (!Number.isFinite(winograd) || !Number.isFinite(direct)) {
          nonFinite++;
          continue;
        }
        const winogradError = Math.abs(winograd - exact);
        const directError = Math.abs(direct - exact);
        winogradSum += winogradError;
        directSum += directError;
        if (winogradError > winogradMax) winogradMax = winogradError;
        if (directError > directMax) directMax = directError;
        counted++;
      }
    }
  }
  // When every output overflowed there is nothing to average: report the largest double rather
  // than NaN or Infinity (JSON cannot carry those), with nonFiniteOutputs saying why.
  const allOverflowed = counted === 0;
  const meanAbs = allOverflowed ? Number.MAX_VALUE : winogradSum / counted;
  const directMeanAbs = allOverflowed ? 0 : directSum / counted;
  if (allOverflowed) winogradMax = Number.MAX_VALUE;
  const ratio = (a: number, b: number): number => (b > 0 ? a / b : a > 0 ? Number.MAX_VALUE : 1);
  const measurement: WinogradErrorMeasurement = {
    precision,
    meanAbs,
    maxAbs: winogradMax,
    directMeanAbs,
    directMaxAbs: directMax,
    meanMultiple: ratio(meanAbs, directMeanAbs),
    maxMultiple: ratio(winogradMax, directMax),
    maxTransformMagnitude: Number.isFinite(transformMax) ? transformMax : Number.MAX_VALUE,
    trials,
    seed,
  };
  if (nonFinite > 0) measurement.nonFiniteOutputs = nonFinite;
  return measurement;
}
