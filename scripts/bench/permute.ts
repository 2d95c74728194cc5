/**
 * Channel permutation search benchmark (records figures; nothing here is a test).
 *
 *   npx tsx scripts/bench/permute.ts [SIZE ...] [--seconds S] [--planted]
 *
 * For each SIZE (default 1024 4096), a SIZE x SIZE linear weight ([O, I], Gaussian values, or with
 * --planted exactly 2:4 after a hidden shuffle of its input channels) is searched for a 2:4 order
 * within S seconds (default 120). Prints wall and CPU time of reading the magnitudes and of the
 * search, what 2:4 pruning keeps before and after, and whether the search settled or hit its bound.
 */
import { performance } from 'node:perf_hooks';
import { nmPattern } from '../../extension/core/sparsity/nmPattern';
import { readColumnMagnitudes, searchPermutation } from '../../extension/core/sparsity/permute';
import { mulberry32 } from '../../extension/core/random';
import type { TensorSource } from '../../extension/core/formats/types';

function gaussianWeight(size: number, planted: boolean, seed: number): TensorSource {
  const next = mulberry32(seed);
  const values = new Float32Array(size * size);
  for (let i = 0; i < values.length; i++) values[i] = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  if (planted) {
    const shuffle = Array.from({ length: size }, (_, i) => i);
    for (let i = size - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [shuffle[i], shuffle[j]] = [shuffle[j]!, shuffle[i]!];
    }
    for (let row = 0; row < size; row++) {
      for (let g = 0; g < size; g += 4) {
        const first = Math.floor(next() * 4);
        const second = (first + 1 + Math.floor(next() * 3)) % 4;
        values[row * size + shuffle[g + first]!] = 0;
        values[row * size + shuffle[g + second]!] = 0;
      }
    }
  }
  return {
    name: `w${size}`,
    dtype: 'float32',
    shape: [size, size],
    numel: values.length,
    async *chunks() {
      yield values;
    },
  };
}

const args = process.argv.slice(2);
const secondsAt = args.indexOf('--seconds');
const seconds = secondsAt >= 0 ? Number(args[secondsAt + 1]) : 120;
const planted = args.includes('--planted');
const sizes = args.filter((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--seconds').map(Number);
async function main(): Promise<void> {
    for (const size of sizes.length > 0 ? sizes : [1024, 4096]) {
    const tensor = gaussianWeight(size, planted, size);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const magnitudes = await readColumnMagnitudes(tensor, { order: 'KC', K: size, C: size, P: 1, rank: 2, layout: 'OI', basis: 'format' });
    const t1 = performance.now();
    const cpu1 = process.cpuUsage(cpu0);
    const result = searchPermutation(magnitudes, nmPattern(2, 4), { budgetMs: seconds * 1000 });
    const t2 = performance.now();
    const cpu2 = process.cpuUsage(cpu0);
    const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
    console.log(
      `${size}x${size}${planted ? ' planted' : ''}: read ${((t1 - t0) / 1000).toFixed(2)} s wall / ${cpuSeconds(cpu1).toFixed(2)} s CPU; ` +
        `search ${((t2 - t1) / 1000).toFixed(1)} s wall / ${(cpuSeconds(cpu2) - cpuSeconds(cpu1)).toFixed(1)} s CPU; ` +
        `kept ${(result.retainedBefore * 100).toFixed(3)}% -> ${(result.retainedAfter * 100).toFixed(3)}%` +
        `${result.perfect ? ' (perfect)' : ''}; ${result.budgetExhausted ? 'hit the time bound' : 'settled'} after ${result.pairsEvaluated} pair re-splits, ${result.escapesTried} escapes`,
    );
  }
}

void main();
