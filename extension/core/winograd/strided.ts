/**
 * Winograd-style algorithm for a 3-tap correlation with stride 2, built from F(m, 2).
 *
 * With stride 2, output i reads inputs 2i, 2i+1, 2i+2: y_i = g0 e_i + g2 e_{i+1} + g1 o_i, where
 * e_j = d_{2j} and o_j = d_{2j+1} are the even and odd samples. The even part is a stride-1 2-tap
 * correlation, F(m, 2) with filter (g0, g2); the odd part is m plain products with g1. Stacking both
 * gives one bilinear algorithm of the usual shape y = AT [(G g) ⊙ (BT d)] with
 *   BT ((2m+1) x (2m+1)): F(m,2)'s BT on the even samples, then a selection of the odd samples;
 *   G  ((2m+1) x 3):      F(m,2)'s G on taps 0 and 2, then m rows that pick tap 1;
 *   AT (m x (2m+1)):      [AT of F(m,2) | identity].
 * Its 2m+1 multiplications equal the number of inputs, the minimum for m outputs. Nested in 2-D it
 * needs (2m+1)^2 multiplications per m x m output tile against 9 m^2 for direct convolution: 1.78x
 * fewer for m = 4. The tile reads a (2m+1) x (2m+1) input patch; consecutive tiles start 2m apart.
 */
import { generateMatrices, type GeneratedMatrices } from './generate';

export interface Stride2Matrices extends GeneratedMatrices {
  /** Outputs per tile side. */
  m: number;
  /** Multiplications per tile side (= input patch side): 2m + 1. */
  alpha: number;
}

export function generateStride2Matrices(m: number): Stride2Matrices {
  const even = generateMatrices(m, 2);
  const alpha = 2 * m + 1;
  const zeros = (n: number): string[] => Array.from({ length: n }, () => '0');
  const BT: string[][] = [];
  for (const row of even.BT) {
    const full = zeros(alpha);
    row.forEach((entry, j) => (full[2 * j] = entry));
    BT.push(full);
  }
  for (let j = 0; j < m; j++) {
    const full = zeros(alpha);
    full[2 * j + 1] = '1';
    BT.push(full);
  }
  const G = [...even.G.map((row) => [row[0], '0', row[1]]), ...Array.from({ length: m }, () => ['0', '1', '0'])];
  const AT = even.AT.map((row, i) => {
    const identity = zeros(m);
    identity[i] = '1';
    return [...row, ...identity];
  });
  return { m, alpha, AT, G, BT, points: even.points };
}
