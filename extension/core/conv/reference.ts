/**
 * fp64 direct convolution: the reference every engine algorithm and every benchmark error column
 * is measured against. Deliberately the plainest possible loop nest, accumulated in fp64, so its own
 * rounding error (~1e-16 relative) is negligible next to any fp32 kernel's.
 *
 * Conventions (the engine uses the same): input NCHW [N,C,H,W], weight [K, C/groups, R, S], bias [K],
 * cross-correlation (no kernel flip, as in every DL framework), zero padding top, left, bottom, right
 * (`pads`, else `pad` on all four sides), one `stride` and one `dilation` for both axes. Output channel
 * k reads input channels [g C/groups, (g+1) C/groups) of its group g = floor(k / (K/groups)). Output
 * NCHW [N,K,P,Q] with P = floor((H + top + bottom - dilation (R-1) - 1) / stride) + 1, and Q likewise.
 */
import { type ConvShape, convPads } from '../../shared/payloads';

export type FloatArray = Float32Array | Float64Array;

/** The geometry of a shape with every default filled in. */
export interface ConvGeometry {
  groups: number;
  dilation: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
}

export function convGeometry(shape: ConvShape): ConvGeometry {
  const [padTop, padLeft, padBottom, padRight] = convPads(shape);
  return { groups: shape.groups ?? 1, dilation: shape.dilation ?? 1, padTop, padLeft, padBottom, padRight };
}

/** Output height P and width Q of a convolution. */
export function convOutputSize(shape: ConvShape): { P: number; Q: number } {
  const { dilation, padTop, padLeft, padBottom, padRight } = convGeometry(shape);
  const P = Math.floor((shape.H + padTop + padBottom - dilation * (shape.R - 1) - 1) / shape.stride) + 1;
  const Q = Math.floor((shape.W + padLeft + padRight - dilation * (shape.S - 1) - 1) / shape.stride) + 1;
  return { P, Q };
}

/** Direct-convolution flop count, 2*N*K*(C/groups)*R*S*P*Q: the numerator of every "effective GFLOP/s". */
export function convDirectFlops(shape: ConvShape): number {
  const { P, Q } = convOutputSize(shape);
  return 2 * shape.N * shape.K * (shape.C / (shape.groups ?? 1)) * shape.R * shape.S * P * Q;
}

/**
 * Throws an Error naming the offending field when `shape` is not a valid convolution shape:
 * every dimension, groups and dilation a positive integer, pads non-negative integers, C and K
 * multiples of groups, and the padded input at least as large as the dilated kernel (so P, Q >= 1).
 */
export function validateConvShape(shape: ConvShape, what = 'shape'): void {
  const positive = (key: string, value: unknown): void => {
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new Error(`${what}.${key} must be a positive integer, got ${String(value)}`);
    }
  };
  for (const key of ['N', 'C', 'H', 'W', 'K', 'R', 'S', 'stride'] as const) positive(key, shape[key]);
  if (shape.groups !== undefined) positive('groups', shape.groups);
  if (shape.dilation !== undefined) positive('dilation', shape.dilation);
  if (!Number.isSafeInteger(shape.pad) || shape.pad < 0) {
    throw new Error(`${what}.pad must be a non-negative integer, got ${String(shape.pad)}`);
  }
  if (shape.pads !== undefined) {
    if (!Array.isArray(shape.pads) || shape.pads.length !== 4 || !shape.pads.every((v) => Number.isSafeInteger(v) && v >= 0)) {
      throw new Error(`${what}.pads must be four non-negative integers (top, left, bottom, right), got ${JSON.stringify(shape.pads)}`);
    }
  }
  const { groups, dilation, padTop, padLeft, padBottom, padRight } = convGeometry(shape);
  if (shape.C % groups !== 0 || shape.K % groups !== 0) {
    throw new Error(`${what}: groups ${groups} must divide both C = ${shape.C} and K = ${shape.K}`);
  }
  const spanY = dilation * (shape.R - 1) + 1;
  const spanX = dilation * (shape.S - 1) + 1;
  const paddedH = shape.H + padTop + padBottom;
  const paddedW = shape.W + padLeft + padRight;
  if (paddedH < spanY || paddedW < spanX) {
    const kernel = dilation === 1 ? `kernel ${shape.R}x${shape.S}` : `kernel ${shape.R}x${shape.S} dilated by ${dilation} (${spanY}x${spanX})`;
    throw new Error(`${what}: ${kernel} is larger than the padded input ${paddedH}x${paddedW}`);
  }
}

function expectLength(name: string, array: ArrayLike<number>, expected: number, dims: string): void {
  if (array.length !== expected) {
    throw new Error(`${name} has ${array.length} elements, expected ${expected} (${dims})`);
  }
}

/**
 * fp64 reference convolution. Returns the NCHW output [N,K,P,Q] as a Float64Array, or, given
 * `channels`, only output channels [begin, end) as [N, end - begin, P, Q] (weight and bias stay whole).
 * Throws when the shape is invalid or an array's length does not match it.
 */
export function referenceConv2d(
  input: FloatArray,
  weight: FloatArray,
  bias: FloatArray | undefined,
  shape: ConvShape,
  channels?: { begin: number; end: number },
): Float64Array {
  validateConvShape(shape);
  const { N, C, H, W, K, R, S, stride } = shape;
  const { groups, dilation, padTop, padLeft } = convGeometry(shape);
  const { P, Q } = convOutputSize(shape);
  const Cg = C / groups;
  const Kg = K / groups;
  expectLength('input', input, N * C * H * W, `N*C*H*W = ${N}*${C}*${H}*${W}`);
  expectLength('weight', weight, K * Cg * R * S, `K*(C/groups)*R*S = ${K}*${Cg}*${R}*${S}`);
  if (bias !== undefined) expectLength('bias', bias, K, `K = ${K}`);
  const kBegin = channels?.begin ?? 0;
  const kEnd = channels?.end ?? K;
  if (!Number.isSafeInteger(kBegin) || !Number.isSafeInteger(kEnd) || kBegin < 0 || kEnd > K || kBegin >= kEnd) {
    throw new Error(`channel range [${kBegin}, ${kEnd}) is outside [0, ${K})`);
  }
  const KOut = kEnd - kBegin;

  const output = new Float64Array(N * KOut * P * Q);
  for (let n = 0; n < N; n++) {
    for (let k = kBegin; k < kEnd; k++) {
      const outBase = (n * KOut + k - kBegin) * P * Q;
      const c0 = Math.floor(k / Kg) * Cg;
      const b = bias === undefined ? 0 : bias[k];
      for (let p = 0; p < P; p++) {
        for (let q = 0; q < Q; q++) {
          let sum = b;
          for (let ci = 0; ci < Cg; ci++) {
            const inBase = (n * C + c0 + ci) * H * W;
            const wBase = (k * Cg + ci) * R * S;
            for (let r = 0; r < R; r++) {
              const y = p * stride - padTop + r * dilation;
              if (y < 0 || y >= H) continue;
              for (let s = 0; s < S; s++) {
                const x = q * stride - padLeft + s * dilation;
                if (x < 0 || x >= W) continue;
                sum += input[inBase + y * W + x] * weight[wBase + r * S + s];
              }
            }
          }
          output[outBase + p * Q + q] = sum;
        }
      }
    }
  }
  return output;
}

/**
 * Error of `actual` against the fp64 `reference`: max absolute error, and max relative error
 * where the denominator is floored at `relativeFloor` times the reference's largest magnitude,
 * so outputs that cancel to ~0 do not blow the relative figure up.
 */
export function compareToReference(
  actual: ArrayLike<number>,
  reference: ArrayLike<number>,
  relativeFloor = 1e-3,
): { maxAbsErr: number; maxRelErr: number; maxRefAbs: number } {
  if (actual.length !== reference.length) {
    throw new Error(`result has ${actual.length} elements, reference has ${reference.length}`);
  }
  let maxRefAbs = 0;
  for (let i = 0; i < reference.length; i++) maxRefAbs = Math.max(maxRefAbs, Math.abs(reference[i]));
  const floor = Math.max(maxRefAbs * relativeFloor, Number.MIN_VALUE);
  let maxAbsErr = 0;
  let maxRelErr = 0;
  for (let i = 0; i < reference.length; i++) {
    const err = Math.abs(actual[i] - reference[i]);
    // A NaN anywhere must show in the result, not be hidden by Math.max's ordering.
    if (Number.isNaN(err)) return { maxAbsErr: NaN, maxRelErr: NaN, maxRefAbs };
    if (err > maxAbsErr) maxAbsErr = err;
    const rel = err / Math.max(Math.abs(reference[i]), floor);
    if (rel > maxRelErr) maxRelErr = rel;
  }
  return { maxAbsErr, maxRelErr, maxRefAbs };
}
