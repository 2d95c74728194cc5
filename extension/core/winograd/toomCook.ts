/**
 * Toom-Cook / Winograd minimal filtering F(m, r) in exact rationals.
 *
 * The algorithm evaluates the filter polynomial g(x) (degree r-1) and the output polynomial
 * (degree m-1) at alpha = m + r - 1 points, multiplies pointwise, and interpolates. In matrix form
 * the linear convolution is c = V^-1 [(V_r g) . (V_m h)], where V_c is the alpha x c Vandermonde
 * matrix of the points (rows x_i^0 .. x_i^(c-1); the point at infinity contributes the row
 * e_(c-1), the leading coefficient). Correlation, what a CNN layer computes, is the transpose of
 * that bilinear map with respect to h (Winograd's transposition principle):
 *     y = V_m^T [(V_r g) . (V^-T d)],  so  AT = V_m^T,  G = V_r,  BT = V^-T.
 *
 * V^-1 comes from Lagrange interpolation: column i is the coefficient vector of
 * L_i(x) = prod_(k != i) (x - a_k) divided by f_i = prod_(k != i) (a_i - a_k). With the point at
 * infinity the remaining alpha - 1 finite points interpolate, and the last column of V^-1 holds
 * the coefficients of -(x^(alpha-1) - prod_k (x - a_k)).
 *
 * The Lagrange denominators f_i are moved out of BT into G (default), A, or left in B, exactly as
 * andravin/wincnn 2.0's cookToomFilter does, including its sign rule: if the first denominator
 * f_0 is negative it is negated before being moved, so the first row of BT starts positive.
 */
import type { FractionsIn } from '../../shared/payloads';
import { ONE, ZERO, type Rational, type RationalMatrix, formatRational, parseRational, transpose } from './rational';
import { defaultPointsFor } from './points';

/** Largest alpha = m + r - 1 accepted; beyond it entries grow past anything a float kernel can use. */
export const MAX_ALPHA = 32;

export interface ToomCookMatrices {
  /** m x alpha */
  AT: RationalMatrix;
  /** alpha x r */
  G: RationalMatrix;
  /** alpha x alpha */
  BT: RationalMatrix;
  /** The finite points used, in order. */
  points: Rational[];
  infinity: boolean;
  fractionsIn: FractionsIn;
  m: number;
  r: number;
  alpha: number;
}

export interface ToomCookOptions {
  points?: readonly string[];
  /** Use the point at infinity (modified Toom-Cook); default true. */
  infinity?: boolean;
  fractionsIn?: FractionsIn;
}

/** Validates m and r and returns alpha. `label` prefixes messages ("m", "n", ...). */
export function checkSize(m: number, r: number, names: [string, string] = ['m', 'r']): number {
  for (const [name, value] of [
    [names[0], m],
    [names[1], r],
  ] as const) {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new Error(`${name} must be a whole number >= 1, got ${String(value)}`);
    }
    if (value < 1) throw new Error(`${name} must be >= 1, got ${value}`);
  }
  const alpha = m + r - 1;
  if (alpha > MAX_ALPHA) {
    throw new Error(
      `alpha = ${names[0]} + ${names[1]} - 1 = ${alpha} is too large: the maximum is ${MAX_ALPHA} (F(${m},${r}))`,
    );
  }
  return alpha;
}

/** Parses and checks the finite points for F(m, r): count, numbers, distinctness. */
export function resolvePoints(
  m: number,
  r: number,
  points: readonly string[] | undefined,
  infinity: boolean,
): Rational[] {
  const alpha = checkSize(m, r);
  const needed = infinity ? alpha - 1 : alpha;
  const texts = points ?? defaultPointsFor(alpha, infinity);
  if (!Array.isArray(texts)) throw new Error('points must be a list of numbers such as ["0", "1", "-1", "1/2"]');
  const parsed = texts.map((text, index) => {
    if (typeof text !== 'string') {
      throw new Error(`interpolation point ${index + 1} (${String(text)}) must be given as text such as "1/2"`);
    }
    return parseRational(text, `interpolation point ${index + 1}`);
  });
  if (parsed.length !== needed) {
    const rule = infinity
      ? `alpha - 1 = ${needed} finite points (the point at infinity is the alpha-th)`
      : `alpha = ${needed} finite points (no point at infinity)`;
    const problem = parsed.length < needed ? 'too few' : 'too many';
    throw new Error(
      `${problem} interpolation points for F(${m},${r}): alpha = ${alpha} needs ${rule}, got ${parsed.length} (${texts.join(', ') || 'none'})`,
    );
  }
  const duplicate = duplicatePointsProblem(texts, parsed);
  if (duplicate) throw new Error(duplicate);
  return parsed;
}

/** The first pair of equal points (as typed and as parsed, index for index), or undefined when all differ. */
export function duplicatePointsProblem(texts: readonly string[], parsed: readonly Rational[]): string | undefined {
  for (let i = 0; i < parsed.length; i++) {
    for (let j = 0; j < i; j++) {
      if (parsed[i]!.equals(parsed[j]!)) {
        const same = texts[i] === texts[j] ? `"${texts[i]}" appears twice` : `"${texts[j]}" and "${texts[i]}" are equal`;
        return `duplicate interpolation points: ${same} (points must be distinct)`;
      }
    }
  }
  return undefined;
}

/** Coefficients (lowest degree first) of prod_k (x - roots_k). */
function polynomialFromRoots(roots: readonly Rational[]): Rational[] {
  let coefficients: Rational[] = [ONE];
  for (const root of roots) {
    const next: Rational[] = new Array<Rational>(coefficients.length + 1).fill(ZERO);
    for (let j = 0; j < coefficients.length; j++) {
      next[j + 1] = next[j + 1]!.add(coefficients[j]!);
      next[j] = next[j]!.sub(coefficients[j]!.mul(root));
    }
    coefficients = next;
  }
  return coefficients;
}

/** P(x) / (x - root) for a root of P, by synthetic division; lowest degree first. */
function divideByRoot(polynomial: readonly Rational[], root: Rational): Rational[] {
  const degree = polynomial.length - 1;
  const quotient: Rational[] = new Array<Rational>(degree).fill(ZERO);
  let carry = ZERO;
  for (let j = degree; j >= 1; j--) {
    carry = polynomial[j]!.add(carry.mul(root));
    quotient[j - 1] = carry;
  }
  return quotient;
}

/** alpha x columns Vandermonde matrix of the points, with the row e_(columns-1) for infinity. */
function vandermonde(points: readonly Rational[], infinity: boolean, columns: number): RationalMatrix {
  const rows: RationalMatrix = points.map((point) => {
    const row: Rational[] = [];
    let power = ONE;
    for (let j = 0; j < columns; j++) {
      row.push(power);
      power = power.mul(point);
    }
    return row;
  });
  if (infinity) rows.push(Array.from({ length: columns }, (_, j) => (j === columns - 1 ? ONE : ZERO)));
  return rows;
}

/** The exact transform matrices of F(m, r). */
export function toomCook(m: number, r: number, options: ToomCookOptions = {}): ToomCookMatrices {
  const infinity = options.infinity ?? true;
  const fractionsIn: FractionsIn = options.fractionsIn ?? 'G';
  if (!['G', 'A', 'B'].includes(fractionsIn)) {
    throw new Error(`fractionsIn must be G, A or B, got "${String(fractionsIn)}"`);
  }
  const alpha = checkSize(m, r);
  const points = resolvePoints(m, r, options.points, infinity);
  const finiteCount = points.length;

  const nodePolynomial = polynomialFromRoots(points);
  // BT = V^-T: row i < finiteCount holds the coefficients of L_i(x) / f_i.
  const lagrangeNumerators = points.map((point) => divideByRoot(nodePolynomial, point));
  const denominators = points.map((point, i) =>
    points.reduce((product, other, k) => (k === i ? product : product.mul(point.sub(other))), ONE),
  );
  const unscaledBT: RationalMatrix = [];
  for (let i = 0; i < finiteCount; i++) {
    const row = lagrangeNumerators[i]!.map((c) => c.div(denominators[i]!));
    if (infinity) row.push(ZERO);
    unscaledBT.push(row);
  }
  if (infinity) {
    // Interpolating x^(alpha-1) at the finite points leaves x^(alpha-1) - prod_k (x - a_k).
    const row = nodePolynomial.slice(0, finiteCount);
    row.push(ONE);
    unscaledBT.push(row);
  }

  // Diagonal scale f: Lagrange denominators (1 for the point at infinity), first one made positive.
  const scale: Rational[] = denominators.slice();
  if (infinity) scale.push(ONE);
  if (scale[0]!.compare(ZERO) < 0) scale[0] = scale[0]!.neg();

  const outputV = vandermonde(points, infinity, m);
  const filterV = vandermonde(points, infinity, r);
  let AT = transpose(outputV);
  let G = filterV;
  let BT = unscaledBT;
  if (fractionsIn === 'G') {
    G = filterV.map((row, i) => row.map((value) => value.div(scale[i]!)));
    BT = unscaledBT.map((row, i) => row.map((value) => value.mul(scale[i]!)));
  } else if (fractionsIn === 'A') {
    AT = AT.map((row) => row.map((value, j) => value.div(scale[j]!)));
    BT = unscaledBT.map((row, i) => row.map((value) => value.mul(scale[i]!)));
  }
  return { AT, G, BT, points, infinity, fractionsIn, m, r, alpha };
}

export function pointStrings(points: readonly Rational[]): string[] {
  return points.map(formatRational);
}
