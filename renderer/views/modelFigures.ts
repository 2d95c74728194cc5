/**
 * The figures the model view draws, computed from the report's rows alone (no DOM): the totals row,
 * the time per layer by best algorithm, the time against error of every algorithm on every layer,
 * and the assumptions each figure rests on. Pure, so unit tests check it in Node.
 */
import { CONV_ALGORITHMS, type ModelLayer, type ModelReport } from '../../extension/shared/payloads';
import { prunedSums } from '../../extension/shared/format';
import { formatCount, formatNumber, formatPercent } from './dom';

export interface ModelTotals {
  layers: number;
  params: number;
  /** FLOPs of the layers whose FLOPs are known, and how many are not. */
  flops: number;
  flopsUnknown: number;
  /** Sum of the timed layers' best.msMedian, and how many were timed. */
  bestMs: number;
  timedLayers: number;
  /** Sum of the peer's times over the layers it ran, and how many it ran (0: no peer column). */
  peerMs: number;
  peerLayers: number;
}

/** The totals row: the sum of the rows, whatever the report's own total says. */
export function modelTotals(layers: readonly ModelLayer[]): ModelTotals {
  const totals: ModelTotals = { layers: layers.length, params: 0, flops: 0, flopsUnknown: 0, bestMs: 0, timedLayers: 0, peerMs: 0, peerLayers: 0 };
  for (const layer of layers) {
    totals.params += layer.params;
    if (layer.flops === null) totals.flopsUnknown++;
    else totals.flops += layer.flops;
    if (layer.best) {
      totals.bestMs += layer.best.msMedian;
      totals.timedLayers++;
    }
    if (layer.peerMs !== undefined) {
      totals.peerMs += layer.peerMs;
      totals.peerLayers++;
    }
  }
  return totals;
}

/**
 * A stable colour slot per algorithm (its place in CONV_ALGORITHMS), so one algorithm has one
 * colour in both charts and in every report; names the engine does not know follow the list.
 */
export function algorithmSlot(algo: string, extra: readonly string[] = []): number {
  const known = (CONV_ALGORITHMS as readonly string[]).indexOf(algo);
  return known >= 0 ? known : CONV_ALGORITHMS.length + Math.max(0, extra.indexOf(algo));
}

export interface TimeByBestAlgorithm {
  /** One bar per timed layer, in file order: its number and name. */
  labels: string[];
  /** One series per algorithm that is some layer's best: that layer's best time, null elsewhere (stacked, so each bar has one colour). */
  series: { algo: string; data: (number | null)[] }[];
}

export function timeByBestAlgorithm(layers: readonly ModelLayer[]): TimeByBestAlgorithm {
  const timed = layers.map((layer, index) => ({ layer, index })).filter(({ layer }) => layer.best);
  const algos = [...new Set(timed.map(({ layer }) => layer.best!.algo))].sort((a, b) => algorithmSlot(a) - algorithmSlot(b));
  return {
    labels: timed.map(({ layer, index }) => `${index + 1} ${layer.name}`),
    series: algos.map((algo) => ({ algo, data: timed.map(({ layer }) => (layer.best!.algo === algo ? layer.best!.msMedian : null)) })),
  };
}

/** Smallest error multiple the log axis shows: an exact result (0x direct's error) is drawn here. */
export const ERROR_AXIS_FLOOR = 0.01;

export interface ErrorTimePoint {
  x: number;
  y: number;
  layer: string;
  /** The error multiple as measured (y is clamped to ERROR_AXIS_FLOOR on the log axis). */
  errorVsDirect: number;
  best: boolean;
}

/** Every timed (layer, algorithm): its median time against its error over direct's, one series per algorithm. */
export function errorAgainstTime(layers: readonly ModelLayer[]): { algo: string; points: ErrorTimePoint[] }[] {
  const byAlgo = new Map<string, ErrorTimePoint[]>();
  layers.forEach((layer, index) => {
    for (const r of layer.results ?? []) {
      const points = byAlgo.get(r.algo) ?? [];
      const best = layer.best?.algo === r.algo && layer.best.layout === r.layout;
      points.push({ x: r.msMedian, y: Math.max(r.errorVsDirect, ERROR_AXIS_FLOOR), layer: `${index + 1} ${layer.name}`, errorVsDirect: r.errorVsDirect, best });
      byAlgo.set(r.algo, points);
    }
  });
  return [...byAlgo.entries()].sort(([a], [b]) => algorithmSlot(a) - algorithmSlot(b)).map(([algo, points]) => ({ algo, points }));
}

/** Layers that were not timed, grouped by the reason, in file order. */
export function notTimedGroups(layers: readonly ModelLayer[]): { reason: string; layers: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const layer of layers) if (layer.notTimed) groups.set(layer.notTimed, [...(groups.get(layer.notTimed) ?? []), layer.name]);
  return [...groups.entries()].map(([reason, names]) => ({ reason, layers: names }));
}

/** The input the figures assume, in words. */
export function inputAssumption(report: ModelReport): string {
  const input = report.input;
  const name = input.name ? ` '${input.name}'` : '';
  if (!input.shape) {
    const unknown = report.layers.filter((l) => l.flops === null).length;
    return `Input${name} size unknown${input.dims ? ` (stored as [${input.dims.join(', ')}])` : ''}: FLOPs and times of ${unknown} layer${unknown === 1 ? '' : 's'} need it (give input=N,C,H,W).`;
  }
  const from = input.from === 'option' ? 'as given' : 'as the file fixes it';
  return `Input${name} [${input.shape.join(', ')}], ${from}.`;
}

function activationsText(t: NonNullable<ModelReport['timing']>): string {
  const a = t.activations;
  if (a?.source === 'npy') return `your activations (${a.from}, ${a.layers} layer${a.layers === 1 ? '' : 's'}; random ones in [-1, 1) for the others)`;
  return 'random activations in [-1, 1)';
}

/** How the times were taken, in words; undefined when nothing was timed. */
export function timingAssumption(report: ModelReport): string | undefined {
  const t = report.timing;
  if (!t) return undefined;
  const threads = `${t.threads} thread${t.threads === 1 ? '' : 's'}`;
  const engine = `${report.machine?.simd ?? 'engine'}, build ${t.engineBuild}`;
  const cache = t.cacheFile ? `${t.measured} timed now, ${t.cacheHits} from the cache (${t.cacheFile})` : `${t.measured} timed, no cache kept (the engine build is unidentified)`;
  return (
    `Timed on the engine (${engine}) with ${threads}, ${t.budgetMs} ms budget and ${t.warmupMs} ms warm-up per shape and algorithm: ${cache}. ` +
    `Errors are measured on each layer's real weights with ${activationsText(t)} against an fp64 reference. ` +
    `Best = the fastest algorithm whose max error is at most ${t.maxErrorVsDirect}× direct convolution's on the same data.`
  );
}

export interface PrunedTotals {
  target: number;
  /** FLOPs of the pruned layers and what pruning removes, over the layers whose FLOPs are known both ways. */
  flops: number;
  flopsRemoved: number;
  /** The FLOPs those layers had before pruning (flops + flopsRemoved). */
  flopsBefore: number;
  /** Over the layers timed both ways: their pruned times, their best times and the ratio. */
  msMedian: number;
  bestMs: number;
  speedup: number | undefined;
  timedLayers: number;
}

/**
 * The pruning what-if's totals row, the sum of the rows (the same rule as the report's
 * total.pruned): undefined when no layer has a pruned figure.
 */
export function prunedTotals(layers: readonly ModelLayer[]): PrunedTotals | undefined {
  const pruned = layers.filter((l) => l.pruned);
  if (pruned.length === 0) return undefined;
  const { flops, flopsBefore, msMedian, bestMs, timedLayers } = prunedSums(pruned);
  const speedup = timedLayers > 0 && msMedian > 0 ? bestMs / msMedian : undefined;
  return { target: pruned[0]!.pruned!.target, flops, flopsRemoved: flopsBefore - flops, flopsBefore, msMedian, bestMs, speedup, timedLayers };
}

/** "32/64 > 16/32": input channels kept of the layer's, then filters kept of its own (a count alone when none go). */
export function prunedChannelsText(pruned: NonNullable<ModelLayer['pruned']>): string {
  const kept = (count: number, of: number) => (count === of ? String(of) : `${count}/${of}`);
  return `${kept(pruned.inputChannelsKept, pruned.inputChannels)} > ${kept(pruned.filtersKept, pruned.filters)}`;
}

/** The rule behind the pruned columns, in words: the target, how filters are ranked and which shrink. */
export function pruneAssumption(report: ModelReport): string | undefined {
  const totals = prunedTotals(report.layers);
  if (!totals) return undefined;
  const pct = Math.round(totals.target * 100);
  // Reports made before the flag existed: ONNX, Keras and TF.js graphs were followed.
  const graph = report.total.pruned?.followsGraph ?? (report.source === 'graph' && report.format !== 'tflite');
  const timed = totals.timedLayers > 0
    ? ` Each pruned shape is timed with the layer's best algorithm and its kept weights: the ${totals.timedLayers} layer${totals.timedLayers === 1 ? '' : 's'} timed both ways take ${formatNumber(totals.msMedian)} ms instead of ${formatNumber(totals.bestMs)} ms (${formatNumber(totals.speedup ?? NaN)}×).`
    : '';
  const removed = totals.flopsBefore > 0 ? ` ${formatCount(totals.flopsRemoved)} FLOPs removed (${formatPercent(totals.flopsRemoved / totals.flopsBefore)} of the layers with sizes).` : '';
  return (
    `Pruning what-if at ${pct}%: each layer loses round(${totals.target} × K) of its K filters (output channels, or a matrix's rows), the smallest L1 norms of its real weights first (as Distiller and torch.nn.utils.prune.ln_structured rank them); ` +
    (graph
      ? 'the next layer’s input channels shrink where the graph feeds the output straight in, and filters stay where their channels also go elsewhere (hover a Pruned cell for why).'
      : 'the graph’s connectivity is not followed for this file, so each layer is pruned alone and no input channels shrink.') +
    `${removed}${timed} Change the target with the setting deepAccel.model.pruneTarget (prune= in a cell, --prune-target in the CLI; 0 for none).`
  );
}
