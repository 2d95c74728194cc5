/**
 * What filter pruning would buy on each layer of the report: the layer with a target share of its
 * filters removed (output channels of a convolution, rows of a matrix), the smallest by L1 norm
 * first as Distiller's L1RankedStructureParameterPruner and torch.nn.utils.prune.ln_structured(n=1)
 * rank them (round(target * K) filters, ties removing the lower index first), and its input
 * channels shrunk where the layer before it was pruned and the graph feeds that layer's output
 * straight in. A layer's filters are kept where removing them would need more than this layer
 * changed: its output also feeds an Add or a Concat (the other inputs would need the same channels
 * removed), it is the model's output, it is depthwise (its channels follow its input) or grouped.
 * Where the file's connectivity is not followed (formats other than ONNX), each layer is pruned on
 * its own and no input channels shrink (said in the notes).
 *
 * With timings, the pruned layer runs on the engine with its best algorithm and its kept weights,
 * through the same measurement and timing cache as the report's other timings.
 */
import { type ConvShape, type ModelConvShape, type ModelLayer, type ModelLayerPruned, type ModelLinearShape, type ModelReport, PRUNE_NOTE_PREFIX } from '../../shared/payloads';
import { prunedSums } from '../../shared/format';
import { fillUniform, sharedFloats } from '../bench/runner';
import { type ConvBackend, layoutChooser } from '../conv/backend';
import type { GraphLayer } from '../formats/graphLayers';
import type { OpenedWeightFile } from '../formats/types';
import { benchAlgorithm } from '../requests/bench';
import { abortError } from '../requests/hooks';
import { isConvShape, layerFlops } from './layers';
import { readLayerWeight } from './layerWeights';
import { engineShape } from './timing';
import { type TimingCache, timingKey } from './timingCache';

export const DEFAULT_PRUNE_TARGET = 0.5;

/** How many of `count` filters a target share removes: round(target * count), as torch's ln_structured, keeping at least one. */
export function filtersRemoved(target: number, count: number): number {
  return Math.min(count - 1, Math.round(target * count));
}

/** The indices kept when `remove` of the filters with the smallest L1 norm go (ties: lower index removed first), in ascending order. */
export function keptByL1(norms: Float64Array, remove: number): number[] {
  const order = Array.from(norms.keys()).sort((a, b) => norms[a]! - norms[b]! || a - b);
  return order.slice(remove).sort((a, b) => a - b);
}

interface Plan {
  layer: ModelLayer;
  filters: number;
  inputChannels: number;
  /** Kept filter indices once ranked (all when not pruned); decided in graph order. */
  keptFilters?: number[];
  prunesFilters: boolean;
  filtersReason?: string;
  from?: Plan;
}

function counts(layer: ModelLayer): { filters: number; inputChannels: number } {
  const s = layer.shape;
  return isConvShape(s) ? { filters: s.K, inputChannels: s.C } : { filters: s.O, inputChannels: s.I };
}

function isDepthwise(layer: ModelLayer): boolean {
  return layer.op === 'depthwise';
}

/** The pruned layer's shape from its kept filter and input-channel counts. */
function prunedShape(layer: ModelLayer, filters: number, inputChannels: number): ModelConvShape | ModelLinearShape {
  const s = layer.shape;
  if (!isConvShape(s)) return { ...s, O: filters, I: inputChannels };
  return { ...s, K: filters, C: inputChannels, groups: isDepthwise(layer) ? inputChannels : s.groups };
}

/** Whether a layer's output has fewer channels once pruned: its filters go, or it is depthwise over a pruned input. */
function shrinksOutput(plan: Plan): boolean {
  return plan.prunesFilters || (isDepthwise(plan.layer) && plan.from !== undefined);
}

/** Decides, in graph order, whose filters are pruned and whose input channels follow which layer. */
function planPruning(report: ModelReport, graph: Map<string, GraphLayer> | undefined): Plan[] {
  const plans = new Map<string, Plan>();
  const list: Plan[] = [];
  for (const layer of report.layers) {
    if (layer.op === 'convTranspose') continue;
    const plan: Plan = { layer, ...counts(layer), prunesFilters: true };
    const channels = graph?.get(layer.name)?.channels;
    const from = channels?.from ? plans.get(channels.from) : undefined;
    if (from && shrinksOutput(from)) plan.from = from;
    if (isDepthwise(layer)) {
      plan.prunesFilters = false;
      plan.filtersReason = plan.from ? `depthwise: its channels follow '${plan.from.layer.name}'` : 'depthwise: its channels follow its input, which is not pruned';
    } else if (layer.op === 'grouped') {
      plan.prunesFilters = false;
      plan.filtersReason = `${isConvShape(layer.shape) ? layer.shape.groups : ''} groups: pruning within groups is not modelled`;
    } else if (channels?.elsewhere) {
      plan.prunesFilters = false;
      plan.filtersReason = channels.elsewhere === "the model's output" ? "its output is the model's output" : `its output also feeds ${channels.elsewhere}: its filters could go only with the same channels removed there`;
    } else if (!channels && layer === report.layers[report.layers.length - 1]) {
      plan.prunesFilters = false;
      plan.filtersReason = "the last layer, taken as the model's output (this format's connectivity is not followed)";
    } else if (channels) {
      const blocker = channels.to.map((name) => report.layers.find((l) => l.name === name)).find((l) => l && (l.op === 'grouped' || l.op === 'convTranspose' || (!isConvShape(l.shape) && l.shape.I !== plan.filters)));
      if (blocker) {
        plan.prunesFilters = false;
        plan.filtersReason = `its output feeds '${blocker.name}' (${blocker.op}), whose input channels this model does not shrink`;
      }
    }
    plans.set(layer.name, plan);
    list.push(plan);
  }
  return list;
}

/** Fills each layer's `pruned` shape and FLOPs (no weights read, nothing timed); returns the plans for timing. */
export function describePruning(report: ModelReport, opened: Pick<OpenedWeightFile, 'graphLayers'>, target: number): Plan[] {
  const graph = opened.graphLayers ? new Map(opened.graphLayers.layers.map((l) => [l.name, l])) : undefined;
  const followed = graph !== undefined && opened.graphLayers!.layers.some((l) => l.channels);
  const plans = planPruning(report, followed ? graph : undefined);
  for (const plan of plans) setPruned(plan, target);
  const notes = report.notes;
  notes.push(
    followed
      ? `${PRUNE_NOTE_PREFIX}${Math.round(target * 100)}% of each layer's filters by L1 norm, the next layers' input channels shrinking where the graph feeds them straight in; filters are kept where their channels also go elsewhere (an Add, a Concat, the model's output: --json pruned.filtersReason)`
      : `${PRUNE_NOTE_PREFIX}${Math.round(target * 100)}% of each layer's filters by L1 norm, each layer on its own: the connectivity of ${report.format} files is not followed, so no layer's input channels shrink`,
  );
  summarise(report, target);
  report.total.pruned!.followsGraph = followed;
  return plans;
}

function setPruned(plan: Plan, target: number): void {
  const { layer } = plan;
  const fromKept = plan.from ? filtersKept(plan.from, target) : undefined;
  const inputChannelsKept = fromKept ?? plan.inputChannels;
  let kept: number;
  if (isDepthwise(layer)) kept = (plan.filters / plan.inputChannels) * inputChannelsKept;
  else kept = plan.prunesFilters ? plan.filters - filtersRemoved(target, plan.filters) : plan.filters;
  const shape = prunedShape(layer, kept, inputChannelsKept);
  const flops = layerFlops(layer.op, shape);
  const pruned: ModelLayerPruned = {
    target,
    filtersKept: kept,
    filters: plan.filters,
    inputChannelsKept,
    inputChannels: plan.inputChannels,
    ...(plan.from ? { inputFrom: plan.from.layer.name } : {}),
    ...(plan.filtersReason ? { filtersReason: plan.filtersReason } : {}),
    shape,
    flops,
    flopsRemoved: flops === null || layer.flops === null ? null : layer.flops - flops,
  };
  layer.pruned = pruned;
}

function filtersKept(plan: Plan, target: number): number {
  if (isDepthwise(plan.layer)) return plan.layer.pruned?.filtersKept ?? plan.filters;
  return plan.prunesFilters ? plan.filters - filtersRemoved(target, plan.filters) : plan.filters;
}

/** Sets total.pruned from the rows. */
export function summarise(report: ModelReport, target: number): void {
  const { flops, flopsBefore, msMedian, bestMs, timedLayers } = prunedSums(report.layers);
  const followsGraph = report.total.pruned?.followsGraph;
  report.total.pruned = {
    target,
    ...(followsGraph === undefined ? {} : { followsGraph }),
    flops,
    flopsRemoved: flopsBefore - flops,
    ...(timedLayers > 0 ? { msMedian, bestMs, speedup: bestMs / msMedian, timedLayers } : {}),
  };
}

export interface PruneTimingOptions {
  backend: ConvBackend;
  engineBuild: string;
  cache: TimingCache;
  budgetMs: number;
  warmupMs: number;
  threads: number;
  target: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?(fraction: number, message: string): void;
}

/** Per-filter L1 norms of an OIHW (or [O, I]) weight. */
function filterNorms(weight: Float32Array, filters: number): Float64Array {
  const norms = new Float64Array(filters);
  const per = weight.length / filters;
  for (let k = 0; k < filters; k++) {
    let sum = 0;
    for (let i = k * per; i < (k + 1) * per; i++) sum += Math.abs(weight[i]!);
    norms[k] = sum;
  }
  return norms;
}

/**
 * Ranks the pruned layers' filters on their real weights, builds the kept weights and times each
 * pruned shape with the layer's best algorithm; returns the pairs measured and served by the cache.
 */
export async function timePrunedLayers(report: ModelReport, opened: OpenedWeightFile, plans: Plan[], options: PruneTimingOptions): Promise<{ measured: number; cacheHits: number }> {
  const { backend, cache, threads, signal } = options;
  const tensors = new Map(opened.tensors.map((t) => [t.name, t]));
  let measured = 0;
  let cacheHits = 0;
  for (const [index, plan] of plans.entries()) {
    if (signal?.aborted) throw abortError('model report');
    const { layer } = plan;
    const pruned = layer.pruned;
    const tensor = tensors.get(layer.weight);
    if (!pruned || !tensor) continue;
    // Weights are read only for layers the engine can run (sizes known): a weight file without
    // sizes (a language model's matrices) is not read again for a ranking nothing uses.
    if ('reason' in engineShape(layer)) continue;
    options.onProgress?.(index / plans.length, `${layer.name}: pruned to ${pruned.filtersKept} of ${pruned.filters} filters`);
    const weight = await readLayerWeight(layer, tensor, new Float32Array(tensor.numel), signal);
    const norms = filterNorms(weight, plan.filters);
    const keptInputs = plan.from ? plan.from.keptFilters : Array.from({ length: plan.inputChannels }, (_, c) => c);
    if (!keptInputs) {
      pruned.notTimed = `the filters of '${plan.from!.layer.name}', whose channels it takes, were not ranked`;
      continue;
    }
    if (isDepthwise(layer)) {
      // Filter c*M + m reads channel c: the kept channels keep their filters.
      const multiplier = plan.filters / plan.inputChannels;
      plan.keptFilters = keptInputs.flatMap((c) => Array.from({ length: multiplier }, (_, m) => c * multiplier + m));
    } else {
      plan.keptFilters = plan.prunesFilters ? keptByL1(norms, plan.filters - pruned.filtersKept) : Array.from(norms.keys());
    }
    const keptWeight = keptWeights(layer, weight, plan.keptFilters, keptInputs);
    const total = norms.reduce((a, b) => a + b, 0);
    let kept = 0;
    for (const v of keptWeight) kept += Math.abs(v);
    pruned.l1Removed = total > 0 ? 1 - kept / total : 0;
    const shape = engineShape({ ...layer, shape: pruned.shape });
    if ('reason' in shape) {
      pruned.notTimed = shape.reason;
      continue;
    }
    if (!layer.best) {
      pruned.notTimed = layer.notTimed ?? 'the layer itself was not timed';
      continue;
    }
    let { algo, layout } = layer.best;
    const verdict = backend.applies(algo as never, shape.shape, layout as never);
    if (!verdict.ok) {
      pruned.algoReason = `${algo} does not run the pruned shape (${verdict.reason}): timed with direct`;
      algo = 'direct';
      layout = layoutChooser({}, (a) => backend.supportedLayouts(a))('direct');
    }
    const key = timingKey(options.engineBuild, shape.shape, algo, layout, threads);
    let timing = cache.timing(key);
    pruned.cached = timing !== undefined;
    if (timing) cacheHits++;
    else {
      const input = fillUniform(sharedFloats(shape.shape.N * shape.shape.C * shape.shape.H * shape.shape.W), (options.seed ?? 1) * 104729 + index);
      const weights = sharedFloats(keptWeight.length);
      weights.set(keptWeight);
      const message = `${layer.name}: pruned, ${algo} (${layout})`;
      try {
        const run = await benchAlgorithm(backend, { name: layer.name, shape: shape.shape, count: 1 }, algo as never, layout as never, threads, { input, weight: weights, maxRefAbs: 0 }, {
          warmupMs: options.warmupMs,
          budgetMs: options.budgetMs,
          signal,
          onSample: (fraction) => options.onProgress?.((index + fraction) / plans.length, message),
        });
        timing = { msMedian: run.msMedian, msMin: run.msMin, msP90: run.msP90, iterations: run.iterations ?? 0 };
        cache.setTiming(key, timing);
        measured++;
      } catch (error) {
        if (signal?.aborted || (error as Error).name === 'AbortError') throw abortError('model report');
        pruned.notTimed = `failed: ${(error as Error).message}`;
        continue;
      }
    }
    Object.assign(pruned, { algo, layout, msMedian: timing.msMedian, speedup: layer.best.msMedian / timing.msMedian });
  }
  summarise(report, options.target);
  return { measured, cacheHits };
}

/** The kept filters' weights over the kept input channels: OIHW [K', C'/g', R, S] or [O', I']. */
export function keptWeights(layer: ModelLayer, weight: Float32Array, filters: readonly number[], inputs: readonly number[]): Float32Array {
  const s = layer.shape;
  if (isDepthwise(layer) || (isConvShape(s) && s.groups !== 1)) {
    // One input channel per group (or groups unchanged): whole filters.
    const per = weight.length / counts(layer).filters;
    const out = new Float32Array(filters.length * per);
    filters.forEach((k, i) => out.set(weight.subarray(k * per, (k + 1) * per), i * per));
    return out;
  }
  const C = counts(layer).inputChannels;
  const spatial = weight.length / (counts(layer).filters * C);
  const out = new Float32Array(filters.length * inputs.length * spatial);
  let at = 0;
  for (const k of filters) {
    for (const c of inputs) {
      const from = (k * C + c) * spatial;
      out.set(weight.subarray(from, from + spatial), at);
      at += spatial;
    }
  }
  return out;
}

/** The engine's shape of a pruned layer (exported for tests). */
export function prunedEngineShape(layer: ModelLayer): ConvShape | undefined {
  if (!layer.pruned) return undefined;
  const target = engineShape({ ...layer, shape: layer.pruned.shape });
  return 'reason' in target ? undefined : target.shape;
}
