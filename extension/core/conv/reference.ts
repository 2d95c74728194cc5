/**
 * fp64 direct convolution: the reference every engine algorithm and every benchmark error column
 * is measured against. Deliberately the plainest possible loop nest, accumulated in fp64, so its own
 * rounding error (~1e-16 relative) is negligible next to any fp32 kernel's.
 *
 * Conventions (the engine uses the same): input NCHW [N,C,H,W], weight OIHW [K,C,R,S], bias [K],
 * cross-correlation (no kernel flip, as in every DL framework), zero padding `pad` on all four
 * sides, one `stride` for both axes, groups = 1, dilation = 1. Output NCHW [N,K,P,Q] with
 * P = floor((H + 2 pad - R) / stride) + 1 and Q = floor((W + 2 pad - S) / stride) + 1.
 */
import type { ConvShape } from '../../shared/payloads';

export type FloatArray = Float32Array | Float64Array;

/** Output height P and width Q of a convolution. */
export function convOutputSize(shape: ConvShape): { P: number; Q: number } {
  const P = Math.floor((shape.H + 2 * shape.pad - shape.R) / shape.stride) + 1;
  const Q = Math.floor((shape.W + 2 * shape.pad - shape.S) / shape.stride) + 1;
  return { P, Q };
}

/** Direct-convolution flop count, 2*N*K*C*R*S*P*Q: the numerator of every "effective GFLOP/s". */
export function convDirectFlops(shape: ConvShape): number {
  const { P, Q } = convOutputSize(shape);
  return 2 * shape.N * shape.K * shape.C * shape.R * shape.S * P * Q;
}

/**
 * Throws an Error naming the offending field when `shape` is not a valid convolution shape:
 * every dimension a positive integer, pad a non-negative integer, and the padded input at least as
 * large as the kernel (so P, Q >= 1).
 */
export function validateConvShape(shape: ConvShape, what = 'shape'): void {
  for (const key of ['N', 'C', 'H', 'W', 'K', 'R', 'S', 'stride'] as const) {
    const value = shape[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new Error(`${what}.${key} must be a positive integer, got ${String(value)}`);
    }
  }
  if (!Number.isSafeInteger(shape.pad) || shape.pad < 0) {
    throw new Error(`${what}.pad must be a non-negative integer, got ${String(shape.pad)}`);
  }
  if (shape.H + 2 * shape.pad < shape.R || shape.W + 2 * shape.pad < shape.S) {
    throw new Error(
      `${what}: kernel ${shape.R}x${shape.S} is larger than the padded input ` +
        `${shape.H + 2 * shape.pad}x${shape.W + 2 * shape.pad}`,
    );
  }
}

function expectLength(name: string, array: ArrayLike<number>, expected: number, dims: string): void {
  if (array.length !== expected) {
    throw new Error(`${name} has ${array.length} elements, expected ${expected} (${dims})`);
  }
}

/**
 * fp64 reference convolution. Returns the NCHW output [N,K,P,Q] as a Float64Array.
 * Throws when the shape is invalid or an array's length does not match it.
 */
export function referenceConv2d(
  input: FloatArray,
  weight: FloatArray,
  bias: FloatArray | undefined,
  shape: ConvShape,
): Float64Array {
  validateConvShape(shape);
  const { N, C, H, W, K, R, S, stride, pad } = shape;
  const { P, Q } = convOutputSize(shape);
  expectLength('input', input, N * C * H * W, `N*C*H*W = ${N}*${C}*${H}*${W}`);
  expectLength('weight', weight, K * C * R * S, `K*C*R*S = ${K}*${C}*${R}*${S}`);
  if (bias !== undefined) expectLength('bias', bias, K, `K = ${K}`);

  const output = new Float64Array(N * K * P * Q);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const outBase = (n * K + k) * P * Q;
      const b = bias === undefined ? 0 : bias[k];
      for (let p = 0; p < P; p++) {
        for (let q = 0; q < Q; q++) {
          let sum = b;
          for (let c = 0; c < C; c++) {
            const inBase = (n * C + c) * H * W;
            const wBase = (k * C + c) * R * S;
            for (let r = 0; r < R; r++) {
              const y = p * stride - pad + r;
              if (y < 0 || y >= H) continue;
              for (let s = 0; s < S; s++) {
                const x = q * stride - pad + s;
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
