/**
 * generateWinograd / generateMatrices: the synchronous entry points. Matrices, verification and
 * cost are exact; only the optional error measurement uses (simulated) floating point.
 */
import { EXPORT_FORMATS, SIMULATED_PRECISIONS, type FractionsIn, type WinogradErrorMeasurement, type WinogradResult } from '../../shared/payloads';
import { type WinogradRequest } from '../../shared/requests';
import { winogradCost } from './cost';
import { DEFAULT_ERROR_SEED, defaultErrorTrials, measureError } from './error';
import { fromStringMatrix, rationalToNumber, toStringMatrix } from './rational';
import { type ToomCookMatrices, checkSize, pointStrings, toomCook } from './toomCook';
import { verifyWinograd } from './verify';
import { exportWinograd } from './export';

export interface GeneratedMatrices {
  AT: string[][];
  G: string[][];
  BT: string[][];
  points: string[];
}

/** The three matrices in float64, each entry the double nearest its exact value: what kernels compute with. */
export interface NumericMatrices {
  AT: number[][];
  G: number[][];
  BT: number[][];
}

/** Converts exact matrices (strings such as "-1/6") to {@link NumericMatrices}. */
export function toNumericMatrices(matrices: Pick<GeneratedMatrices, 'AT' | 'G' | 'BT'>): NumericMatrices {
  const numeric = (matrix: string[][], what: string): number[][] =>
    fromStringMatrix(matrix, what).map((row) => row.map(rationalToNumber));
  return { AT: numeric(matrices.AT, 'AT'), G: numeric(matrices.G, 'G'), BT: numeric(matrices.BT, 'BT') };
}

/** Exact 1-D matrices of F(m, r) only: fast, no verification or error measurement. */
export function generateMatrices(
  m: number,
  r: number,
  options: { points?: string[]; infinity?: boolean; fractionsIn?: FractionsIn } = {},
): GeneratedMatrices {
  const algorithm = toomCook(m, r, options);
  return {
    AT: toStringMatrix(algorithm.AT),
    G: toStringMatrix(algorithm.G),
    BT: toStringMatrix(algorithm.BT),
    points: pointStrings(algorithm.points),
  };
}

/** Checks the fields of a request that arrive from untrusted JSON (CLI, notebook, worker). */
export function checkRequest(request: WinogradRequest): void {
  if (typeof request !== 'object' || request === null) throw new Error('Winograd request must be an object');
  checkSize(request.m, request.r);
  if (request.n !== undefined || request.s !== undefined) {
    checkSize(request.n ?? request.m, request.s ?? request.r, ['n', 's']);
  }
  if (request.fractionsIn !== undefined && !['G', 'A', 'B'].includes(request.fractionsIn)) {
    throw new Error(`fractionsIn must be G, A or B, got "${String(request.fractionsIn)}"`);
  }
  if (request.precision !== undefined && !['fp64', 'fp32', 'fp16', 'bf16'].includes(request.precision)) {
    throw new Error(`precision must be fp32, fp16 or bf16, got "${String(request.precision)}"`);
  }
  if (request.errorTrials !== undefined && (!Number.isInteger(request.errorTrials) || request.errorTrials < 0 || request.errorTrials > 1_000_000)) {
    throw new Error(`errorTrials must be a whole number from 0 to 1000000, got ${String(request.errorTrials)}`);
  }
  if (request.infinity !== undefined && typeof request.infinity !== 'boolean') {
    throw new Error(`infinity must be true or false, got ${String(request.infinity)}`);
  }
  if (request.seed !== undefined && (!Number.isInteger(request.seed) || request.seed < 0)) {
    throw new Error(`seed must be a whole number >= 0, got ${String(request.seed)}`);
  }
  if (request.exports !== undefined && !Array.isArray(request.exports)) {
    throw new Error('exports must be a list of formats such as ["c", "ts"]');
  }
  for (const format of request.exports ?? []) {
    if (!EXPORT_FORMATS.includes(format)) {
      throw new Error(`unknown export format "${String(format)}": expected one of ${EXPORT_FORMATS.join(', ')}`);
    }
  }
}

/** Builds both dimensions; the second reuses the first when the request is square. */
export function buildAlgorithms(request: WinogradRequest): { first: ToomCookMatrices; second: ToomCookMatrices; note?: string } {
  checkRequest(request);
  const options = { points: request.points, infinity: request.infinity ?? true, fractionsIn: request.fractionsIn ?? 'G' };
  const first = toomCook(request.m, request.r, options);
  const n = request.n ?? request.m;
  const s = request.s ?? request.r;
  if (n === request.m && s === request.r) return { first, second: first };
  const alphaN = n + s - 1;
  if (alphaN === first.alpha) return { first, second: toomCook(n, s, options) };
  // A different alpha needs a different number of points: the second dimension takes its defaults.
  const second = toomCook(n, s, { ...options, points: undefined });
  const note = request.points
    ? `second dimension F(${n},${s}) has alpha = ${alphaN} != ${first.alpha}, so it uses the default points ${pointStrings(second.points).join(', ')}`
    : undefined;
  return { first, second, note };
}

/** Generates, verifies and costs F(m x n, r x s); measures its error unless errorTrials is 0. */
export function generateWinograd(request: WinogradRequest): WinogradResult {
  const { first, second, note } = buildAlgorithms(request);
  const rectangular = second !== first;
  const label = (a: ToomCookMatrices): string => `F(${a.m},${a.r})`;
  const verification = verifyWinograd(
    { AT: first.AT, G: first.G, BT: first.BT, label: label(first) },
    rectangular ? { AT: second.AT, G: second.G, BT: second.BT, label: label(second) } : undefined,
  );
  if (note) verification.steps.unshift(note);
  const cost = winogradCost({ first, second, layer: request.layer });
  const trials = request.errorTrials ?? defaultErrorTrials(first.m, second.m);
  const error: WinogradErrorMeasurement[] = [];
  if (trials > 0 && verification.verified) {
    const precisions = [...SIMULATED_PRECISIONS];
    if (request.precision && !precisions.includes(request.precision)) precisions.push(request.precision);
    for (const precision of precisions) {
      error.push(
        measureError(
          { AT: first.AT, G: first.G, BT: first.BT, second: { AT: second.AT, G: second.G, BT: second.BT } },
          { precision, trials, seed: request.seed ?? DEFAULT_ERROR_SEED },
        ),
      );
    }
  }
  const result: WinogradResult = {
    m: first.m,
    r: first.r,
    alpha: first.alpha,
    points: pointStrings(first.points),
    infinity: first.infinity,
    fractionsIn: first.fractionsIn,
    AT: toStringMatrix(first.AT),
    G: toStringMatrix(first.G),
    BT: toStringMatrix(first.BT),
    verified: verification.verified,
    verification,
    multiplications: {
      winograd: cost.winogradMultiplications,
      direct: cost.directMultiplications,
      saving: cost.saving,
    },
    transformOps: cost.transformOps,
    cost,
    error,
    precision: request.precision ?? 'fp32',
  };
  if (rectangular) {
    result.n = second.m;
    result.s = second.r;
    result.second = {
      AT: toStringMatrix(second.AT),
      G: toStringMatrix(second.G),
      BT: toStringMatrix(second.BT),
      points: pointStrings(second.points),
    };
  }
  if (request.exports && request.exports.length > 0) {
    result.exports = {};
    for (const format of request.exports) result.exports[format] = exportWinograd(result, format);
  }
  return result;
}
