/**
 * Peers side by side, in one run: the engine's benchmark runner (every applicable algorithm, with
 * onnxruntime-node timed in a child process when installed) and @tensorflow/tfjs-backend-wasm (a dev
 * dependency, timed in this process), on the same layers. Not shipped: a measurement script.
 *   npx tsx scripts/bench/peers.ts [--suite resnet18] [--layers conv2_x,conv3_x] [--budget-ms 1000] [--threads 1]
 * Prints a table of median ms and the engine's best algorithm against each peer (peer ms / engine ms).
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { suiteLayers, isBenchSuite, type BenchLayer } from '../../extension/core/bench/layers';
import { fillUniform } from '../../extension/core/bench/runner';
import { runBench } from '../../extension/core/requests/bench';
import { PoolConvBackend } from '../../extension/workers/convBackend';
import { timeIterations } from '../../extension/core/bench/stats';
import { compareToReference, convDirectFlops, referenceConv2d } from '../../extension/core/conv/reference';
import { WorkerPool, defaultWorkerScript } from '../../extension/workers/pool';
import type { BenchResult, BenchSuite, ConvShape } from '../../extension/shared/payloads';
import { argValue } from './common';

const suiteArg = argValue('--suite') ?? 'resnet18';
if (!isBenchSuite(suiteArg)) throw new Error(`--suite: unknown suite '${suiteArg}'`);
const suite: BenchSuite = suiteArg;
const layers = suiteLayers(suite, argValue('--layers')?.split(','));
const budgetMs = Number(argValue('--budget-ms') ?? '1000');
const threads = Number(argValue('--threads') ?? '1');

/** NCHW input and OIHW weights re-laid out for tfjs: NHWC and HWIO. */
function tfjsTensors(shape: ConvShape, input: Float32Array, weight: Float32Array): { x: tf.Tensor4D; w: tf.Tensor4D } {
  const { N, C, H, W, K, R, S } = shape;
  const nhwc = new Float32Array(input.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) nhwc[(n * H * W + i) * C + c] = input[(n * C + c) * H * W + i];
  const hwio = new Float32Array(weight.length);
  for (let k = 0; k < K; k++)
    for (let c = 0; c < C; c++)
      for (let rs = 0; rs < R * S; rs++) hwio[(rs * C + c) * K + k] = weight[(k * C + c) * R * S + rs];
  return { x: tf.tensor4d(nhwc, [N, H, W, C]), w: tf.tensor4d(hwio, [R, S, C, K]) };
}

function tfjsConv(shape: ConvShape, x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const p = shape.pad;
  return tf.conv2d(x, w, shape.stride, [[0, 0], [p, p], [p, p], [0, 0]], 'NHWC');
}

/** tfjs output NHWC [N,P,Q,K] back to NCHW for the reference comparison. */
function nhwcToNchw(values: Float32Array, N: number, K: number, PQ: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let n = 0; n < N; n++) for (let i = 0; i < PQ; i++) for (let k = 0; k < K; k++) out[(n * K + k) * PQ + i] = values[(n * PQ + i) * K + k];
  return out;
}

async function timeTfjs(layer: BenchLayer): Promise<{ msMedian: number; maxAbsErr: number }> {
  const { shape } = layer;
  const input = fillUniform(new Float32Array(shape.N * shape.C * shape.H * shape.W), 101);
  const weight = fillUniform(new Float32Array(shape.K * shape.C * shape.R * shape.S), 102);
  const { x, w } = tfjsTensors(shape, input, weight);
  try {
    const first = tfjsConv(shape, x, w);
    const [, P, Q] = first.shape;
    const output = nhwcToNchw(first.dataSync() as Float32Array, shape.N, shape.K, P * Q);
    first.dispose();
    const { maxAbsErr } = compareToReference(output, referenceConv2d(input, weight, undefined, shape));
    const stats = await timeIterations(
      () => {
        const y = tfjsConv(shape, x, w);
        y.dataSync();
        y.dispose();
      },
      { warmupMs: 1000, budgetMs },
    );
    return { msMedian: stats.msMedian, maxAbsErr };
  } finally {
    x.dispose();
    w.dispose();
  }
}

async function main(): Promise<void> {
  setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), path.sep));
  await tf.setBackend('wasm');
  await tf.ready();
  const flavour = `simd ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, multithread ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')}`;

  const pool = new WorkerPool(defaultWorkerScript(), { size: Math.max(threads, 2) });
  const rows: string[] = [];
  try {
    for (const layer of layers) {
      const report = await runBench({ suite, layers: [layer.name], threads, budgetMs, peer: true }, {
        backend: new PoolConvBackend(pool),
        onProgress: (_fraction, message) => message && process.stderr.write(`${message}\n`),
      });
      const best = report.results.reduce<BenchResult | undefined>((a, b) => (!a || b.msMedian < a.msMedian ? b : a), undefined);
      const tfjs = await timeTfjs(layer);
      if (!best) {
        rows.push(`${layer.name}\t(no engine algorithm applies)\t-\t${tfjs.msMedian.toFixed(3)}`);
        continue;
      }
      const ort = best.peer?.msMedian;
      rows.push(
        [
          layer.name,
          `${best.algo}/${best.layout}`,
          best.msMedian.toFixed(3),
          (convDirectFlops(layer.shape) / (best.msMedian * 1e6)).toFixed(2),
          ort === undefined ? '-' : ort.toFixed(3),
          ort === undefined ? '-' : `${(ort / best.msMedian).toFixed(2)}x`,
          tfjs.msMedian.toFixed(3),
          `${(tfjs.msMedian / best.msMedian).toFixed(2)}x`,
          tfjs.maxAbsErr.toExponential(1),
        ].join('\t'),
      );
    }
  } finally {
    await pool.dispose();
  }
  console.log(`threads ${threads}, budget ${budgetMs} ms per layer and algorithm; tfjs-backend-wasm ${flavour}`);
  console.log(['layer', 'best engine', 'ms', 'GFLOP/s', 'ort ms', 'ort/engine', 'tfjs-wasm ms', 'tfjs/engine', 'tfjs err'].join('\t'));
  for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
