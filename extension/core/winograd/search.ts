/**
 * Search for interpolation points that minimise the measured error of F(m, r).
 *
 * Deterministic: every candidate is scored by the same simulated tiles (one fixed seed, "common
 * random numbers"), so differences between candidates are not drowned by sampling noise, and the
 * enumeration order is fixed. Three stages:
 *  1. Symmetric families: {0, +-c1, +-c2, ...} (and for an even count, pairs only, or pairs plus
 *     0 and one lone point), the magnitudes drawn from small rationals p/q (p, q <= 5 and a few
 *     eighths) which include the reciprocal families {+-c, +-1/c}. When there are more
 *     combinations than the screening budget, a seeded sample of them is screened.
 *  2. Local refinement of the best few: each magnitude in turn is replaced by nearby rationals
 *     with denominators up to 16 (coordinate descent), scored with more tiles.
 *  3. The winner and the baseline are measured again on fresh tiles (another seed) with many
 *     trials, so the reported improvement is not biased by the selection. When the request leaves
 *     `fractionsIn` open, both sets are measured with the fractions in G, A and B and each keeps
 *     its best placement (the baseline too, so the comparison stays fair).
 * Only exact matrices are returned: points are rationals and the result is generateWinograd's.
 */
import type { FractionsIn, Precision, WinogradResult } from '../../shared/payloads';
import type { WinogradRequest } from '../../shared/requests';
import { measureError } from './error';
import { buildAlgorithms, generateWinograd } from './generate';
import { ONE, type Rational, formatRational, parseRational } from './rational';
import { defaultPointsFor } from './points';
import { Fraction } from 'mathjs';
import { mulberry32 } from '../random';

export interface SearchOptions {
  onProgress?(fraction: number, message: string): void;
  signal?: AbortSignal;
  /**
   * Wall-clock budget for stages 1 and 2 in milliseconds (default 50000). The work itself is
   * fixed (F(6,3): about 10 s of one core), so the search is deterministic whenever it finishes
   * within the budget; when the budget cuts it short (a loaded machine, large alpha) the summary
   * says so with `budgetExhausted` and the result depends on the machine's speed.
   */
  budgetMs?: number;
  /** Candidates screened in stage 1 at most (default 400). */
  screenBudget?: number;
}

const SCREEN_TRIALS = 60;
const REFINE_TRIALS = 500;
/** Fresh tiles for the final comparison: 3000 at alpha 8, fewer for larger tiles (cost grows as alpha^3). */
function finalTrials(alpha: number): number {
  return Math.max(300, Math.min(3000, Math.round(3000 * (8 / alpha) ** 3)));
}
const SEARCH_SEED = 7;
const FINAL_SEED = 1;

/** Magnitudes of the screening pool: p/q with p, q <= 5, plus eighths near 1, in (0, 5]. */
function magnitudePool(): Rational[] {
  const pool: Rational[] = [];
  const add = (value: Rational): void => {
    if (!pool.some((other) => other.equals(value))) pool.push(value);
  };
  for (let q = 1; q <= 5; q++) for (let p = 1; p <= 5; p++) add(new Fraction(BigInt(p), BigInt(q)));
  for (const p of [3, 5, 7, 9, 11, 13]) add(new Fraction(BigInt(p), 8n));
  return pool.sort((a, b) => a.compare(b));
}

/** Deterministic PRNG for sampling combinations. */
const sampler = mulberry32;

function combinations(size: number, choose: number, limit: number, seed: number): number[][] {
  const total = binomial(size, choose);
  const result: number[][] = [];
  if (choose === 0) return [[]];
  if (total <= limit) {
    const current: number[] = [];
    const walk = (start: number): void => {
      if (current.length === choose) {
        result.push([...current]);
        return;
      }
      for (let i = start; i < size; i++) {
        current.push(i);
        walk(i + 1);
        current.pop();
      }
    };
    walk(0);
    return result;
  }
  const random = sampler(seed);
  const seen = new Set<string>();
  for (let attempt = 0; result.length < limit && attempt < limit * 20; attempt++) {
    const picked = new Set<number>();
    while (picked.size < choose) picked.add(Math.floor(random() * size));
    const sorted = [...picked].sort((a, b) => a - b);
    const key = sorted.join(',');
    if (!seen.has(key)) {
      seen.add(key);
      result.push(sorted);
    }
  }
  return result;
}

function binomial(n: number, k: number): number {
  let value = 1;
  for (let i = 0; i < k; i++) value = (value * (n - i)) / (i + 1);
  return Math.round(value);
}

interface Candidate {
  /** Magnitudes of the +-pairs. */
  pairs: Rational[];
  /** Whether 0 is a point. */
  zero: boolean;
  /** A point without its negative (even counts with 0), or none. */
  lone?: Rational;
}

function pointsOf(candidate: Candidate): string[] {
  const points: string[] = candidate.zero ? ['0'] : [];
  for (const c of candidate.pairs) points.push(formatRational(c), formatRational(c.neg()));
  if (candidate.lone) points.push(formatRational(candidate.lone));
  return points;
}

function sameSet(a: Candidate, b: Candidate): boolean {
  return pointsOf(a).slice().sort().join(' ') === pointsOf(b).slice().sort().join(' ');
}

/** The symmetric shape of a point list ({0?} + pairs +-c + at most one lone point), if it has one. */
function candidateFromPoints(texts: readonly string[]): Candidate | undefined {
  const values = texts.map((text, i) => parseRational(text, `interpolation point ${i + 1}`));
  const zero = values.some((value) => value.n === 0n);
  const pairs: Rational[] = [];
  const lone: Rational[] = [];
  for (const value of values) {
    if (value.n === 0n) continue;
    const hasMirror = values.some((other) => other.equals(value.neg()));
    if (!hasMirror) lone.push(value);
    else if (value.compare(0) > 0) pairs.push(value);
  }
  if (lone.length > 1) return undefined;
  return lone.length === 1 ? { zero, pairs, lone: lone[0] } : { zero, pairs };
}

function isValid(candidate: Candidate): boolean {
  const values = pointsOf(candidate);
  return new Set(values).size === values.length;
}

/** Rationals p/q (q <= 16) within 30% of c, closest first, at most `count`. */
function neighbours(c: Rational, count: number): Rational[] {
  const target = c.valueOf();
  const found: Rational[] = [];
  for (let q = 1; q <= 16; q++) {
    const centre = Math.round(target * q);
    for (let p = Math.max(1, centre - 1); p <= centre + 1; p++) {
      const value = new Fraction(BigInt(p), BigInt(q));
      if (value.equals(c) || Math.abs(value.valueOf() - target) > 0.3 * target) continue;
      if (!found.some((other) => other.equals(value))) found.push(value);
    }
  }
  return found.sort((a, b) => Math.abs(a.valueOf() - target) - Math.abs(b.valueOf() - target)).slice(0, count);
}

function abortError(): Error {
  const error = new Error('point search cancelled');
  error.name = 'AbortError';
  return error;
}

/**
 * Searches the finite points of the request's F(m, r) (the first dimension of F(m x n, r x s)),
 * scoring the whole 2-D tile, and returns the best set's exact result with a `search` summary.
 */
export async function searchPoints(request: WinogradRequest, options: SearchOptions = {}): Promise<WinogradResult> {
  // Builds the requested algorithm once so that bad sizes or points fail before any work.
  buildAlgorithms(request);
  const started = Date.now();
  const precision: Precision = request.precision ?? 'fp32';
  const infinity = request.infinity ?? true;
  const fractionsIn = request.fractionsIn ?? 'G';
  const { m, r } = request;
  const alpha = m + r - 1;
  const count = infinity ? alpha - 1 : alpha;
  const budgetMs = options.budgetMs ?? 50000;
  const screenBudget = options.screenBudget ?? 1500;
  const baselinePoints = request.points ?? defaultPointsFor(alpha, infinity);
  // Progress never goes backwards, even when a refinement round starts over.
  let reported = 0;
  const report = (fraction: number, message: string): void => {
    reported = Math.max(reported, Math.min(1, Math.max(0, fraction)));
    options.onProgress?.(reported, message);
  };
  let lastYield = Date.now();
  const checkpoint = async (): Promise<void> => {
    if (options.signal?.aborted) throw abortError();
    if (Date.now() - lastYield > 20) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = Date.now();
      if (options.signal?.aborted) throw abortError();
    }
  };

  let budgetExhausted = false;
  const cache = new Map<string, number>();
  let evaluated = 0;
  const score = (points: readonly string[], trials: number, seed: number, placement: FractionsIn = fractionsIn): number => {
    // The order of the points is part of the key: it orders the output transform's sums (AT's
    // columns), which alone moves F(6,3)'s fp32 error by 7% (see POINTS.md).
    const key = `${placement}:${trials}:${seed}:${points.join(' ')}`;
    const known = cache.get(key);
    if (known !== undefined) return known;
    // The whole requested tile is measured: for F(m x n, r x s) the second dimension shares the
    // points when it has the same alpha and keeps its defaults otherwise (as generateWinograd does).
    const { first, second } = buildAlgorithms({ ...request, points: [...points], infinity, fractionsIn: placement });
    const measured = measureError({ AT: first.AT, G: first.G, BT: first.BT, second }, { precision, trials, seed });
    // Overflowing sets (fp16) are never better than finite ones.
    const value = measured.nonFiniteOutputs ? Number.MAX_VALUE : measured.meanMultiple;
    cache.set(key, value);
    evaluated++;
    return value;
  };

  // Stage 1: symmetric families.
  report(0, `F(${m},${r}): screening symmetric point families in ${precision}`);
  const pool = magnitudePool();
  const shapes: { zero: boolean; pairs: number; lone: boolean }[] = [];
  if (count % 2 === 1) {
    shapes.push({ zero: true, pairs: (count - 1) / 2, lone: false });
    if (count >= 3) shapes.push({ zero: false, pairs: (count - 1) / 2, lone: true });
  } else {
    shapes.push({ zero: false, pairs: count / 2, lone: false });
    if (count >= 2) shapes.push({ zero: true, pairs: (count - 2) / 2, lone: true });
  }
  const candidates: Candidate[] = [];
  for (const shape of shapes) {
    const perShape = Math.max(1, Math.floor(screenBudget / shapes.length));
    if (shape.lone) {
      // Next to 0, one lone point from the simplest values; without 0, the lone point is any of the pool.
      const loneMagnitudes = shape.zero ? [ONE, new Fraction(1n, 2n), new Fraction(2n, 1n)] : pool;
      const lonePool = loneMagnitudes.flatMap((value) => [value, value.neg()]);
      const perLone = Math.max(1, Math.floor(perShape / lonePool.length));
      for (const lone of lonePool) {
        for (const picked of combinations(pool.length, shape.pairs, perLone, SEARCH_SEED)) {
          candidates.push({ zero: shape.zero, pairs: picked.map((i) => pool[i]!), lone });
        }
      }
    } else {
      for (const picked of combinations(pool.length, shape.pairs, perShape, SEARCH_SEED)) {
        candidates.push({ zero: shape.zero, pairs: picked.map((i) => pool[i]!) });
      }
    }
  }
  const screened: { candidate: Candidate; error: number }[] = [];
  // Screening may use 60% of the budget; the rest is kept for refinement.
  const screeningDeadline = started + budgetMs * 0.6;
  for (let i = 0; i < candidates.length; i++) {
    const candidate = candidates[i]!;
    if (!isValid(candidate)) continue;
    screened.push({ candidate, error: score(pointsOf(candidate), SCREEN_TRIALS, SEARCH_SEED) });
    if (i % 8 === 0) {
      report(0.5 * (i / candidates.length), `screened ${i + 1}/${candidates.length} candidate sets`);
      await checkpoint();
      if (Date.now() > screeningDeadline) {
        budgetExhausted = true;
        break;
      }
    }
  }
  screened.sort((a, b) => a.error - b.error);

  // Stage 2: coordinate descent around the best few, and around the baseline when it has the
  // symmetric shape (refining a published set is often the quickest win).
  const starts = screened.slice(0, 4).map((entry) => entry.candidate);
  const baselineCandidate = candidateFromPoints(baselinePoints);
  if (baselineCandidate && !starts.some((start) => sameSet(start, baselineCandidate))) starts.push(baselineCandidate);
  const refined: { candidate: Candidate; error: number }[] = [];
  const deadline = started + budgetMs;
  const timeLeft = (): boolean => {
    if (Date.now() < deadline) return true;
    budgetExhausted = true;
    return false;
  };
  for (let s = 0; s < starts.length; s++) {
    let current = starts[s]!;
    let currentError = score(pointsOf(current), REFINE_TRIALS, SEARCH_SEED);
    let improved = true;
    for (let round = 0; improved && round < 6 && timeLeft(); round++) {
      improved = false;
      const slots = current.pairs.length + (current.lone ? 1 : 0);
      for (let slot = 0; slot < slots && timeLeft(); slot++) {
        const isLone = slot === current.pairs.length;
        const original = isLone ? current.lone! : current.pairs[slot]!;
        const magnitude = original.abs();
        for (const replacement of neighbours(magnitude, 8)) {
          const value = isLone && original.compare(0) < 0 ? replacement.neg() : replacement;
          const trial: Candidate = isLone
            ? { ...current, lone: value }
            : { ...current, pairs: current.pairs.map((c, i) => (i === slot ? value : c)) };
          if (!isValid(trial)) continue;
          const error = score(pointsOf(trial), REFINE_TRIALS, SEARCH_SEED);
          if (error < currentError) {
            current = trial;
            currentError = error;
            improved = true;
          }
          await checkpoint();
        }
        report(0.5 + 0.45 * ((s + (slot + 1) / Math.max(1, slots) / 6) / starts.length), `refining set ${s + 1}/${starts.length}: best ${currentError.toFixed(2)}x direct`);
      }
    }
    refined.push({ candidate: current, error: currentError });
  }
  refined.sort((a, b) => a.error - b.error);

  // Stage 2b: break the symmetry: move single nonzero points of the best set.
  let bestPoints = refined[0] ? pointsOf(refined[0].candidate) : screened[0] ? pointsOf(screened[0].candidate) : [...baselinePoints];
  let bestSearchError = score(bestPoints, REFINE_TRIALS, SEARCH_SEED);
  let moved = true;
  for (let round = 0; moved && round < 4 && timeLeft(); round++) {
    moved = false;
    for (let index = 0; index < bestPoints.length && timeLeft(); index++) {
      const original = parseRational(bestPoints[index]!);
      if (original.n === 0n) continue;
      for (const replacement of neighbours(original.abs(), 6)) {
        const value = original.compare(0) < 0 ? replacement.neg() : replacement;
        const trial = bestPoints.map((text, i) => (i === index ? formatRational(value) : text));
        if (new Set(trial).size !== trial.length) continue;
        const error = score(trial, REFINE_TRIALS, SEARCH_SEED);
        if (error < bestSearchError) {
          bestPoints = trial;
          bestSearchError = error;
          moved = true;
        }
        await checkpoint();
      }
      report(0.9, `moving single points: best ${bestSearchError.toFixed(2)}x direct`);
    }
  }

  // Stage 3: unbiased comparison on fresh tiles. Unless the request fixes where the fractions go,
  // each placement is tried for both sets (it changes the rounding, not the algorithm).
  report(0.95, 'measuring the best set and the baseline on fresh tiles');
  await checkpoint();
  const placements: FractionsIn[] = request.fractionsIn ? [request.fractionsIn] : ['G', 'A', 'B'];
  const baselineExact = baselinePoints.map((text, i) => formatRational(parseRational(text, `interpolation point ${i + 1}`)));
  const bestPlacement = async (points: readonly string[]): Promise<{ placement: FractionsIn; error: number }> => {
    let best = { placement: placements[0]!, error: Number.POSITIVE_INFINITY };
    for (const placement of placements) {
      const error = score(points, finalTrials(alpha), FINAL_SEED, placement);
      if (error < best.error) best = { placement, error };
      await checkpoint();
    }
    return best;
  };
  const baseline = await bestPlacement(baselineExact);
  let best = await bestPlacement(bestPoints);
  if (!(best.error < baseline.error)) {
    bestPoints = [...baselinePoints];
    best = baseline;
  }
  const baselineError = baseline.error;
  const bestError = best.error;
  await checkpoint();
  const result = generateWinograd({ ...request, points: bestPoints, fractionsIn: best.placement, search: false });
  result.search = {
    precision,
    candidatesEvaluated: evaluated,
    elapsedMs: Date.now() - started,
    baselinePoints: [...baselinePoints],
    baselineError,
    bestError,
    improvement: 1 - bestError / baselineError,
    budgetExhausted,
  };
  report(1, `best ${bestPoints.join(', ')}: ${bestError.toFixed(2)}x direct (baseline ${baselineError.toFixed(2)}x)`);
  return result;
}
