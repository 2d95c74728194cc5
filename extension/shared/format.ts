/**
 * The formatting rules every surface must agree on (the CLI's tables, the views, hovers and
 * tooltips): sizes in binary units (KiB, MiB), thread counts, the names of custom layers and the
 * one-line summary of a saved benchmark run. Browser-safe: it imports only payload types.
 */
import { type BenchBest, type BenchReport, type BenchResult, type ConvShape, type ModelLayer, type ModelReport, convPads } from './payloads';

/** Bytes in binary units, one decimal above 1 KiB: "512 B", "13.7 KiB", "1.5 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * Name of a custom layer: its shape, e.g. "1x64x56x56-k64-3x3-s1p1". The benchmark names custom
 * layers so, and the views use it to tell when a layer's name already says its shape.
 */
export function convShapeLabel(shape: ConvShape): string {
  const pads = convPads(shape);
  const padText = pads.every((value) => value === pads[0]) ? `p${pads[0]}` : `p${pads.join('.')}`;
  const groups = (shape.groups ?? 1) === 1 ? '' : `-g${shape.groups}`;
  const dilation = (shape.dilation ?? 1) === 1 ? '' : `-d${shape.dilation}`;
  return `${shape.N}x${shape.C}x${shape.H}x${shape.W}-k${shape.K}-${shape.R}x${shape.S}-s${shape.stride}${padText}${groups}${dilation}`;
}

export function threadsLabel(threads: number): string {
  return threads === 1 ? '1 thread' : `${threads} threads`;
}

/**
 * One line that tells saved runs apart: when, on what machine, with how many threads, over which
 * layers. The palette lists runs by it, and the comparison view heads runs A and B with it.
 */
export function benchRunSummary(report: BenchReport): { date: string; machine: string; threads: string; layers: string } {
  const threads = [...new Set(report.results.map((r) => r.threads))].sort((a, b) => a - b);
  const layers = [...new Set(report.results.map((r) => r.layer))];
  const algos = new Set(report.results.map((r) => r.algo)).size;
  const layerText = `${layers.length === 1 && !report.suite ? layers[0] : `${report.suite ? `${report.suite}, ` : ''}${layers.length} layer${layers.length === 1 ? '' : 's'}`} × ${algos} algorithm${algos === 1 ? '' : 's'}`;
  return {
    date: report.startedAt ? `${report.startedAt.slice(0, 16).replace('T', ' ')}${report.startedAt.endsWith('Z') ? ' UTC' : ''}` : 'undated',
    machine: `${report.machine.cpu} (${report.machine.cores} cores, ${report.machine.simd})`,
    threads: threads.length ? threads.map(threadsLabel).join(', ') : 'no results',
    layers: layerText,
  };
}


/** The accuracy budget when a request or setting gives none: the F(6,3) class production libraries ship. */
export const DEFAULT_MAX_ERROR_VS_DIRECT = 16;

/**
 * Per layer and thread count, in the order the results came: the fastest result (highest effective
 * GFLOP/s, the same as the lowest median time on one layer), and the fastest whose errorVsDirect is at most `maxErrorVsDirect` (none when errors were not
 * checked). The runner stores it in the report; views of older reports compute it here.
 */
export function bestPerLayer(results: readonly BenchResult[], maxErrorVsDirect = DEFAULT_MAX_ERROR_VS_DIRECT): BenchBest[] {
  const pick = (r: BenchResult): BenchBest['fastest'] => ({ algo: r.algo, layout: r.layout, msMedian: r.msMedian, errorVsDirect: r.errorVsDirect });
  const best = new Map<string, BenchBest>();
  for (const result of results) {
    const key = `${result.layer}\u0000${result.threads}`;
    const entry = best.get(key) ?? { layer: result.layer, threads: result.threads, fastest: pick(result) };
    const faster = (than: BenchBest['fastest']): boolean => result.gflops > (results.find((r) => r.layer === result.layer && r.threads === result.threads && r.algo === than.algo && r.layout === than.layout)?.gflops ?? -Infinity);
    if (faster(entry.fastest)) entry.fastest = pick(result);
    const within = result.errorVsDirect !== undefined && result.errorVsDirect <= maxErrorVsDirect;
    if (within && (!entry.withinBudget || faster(entry.withinBudget))) entry.withinBudget = pick(result);
    best.set(key, entry);
  }
  return [...best.values()];
}

/**
 * A model layer's shape, as the CLI's table and the views write it: "64x56x56 > 128x28x28 3x3 s2 p1"
 * (C x H x W in, K x P x Q out, kernel, stride, padding, groups, dilation); '?' for a size the file
 * does not fix. A matrix product: "N x I > O".
 */
export function modelShapeText(layer: Pick<ModelLayer, 'shape'>): string {
  const s = layer.shape;
  const size = (value: number | null): string => (value === null ? '?' : String(value));
  if (!('K' in s)) return `${size(s.N)}x${s.I} > ${s.O}`;
  const stride = s.strides[0] === s.strides[1] ? `${s.strides[0]}` : s.strides.join('x');
  const pads = s.pads === null ? '?' : new Set(s.pads).size === 1 ? `${s.pads[0]}` : s.pads.join(',');
  const extras = [s.groups !== 1 ? `g${s.groups}` : '', s.dilations.some((d) => d !== 1) ? `d${s.dilations[0] === s.dilations[1] ? s.dilations[0] : s.dilations.join('x')}` : ''].filter(Boolean);
  return `${s.C}x${size(s.H)}x${size(s.W)} > ${s.K}x${size(s.P)}x${size(s.Q)} ${s.R}x${s.S} s${stride} p${pads}${extras.length ? ` ${extras.join(' ')}` : ''}`;
}

/**
 * The input shape to offer for a model (palette box, the inspector's Layers tab): the one used, else
 * the stored dims with symbolic ones as 1 (the batch) or 224 (sizes), in the file's own axis order.
 */
export function suggestedModelInput(input: ModelReport['input']): string {
  if (input.shape) return input.shape.join(',');
  const dims = input.dims;
  if (!dims?.length) return '1,3,224,224';
  return dims.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? 1 : 224)).join(',');
}

/**
 * The pruning what-if's totals as sums of the rows, the one rule the report's total.pruned and the
 * views' totals row share: FLOPs over the layers whose FLOPs are known both ways (pruned and
 * before), times over the layers timed both ways (pruned and best).
 */
export function prunedSums(layers: readonly ModelLayer[]): { flops: number; flopsBefore: number; msMedian: number; bestMs: number; timedLayers: number } {
  const sums = { flops: 0, flopsBefore: 0, msMedian: 0, bestMs: 0, timedLayers: 0 };
  for (const layer of layers) {
    const p = layer.pruned;
    if (!p) continue;
    if (p.flops !== null && layer.flops !== null) {
      sums.flops += p.flops;
      sums.flopsBefore += layer.flops;
    }
    if (p.msMedian !== undefined && layer.best) {
      sums.msMedian += p.msMedian;
      sums.bestMs += layer.best.msMedian;
      sums.timedLayers++;
    }
  }
  return sums;
}
