/**
 * Thread scaling of the engine on one layer, as ratios measured in one run: the layer timed on 1
 * and on T threads alternately (1, T, 1, T, ...), so a change of machine load hits both alike.
 * Besides wall time it records the CPU time the process burnt per run (process.cpuUsage, every
 * thread): on a machine shared with other jobs the wall-time speedup only shows how many cores
 * the OS gave us, while CPU time per run shows the parallel overhead itself (equal CPU time at 1
 * and T threads = no extra work from splitting). Each round also times a baseline that cannot
 * scale worse than the machine does: a fixed amount of plain arithmetic on 1 and on T bare worker
 * threads; engine speedup / baseline speedup is the engine's efficiency on the cores it really had.
 * Not shipped: a measurement script.
 *   npx tsx scripts/bench/peersThreads.ts [--suite vgg16] [--layer conv3_2] [--algo im2col] [--threads 2] [--rounds 3] [--runs 5]
 */
import { Worker } from 'node:worker_threads';
import { suiteLayers, isBenchSuite } from '../../extension/core/bench/layers';
import { fillUniform } from '../../extension/core/bench/runner';
import { summarizeSamples } from '../../extension/core/bench/stats';
import { ParallelEngine } from '../../extension/workers/parallelEngine';
import { convDirectFlops } from '../../extension/core/conv/reference';
import { WorkerPool, defaultWorkerScript } from '../../extension/workers/pool';
import { CONV_ALGORITHMS, type ConvAlgorithm } from '../../extension/shared/payloads';
import { argValue } from './common';

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Workers that each run `n` iterations of a dependent floating-point loop when asked. */
const BASELINE_WORKER = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (n) => { let x = 0; for (let i = 0; i < n; i++) x = (x + i * 1.000001) % 1e9; parentPort.postMessage(x); });`;

async function baselineSpeedup(workers: Worker[], iterations: number): Promise<number> {
  const run = (worker: Worker, n: number): Promise<unknown> =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage(n);
    });
  let start = performance.now();
  await run(workers[0], iterations);
  const one = performance.now() - start;
  start = performance.now();
  await Promise.all(workers.map((worker) => run(worker, Math.round(iterations / workers.length))));
  return one / (performance.now() - start);
}

async function main(): Promise<void> {
  const suite = argValue('--suite') ?? 'vgg16';
  if (!isBenchSuite(suite)) throw new Error(`--suite: unknown suite '${suite}'`);
  const [layer] = suiteLayers(suite, [argValue('--layer') ?? 'conv3_2']);
  const algo = (argValue('--algo') ?? 'im2col') as ConvAlgorithm;
  if (!CONV_ALGORITHMS.includes(algo)) throw new Error(`--algo: unknown algorithm '${algo}'`);
  const threads = Number(argValue('--threads') ?? '2');
  const rounds = Number(argValue('--rounds') ?? '3');
  const runs = Number(argValue('--runs') ?? '5');
  const flops = convDirectFlops(layer.shape);
  const { N, C, H, W, K, R, S } = layer.shape;
  const input = fillUniform(new Float32Array(N * C * H * W), 1);
  const weight = fillUniform(new Float32Array(K * C * R * S), 2);

  const pool = new WorkerPool(defaultWorkerScript(), { size: threads });
  const parallel = new ParallelEngine(pool);
  const plans = new Map([1, threads].map((count) => {
    const plan = parallel.plan(layer.shape, algo, 'nchw', count);
    plan.setWeights(weight);
    plan.setInput(input);
    return [count, plan] as const;
  }));
  const wallSpeedups: number[] = [];
  const cpuRatios: number[] = [];
  const baselineSpeedups: number[] = [];
  const baselineWorkers = Array.from({ length: threads }, () => new Worker(BASELINE_WORKER, { eval: true }));
  try {
    for (const [count, plan] of plans) await parallel.run(plan, count); // instantiate the engine in every worker
    for (let round = 0; round < rounds; round++) {
      const medians = new Map<number, { wall: number; cpu: number }>();
      for (const [count, plan] of plans) {
        const wall: number[] = [];
        const cpu: number[] = [];
        for (let run = 0; run < runs; run++) {
          const cpuBefore = cpuMs();
          const start = performance.now();
          await parallel.run(plan, count);
          wall.push(performance.now() - start);
          cpu.push(cpuMs() - cpuBefore);
        }
        const median = { wall: summarizeSamples(wall).msMedian, cpu: summarizeSamples(cpu).msMedian };
        medians.set(count, median);
        const split = count > 1 ? `, units per worker ${parallel.lastUnitsPerWorker.join('+')}` : '';
        console.log(
          `round ${round + 1}: ${count} thread${count === 1 ? ' ' : 's'}  wall ms min ${Math.min(...wall).toFixed(1)} med ${median.wall.toFixed(1)}` +
            `  (${(flops / (median.wall * 1e6)).toFixed(2)} GFLOP/s)  cpu ms/run med ${median.cpu.toFixed(1)}${split}`,
        );
      }
      const one = medians.get(1)!;
      const many = medians.get(threads)!;
      wallSpeedups.push(one.wall / many.wall);
      cpuRatios.push(one.cpu / many.cpu);
      // About as long as one single-thread engine run: 1e8 iterations take ~1 s on one core.
      const baseline = await baselineSpeedup(baselineWorkers, Math.round(one.wall * 1e5));
      baselineSpeedups.push(baseline);
      console.log(`round ${round + 1}: engine speedup ${(one.wall / many.wall).toFixed(2)}x, plain-arithmetic baseline on ${threads} bare workers ${baseline.toFixed(2)}x`);
    }
  } finally {
    for (const plan of [...plans.values()].reverse()) plan.release(); // the engine's arena frees LIFO
    await pool.dispose();
    await Promise.all(baselineWorkers.map((worker) => worker.terminate()));
  }
  const wall = summarizeSamples(wallSpeedups).msMedian;
  const cpu = summarizeSamples(cpuRatios).msMedian;
  console.log(`${suite}/${layer.name} ${algo}, ${threads} threads vs 1 (median of ${rounds} rounds):`);
  const baseline = summarizeSamples(baselineSpeedups).msMedian;
  console.log(`  wall-time speedup ${wall.toFixed(2)}x; plain-arithmetic baseline in the same rounds ${baseline.toFixed(2)}x (what this machine gave)`);
  console.log(`  CPU time per run, 1 thread / ${threads} threads: ${cpu.toFixed(2)} (1.00 = splitting adds no work)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
