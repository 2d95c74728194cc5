/**
 * Default interpolation points per alpha (the number of points, counting infinity).
 *
 * With the point at infinity (modified Toom-Cook, the default), F(m, r) needs alpha - 1 = m + r - 2
 * finite points. Where a published set exists we use the best one we know; see POINTS.md for the
 * sources and for the errors our harness measures with each set.
 *
 * - alpha 2..4: {0}, {0, -1}, {0, 1, -1}: Lavin & Gray, "Fast Algorithms for Convolutional Neural
 *   Networks" (CVPR 2016) use {0, 1, -1} for F(2,3); the smaller sets are its prefixes.
 * - alpha 5: {0, 1, -1, 1/2}; alpha 7: {0, 1, -1, 1/2, -1/2, 2}: Barabasz, Anderson, Soodhalter &
 *   Gregg, "Error analysis and improving the accuracy of Winograd convolution for deep neural
 *   networks" (ACM TOMS 2020): after 0 and +-1 add the reciprocal pair 2, 1/2 (c together with 1/c
 *   keeps the Vandermonde matrix best conditioned).
 * - alpha 6: {0, +-5/8, +-3/2}: the best published set for F(4,3) we know of (about 5x
 *   direct's fp32 error in our harness, against 8x for Lavin & Gray's {0, +-1, +-2}).
 * - alpha 8: {0, +-1, +-2, +-1/2}: Lavin & Gray's F(6,3) set (wincnn's example), the best published
 *   set for F(6,3).
 * - alpha 9..15: no published set we could confirm, so these are the sets our own point search
 *   (searchPoints, fp32, r = 3) found; each has 2x to 4.7x less error than continuing the
 *   {0, +-1, +-2, +-1/2, +-1/4, +-4, ...} recipe (numbers in POINTS.md).
 * - alpha 16 and up: that recipe, symmetric pairs of small magnitudes c together with 1/c.
 *
 * Without the point at infinity F(m, r) needs alpha finite points; the default is the alpha + 1 set
 * above (the same number of finite points).
 */

/** Continuation for large alpha: 0, then +-c and +-1/c for small c. */
const RECIPE_ORDER: readonly string[] = [
  '0', '1', '-1', '2', '-2', '1/2', '-1/2', '1/4', '-1/4', '4', '-4', '3/2', '-3/2', '2/3', '-2/3',
  '3', '-3', '1/3', '-1/3', '3/4', '-3/4', '4/3', '-4/3', '5/2', '-5/2', '2/5', '-2/5', '5', '-5',
  '1/5', '-1/5', '5/4', '-5/4', '4/5', '-4/5',
];

function pairs(...magnitudes: string[]): string[] {
  return magnitudes.flatMap((c) => [c, `-${c}`]);
}

function buildDefaultTable(): Record<number, readonly string[]> {
  const table: Record<number, readonly string[]> = {
    1: [],
    2: ['0'],
    3: ['0', '-1'],
    4: ['0', '1', '-1'],
    5: ['0', '1', '-1', '1/2'],
    6: ['0', ...pairs('5/8', '3/2')],
    7: ['0', '1', '-1', '1/2', '-1/2', '2'],
    8: ['0', ...pairs('1', '2', '1/2')],
    // Found by searchPoints (fp32, r = 3); see POINTS.md.
    9: pairs('1/5', '8/13', '17/14', '37/15'),
    10: ['0', ...pairs('5/14', '4/5', '13/10', '37/15')],
    11: pairs('2/11', '1/2', '8/9', '21/16', '38/15'),
    12: ['0', ...pairs('3/10', '7/11', '1', '17/12', '63/16')],
    13: pairs('1/5', '4/9', '5/6', '15/14', '23/14', '5/2'),
    14: ['0', ...pairs('1/4', '4/7', '4/5', '8/7', '5/3', '5/2')],
    15: pairs('1/5', '5/13', '7/10', '14/15', '17/13', '2', '4'),
  };
  for (let alpha = 16; alpha <= 34; alpha++) table[alpha] = RECIPE_ORDER.slice(0, alpha - 1);
  return table;
}

export const DEFAULT_POINTS: Readonly<Record<number, readonly string[]>> = buildDefaultTable();

/** The default finite points for alpha; `infinity` false gives alpha finite points. */
export function defaultPointsFor(alpha: number, infinity: boolean): string[] {
  const table = DEFAULT_POINTS[infinity ? alpha : alpha + 1];
  if (!table) throw new Error(`no default interpolation points for alpha = ${alpha}; give the points explicitly`);
  return [...table];
}
