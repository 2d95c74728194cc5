/**
 * @tensorflow/tfjs-backend-wasm (XNNPACK, a dev dependency) as a benchmark peer, in this process:
 * conv2d for one group, depthwiseConv2d for groups = C (any channel multiplier); tfjs has no other
 * grouped convolution. Inputs arrive as NCHW and [K, C/groups, R, S] like the engine's; outputs are
 * compared with the fp64 reference. Not shipped: measurement scripts only.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { timeIterations } from '../../extension/core/bench/stats';
import { compareToReference, referenceConv2d } from '../../extension/core/conv/reference';
import { convPads, type ConvShape } from '../../extension/shared/payloads';

/** Starts the wasm backend; returns its flavour (SIMD, threads) for the report. */
export async function startTfjsWasm(): Promise<string> {
  setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), path.sep));
  await tf.setBackend('wasm');
  await tf.ready();
  return `simd ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, multithread ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')}`;
}

export function tfjsKind(shape: ConvShape): 'conv2d' | 'depthwise' | undefined {
  const groups = shape.groups ?? 1;
  if (groups === 1) return 'conv2d';
  return groups === shape.C ? 'depthwise' : undefined;
}

/**
 * NCHW input and [K, C/groups, R, S] weights re-laid out for tfjs: NHWC, and HWIO for conv2d or
 * [R, S, C, multiplier] for depthwiseConv2d (output channel c * multiplier + m in both, so the
 * same transpose serves both).
 */
function tfjsTensors(shape: ConvShape, input: Float32Array, weight: Float32Array): { x: tf.Tensor4D; w: tf.Tensor4D } {
  const { N, C, H, W, K, R, S } = shape;
  const nhwc = new Float32Array(input.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) nhwc[(n * H * W + i) * C + c] = input[(n * C + c) * H * W + i];
  const perGroup = C / (shape.groups ?? 1);
  const hwio = new Float32Array(weight.length);
  for (let k = 0; k < K; k++)
    for (let c = 0; c < perGroup; c++)
      for (let rs = 0; rs < R * S; rs++) hwio[(rs * perGroup + c) * K + k] = weight[(k * perGroup + c) * R * S + rs];
  const w = tfjsKind(shape) === 'depthwise' ? tf.tensor4d(hwio, [R, S, C, K / C]) : tf.tensor4d(hwio, [R, S, perGroup, K]);
  return { x: tf.tensor4d(nhwc, [N, H, W, C]), w };
}

function tfjsConv(shape: ConvShape, x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const [top, left, bottom, right] = convPads(shape);
  const pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [top, bottom], [left, right], [0, 0]];
  const dilation = shape.dilation ?? 1;
  return tfjsKind(shape) === 'depthwise'
    ? tf.depthwiseConv2d(x, w, shape.stride, pads, 'NHWC', dilation)
    : tf.conv2d(x, w, shape.stride, pads, 'NHWC', dilation);
}

/** tfjs output NHWC [N,P,Q,K] back to NCHW for the reference comparison. */
function nhwcToNchw(values: Float32Array, N: number, K: number, PQ: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let n = 0; n < N; n++) for (let i = 0; i < PQ; i++) for (let k = 0; k < K; k++) out[(n * K + k) * PQ + i] = values[(n * PQ + i) * K + k];
  return out;
}

/**
 * Median time of one tfjs convolution with its output read back (dataSync), and its max abs error
 * against the fp64 reference; undefined for a grouping tfjs cannot run.
 */
export async function timeTfjs(
  shape: ConvShape,
  input: Float32Array,
  weight: Float32Array,
  timing: { warmupMs: number; budgetMs: number; check?: boolean },
): Promise<{ msMedian: number; msMin: number; maxAbsErr: number } | undefined> {
  if (!tfjsKind(shape)) return undefined;
  const { x, w } = tfjsTensors(shape, input, weight);
  try {
    const first = tfjsConv(shape, x, w);
    const [, P, Q] = first.shape;
    const output = nhwcToNchw(first.dataSync() as Float32Array, shape.N, shape.K, P * Q);
    first.dispose();
    // The fp64 reference is plain JavaScript on this thread: rounds after the first may skip it (NaN).
    const maxAbsErr = timing.check === false ? NaN : compareToReference(output, referenceConv2d(input, weight, undefined, shape)).maxAbsErr;
    const stats = await timeIterations(() => {
      const y = tfjsConv(shape, x, w);
      y.dataSync();
      y.dispose();
    }, timing);
    return { msMedian: stats.msMedian, msMin: stats.msMin, maxAbsErr };
  } finally {
    x.dispose();
    w.dispose();
  }
}
