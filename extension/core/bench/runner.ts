/**
 * The convolution benchmark runner: for each layer, random input and weights, the fp64 reference
 * (computed in the pool), then every requested algorithm timed on 1..T engine workers (warm-up by
 * time, then a time budget), its error against the reference, and optionally the onnxruntime-node
 * peer on the same layer. The thread that calls it only coordinates; the kernels and the reference
 * run in the pool.
 */
import type { BenchReport, BenchResult, BenchSkip, ConvAlgorithm, ConvLayout, ConvShape } from '../../shared/payloads';
import type { BenchRequest } from '../../shared/requests';
import { CONV_ALGORITHMS, CONV_LAYOUTS } from '../../shared/payloads';
import type { WorkerPool } from '../../workers/pool';
import { applies, supportedLayouts, type ConvPlan } from '../../engine/engine';
import { ParallelEngine, splitUnits } from '../../workers/parallelEngine';
import { convDirectFlops, convOutputSize } from '../conv/reference';
import { omittedSuiteLayers, shapeLabel, suiteLayers, type BenchLayer } from './layers';
import { machineInfo } from './machine';
import { PEER_NOT_INSTALLED, findOnnxRuntime, peerField, runOnnxRuntimePeer, type PeerTiming } from './peer';
import { timeIterations } from './stats';

export interface BenchHooks {
  onProgress?(fraction: number, message?: string): void;
  signal?: AbortSignal;
}

export const DEFAULT_WARMUP_MS = 500;
export const DEFAULT_BUDGET_MS = 2000;
/** The relative error's denominator floor, as a share of the reference's largest magnitude. */
const RELATIVE_FLOOR = 1e-3;

/** Deterministic uniform values in [-1, 1) (mulberry32), so runs with one seed see the same data. */
export function fillUniform(target: Float32Array, seed: number): Float32Array {
  let state = seed >>> 0;
  for (let i = 0; i < target.length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    target[i] = ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1;
  }
  return target;
}

function sharedFloats(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, length) * 4), 0, length);
}

function abortError(): Error {
  const error = new Error('benchmark cancelled');
  error.name = 'AbortError';
  return error;
}

/** The layers a request names; throws a clear error for a bad combination. */
export function requestedLayers(request: BenchRequest): BenchLayer[] {
  if (request.suite && request.shape) throw new Error('give either a suite or a shape, not both');
  if (request.suite) return suiteLayers(request.suite, request.layers);
  if (request.shape) {
    if (request.layers?.length) throw new Error('layer names select layers of a suite; they do not apply to a custom shape');
    return [{ name: shapeLabel(request.shape), shape: request.shape, count: 1 }];
  }
  throw new Error('nothing to benchmark: give a suite (resnet18, resnet50, vgg16, mobilenet-v1) or a shape');
}

/** The algorithms a request names (default: all), validated. */
export function requestedAlgorithms(request: BenchRequest): ConvAlgorithm[] {
  if (!request.algos || request.algos.length === 0) return [...CONV_ALGORITHMS];
  return request.algos.map((name) => {
    if (!(CONV_ALGORITHMS as readonly string[]).includes(name)) {
      throw new Error(`unknown algorithm '${name}'; the algorithms are ${CONV_ALGORITHMS.join(', ')}`);
    }
    return name as ConvAlgorithm;
  });
}

/**
 * The layout each algorithm runs in: the requested one, or without a request nchw where the
 * algorithm supports it and otherwise its own first layout (blocked-layout kernels then run in
 * their layout, with the conversion from/to NCHW timed apart in layoutMs).
 */
export function layoutChooser(request: BenchRequest): (algo: ConvAlgorithm) => ConvLayout {
  const requested = request.layout;
  if (requested !== undefined) {
    if (!(CONV_LAYOUTS as readonly string[]).includes(requested)) {
      throw new Error(`unknown layout '${requested}'; the layouts are ${CONV_LAYOUTS.join(', ')}`);
    }
    return () => requested;
  }
  return (algo) => {
    const supported = supportedLayouts(algo);
    return supported.includes('nchw') || supported.length === 0 ? 'nchw' : supported[0];
  };
}

interface LayerData {
  input: Float32Array;
  weight: Float32Array;
  /** fp64 reference [N,K,P,Q] and its largest magnitude, when errors are checked. */
  reference?: Float64Array;
  maxRefAbs: number;
}

export async function runBenchmarks(request: BenchRequest, pool: WorkerPool, hooks: BenchHooks = {}): Promise<BenchReport> {
  const layers = requestedLayers(request);
  const algos = requestedAlgorithms(request);
  const layoutOf = layoutChooser(request);
  const threads = request.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > pool.size) {
    throw new Error(`threads must be an integer in 1..${pool.size}, got ${threads}`);
  }
  const warmupMs = request.warmupMs ?? DEFAULT_WARMUP_MS;
  const budgetMs = request.budgetMs ?? DEFAULT_BUDGET_MS;
  if (!(warmupMs >= 0 && Number.isFinite(warmupMs))) throw new Error(`warm-up must be a non-negative number of ms, got ${warmupMs}`);
  if (!(budgetMs >= 0 && Number.isFinite(budgetMs))) throw new Error(`budget must be a non-negative number of ms, got ${budgetMs}`);
  const checkErrors = request.checkErrors ?? true;
  const seed = request.seed ?? 1;
  const { signal, onProgress } = hooks;

  const parallel = new ParallelEngine(pool, { variant: request.variant ?? 'auto' });
  const report: BenchReport = {
    machine: machineInfo(parallel.engine.variant === 'relaxed' ? 'relaxed-simd' : 'simd128'),
    startedAt: new Date().toISOString(),
    suite: request.suite,
    results: [],
    skipped: [],
  };
  const skipped = report.skipped as BenchSkip[];
  // Layers of the network the engine cannot run are said, not dropped.
  if (request.suite) skipped.push(...omittedSuiteLayers(request.suite, request.layers));
  // A missing peer is said once for the run, not as a skipped pair under every layer.
  const timePeer = !!request.peer && findOnnxRuntime() !== undefined;
  if (request.peer && !timePeer) report.peerUnavailable = PEER_NOT_INSTALLED;

  // Progress in steps: per layer, the reference and the peer count one each, each algorithm one.
  const runnable = layers.map((layer) => algos.filter((algo) => applies(algo, layer.shape, layoutOf(algo)).ok));
  const totalSteps = layers.reduce(
    (sum, _layer, index) =>
      sum + runnable[index].length + (checkErrors && runnable[index].length > 0 ? 1 : 0) + (timePeer ? 1 : 0),
    0,
  );
  let doneSteps = 0;
  const progress = (within: number, message: string): void =>
    onProgress?.(Math.min(1, totalSteps === 0 ? 1 : (doneSteps + within) / totalSteps), message);

  for (let layerIndex = 0; layerIndex < layers.length; layerIndex++) {
    const layer = layers[layerIndex];
    if (signal?.aborted) throw abortError();
    for (const algo of algos) {
      const verdict = applies(algo, layer.shape, layoutOf(algo));
      if (!verdict.ok) skipped.push({ layer: layer.name, algo, reason: verdict.reason });
    }
    if (runnable[layerIndex].length === 0 && !timePeer) continue;

    const data = makeLayerData(layer.shape, seed + layerIndex);
    if (checkErrors && runnable[layerIndex].length > 0) {
      progress(0, `${layer.name}: fp64 reference`);
      Object.assign(
        data,
        await computeReference(pool, layer.shape, data, signal, (fraction) => progress(fraction, `${layer.name}: fp64 reference`)),
      );
      doneSteps++;
    }

    let peer: PeerTiming | undefined;
    if (timePeer) {
      progress(0, `${layer.name}: onnxruntime-node peer`);
      try {
        peer = await runOnnxRuntimePeer(layer.shape, data.weight, { threads, budgetMs, signal });
      } catch (error) {
        if (signal?.aborted) throw abortError();
        skipped.push({ layer: layer.name, algo: 'peer:onnxruntime-node', reason: (error as Error).message });
      }
      doneSteps++;
    }

    for (const algo of runnable[layerIndex]) {
      if (signal?.aborted) throw abortError();
      const layout = layoutOf(algo);
      const message = `${layer.name}: ${algo} (${layout}, ${threads} thread${threads === 1 ? '' : 's'})`;
      progress(0, message);
      try {
        const result = await benchAlgorithm(parallel, layer, algo, layout, threads, data, {
          warmupMs,
          budgetMs,
          signal,
          onSample: (fraction) => progress(fraction, message),
        });
        if (peer) result.peer = peerField(peer);
        report.results.push(result);
      } catch (error) {
        // One algorithm failing (out of engine memory, a kernel trap) must not lose the rest of a
        // suite: it is listed with the reason; only a cancellation ends the run.
        if (signal?.aborted || (error as Error).name === 'AbortError') throw abortError();
        skipped.push({ layer: layer.name, algo, reason: `failed: ${(error as Error).message}` });
      }
      doneSteps++;
    }
  }
  onProgress?.(1, 'done');
  return report;
}

function makeLayerData(shape: ConvShape, seed: number): LayerData {
  const input = fillUniform(sharedFloats(shape.N * shape.C * shape.H * shape.W), seed * 2 + 1);
  // Weights scaled by 1/sqrt(C*R*S), as a trained layer's are (He initialisation), so outputs stay O(1).
  const weight = fillUniform(sharedFloats(shape.K * shape.C * shape.R * shape.S), seed * 2 + 2);
  const scale = 1 / Math.sqrt(shape.C * shape.R * shape.S);
  for (let i = 0; i < weight.length; i++) weight[i] *= scale;
  return { input, weight, maxRefAbs: 0 };
}

/**
 * The fp64 reference, split by output channels over every worker of the pool (the kernels may use
 * fewer); several chunks per worker so progress moves and a cancel is seen between chunks.
 */
async function computeReference(
  pool: WorkerPool,
  shape: ConvShape,
  data: LayerData,
  signal: AbortSignal | undefined,
  onChunk: (fractionDone: number) => void,
): Promise<{ reference: Float64Array; maxRefAbs: number }> {
  const { P, Q } = convOutputSize(shape);
  const referenceBuffer = new SharedArrayBuffer(shape.N * shape.K * P * Q * 8);
  const chunks = splitUnits(shape.K, Math.min(shape.K, pool.size * 4)).filter(([begin, end]) => end > begin);
  let done = 0;
  const parts = await Promise.all(
    chunks.map(async ([kBegin, kEnd]) => {
      const part = await pool.run(
        'convReference',
        {
          shape,
          input: data.input.buffer as SharedArrayBuffer,
          weight: data.weight.buffer as SharedArrayBuffer,
          reference: referenceBuffer,
          kBegin,
          kEnd,
        },
        { signal },
      );
      onChunk(++done / chunks.length);
      return part;
    }),
  );
  return { reference: new Float64Array(referenceBuffer), maxRefAbs: Math.max(0, ...parts.map((part) => part.maxRefAbs)) };
}

async function benchAlgorithm(
  parallel: ParallelEngine,
  layer: BenchLayer,
  algo: ConvAlgorithm,
  layout: ConvLayout,
  threads: number,
  data: LayerData,
  timing: { warmupMs: number; budgetMs: number; signal?: AbortSignal; onSample(fraction: number): void },
): Promise<BenchResult> {
  const plan = parallel.plan(layer.shape, algo, layout, threads);
  try {
    plan.setWeights(data.weight);
    plan.writeInput(data.input);
    let layoutMs: number | undefined;
    if (layout !== 'nchw') {
      const start = performance.now();
      plan.convertInput();
      layoutMs = performance.now() - start;
    }
    const stats = await timeIterations(() => parallel.run(plan, threads, { signal: timing.signal }), timing);
    if (layout !== 'nchw') {
      const start = performance.now();
      plan.convertOutput();
      layoutMs = (layoutMs ?? 0) + performance.now() - start;
    }
    const errors = data.reference
      ? await compareOutput(parallel, plan, data, threads, timing.signal)
      : { maxAbsErr: NaN, maxRelErr: NaN };
    return {
      layer: layer.name,
      shape: layer.shape,
      algo,
      layout,
      threads,
      msMin: stats.msMin,
      msMedian: stats.msMedian,
      msP90: stats.msP90,
      gflops: convDirectFlops(layer.shape) / (stats.msMedian * 1e6),
      realFlops: plan.realFlops,
      layoutMs,
      maxAbsErr: errors.maxAbsErr,
      maxRelErr: errors.maxRelErr,
      workspaceBytes: plan.workspaceBytes(threads),
      iterations: stats.iterations,
    };
  } finally {
    plan.release();
  }
}

/** Error of the plan's NCHW output (after the last timed run) against the reference, in the pool. */
async function compareOutput(
  parallel: ParallelEngine,
  plan: ConvPlan,
  data: LayerData,
  threads: number,
  signal?: AbortSignal,
): Promise<{ maxAbsErr: number; maxRelErr: number }> {
  const reference = data.reference as Float64Array;
  const ranges = splitUnits(reference.length, threads).filter(([begin, end]) => end > begin);
  const parts = await Promise.all(
    ranges.map(([begin, end]) =>
      parallel.pool.run(
        'convCompare',
        {
          memory: parallel.engine.memory,
          outputPtr: plan.nchwOutputPtr,
          reference: reference.buffer as SharedArrayBuffer,
          begin,
          end,
          relativeFloor: data.maxRefAbs * RELATIVE_FLOOR,
        },
        { signal },
      ),
    ),
  );
  if (parts.some((part) => Number.isNaN(part.maxAbsErr))) return { maxAbsErr: NaN, maxRelErr: NaN };
  return {
    maxAbsErr: Math.max(...parts.map((part) => part.maxAbsErr)),
    maxRelErr: Math.max(...parts.map((part) => part.maxRelErr)),
  };
}
