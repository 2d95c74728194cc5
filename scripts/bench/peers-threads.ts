/**
 * Thread scaling of the engine, measured as ratios in one run: the same layer and algorithm timed
 * on 1 and on T threads, alternately (1, T, 1, T, ...), so that a change of machine load hits both
 * sides alike; prints each round's speedup and their median. Not shipped: a measurement script.
 *   npx tsx scripts/bench/peers-threads.ts [--suite vgg16] [--layer conv3_2] [--algo im2col] [--threads 2] [--rounds 3] [--budget-ms 2000]
 */
import { suiteLayers, isBenchSuite } from '../../extension/core/bench/layers';
import { runBenchmarks } from '../../extension/core/bench/runner';
import { summarizeSamples } from '../../extension/core/bench/stats';
import { WorkerPool, defaultWorkerScript } from '../../extension/workers/pool';
import type { BenchResult } from '../../extension/shared/protocol';

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
  const suite = argValue('--suite') ?? 'vgg16';
  if (!isBenchSuite(suite)) throw new Error(`--suite: unknown suite '${suite}'`);
  const layer = argValue('--layer') ?? 'conv3_2';
  suiteLayers(suite, [layer]); // validates the name
  const algo = argValue('--algo') ?? 'im2col';
  const threads = Number(argValue('--threads') ?? '2');
  const rounds = Number(argValue('--rounds') ?? '3');
  const budgetMs = Number(argValue('--budget-ms') ?? '2000');

  const pool = new WorkerPool(defaultWorkerScript(), { size: threads });
  const speedups: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const results: BenchResult[] = [];
      for (const count of [1, threads]) {
        // The error check runs once, in the first round; timing rounds skip it.
        const report = await runBenchmarks(
          { suite, layers: [layer], algos: [algo], threads: count, budgetMs, checkErrors: round === 0 },
          pool,
        );
        const [result] = report.results;
        if (!result) throw new Error(`${algo} did not run on ${suite}/${layer}: ${report.skipped?.map((s) => s.reason).join('; ')}`);
        results.push(result);
        const error = Number.isNaN(result.maxAbsErr) ? '' : `, max abs err ${result.maxAbsErr.toExponential(1)}`;
        console.log(
          `round ${round + 1}: ${count} thread${count === 1 ? ' ' : 's'}  ms min ${result.msMin.toFixed(2)}  med ${result.msMedian.toFixed(2)}  ` +
            `p90 ${result.msP90.toFixed(2)}  ${result.gflops.toFixed(2)} GFLOP/s  (${result.iterations} runs${error})`,
        );
      }
      const speedup = results[0].msMedian / results[1].msMedian;
      speedups.push(speedup);
      console.log(`round ${round + 1}: speedup ${speedup.toFixed(2)}x (median over median)`);
    }
  } finally {
    await pool.dispose();
  }
  console.log(`${suite}/${layer} ${algo}: ${threads} threads vs 1, median speedup over ${rounds} rounds: ${summarizeSamples(speedups).msMedian.toFixed(2)}x`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
