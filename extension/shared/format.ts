/**
 * The formatting rules every surface must agree on (the CLI's tables, the views, hovers and
 * tooltips): sizes in binary units (KiB, MiB), thread counts, the names of custom layers and the
 * one-line summary of a saved benchmark run. Browser-safe: it imports only payload types.
 */
import { type BenchReport, type ConvShape, convPads } from './payloads';

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

