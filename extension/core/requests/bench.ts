/**
 * The convolution benchmark: for each layer, random input and weights, the fp64 reference
 * (computed by the backend in parallel), then every requested algorithm timed on 1..T engine
 * workers (warm-up by time, then a time budget), its error against the reference, and optionally
 * the onnxruntime-node peer on the same layer. The thread that calls it only coordinates; the
 * kernels and the reference run in the backend's workers.
 */
import type { BenchReport, BenchResult, BenchSkip, ConvAlgorithm, ConvLayout, ConvShape } from '../../shared/payloads';
import type { BenchRequest } from '../../shared/requests';
import { DEFAULT_BUDGET_MS, DEFAULT_WARMUP_MS, fillUniform, requestedAlgorithms, requestedLayers, sharedFloats } from '../bench/runner';
import { omittedSuiteLayers, type BenchLayer } from '../bench/layers';
import { machineInfo } from '../bench/machine';
import { PEER_NOT_INSTALLED, findOnnxRuntime, peerField, runOnnxRuntimePeer, type PeerTiming } from '../bench/peer';
import { timeIterations } from '../bench/stats';
import { layoutChooser, type ConvBackend } from '../conv/backend';
import { compareToReference, convDirectFlops } from '../conv/reference';
import { DEFAULT_MAX_ERROR_VS_DIRECT, bestPerLayer } from '../../shared/format';
import { abortError, type ComputeHooks } from './hooks';

/** The relative error's denominator floor, as a share of the reference's largest magnitude. */
export const RELATIVE_FLOOR = 1e-3;

export interface LayerData {
  input: Float32Array;
  weight: Float32Array;
  /** fp64 reference [N,K,P,Q] and its largest magnitude, when errors are checked. */
  reference?: Float64Array;
  maxRefAbs: number;
}

export async function runBench(request: BenchRequest, hooks: ComputeHooks): Promise<BenchReport> {
  const { backend } = hooks;
  const layers = requestedLayers(request);
  const algos = requestedAlgorithms(request);
  const layoutOf = layoutChooser(request, (algo) => backend.supportedLayouts(algo));
  const threads = request.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > backend.maxThreads) {
    throw new Error(`threads must be an integer in 1..${backend.maxThreads}, got ${threads}`);
  }
  const warmupMs = request.warmupMs ?? DEFAULT_WARMUP_MS;
  const budgetMs = request.budgetMs ?? DEFAULT_BUDGET_MS;
  if (!(warmupMs >= 0 && Number.isFinite(warmupMs))) throw new Error(`warm-up must be a non-negative number of ms, got ${warmupMs}`);
  if (!(budgetMs >= 0 && Number.isFinite(budgetMs))) throw new Error(`budget must be a non-negative number of ms, got ${budgetMs}`);
  const checkErrors = request.checkErrors ?? true;
  const seed = request.seed ?? 1;
  const maxErrorVsDirect = request.maxErrorVsDirect ?? DEFAULT_MAX_ERROR_VS_DIRECT;
  if (!(maxErrorVsDirect > 0 && Number.isFinite(maxErrorVsDirect))) {
    throw new Error(`the accuracy budget (max error vs direct) must be a positive number, got ${maxErrorVsDirect}`);
  }
  const { signal, onProgress } = hooks;

  const report: BenchReport = {
    machine: machineInfo(backend.variant === 'relaxed' ? 'relaxed-simd' : 'simd128'),
    startedAt: new Date().toISOString(),
    suite: request.suite,
    results: [],
    skipped: [],
    maxErrorVsDirect,
  };
  const skipped = report.skipped as BenchSkip[];
  // Layers of the network the engine cannot run are said, not dropped.
  if (request.suite) skipped.push(...omittedSuiteLayers(request.suite, request.layers));
  // A missing peer is said once for the run, not as a skipped pair under every layer.
  const timePeer = !!request.peer && findOnnxRuntime() !== undefined;
  if (request.peer && !timePeer) report.peerUnavailable = PEER_NOT_INSTALLED;

  // Progress in steps: per layer, the reference and the peer count one each, each algorithm one.
  const runnable = layers.map((layer) => algos.filter((algo) => backend.applies(algo, layer.shape, layoutOf(algo)).ok));
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
    if (signal?.aborted) throw abortError('benchmark');
    for (const algo of algos) {
      const verdict = backend.applies(algo, layer.shape, layoutOf(algo));
      if (!verdict.ok) skipped.push({ layer: layer.name, algo, reason: verdict.reason });
    }
    if (runnable[layerIndex].length === 0 && !timePeer) continue;

    const data = makeLayerData(layer.shape, seed + layerIndex);
    if (checkErrors && runnable[layerIndex].length > 0) {
      progress(0, `${layer.name}: fp64 reference`);
      Object.assign(
        data,
        await backend.reference(layer.shape, data.input, data.weight, { signal, onChunk: (fraction) => progress(fraction, `${layer.name}: fp64 reference`) }),
      );
      doneSteps++;
    }

    let peer: PeerTiming | undefined;
    let peerMaxAbsErr: number | undefined;
    if (timePeer) {
      progress(0, `${layer.name}: onnxruntime-node peer`);
      try {
        // The peer computes on the same input, so its output is checked against the same reference.
        peer = await runOnnxRuntimePeer(layer.shape, data.weight, { threads, budgetMs, signal, input: data.input, returnOutput: !!data.reference });
        if (peer.output && data.reference) peerMaxAbsErr = compareToReference(peer.output, data.reference).maxAbsErr;
      } catch (error) {
        if (signal?.aborted) throw abortError('benchmark');
        skipped.push({ layer: layer.name, algo: 'peer:onnxruntime-node', reason: (error as Error).message });
      }
      doneSteps++;
    }

    const layerResults: BenchResult[] = [];
    for (const algo of runnable[layerIndex]) {
      if (signal?.aborted) throw abortError('benchmark');
      const layout = layoutOf(algo);
      const message = `${layer.name}: ${algo} (${layout}, ${threads} thread${threads === 1 ? '' : 's'})`;
      progress(0, message);
      try {
        const result = await benchAlgorithm(backend, layer, algo, layout, threads, data, {
          warmupMs,
          budgetMs,
          signal,
          onSample: (fraction) => progress(fraction, message),
        });
        if (peer) result.peer = peerField(peer, peerMaxAbsErr);
        report.results.push(result);
        layerResults.push(result);
      } catch (error) {
        // One algorithm failing (out of engine memory, a kernel trap) must not lose the rest of a
        // suite: it is listed with the reason; only a cancellation ends the run.
        if (signal?.aborted || (error as Error).name === 'AbortError') throw abortError('benchmark');
        skipped.push({ layer: layer.name, algo, reason: `failed: ${(error as Error).message}` });
      }
      doneSteps++;
    }
    if (data.reference && layerResults.length > 0) {
      const directError = layerResults.find((r) => r.algo === 'direct')?.maxAbsErr ?? (await directMaxAbsErr(backend, layer, threads, data, signal));
      // Floored at one fp32 rounding of the largest output, so an exact direct result divides by no zero.
      const floor = Math.max(directError, data.maxRefAbs * 2 ** -24, Number.MIN_VALUE);
      for (const result of layerResults) result.errorVsDirect = result.maxAbsErr / floor;
      // A peer that computes something else would make every ratio against it meaningless: said, not hidden.
      if (peerMaxAbsErr !== undefined && !(peerMaxAbsErr <= PEER_AGREEMENT * floor)) {
        skipped.push({
          layer: layer.name,
          algo: 'peer:onnxruntime-node',
          reason: `its output disagrees with the fp64 reference: max abs error ${peerMaxAbsErr.toExponential(2)}, over ${PEER_AGREEMENT}x direct's ${floor.toExponential(2)}`,
        });
      }
    }
  }
  report.best = bestPerLayer(report.results, maxErrorVsDirect);
  onProgress?.(1, 'done');
  return report;
}

/** How many times direct convolution's max abs error the peer's output may be off the reference and still agree. */
export const PEER_AGREEMENT = 16;

/** Direct convolution's max abs error on the layer's data (run once, untimed) when direct was not benchmarked. */
async function directMaxAbsErr(backend: ConvBackend, layer: BenchLayer, threads: number, data: LayerData, signal?: AbortSignal): Promise<number> {
  const plan = backend.plan(layer.shape, 'direct', backend.supportedLayouts('direct')[0], threads);
  try {
    plan.setWeights(data.weight);
    plan.setInput(data.input);
    await backend.run(plan, threads, { signal });
    plan.convertOutput();
    const reference = data.reference as Float64Array;
    return (await backend.compare(plan, reference, data.maxRefAbs * RELATIVE_FLOOR, threads, { signal })).maxAbsErr;
  } finally {
    plan.release();
  }
}

function makeLayerData(shape: ConvShape, seed: number): LayerData {
  const input = fillUniform(sharedFloats(shape.N * shape.C * shape.H * shape.W), seed * 2 + 1);
  // Weights scaled by 1/sqrt(fan-in), as a trained layer's are (He initialisation), so outputs stay O(1).
  const fanIn = (shape.C / (shape.groups ?? 1)) * shape.R * shape.S;
  const weight = fillUniform(sharedFloats(shape.K * fanIn), seed * 2 + 2);
  const scale = 1 / Math.sqrt(fanIn);
  for (let i = 0; i < weight.length; i++) weight[i] *= scale;
  return { input, weight, maxRefAbs: 0 };
}

/** One algorithm on one layer: plan, weights, input, timed runs, error against the reference. */
export async function benchAlgorithm(
  backend: ConvBackend,
  layer: BenchLayer,
  algo: ConvAlgorithm,
  layout: ConvLayout,
  threads: number,
  data: LayerData,
  timing: { warmupMs: number; budgetMs: number; minIterations?: number; signal?: AbortSignal; onSample(fraction: number): void },
): Promise<BenchResult> {
  const plan = backend.plan(layer.shape, algo, layout, threads);
  try {
    plan.setWeights(data.weight);
    plan.writeInput(data.input);
    let layoutMs: number | undefined;
    if (layout !== 'nchw') {
      const start = performance.now();
      plan.convertInput();
      layoutMs = performance.now() - start;
    }
    const stats = await timeIterations(() => backend.run(plan, threads, { signal: timing.signal }), timing);
    if (layout !== 'nchw') {
      const start = performance.now();
      plan.convertOutput();
      layoutMs = (layoutMs ?? 0) + performance.now() - start;
    }
    const workers = backend.workersFor?.(plan, threads) ?? threads;
    const errors = data.reference
      ? await backend.compare(plan, data.reference, data.maxRefAbs * RELATIVE_FLOOR, threads, { signal: timing.signal })
      : { maxAbsErr: NaN, maxRelErr: NaN };
    return {
      layer: layer.name,
      shape: layer.shape,
      algo,
      layout,
      threads,
      ...(workers < threads ? { threadsUsed: workers } : {}),
      msMin: stats.msMin,
      msMedian: stats.msMedian,
      msP90: stats.msP90,
      gflops: convDirectFlops(layer.shape) / (stats.msMedian * 1e6),
      realFlops: plan.realFlops,
      layoutMs,
      maxAbsErr: errors.maxAbsErr,
      maxRelErr: errors.maxRelErr,
      workspaceBytes: plan.workspaceBytes(workers),
      iterations: stats.iterations,
    };
  } finally {
    plan.release();
  }
}
