/**
 * Checks of what a user types into the palette's input boxes, run on every keystroke
 * (`InputBox.validateInput`). Each returns the problem as the box shows it under the text, or
 * undefined when the text is fine, and each has a parser that the command uses once the box is
 * accepted, so what is accepted is exactly what was checked. Pure: the surfaces only wire them.
 */
import type { ConvShape } from '../shared/payloads';
import { parseConvShape } from './bench/layers';
import { checkInputShape } from './model/readModel';
import { defaultPointsFor } from './winograd/points';
import { parseRational, type Rational } from './winograd/rational';
import { MAX_ALPHA, checkSize, duplicatePointsProblem } from './winograd/toomCook';

/** What is wrong with typed text, or undefined when it is fine. */
export type InputProblem = string | undefined;

function problemOf(check: () => unknown): InputProblem {
  try {
    check();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** A whole number from `min` to `max`; blanks around it allowed. Throws with the rule otherwise. */
export function parseWholeNumber(text: string, min: number, max: number, what = 'value'): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) throw new Error(`${what} must be a whole number from ${min} to ${max}${trimmed ? `, not '${trimmed}'` : ''}`);
  const value = Number(trimmed);
  if (value < min || value > max) throw new Error(`${what} must be from ${min} to ${max}, not ${value}`);
  return value;
}

export function wholeNumberProblem(text: string, min: number, max: number, what?: string): InputProblem {
  return problemOf(() => parseWholeNumber(text, min, max, what));
}

/** The largest output tile m that leaves room for a filter of at least 2 taps (alpha <= MAX_ALPHA). */
export const MAX_TILE_M = MAX_ALPHA - 1;

/** The largest filter size r that F(m, r) allows (alpha = m + r - 1 <= MAX_ALPHA). */
export function maxFilterSize(m: number): number {
  return MAX_ALPHA + 1 - m;
}

/** The output tile size m of F(m, r), typed before r is known. */
export function tileSizeProblem(text: string): InputProblem {
  return wholeNumberProblem(text, 1, MAX_TILE_M, 'm');
}

/** The filter size r of F(m, r) for a chosen m. */
export function filterSizeProblem(text: string, m: number): InputProblem {
  return problemOf(() => checkSize(m, parseWholeNumber(text, 1, maxFilterSize(m), 'r')));
}

/** How many finite points F(m, r) needs: alpha - 1 with the point at infinity, alpha without. */
export function finitePointsNeeded(m: number, r: number, infinity = true): number {
  const alpha = checkSize(m, r);
  return infinity ? alpha - 1 : alpha;
}

/** Splits typed points at commas; empty pieces (a trailing comma while typing) are dropped. */
export function splitPoints(text: string): string[] {
  return text
    .split(',')
    .map((piece) => piece.trim())
    .filter(Boolean);
}

/**
 * Typed interpolation points for F(m, r): each a number, all distinct, as many as the size needs.
 * Checked in the order a typist meets them: a bad number first, then a repeat, then the count.
 */
export function pointsProblem(text: string, m: number, r: number, infinity = true): InputProblem {
  const texts = splitPoints(text);
  const parsed: Rational[] = [];
  for (const [index, point] of texts.entries()) {
    const problem = problemOf(() => parsed.push(parseRational(point, `point ${index + 1}`)));
    if (problem) return problem;
  }
  const duplicate = duplicatePointsProblem(texts, parsed);
  if (duplicate) return duplicate;
  const needed = finitePointsNeeded(m, r, infinity);
  if (texts.length !== needed) {
    const rule = infinity ? ' (the point at infinity is added)' : '';
    return `F(${m}, ${r}) needs ${needed} distinct points${rule}: ${texts.length} given`;
  }
  return undefined;
}

/** An example with exactly as many points as F(m, r) needs: its default (best published) set. */
export function pointsPlaceholder(m: number, r: number, infinity = true): string {
  return defaultPointsFor(checkSize(m, r), infinity).join(', ');
}

/** N,C,H,W,K,R,S[,stride,pad[,groups[,dilation]]] as the benchmark takes it. */
export function convShapeProblem(text: string): InputProblem {
  return problemOf(() => parseConvShape(text, 'shape'));
}

export function parseConvShapeText(text: string): ConvShape {
  return parseConvShape(text, 'shape');
}

/** A share of zeros to prune to: 0 <= s < 1. */
export function parseSparsityTarget(text: string): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new Error(`the target must be a share of zeros from 0 up to (not including) 1, such as 0.5${text.trim() ? `, not '${text.trim()}'` : ''}`);
  }
  return value;
}

export function sparsityTargetProblem(text: string): InputProblem {
  return problemOf(() => parseSparsityTarget(text));
}

/** An input size HxW (also H×W or H,W, or one number for a square); up to 65536 on a side. */
export function parseInputSize(text: string): { height: number; width: number } {
  const match = /^\s*(\d+)\s*(?:[x×X,]\s*(\d+)\s*)?$/.exec(text);
  if (!match) throw new Error(`the input size must be HxW such as 224x224${text.trim() ? `, not '${text.trim()}'` : ''}`);
  const height = Number(match[1]);
  const width = Number(match[2] ?? match[1]);
  for (const side of [height, width]) {
    if (side < 1 || side > 65536) throw new Error(`each side of the input size must be from 1 to 65536, not ${side}`);
  }
  return { height, width };
}

export function inputSizeProblem(text: string): InputProblem {
  return problemOf(() => parseInputSize(text));
}

/** A model's input shape, 2 to 5 whole numbers in the file's own axis order (1,3,224,224): what the model request checks. */
export function parseModelInput(text: string): number[] {
  const parts = text.split(/[,x×\s]+/).filter((part) => part !== '');
  if (parts.length === 0 || parts.some((part) => !/^\d+$/.test(part))) throw new Error(`the input shape is whole numbers separated by commas, such as 1,3,224,224${text.trim() ? `, not '${text.trim()}'` : ''}`);
  const shape = parts.map(Number);
  const problem = checkInputShape(shape);
  if (problem) throw new Error(problem);
  return shape;
}

export function modelInputProblem(text: string): InputProblem {
  return problemOf(() => parseModelInput(text));
}
