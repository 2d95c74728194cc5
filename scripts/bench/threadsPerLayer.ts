/**
 * Every layer of the given suites at 1 and at T threads, as ratios measured in one run: per layer
 * and algorithm the two plans are timed alternately (1, T, 1, T, ... for several rounds), each run's
 * wall time seen from this thread (dispatch included, for both counts), and the table quotes the
 * median of the per-round ratios. "workers" is how many the parallel engine really used at T: the
 * planner keeps small layers on fewer workers. Not shipped: a measurement script.
 *   node --experimental-wasm-relaxed-simd --import tsx scripts/bench/threadsPerLayer.ts [--suites resnet18,mobilenet-v1] [--threads 2] [--rounds 5] [--runs 7] [--algos direct,im2col,winograd-4x3,winograd-6x3,winograd-4x3s2] [--min-saved-ms 0.3 (0: every thread always)]
 */
import { isBenchSuite, suiteLayers } from '../../extension/core/bench/layers';
import { fillUniform } from '../../extension/core/bench/runner';
import { summarizeSamples } from '../../extension/core/bench/stats';
import { convDirectFlops } from '../../extension/core/conv/reference';
import { applies, type ConvPlan } from '../../extension/engine/engine';
import { MIN_SAVED_MS_PER_WORKER, ParallelEngine } from '../../extension/workers/parallelEngine';
import { WorkerPool, defaultWorkerScript } from '../../extension/workers/pool';
import { CONV_ALGORITHMS, type ConvAlgorithm } from '../../extension/shared/payloads';
import { argValue } from './common';

const suites = (argValue('--suites') ?? 'resnet18,mobilenet-v1').split(',');
const threads = Number(argValue('--threads') ?? '2');
const rounds = Number(argValue('--rounds') ?? '5');
const runs = Number(argValue('--runs') ?? '7');
const algos = (argValue('--algos') ?? 'direct,im2col,winograd-4x3,winograd-6x3,winograd-4x3s2').split(',') as ConvAlgorithm[];
for (const algo of algos) if (!CONV_ALGORITHMS.includes(algo)) throw new Error(`--algos: unknown algorithm '${algo}'`);

const minSavedMs = Number(argValue('--min-saved-ms') ?? MIN_SAVED_MS_PER_WORKER);

const median = (values: number[]): number => summarizeSamples(values).msMedian;

async function wallMs(parallel: ParallelEngine, plan: ConvPlan, count: number): Promise<number> {
  const start = performance.now();
  await parallel.run(plan, count);
  return performance.now() - start;
}

async function main(): Promise<void> {
  const pool = new WorkerPool(defaultWorkerScript(), { size: threads });
  const parallel = new ParallelEngine(pool, { minSavedMsPerWorker: minSavedMs });
  const rows: string[][] = [];
  let slower = 0;
  try {
    for (const suite of suites) {
      if (!isBenchSuite(suite)) throw new Error(`--suites: unknown suite '${suite}'`);
      for (const layer of suiteLayers(suite)) {
        const { shape } = layer;
        const input = fillUniform(new Float32Array(shape.N * shape.C * shape.H * shape.W), 1);
        const weight = fillUniform(new Float32Array((shape.K * shape.C * shape.R * shape.S) / (shape.groups ?? 1)), 2);
        for (const algo of algos) {
          const layout = algo === 'direct' ? 'nchw4c' : 'nchw';
          if (!applies(algo, shape, layout).ok) continue;
          const one = parallel.plan(shape, algo, layout, 1);
          const many = parallel.plan(shape, algo, layout, threads);
          try {
            for (const plan of [one, many]) {
              plan.setWeights(weight);
              plan.setInput(input);
              plan.convertInput();
            }
            await wallMs(parallel, one, 1);
            await wallMs(parallel, many, threads);
            const ratios: number[] = [];
            const t1: number[] = [];
            const tT: number[] = [];
            for (let round = 0; round < rounds; round++) {
              const a: number[] = [];
              const b: number[] = [];
              for (let run = 0; run < runs; run++) {
                a.push(await wallMs(parallel, one, 1));
                b.push(await wallMs(parallel, many, threads));
              }
              t1.push(median(a));
              tT.push(median(b));
              ratios.push(median(a) / median(b));
            }
            const speedup = median(ratios);
            if (speedup < 1) slower++;
            rows.push([
              `${suite}/${layer.name}`, algo, median(t1).toFixed(3), median(tT).toFixed(3), `${speedup.toFixed(2)}x`,
              `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`, String(parallel.workersFor(many, threads)),
              String(many.descriptor.phases[0].units), (convDirectFlops(shape) / 1e6).toFixed(1), (one.realFlops / 1e6).toFixed(1),
            ]);
            process.stderr.write(`${rows.at(-1)!.join('\t')}\n`);
          } finally {
            many.release(); // the engine's arena frees LIFO
            one.release();
          }
        }
      }
    }
  } finally {
    await pool.dispose();
  }
  console.log(`planner: min saved ms per worker ${minSavedMs}; ${threads} threads vs 1, wall time per run from the caller (dispatch included), ${rounds} rounds of ${runs} runs each, alternating; medians`);
  console.log(['layer', 'algo', `1 thr ms`, `${threads} thr ms`, 'speedup', 'range', 'workers', 'units', 'direct MFLOP', 'real MFLOP'].join('\t'));
  for (const row of rows) console.log(row.join('\t'));
  console.log(`${slower} of ${rows.length} layer/algorithm pairs slower at ${threads} threads than at 1 (median ratio below 1)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
