/**
 * Times each layer of a model report on the engine, through the same convolution backend and the
 * same per-algorithm measurement as the bench request: every applicable algorithm, its time within
 * a budget, its error against the fp64 reference computed on this layer's real weights (random
 * activations in [-1, 1), or the user's .npy activations where given), and the fastest within the
 * accuracy budget. Matrix products run as 1x1 convolutions over their rows. Times are cached by
 * (shape, algorithm, layout, threads, engine build), errors by weight file, layer and activations
 * too, so nothing is measured twice.
 */
import { CONV_ALGORITHMS, type ConvAlgorithm, type ConvLayout, type ConvShape, type ModelAlgorithmResult, type ModelBest, type ModelLayer, type ModelReport } from '../../shared/payloads';
import { runOnnxRuntimePeer } from '../bench/peer';
import { fillUniform, sharedFloats } from '../bench/runner';
import { type AppliesVerdict, layoutChooser, type ConvBackend } from '../conv/backend';
import type { OpenedWeightFile } from '../formats/types';
import { abortError } from '../requests/hooks';
import { benchAlgorithm, type LayerData } from '../requests/bench';
import { type ActivationSource, layerActivations } from './activations';
import { isConvShape } from './layers';
import { readLayerWeight } from './layerWeights';
import { type TimingCache, timingKey, weightFileIdentity } from './timingCache';

export const DEFAULT_MODEL_BUDGET_MS = 200;
/**
 * Engine memory one algorithm may take beyond a layer's tensors. The engine's memory grows to its
 * largest plan and never shrinks: without a bound, fft on ResNet-18's 512-channel layers (162-324
 * MiB of spectra) holds a third of a GB for the rest of the run, for times 8-600x the best.
 */
export const DEFAULT_MAX_WORKSPACE_MIB = 64;
/** The accuracy budget of the bench request too: the F(6,3) class (9-13x direct's max error here). */
export { DEFAULT_MAX_ERROR_VS_DIRECT } from '../../shared/format';

export interface ModelTimingOptions {
  backend: ConvBackend;
  /** Identifies the engine build in cache keys. */
  engineBuild: string;
  cache: TimingCache;
  /** Identifies the weight file's contents in error cache keys. */
  fileIdentity: string;
  algos?: ConvAlgorithm[];
  budgetMs: number;
  warmupMs: number;
  threads: number;
  maxErrorVsDirect: number;
  /** Algorithms needing more engine memory than this beyond the layer's tensors are skipped. */
  maxWorkspaceMib: number;
  seed?: number;
  /** The user's activations to measure errors on (random ones where it has none for a layer). */
  activations?: ActivationSource;
  /** Time onnxruntime-node on each layer too (its version is part of the cache key). */
  peer?: { version: string };
  signal?: AbortSignal;
  onProgress?(fraction: number, message: string): void;
}

/** The engine's shape for a layer, or why the engine cannot run it. */
export function engineShape(layer: ModelLayer): { shape: ConvShape } | { reason: string } {
  const s = layer.shape;
  if (!isConvShape(s)) {
    if (s.N === null) return { reason: 'needs the input size (give --input)' };
    return { shape: { N: 1, C: s.I, H: 1, W: s.N, K: s.O, R: 1, S: 1, stride: 1, pad: 0 } };
  }
  if (layer.op === 'convTranspose') return { reason: 'a transposed convolution: listed, not timed (the engine does not run it)' };
  if (s.N === null || s.H === null || s.W === null || s.pads === null || s.P === null) return { reason: 'needs the input size (give --input)' };
  if (s.dilations[0] !== s.dilations[1]) return { reason: `dilations ${s.dilations.join('x')}: this engine build runs equal dilations` };
  if (s.strides[0] !== s.strides[1]) return { reason: `strides ${s.strides.join('x')}: this engine build runs equal strides` };
  const pads = s.pads as [number, number, number, number];
  return {
    shape: {
      N: s.N, C: s.C, H: s.H, W: s.W, K: s.K, R: s.R, S: s.S, stride: s.strides[0], pad: pads[0],
      ...(s.groups !== 1 ? { groups: s.groups } : {}),
      ...(s.dilations[0] !== 1 ? { dilation: s.dilations[0] } : {}),
      ...(new Set(pads).size !== 1 ? { pads } : {}),
    },
  };
}

/** Whether `algo` runs the shape, and within the memory bound (direct, the yardstick of the errors, always may); an over-memory verdict carries the need. */
function withinWorkspace(backend: ConvBackend, algo: ConvAlgorithm, shape: ConvShape, layout: ConvLayout, threads: number, maxMib: number): AppliesVerdict & { workspaceMib?: number } {
  const verdict = backend.applies(algo, shape, layout);
  if (!verdict.ok || !backend.workspaceBytes || algo === 'direct') return verdict;
  const mib = backend.workspaceBytes(shape, algo, layout, threads) / 2 ** 20;
  if (mib <= maxMib) return verdict;
  return { ok: false, workspaceMib: mib, reason: `needs ${mib.toFixed(1)} MiB of engine memory beyond the layer's tensors, over the bound of ${maxMib} MiB (--max-workspace-mib)` };
}

function pick(results: ModelAlgorithmResult[], accept: (r: ModelAlgorithmResult) => boolean): ModelBest | undefined {
  const best = results.filter(accept).reduce<ModelAlgorithmResult | undefined>((a, r) => (!a || r.msMedian < a.msMedian ? r : a), undefined);
  return best && { algo: best.algo, layout: best.layout, msMedian: best.msMedian, errorVsDirect: best.errorVsDirect };
}

/** Fills each layer's results, best (and fastest when outside the budget), notTimed and skipped; returns the pairs measured and served by the cache. */
export async function timeModelLayers(report: ModelReport, opened: OpenedWeightFile, options: ModelTimingOptions): Promise<{ measured: number; cacheHits: number; activationLayers: number }> {
  const { backend, cache, threads, signal } = options;
  const layoutOf = layoutChooser({}, (algo) => backend.supportedLayouts(algo));
  // Direct convolution is the yardstick of every error, so it always runs.
  const algos = options.algos ? [...new Set<ConvAlgorithm>(['direct', ...options.algos])] : [...CONV_ALGORITHMS];
  const tensors = new Map(opened.tensors.map((t) => [t.name, t]));
  const plans = report.layers.map((layer) => {
    const target = engineShape(layer);
    if ('reason' in target) return { layer, reason: target.reason };
    const verdicts = algos.map((algo) => ({ algo, layout: layoutOf(algo), verdict: withinWorkspace(backend, algo, target.shape, layoutOf(algo), threads, options.maxWorkspaceMib) }));
    return { layer, shape: target.shape, runnable: verdicts.filter((v) => v.verdict.ok), skipped: verdicts.filter((v) => !v.verdict.ok) };
  });
  const totalSteps = plans.reduce((sum, p) => sum + (p.runnable?.length ?? 0), 0);
  let done = 0;
  let measured = 0;
  let cacheHits = 0;
  let activationLayers = 0;
  for (const [index, plan] of plans.entries()) {
    const layer = plan.layer;
    if (signal?.aborted) throw abortError('model report');
    if (!plan.shape || !plan.runnable) {
      layer.notTimed = plan.reason;
      continue;
    }
    const shape = plan.shape;
    layer.skipped = plan.skipped!.map(({ algo, verdict }) => ({ algo, reason: verdict.ok ? '' : verdict.reason, ...(verdict.workspaceMib === undefined ? {} : { workspaceMib: verdict.workspaceMib }) }));
    if (!plan.runnable.some((r) => r.algo === 'direct')) {
      layer.notTimed = `direct convolution, the yardstick of the errors, does not run it: ${layer.skipped.find((s) => s.algo === 'direct')?.reason ?? 'not requested'}`;
      done += plan.runnable.length;
      continue;
    }
    const given = options.activations ? await layerActivations(options.activations, layer, shape, index === 0) : undefined;
    if (given) {
      layer.activations = given.file;
      activationLayers++;
    }
    const dataKey = given ? `npy:${await weightFileIdentity(given.file)}` : `seed${options.seed ?? 1}`;
    const keys = plan.runnable.map(({ algo, layout }) => ({
      algo,
      layout,
      time: timingKey(options.engineBuild, shape, algo, layout, threads),
      // By weight, not layer name: names may repeat in a file, a weight tensor is one set of values.
      error: `${options.fileIdentity}|${layer.weight}|${timingKey(options.engineBuild, shape, algo, layout, 1)}|${dataKey}`,
    }));
    const peerKey = options.peer ? timingKey(`onnxruntime-node-${options.peer.version}`, shape, 'Conv', 'nchw', threads) : undefined;
    const needsEngine = keys.some((k) => !cache.timing(k.time) || cache.error(k.error) === undefined) || (peerKey !== undefined && !cache.timing(peerKey));
    let data: LayerData | undefined;
    if (needsEngine) {
      const tensor = tensors.get(layer.weight);
      if (!tensor) {
        layer.notTimed = `its weight '${layer.weight}' is not among the file's tensors`;
        continue;
      }
      options.onProgress?.(done / Math.max(1, totalSteps), `${layer.name}: weights and fp64 reference`);
      const weight = await readLayerWeight(layer, tensor, sharedFloats((shape.K * shape.C * shape.R * shape.S) / (shape.groups ?? 1)), signal);
      const input = sharedFloats(shape.N * shape.C * shape.H * shape.W);
      if (given) input.set(given.data);
      else fillUniform(input, (options.seed ?? 1) * 7919 + index);
      data = { input, weight, maxRefAbs: 0 };
      Object.assign(data, await backend.reference(shape, input, weight, { signal }));
    }
    const results: ModelAlgorithmResult[] = [];
    for (const key of keys) {
      if (signal?.aborted) throw abortError('model report');
      const message = `${layer.name}: ${key.algo} (${key.layout})`;
      let timing = cache.timing(key.time);
      const timeWasCached = timing !== undefined;
      let maxAbsErr = cache.error(key.error);
      if (timing && maxAbsErr !== undefined) cacheHits++;
      else {
        options.onProgress?.(done / Math.max(1, totalSteps), message);
        try {
          const run = await benchAlgorithm(backend, { name: layer.name, shape, count: 1 }, key.algo, key.layout, threads, data!, {
            // With the time known, one run gives the error on this layer's weights.
            warmupMs: timing ? 0 : options.warmupMs,
            budgetMs: timing ? 0 : options.budgetMs,
            ...(timing ? { minIterations: 1 } : {}),
            signal,
            onSample: (fraction) => options.onProgress?.((done + fraction) / Math.max(1, totalSteps), message),
          });
          if (!timing) {
            timing = { msMedian: run.msMedian, msMin: run.msMin, msP90: run.msP90, iterations: run.iterations ?? 0 };
            cache.setTiming(key.time, timing);
            measured++;
          } else cacheHits++;
          maxAbsErr = run.maxAbsErr;
          cache.setError(key.error, maxAbsErr);
        } catch (error) {
          if (signal?.aborted || (error as Error).name === 'AbortError') throw abortError('model report');
          layer.skipped.push({ algo: key.algo, reason: `failed: ${(error as Error).message}` });
          done++;
          continue;
        }
      }
      results.push({
        algo: key.algo,
        layout: key.layout,
        msMedian: timing.msMedian,
        msMin: timing.msMin,
        gflops: (layer.flops ?? 0) / (timing.msMedian * 1e6),
        maxAbsErr,
        errorVsDirect: NaN,
        cached: timeWasCached,
      });
      done++;
    }
    if (peerKey) {
      let peer = cache.timing(peerKey);
      if (peer) cacheHits++;
      else {
        options.onProgress?.(done / Math.max(1, totalSteps), `${layer.name}: onnxruntime-node peer`);
        try {
          // onnxruntime needs about a second of warm-up before its times settle: the peer's own default, not the engine's.
          const run = await runOnnxRuntimePeer(shape, data!.weight, { threads, budgetMs: options.budgetMs, signal });
          peer = { msMedian: run.msMedian, msMin: run.msMin, msP90: run.msP90, iterations: run.iterations };
          cache.setTiming(peerKey, peer);
          measured++;
        } catch (error) {
          if (signal?.aborted || (error as Error).name === 'AbortError') throw abortError('model report');
          layer.skipped.push({ algo: 'peer:onnxruntime-node', reason: (error as Error).message });
        }
      }
      if (peer) layer.peerMs = peer.msMedian;
    }
    const direct = results.find((r) => r.algo === 'direct');
    for (const r of results) r.errorVsDirect = direct ? (direct.maxAbsErr > 0 ? r.maxAbsErr / direct.maxAbsErr : r.maxAbsErr === 0 ? 1 : Infinity) : NaN;
    layer.results = results;
    const chosen = layer.winograd.chosen;
    const measuredChosen = chosen && results.find((r) => r.algo === chosen.algo);
    if (chosen && measuredChosen) Object.assign(chosen, { maxAbsErr: measuredChosen.maxAbsErr, errorVsDirect: measuredChosen.errorVsDirect });
    const best = pick(results, (r) => r.errorVsDirect <= options.maxErrorVsDirect);
    const fastest = pick(results, () => true);
    if (best) layer.best = best;
    if (fastest && (!best || fastest.algo !== best.algo || fastest.layout !== best.layout)) layer.fastest = fastest;
  }
  options.onProgress?.(1, 'timed');
  return { measured, cacheHits, activationLayers };
}
