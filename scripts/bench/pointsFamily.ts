/**
 * Scans the point family {0, +-1/c, +-1, +-c} (Alam, Anderson, Barabasz & Gregg, "Winograd
 * Convolution for Deep Neural Networks: Efficient Point Selection", ACM TECS 2022) for F(6,3): c runs
 * over [from, to] in steps, each c replaced by the nearest p/q with q <= maxQ, and the points are
 * listed with magnitudes ascending (the order that rounds best, see POINTS.md). Each set is screened
 * on a few tiles; the best are re-measured on 3000 tiles with three seeds, next to the published set.
 *   npx tsx scripts/bench/pointsFamily.ts [--from 1.1] [--to 4] [--step 0.02] [--q 48] [--precision fp32]
 */
import type { Precision } from '../../extension/shared/payloads';
import { generateWinograd } from '../../extension/core/winograd/index';
import { argValue } from './common';

const from = Number(argValue('--from') ?? '1.1');
const to = Number(argValue('--to') ?? '4');
const step = Number(argValue('--step') ?? '0.02');
const maxQ = Number(argValue('--q') ?? '48');
const precision = (argValue('--precision') ?? 'fp32') as Precision;

function nearestFraction(x: number): [number, number] {
  let best: [number, number] = [Math.round(x), 1];
  for (let q = 2; q <= maxQ; q++) {
    const p = Math.round(x * q);
    if (Math.abs(p / q - x) < Math.abs(best[0] / best[1] - x) - 1e-12) best = [p, q];
  }
  return best;
}

function meanMultiple(points: string[], errorTrials: number, seed: number): number {
  const result = generateWinograd({ m: 6, r: 3, points, precision, errorTrials, seed });
  const measured = result.error.find((e) => e.precision === precision);
  if (!measured) throw new Error(`no ${precision} error for ${points.join(', ')}`);
  return measured.meanMultiple;
}

const familySet = ([p, q]: [number, number]): string[] => ['0', `${q}/${p}`, `-${q}/${p}`, '1', '-1', `${p}/${q}`, `-${p}/${q}`];
const screened = new Map<string, { c: [number, number]; score: number }>();
for (let x = from; x <= to + 1e-9; x += step) {
  const c = nearestFraction(x);
  const key = `${c[0]}/${c[1]}`;
  if (screened.has(key) || c[0] === c[1]) continue;
  screened.set(key, { c, score: meanMultiple(familySet(c), 300, 1) });
}
const ranked = [...screened.entries()].sort((a, b) => a[1].score - b[1].score);
console.log(`${precision}, {0, +-1/c, +-1, +-c}, ${screened.size} values of c in [${from}, ${to}] screened on 300 tiles; best eight:`);
console.log('  ' + ranked.slice(0, 8).map(([key, { c, score }]) => `c = ${key} (${(c[0] / c[1]).toFixed(3)}): ${score.toFixed(2)}x`).join('\n  '));
const remeasure = (label: string, points: string[]): void => {
  const scores = [1, 2, 3].map((seed) => meanMultiple(points, 3000, seed).toFixed(2));
  console.log(`${label.padEnd(44)} ${scores.join(' / ')}  (x direct, 3000 tiles, seeds 1 / 2 / 3)`);
};
for (const [key, { c }] of ranked.slice(0, 5)) remeasure(`c = ${key}`, familySet(c));
remeasure('published set, magnitudes ascending (c = 2)', familySet([2, 1]));
remeasure('published set, published order', ['0', '1', '-1', '2', '-2', '1/2', '-1/2']);
