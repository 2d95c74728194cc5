/**
 * Default interpolation points per alpha (the number of points, counting infinity).
 *
 * With the point at infinity (modified Toom-Cook, the default), F(m, r) needs alpha - 1 = m + r - 2
 * finite points. The sets below, keyed by alpha, are:
 *
 * - alpha 2..4: {0}, {0, -1}, {0, 1, -1}: Lavin & Gray, "Fast Algorithms for Convolutional Neural
 *   Networks" (CVPR 2016) use {0, 1, -1} for F(2,3); smaller sets are its prefixes.
 * - alpha 5: {0, 1, -1, 1/2}: Barabasz, Anderson, Soodhalter & Gregg, "Error analysis and improving
 *   the accuracy of Winograd convolution for deep neural networks" (ACM TOMS 2020), which shows
 *   that after 0 and +-1 the reciprocal pair 2, 1/2 keeps the Vandermonde matrix best conditioned.
 * - alpha 6: {0, 5/8, -5/8, 3/2, -3/2}: the best published set for F(4,3) named by our issue; in our
 *   fp32 harness its error is about 5x direct's against about 8x for Lavin's {0, +-1, +-2}.
 * - alpha 7: {0, 1, -1, 1/2, -1/2, 2}: Barabasz et al.'s nested recipe.
 * - alpha 8: {0, 1, -1, 2, -2, 1/2, -1/2}: Lavin & Gray's F(6,3) set, also wincnn's example and
 *   the best published set for F(6,3).
 * - alpha 9 and up: the same recipe continued (Barabasz et al.): add symmetric pairs of the
 *   smallest unused magnitudes c together with 1/c: +-1/4, +-4, +-3/2, +-2/3, +-3, +-1/3, +-3/4,
 *   +-4/3, ... These larger sets are our continuation of the published recipe, not published sets.
 *
 * Without the point at infinity F(m, r) needs alpha finite points; the default is the first alpha
 * points of the alpha + 1 set above (the same points, plus the next one of the recipe).
 */

/** Order in which the continuation adds points after the explicitly published prefixes. */
const RECIPE_ORDER: readonly string[] = [
  '0', '1', '-1', '2', '-2', '1/2', '-1/2', '1/4', '-1/4', '4', '-4', '3/2', '-3/2', '2/3', '-2/3',
  '3', '-3', '1/3', '-1/3', '3/4', '-3/4', '4/3', '-4/3', '5/2', '-5/2', '2/5', '-2/5', '5', '-5',
  '1/5', '-1/5', '5/4', '-5/4', '4/5', '-4/5',
];

function buildDefaultTable(): Record<number, readonly string[]> {
  const table: Record<number, readonly string[]> = {
    1: [],
    2: ['0'],
    3: ['0', '-1'],
    4: ['0', '1', '-1'],
    5: ['0', '1', '-1', '1/2'],
    6: ['0', '5/8', '-5/8', '3/2', '-3/2'],
    7: ['0', '1', '-1', '1/2', '-1/2', '2'],
    8: ['0', '1', '-1', '2', '-2', '1/2', '-1/2'],
  };
  for (let alpha = 9; alpha <= 34; alpha++) table[alpha] = RECIPE_ORDER.slice(0, alpha - 1);
  return table;
}

export const DEFAULT_POINTS: Readonly<Record<number, readonly string[]>> = buildDefaultTable();

/** The default finite points for alpha; `infinity` false gives alpha finite points. */
export function defaultPointsFor(alpha: number, infinity: boolean): string[] {
  const key = infinity ? alpha : alpha + 1;
  const table = DEFAULT_POINTS[key];
  if (!table) throw new Error(`no default interpolation points for alpha = ${alpha}; give --points explicitly`);
  if (infinity) return [...table];
  // The finite variant needs one more point than the alpha set holds: take the alpha + 1 set.
  return table.slice(0, alpha);
}
