/**
 * Peers side by side, in one run: the engine's benchmark runner (every applicable algorithm, with
 * onnxruntime-node timed in a child process when installed) and @tensorflow/tfjs-backend-wasm (a dev
 * dependency, timed in this process), on the same layers. Not shipped: a measurement script.
 *   npx tsx scripts/bench/peers.ts [--suite resnet18] [--layers conv2_x,conv3_x] [--budget-ms 1000] [--warmup-ms 500] [--threads 1] [--algos a,b] [--rounds 3]
 *   npx tsx scripts/bench/peers.ts --shape 'N,C,H,W,K,R,S,stride,pad,groups,dilation;...' [--algos a,b] [--every]
 * Prints a table of median ms and the engine's best algorithm against each peer (peer ms / engine ms);
 * with --every, also one row per engine algorithm of the first round (with its error over direct's).
 */
import { summarizeSamples } from '../../extension/core/bench/stats';
import { isBenchSuite, parseConvShape, shapeLabel, suiteLayers } from '../../extension/core/bench/layers';
import { fillUniform } from '../../extension/core/bench/runner';
import { runBench } from '../../extension/core/requests/bench';
import { PoolConvBackend } from '../../extension/workers/convBackend';
import { convDirectFlops } from '../../extension/core/conv/reference';
import { WorkerPool, defaultWorkerScript } from '../../extension/workers/pool';
import type { BenchSuite, ConvAlgorithm, ConvShape } from '../../extension/shared/payloads';
import { argValue } from './common';
import { startTfjsWasm, timeTfjs } from './tfjsPeer';

const suiteArg = argValue('--suite') ?? 'resnet18';
if (!isBenchSuite(suiteArg)) throw new Error(`--suite: unknown suite '${suiteArg}'`);
const suite: BenchSuite = suiteArg;
const shapes = argValue('--shape')?.split(';').map((text) => parseConvShape(text, '--shape'));
const layers = shapes ? shapes.map((shape) => ({ name: shapeLabel(shape), shape })) : suiteLayers(suite, argValue('--layers')?.split(','));
const budgetMs = Number(argValue('--budget-ms') ?? '1000');
const warmupMs = Number(argValue('--warmup-ms') ?? '500');
const threads = Number(argValue('--threads') ?? '1');
const algos = argValue('--algos')?.split(',') as ConvAlgorithm[] | undefined;
const every = process.argv.includes('--every');
const everyRows: string[] = [];
const rounds = Number(argValue('--rounds') ?? '1');

/** The class of a layer, for the bound that limits it. */
function layerClass(shape: ConvShape): string {
  const groups = shape.groups ?? 1;
  const kind = groups === shape.C && groups > 1 ? 'depthwise' : groups > 1 ? `grouped/${groups}` : (shape.dilation ?? 1) > 1 ? `dilated/${shape.dilation}` : 'dense';
  return `${kind} ${shape.R}x${shape.S}/s${shape.stride}`;
}

interface Sample {
  label: string;
  engineMs: number;
  engineMinMs: number;
  ortMs?: number;
  ortMinMs?: number;
  tfjsMinMs?: number;
  ortErr?: number;
  engineErr: number;
  tfjsMs?: number;
  tfjsErr?: number;
}

const median = (values: number[]): number => summarizeSamples(values).msMedian;

async function main(): Promise<void> {
  const flavour = await startTfjsWasm();

  const pool = new WorkerPool(defaultWorkerScript(), { size: Math.max(threads, 2) });
  const samples = new Map<string, Sample[]>();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const layer of layers) {
        // Errors are checked in the first round; the later ones only time.
        const check = round === 0;
        const which = shapes ? { shape: layer.shape } : { suite, layers: [layer.name] };
        const report = await runBench({ ...which, threads, budgetMs, warmupMs, peer: true, checkErrors: check, ...(algos ? { algos } : {}) }, {
          backend: new PoolConvBackend(pool),
          onProgress: (_fraction, message) => message && process.stderr.write(`round ${round + 1}/${rounds} ${message}\n`),
        });
        // The fastest within the default accuracy budget (16x direct's error), as the CLI calls best;
        // the rounds without error checks keep the first round's pick.
        if (every && check) {
          for (const result of report.results) everyRows.push([layer.name, `${result.algo}/${result.layout}`, result.msMedian.toFixed(3), (convDirectFlops(layer.shape) / (result.msMedian * 1e6)).toFixed(2), result.errorVsDirect === undefined ? '-' : `${result.errorVsDirect.toFixed(2)}x`, result.peer ? `${(result.peer.msMedian / result.msMedian).toFixed(2)}x` : '-'].join('\t'));
          for (const skipped of report.skipped ?? []) everyRows.push(`${layer.name}\t${skipped.algo}: ${skipped.reason}`);
        }
        const first = samples.get(layer.name)?.[0];
        const pick = check ? report.best?.[0]?.withinBudget : report.results.find((result) => `${result.algo}/${result.layout}` === first?.label.split(' ')[0]);
        const best = pick && report.results.find((result) => result.algo === pick.algo && result.layout === pick.layout);
        if (!best) continue;
        const { shape } = layer;
        const input = fillUniform(new Float32Array(shape.N * shape.C * shape.H * shape.W), 101);
        const weight = fillUniform(new Float32Array((shape.K * shape.C * shape.R * shape.S) / (shape.groups ?? 1)), 102);
        const tfjs = await timeTfjs(shape, input, weight, { warmupMs, budgetMs, check });
        const entry = samples.get(layer.name) ?? [];
        samples.set(layer.name, entry);
        entry.push({
          label: `${best.algo}/${best.layout}${best.threadsUsed ? ` (${best.threadsUsed} of ${threads} thr)` : ''}`,
          engineMs: best.msMedian,
          engineMinMs: best.msMin,
          ortMs: best.peer?.msMedian,
          ortMinMs: best.peer?.msMin,
          tfjsMinMs: tfjs?.msMin,
          ortErr: best.peer?.maxAbsErr,
          engineErr: best.maxAbsErr,
          tfjsMs: tfjs?.msMedian,
          tfjsErr: tfjs?.maxAbsErr,
        });
      }
    }
  } finally {
    await pool.dispose();
  }
  console.log(`${suite}: threads ${threads}, ${rounds} round(s) of every layer; warm-up ${warmupMs} ms and budget ${budgetMs} ms per layer and algorithm; tfjs-backend-wasm ${flavour}`);
  console.log("best engine = the fastest within 16x direct's max abs error (picked in round 1); ms = median over rounds; ratios = median of the per-round ratios (above 1: the engine is faster)");
  console.log('errors: max abs against the fp64 reference, round 1 (ort and the engine on the same data, tfjs on its own)');
  console.log('"min" columns: the same from each run\'s fastest sample (on a loaded machine, the runs the OS left alone)');
  console.log(['layer', 'class', 'best engine', 'ms', 'GFLOP/s', 'ort ms', 'ort/engine', 'ort err', 'engine err', 'tfjs-wasm ms', 'tfjs/engine', 'tfjs err', 'min ms', 'min GFLOP/s', 'ort/engine min', 'tfjs/engine min'].join('\t'));
  const scientific = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? '-' : value.toExponential(1));
  for (const layer of layers) {
    const entry = samples.get(layer.name);
    if (!entry?.length) {
      console.log(`${layer.name}\t${layerClass(layer.shape)}\t(no engine algorithm applies)`);
      continue;
    }
    const engineMs = median(entry.map((s) => s.engineMs));
    const engineMinMs = median(entry.map((s) => s.engineMinMs));
    const peer = (pick: (s: Sample) => number | undefined, engine: (s: Sample) => number = (s) => s.engineMs): [string, string] => {
      const times = entry.flatMap((s) => (pick(s) === undefined ? [] : [pick(s) as number]));
      const ratios = entry.flatMap((s) => (pick(s) === undefined ? [] : [(pick(s) as number) / engine(s)]));
      return times.length ? [median(times).toFixed(3), `${median(ratios).toFixed(2)}x`] : ['-', '-'];
    };
    console.log(
      [
        `${layer.name}${'count' in layer && Number(layer.count) > 1 ? ` (x${Number(layer.count)})` : ''}`,
        layerClass(layer.shape),
        entry[0].label,
        engineMs.toFixed(3),
        (convDirectFlops(layer.shape) / (engineMs * 1e6)).toFixed(2),
        ...peer((s) => s.ortMs),
        scientific(entry[0].ortErr),
        scientific(entry[0].engineErr),
        ...peer((s) => s.tfjsMs),
        scientific(entry[0].tfjsErr),
        engineMinMs.toFixed(3),
        (convDirectFlops(layer.shape) / (engineMinMs * 1e6)).toFixed(2),
        peer((s) => s.ortMinMs, (s) => s.engineMinMs)[1],
        peer((s) => s.tfjsMinMs, (s) => s.engineMinMs)[1],
      ].join('\t'),
    );
  }
  if (every) {
    console.log('\nevery algorithm, round 1:');
    console.log(['layer', 'engine', 'ms', 'GFLOP/s', 'error vs direct', 'ort/engine'].join('\t'));
    for (const row of everyRows) console.log(row);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
