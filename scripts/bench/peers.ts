/**
 * Peers side by side, in one run: the engine's benchmark runner (every applicable algorithm, with
 * onnxruntime-node timed in a child process when installed) and @tensorflow/tfjs-backend-wasm (a dev
 * dependency, timed in this process), on the same layers. Not shipped: a measurement script.
 *   npx tsx scripts/bench/peers.ts [--suite resnet18] [--layers conv2_x,conv3_x] [--budget-ms 1000] [--threads 1]
 *   npx tsx scripts/bench/peers.ts --shape 'N,C,H,W,K,R,S,stride,pad,groups,dilation;...' [--algos a,b] [--every]
 * Prints a table of median ms and the engine's best algorithm against each peer (peer ms / engine ms);
 * with --every, one row per engine algorithm (with its error over direct's) against the same peer times.
 */
import { isBenchSuite, parseConvShape, shapeLabel, suiteLayers } from '../../extension/core/bench/layers';
import { fillUniform } from '../../extension/core/bench/runner';
import { runBench } from '../../extension/core/requests/bench';
import { PoolConvBackend } from '../../extension/workers/convBackend';
import { convDirectFlops } from '../../extension/core/conv/reference';
import { WorkerPool, defaultWorkerScript } from '../../extension/workers/pool';
import type { BenchResult, BenchSuite, ConvAlgorithm } from '../../extension/shared/payloads';
import { argValue } from './common';
import { startTfjsWasm, timeTfjs } from './tfjsPeer';

const suiteArg = argValue('--suite') ?? 'resnet18';
if (!isBenchSuite(suiteArg)) throw new Error(`--suite: unknown suite '${suiteArg}'`);
const suite: BenchSuite = suiteArg;
const shapes = argValue('--shape')?.split(';').map((text) => parseConvShape(text, '--shape'));
const layers = shapes ? shapes.map((shape) => ({ name: shapeLabel(shape), shape })) : suiteLayers(suite, argValue('--layers')?.split(','));
const budgetMs = Number(argValue('--budget-ms') ?? '1000');
const threads = Number(argValue('--threads') ?? '1');
const algos = argValue('--algos')?.split(',') as ConvAlgorithm[] | undefined;
const every = process.argv.includes('--every');

async function main(): Promise<void> {
  const flavour = await startTfjsWasm();

  const pool = new WorkerPool(defaultWorkerScript(), { size: Math.max(threads, 2) });
  const rows: string[] = [];
  try {
    for (const layer of layers) {
      const which = shapes ? { shape: layer.shape } : { suite, layers: [layer.name] };
      const report = await runBench({ ...which, algos, threads, budgetMs, peer: true }, {
        backend: new PoolConvBackend(pool),
        onProgress: (_fraction, message) => message && process.stderr.write(`${message}\n`),
      });
      const best = report.results.reduce<BenchResult | undefined>((a, b) => (!a || b.msMedian < a.msMedian ? b : a), undefined);
      const { shape } = layer;
      const input = fillUniform(new Float32Array(shape.N * shape.C * shape.H * shape.W), 101);
      const weight = fillUniform(new Float32Array((shape.K * shape.C * shape.R * shape.S) / (shape.groups ?? 1)), 102);
      const tfjs = await timeTfjs(shape, input, weight, { warmupMs: 1000, budgetMs });
      const tfjsMs = tfjs ? tfjs.msMedian.toFixed(3) : '-';
      if (!best) {
        rows.push(`${layer.name}\t(no engine algorithm applies)\t-\t${tfjsMs}`);
        continue;
      }
      const ort = best.peer?.msMedian;
      for (const result of every ? report.results : [best]) {
        rows.push(
          [
            layer.name,
            `${result.algo}/${result.layout}`,
            result.msMedian.toFixed(3),
            (convDirectFlops(layer.shape) / (result.msMedian * 1e6)).toFixed(2),
            result.errorVsDirect === undefined ? '-' : `${result.errorVsDirect.toFixed(2)}x`,
            ort === undefined ? '-' : ort.toFixed(3),
            ort === undefined ? '-' : `${(ort / result.msMedian).toFixed(2)}x`,
            tfjsMs,
            tfjs ? `${(tfjs.msMedian / result.msMedian).toFixed(2)}x` : '-',
            tfjs ? tfjs.maxAbsErr.toExponential(1) : '-',
          ].join('\t'),
        );
      }
      for (const skipped of every ? report.skipped ?? [] : []) rows.push(`${layer.name}\t${skipped.algo}: ${skipped.reason}`);
    }
  } finally {
    await pool.dispose();
  }
  console.log(`threads ${threads}, budget ${budgetMs} ms per layer and algorithm; tfjs-backend-wasm ${flavour}`);
  console.log(['layer', every ? 'engine' : 'best engine', 'ms', 'GFLOP/s', 'error vs direct', 'ort ms', 'ort/engine', 'tfjs-wasm ms', 'tfjs/engine', 'tfjs err'].join('\t'));
  for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
