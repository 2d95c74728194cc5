/**
 * Exact rational helpers on top of mathjs's Fraction (fraction.js 5, BigInt numerator and
 * denominator). Generation never touches floating point: points are parsed from text straight into
 * BigInt fractions, and matrices leave this module as exact strings such as "-1/6".
 */
import { Fraction } from 'mathjs';

export type Rational = Fraction;
export type RationalMatrix = Rational[][];

export const ZERO: Rational = new Fraction(0n, 1n);
export const ONE: Rational = new Fraction(1n, 1n);

/** An integer, a fraction a/b, or a finite decimal; optional sign; surrounding blanks allowed. */
const RATIONAL_TEXT = /^\s*([+-]?)(?:(\d+)\s*\/\s*(\d+)|(\d+)(?:\.(\d*))?|\.(\d+))\s*$/;

/**
 * Parses a point given by the user. `what` names the argument in error messages
 * (for example `interpolation point 3`).
 */
export function parseRational(text: string, what = 'value'): Rational {
  const match = RATIONAL_TEXT.exec(text);
  if (!match) {
    throw new Error(
      `${what} "${text}" is not a number: expected an integer, a fraction such as -1/2, or a decimal such as 0.625`,
    );
  }
  const negative = match[1] === '-';
  let numerator: bigint;
  let denominator: bigint;
  if (match[2] !== undefined && match[3] !== undefined) {
    numerator = BigInt(match[2]);
    denominator = BigInt(match[3]);
    if (denominator === 0n) throw new Error(`${what} "${text}" divides by zero`);
  } else {
    const integerPart = match[4] ?? '0';
    const decimals = match[5] ?? match[6] ?? '';
    numerator = BigInt(integerPart + decimals);
    denominator = 10n ** BigInt(decimals.length);
  }
  return new Fraction(negative ? -numerator : numerator, denominator);
}

/** Exact text: "3", "-1/6". */
export function formatRational(value: Rational): string {
  return value.toFraction();
}

export function isZero(value: Rational): boolean {
  return value.n === 0n;
}

/** True for +1 and -1: entries a transform applies with an addition or subtraction only. */
export function isUnit(value: Rational): boolean {
  return value.n === 1n && value.d === 1n;
}

export function isNegative(value: Rational): boolean {
  return value.s < 0n && value.n !== 0n;
}

/**
 * Nearest double to the exact value. Used only where a float is the point (export of float
 * constants, numerical-error simulation), never during generation. Computed from the BigInt
 * numerator and denominator so that huge entries of large-alpha transforms do not lose the
 * rounding that `Number(n) / Number(d)` would add twice.
 */
export function rationalToNumber(value: Rational): number {
  const sign = value.s < 0n ? -1 : 1;
  const n = value.n;
  const d = value.d;
  if (d === 1n) return sign * Number(n);
  // Scale so that the integer quotient carries 64+ significant bits, then divide once.
  const shift = Math.max(0, 64 - (bitLength(n) - bitLength(d)));
  const quotient = (n << BigInt(shift)) / d;
  const remainder = (n << BigInt(shift)) % d;
  // Sticky bit so the final conversion rounds correctly rather than truncating.
  const sticky = remainder === 0n ? 0n : 1n;
  return sign * Number((quotient << 1n) | sticky) * 2 ** (-shift - 1);
}

function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

export function toStringMatrix(matrix: RationalMatrix): string[][] {
  return matrix.map((row) => row.map(formatRational));
}

export function fromStringMatrix(matrix: string[][], what: string): RationalMatrix {
  return matrix.map((row, i) => row.map((text, j) => parseRational(text, `${what}[${i}][${j}]`)));
}

export function transpose<T>(matrix: T[][]): T[][] {
  if (matrix.length === 0) return [];
  return matrix[0]!.map((_, j) => matrix.map((row) => row[j]!));
}
