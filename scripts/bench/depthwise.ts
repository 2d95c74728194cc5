/**
 * Depthwise 3x3 side by side in one run, one thread: the engine's depthwise kernel (direct on
 * nchw{B}c, in this process), onnxruntime-node (Conv with group = C, in a child process, when
 * installed) and tfjs-backend-wasm depthwiseConv2d (in this process), on MobileNet-v1's dw layers.
 * The three are timed in turn, layer by layer, for several rounds, so each round's ratios come from
 * the same moment of a shared machine; the table quotes medians over the rounds. Alongside: the
 * engine's NCHW <-> nchw{B}c conversion (the peers' times include whatever layout work they do),
 * the bytes a layer must move (input, output, weights) and the rate the kernel moved them at.
 *   node --experimental-wasm-relaxed-simd --import tsx scripts/bench/depthwise.ts [--rounds 5] [--budget-ms 300] [--layers dw1,dw3] [--layout nchw4c] [--also winograd-2x3,winograd-4x3]
 * --also times other engine algorithms on the same data in each round (where they apply), in columns of
 * their own: median ms and the median per-round ratio of their time to the depthwise kernel's.
 */
import { runOnnxRuntimePeer } from '../../extension/core/bench/peer';
import { suiteLayers } from '../../extension/core/bench/layers';
import { fillUniform } from '../../extension/core/bench/runner';
import { summarizeSamples, timeIterations } from '../../extension/core/bench/stats';
import { compareToReference, convDirectFlops, convOutputSize, referenceConv2d } from '../../extension/core/conv/reference';
import { Engine, type EngineVariant, applies } from '../../extension/engine/engine';
import type { ConvAlgorithm, ConvLayout, ConvShape } from '../../extension/shared/payloads';
import { argValue } from './common';
import { startTfjsWasm, timeTfjs } from './tfjsPeer';

const rounds = Number(argValue('--rounds') ?? '5');
const budgetMs = Number(argValue('--budget-ms') ?? '300');
const layout = (argValue('--layout') ?? 'nchw4c') as ConvLayout;
const variant = (argValue('--variant') ?? 'auto') as EngineVariant | 'auto';
const names = argValue('--layers')?.split(',');
const also = (argValue('--also')?.split(',') ?? []) as ConvAlgorithm[];
const layers = suiteLayers('mobilenet-v1', names).filter((layer) => (layer.shape.groups ?? 1) === layer.shape.C);

const median = (values: number[]): number => summarizeSamples(values).msMedian;

function layerBytes(shape: ConvShape): number {
  const { P, Q } = convOutputSize(shape);
  return 4 * (shape.N * shape.C * shape.H * shape.W + shape.N * shape.K * P * Q + (shape.K * shape.C * shape.R * shape.S) / (shape.groups ?? 1));
}

interface Round {
  engineMs: number;
  /** Median ms of each --also algorithm that applies. */
  alsoMs: Partial<Record<ConvAlgorithm, number>>;
  layoutMs: number;
  ortMs?: number;
  tfjsMs?: number;
}

async function main(): Promise<void> {
  const flavour = await startTfjsWasm();
  const engine = Engine.create({ variant });
  const timing = { warmupMs: 200, budgetMs };
  const data = layers.map((layer, index) => {
    const { shape } = layer;
    const input = fillUniform(new Float32Array(shape.N * shape.C * shape.H * shape.W), 2 * index + 1);
    const weight = fillUniform(new Float32Array((shape.K * shape.C * shape.R * shape.S) / (shape.groups ?? 1)), 2 * index + 2);
    return { layer, input, weight, reference: referenceConv2d(input, weight, undefined, shape) };
  });
  const results = new Map<string, { rounds: Round[]; engineErr: number; tfjsErr?: number; ortErr?: number }>();
  let ortMissing: string | undefined;
  for (let round = 0; round < rounds; round++) {
    for (const { layer, input, weight, reference } of data) {
      const entry = results.get(layer.name) ?? { rounds: [], engineErr: 0 };
      results.set(layer.name, entry);
      const plan = engine.plan(layer.shape, 'direct', layout);
      const sample: Round = { engineMs: 0, layoutMs: 0, alsoMs: {} };
      try {
        plan.setWeights(weight);
        plan.writeInput(input);
        sample.layoutMs = (await timeIterations(() => plan.convertInput(), timing)).msMedian;
        sample.engineMs = (await timeIterations(() => plan.run(), timing)).msMedian;
        sample.layoutMs += (await timeIterations(() => plan.convertOutput(), timing)).msMedian;
        entry.engineErr = Math.max(entry.engineErr, compareToReference(plan.readOutput(), reference).maxAbsErr);
      } finally {
        plan.release();
      }
      for (const algo of also) {
        if (!applies(algo, layer.shape, layout).ok) continue;
        const other = engine.plan(layer.shape, algo, layout);
        try {
          other.setWeights(weight);
          other.setInput(input);
          sample.alsoMs[algo] = (await timeIterations(() => other.run(), timing)).msMedian;
          entry.engineErr = Math.max(entry.engineErr, compareToReference(other.readOutput(), reference).maxAbsErr);
        } finally {
          other.release();
        }
      }
      if (ortMissing === undefined) {
        try {
          const ort = await runOnnxRuntimePeer(layer.shape, weight, { threads: 1, input, budgetMs, warmupMs: 500, returnOutput: round === 0 });
          sample.ortMs = ort.msMedian;
          if (ort.output) entry.ortErr = compareToReference(ort.output, reference).maxAbsErr;
        } catch (error) {
          ortMissing = (error as Error).message;
        }
      }
      const tfjs = await timeTfjs(layer.shape, input, weight, timing);
      if (tfjs) {
        sample.tfjsMs = tfjs.msMedian;
        entry.tfjsErr = tfjs.maxAbsErr;
      }
      entry.rounds.push(sample);
      process.stderr.write(`round ${round + 1}/${rounds} ${layer.name}: engine ${sample.engineMs.toFixed(3)} ms, ort ${sample.ortMs?.toFixed(3) ?? '-'}, tfjs ${sample.tfjsMs?.toFixed(3) ?? '-'}\n`);
    }
  }
  console.log(`engine ${engine.variant}, layout ${layout}, 1 thread; tfjs-backend-wasm ${flavour}; ${rounds} rounds of ${budgetMs} ms per case; medians over rounds`);
  if (ortMissing) console.log(`onnxruntime-node: ${ortMissing}`);
  console.log('ratios: peer ms / engine kernel ms, median of the per-round ratios (above 1: the engine is faster); "+layout" adds the engine\'s NCHW conversions');
  const alsoColumns = also.flatMap((algo) => [`${algo} ms`, `${algo}/engine`]);
  console.log(['layer', 'shape', 'engine ms', 'GFLOP/s', 'GB/s', 'layout ms', 'ort ms', 'ort/engine', 'ort/+layout', 'tfjs ms', 'tfjs/engine', 'tfjs/+layout', ...alsoColumns, 'max abs err engine/ort/tfjs'].join('\t'));
  for (const { layer } of data) {
    const entry = results.get(layer.name);
    if (!entry) continue;
    const { shape } = layer;
    const engineMs = median(entry.rounds.map((r) => r.engineMs));
    const ratio = (pick: (r: Round) => number | undefined, withLayout: boolean): string => {
      const ratios = entry.rounds.flatMap((r) => {
        const peer = pick(r);
        return peer === undefined ? [] : [peer / (r.engineMs + (withLayout ? r.layoutMs : 0))];
      });
      return ratios.length ? `${median(ratios).toFixed(2)}x` : '-';
    };
    const ortMs = entry.rounds.flatMap((r) => (r.ortMs === undefined ? [] : [r.ortMs]));
    const tfjsMs = entry.rounds.flatMap((r) => (r.tfjsMs === undefined ? [] : [r.tfjsMs]));
    console.log(
      [
        `${layer.name}${layer.count > 1 ? ` (x${layer.count})` : ''}`,
        `${shape.C}x${shape.H}x${shape.W} s${shape.stride}`,
        engineMs.toFixed(4),
        (convDirectFlops(shape) / (engineMs * 1e6)).toFixed(1),
        (layerBytes(shape) / (engineMs * 1e6)).toFixed(1),
        median(entry.rounds.map((r) => r.layoutMs)).toFixed(4),
        ortMs.length ? median(ortMs).toFixed(4) : '-',
        ratio((r) => r.ortMs, false),
        ratio((r) => r.ortMs, true),
        tfjsMs.length ? median(tfjsMs).toFixed(4) : '-',
        ratio((r) => r.tfjsMs, false),
        ratio((r) => r.tfjsMs, true),
        ...also.flatMap((algo) => {
          const times = entry.rounds.flatMap((r) => (r.alsoMs[algo] === undefined ? [] : [r.alsoMs[algo]]));
          const ratios = entry.rounds.flatMap((r) => (r.alsoMs[algo] === undefined ? [] : [(r.alsoMs[algo] as number) / r.engineMs]));
          return times.length ? [median(times).toFixed(4), `${median(ratios).toFixed(2)}x`] : ['-', '-'];
        }),
        [entry.engineErr, entry.ortErr, entry.tfjsErr].map((e) => (e === undefined ? '-' : e.toExponential(1))).join(' / '),
      ].join('\t'),
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
