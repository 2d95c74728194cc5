/**
 * Exact proof that a transform triple computes correlation.
 *
 * For symbolic g (length r) and d (length alpha), AT[(G g) . (BT d)] is bilinear, so its i-th
 * output is sum_(k,l) c(i,k,l) g_k d_l with c(i,k,l) = sum_j AT[i][j] G[j][k] BT[j][l]. Correlation
 * y_i = sum_k g_k d_(i+k) has c(i,k,l) = [l == i + k]. Checking all m * r * alpha coefficients in
 * exact rationals is therefore a complete proof for the 1-D algorithm. The 2-D nesting
 * AT[(G g G'^T) . (BT d B')]A' has coefficients c(i,k,l) * c'(i',k',l') (it is the tensor product of
 * the two 1-D maps), so it computes 2-D correlation exactly when both 1-D algorithms do.
 */
import type { WinogradVerification } from '../../shared/payloads';
import { ZERO, type Rational, type RationalMatrix, formatRational } from './rational';

export interface OneDimensionalCheck {
  verified: boolean;
  checkedCoefficients: number;
  mismatches: { i: number; k: number; l: number; got: Rational; expected: number }[];
  /** y_i written out from the computed coefficients, e.g. "y0 = g0*d0 + g1*d1 + g2*d2". */
  outputs: string[];
}

export function verifyOneDimensional(AT: RationalMatrix, G: RationalMatrix, BT: RationalMatrix): OneDimensionalCheck {
  const m = AT.length;
  const alpha = BT.length;
  const r = G[0]?.length ?? 0;
  const mismatches: OneDimensionalCheck['mismatches'] = [];
  const outputs: string[] = [];
  for (let i = 0; i < m; i++) {
    const terms: string[] = [];
    for (let k = 0; k < r; k++) {
      // AT[i][j] * G[j][k] once per (i, k); reused across l.
      const weights: Rational[] = [];
      for (let j = 0; j < alpha; j++) weights.push(AT[i]![j]!.mul(G[j]![k]!));
      for (let l = 0; l < alpha; l++) {
        let sum = ZERO;
        for (let j = 0; j < alpha; j++) {
          const weight = weights[j]!;
          const b = BT[j]![l]!;
          if (weight.n !== 0n && b.n !== 0n) sum = sum.add(weight.mul(b));
        }
        const expected = l === i + k ? 1 : 0;
        if (!sum.equals(expected)) mismatches.push({ i, k, l, got: sum, expected });
        if (sum.n !== 0n) {
          const coefficient = sum.equals(1) ? '' : `${formatRational(sum)}*`;
          terms.push(`${coefficient}g${k}*d${l}`);
        }
      }
    }
    outputs.push(`y${i} = ${terms.length > 0 ? terms.join(' + ') : '0'}`);
  }
  return { verified: mismatches.length === 0, checkedCoefficients: m * r * alpha, mismatches, outputs };
}

/** Verifies one or two 1-D algorithms and writes the derivation steps. */
export function verifyWinograd(
  first: { AT: RationalMatrix; G: RationalMatrix; BT: RationalMatrix; label: string },
  second?: { AT: RationalMatrix; G: RationalMatrix; BT: RationalMatrix; label: string },
): WinogradVerification {
  const steps: string[] = [];
  let verified = true;
  for (const algorithm of second ? [first, second] : [first]) {
    const check = verifyOneDimensional(algorithm.AT, algorithm.G, algorithm.BT);
    const m = algorithm.AT.length;
    const r = algorithm.G[0]?.length ?? 0;
    const alpha = algorithm.BT.length;
    steps.push(
      `${algorithm.label}: expand AT[(G g) . (BT d)] for symbolic g0..g${r - 1}, d0..d${alpha - 1}; ` +
        `coefficient of g_k*d_l in y_i is sum_j AT[i][j]*G[j][k]*BT[j][l] (exact rationals)`,
    );
    steps.push(...check.outputs.map((line) => `  ${line}`));
    if (check.verified) {
      steps.push(
        `  all ${check.checkedCoefficients} coefficients (${m} x ${r} x ${alpha}) equal [l == i + k]: ` +
          `y_i = sum_k g_k d_(i+k) holds exactly`,
      );
    } else {
      verified = false;
      const shown = check.mismatches.slice(0, 8).map(
        (bad) => `coefficient of g${bad.k}*d${bad.l} in y${bad.i} is ${formatRational(bad.got)}, expected ${bad.expected}`,
      );
      steps.push(`  FAILED: ${check.mismatches.length} of ${check.checkedCoefficients} coefficients are wrong: ${shown.join('; ')}`);
    }
  }
  if (verified) {
    const label = second ? `${first.label} x ${second.label}` : `${first.label} x ${first.label}`;
    steps.push(
      `2-D ${label}: Y = AT[(G g G'^T) . (BT d B')]A' is the tensor product of the verified 1-D maps, ` +
        `so the coefficient of g[k][k']*d[l][l'] in Y[i][i'] is [l == i+k]*[l' == i'+k']: 2-D correlation holds exactly`,
    );
  }
  steps.push(verified ? 'verified: true' : 'verified: false');
  return { verified, steps };
}
