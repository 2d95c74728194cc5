import { DEFAULT_MAX_ERROR_VS_DIRECT, benchRunSummary, bestPerLayer, convShapeLabel, formatBytes, threadsLabel } from '../../extension/shared/format';
import type { BenchComparison, BenchReport, BenchResult } from '../../extension/shared/payloads';
import { chartBox, seriesColor } from './charts';
import { formatNumber, h, section } from './dom';
import type { ViewHost } from './host';
import { type Column, sortableTable, toCsv } from './table';

const shapeText = (r: BenchResult) =>
  `${r.shape.N},${r.shape.C},${r.shape.H},${r.shape.W}→${r.shape.K},${r.shape.R}×${r.shape.S}/${r.shape.stride},${r.shape.pads?.join('.') ?? r.shape.pad}` +
  `${(r.shape.groups ?? 1) === 1 ? '' : ` g${r.shape.groups}`}${(r.shape.dilation ?? 1) === 1 ? '' : ` d${r.shape.dilation}`}`;


/** Every column, in the order of the CSV export (a stable order for programs reading it). */
export const BENCH_COLUMNS: Column<BenchResult>[] = [
  { key: 'layer', title: 'Layer', value: (r) => r.layer, cellTitle: (r) => `N,C,H,W→K,R×S/stride,pad = ${shapeText(r)}` },
  { key: 'shape', title: 'Shape (N,C,H,W→K,R×S/s,p)', value: shapeText },
  { key: 'algo', title: 'Algorithm', value: (r) => r.algo },
  { key: 'layout', title: 'Layout', value: (r) => r.layout },
  { key: 'threads', title: 'Threads', value: (r) => r.threads, numeric: true },
  { key: 'msMin', title: 'ms min', value: (r) => r.msMin, format: (r) => formatNumber(r.msMin), numeric: true },
  { key: 'msMedian', title: 'ms median', value: (r) => r.msMedian, format: (r) => formatNumber(r.msMedian), numeric: true, description: 'Median time of one convolution, in milliseconds' },
  { key: 'msP90', title: 'ms p90', value: (r) => r.msP90, format: (r) => formatNumber(r.msP90), numeric: true },
  { key: 'gflops', title: 'GFLOP/s', value: (r) => r.gflops, format: (r) => formatNumber(r.gflops), numeric: true, description: 'Effective GFLOP/s: the direct count 2·N·K·C·R·S·P·Q over the median time, for every algorithm' },
  { key: 'maxAbsErr', title: 'max |err|', value: (r) => r.maxAbsErr, format: (r) => formatNumber(r.maxAbsErr), numeric: true },
  { key: 'errorVsDirect', title: '× direct err', value: (r) => r.errorVsDirect, format: (r) => (r.errorVsDirect === undefined ? '' : formatNumber(r.errorVsDirect)), numeric: true, description: 'Max abs error over direct convolution’s on the same data' },
  { key: 'maxRelErr', title: 'max rel err', value: (r) => r.maxRelErr, format: (r) => formatNumber(r.maxRelErr), numeric: true, description: 'Largest error against the fp64 reference, relative to the output magnitude' },
  { key: 'workspaceBytes', title: 'Workspace', value: (r) => r.workspaceBytes, format: (r) => formatBytes(r.workspaceBytes), numeric: true },
  { key: 'peerName', title: 'Peer', value: (r) => r.peer?.name },
  { key: 'peer', title: 'Peer GFLOP/s', value: (r) => r.peer?.gflops, format: (r) => (r.peer ? formatNumber(r.peer.gflops) : ''), numeric: true },
  { key: 'ratio', title: '× peer', value: (r) => (r.peer ? r.gflops / r.peer.gflops : undefined), format: (r) => (r.peer ? formatNumber(r.gflops / r.peer.gflops) : ''), numeric: true, description: 'This algorithm’s speed over the peer’s on the same layer (above 1: faster)' },
];

/**
 * The table's column order: the name, then the figures people come for (speed, time, the peer's
 * ratio, the error), then the details. Columns not listed (new ones) follow in BENCH_COLUMNS order.
 */
const TABLE_ORDER = ['layer', 'algo', 'gflops', 'msMedian', 'ratio', 'peer', 'peerName', 'errorVsDirect', 'maxRelErr', 'msMin', 'msP90', 'maxAbsErr', 'threads', 'layout', 'workspaceBytes', 'shape'];

export function benchTableColumns(results: BenchResult[]): Column<BenchResult>[] {
  const peerNames = unique(results.flatMap((r) => (r.peer ? [r.peer.name] : [])));
  const rank = (key: string) => (TABLE_ORDER.includes(key) ? TABLE_ORDER.indexOf(key) : TABLE_ORDER.length);
  return BENCH_COLUMNS.filter((c) => {
    switch (c.key) {
      // With one peer (the usual case) its name is said once above the table.
      case 'peerName':
        return peerNames.length > 1;
      case 'peer':
      case 'ratio':
        return peerNames.length > 0;
      // A custom layer's name is its shape: the shape column would say it again.
      case 'shape':
        return results.some((r) => r.layer !== convShapeLabel(r.shape));
      // One thread count for the whole run is said in the subtitle.
      case 'threads':
        return unique(results.map((r) => r.threads)).length > 1;
      default:
        return true;
    }
  }).sort((a, b) => rank(a.key) - rank(b.key));
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** Grouped bars: one group per layer, one bar per algorithm (and per peer). */
function gflopsChart<R extends BenchResult>(label: string, results: R[], seriesOf: (r: R) => string): HTMLElement {
  const layers = unique(results.map((r) => r.layer));
  const series = unique(results.map(seriesOf));
  const datasets = series.map((name, i) => ({
    label: name,
    data: layers.map((layer) => results.find((r) => r.layer === layer && seriesOf(r) === name)?.gflops ?? null),
    backgroundColor: seriesColor(i),
  }));
  const peers = unique(results.filter((r) => r.peer).map((r) => r.peer!.name));
  for (const peer of peers) {
    datasets.push({
      label: peer,
      data: layers.map((layer) => results.find((r) => r.layer === layer && r.peer?.name === peer)?.peer?.gflops ?? null),
      backgroundColor: seriesColor(datasets.length),
    });
  }
  return chartBox(label, {
    type: 'bar',
    data: { labels: layers, datasets },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'effective GFLOP/s' } } } },
  }, 300);
}

function machineLine(report: BenchReport): string {
  const m = report.machine;
  return `${m.cpu} · ${m.cores} cores · ${m.simd} · Node ${m.node} · ${m.platform}`;
}

export function renderBench(report: BenchReport, host: ViewHost): HTMLElement {
  const threadCounts = unique(report.results.map((r) => r.threads)).sort((a, b) => a - b);
  const budget = report.maxErrorVsDirect ?? DEFAULT_MAX_ERROR_VS_DIRECT;
  const best = report.best ?? bestPerLayer(report.results, budget);
  const resultOf = (layer: string, threads: number, pick: { algo: string; layout: string }): BenchResult | undefined =>
    report.results.find((r) => r.layer === layer && r.threads === threads && r.algo === pick.algo && r.layout === pick.layout);
  const header = h(
    'header',
    { class: 'da-header' },
    h('h2', {}, `Convolution benchmark${report.suite ? `: ${report.suite}` : ''}`),
    h('p', { class: 'da-subtitle' }, machineLine(report), threadCounts.length ? ` · ${threadCounts.map(threadsLabel).join(', ')}` : '', report.startedAt ? ` · ${report.startedAt}` : ''),
  );
  // Per layer: the fastest within the accuracy budget, and the fastest of all when that is another
  // algorithm (F(7,3) is never called best under the default budget without saying so). Reports
  // saved before errors were related to direct's have only the fastest.
  const checked = report.results.some((r) => r.errorVsDirect !== undefined);
  const pickText = (r: BenchResult | undefined): string =>
    r ? `${r.algo} ${formatNumber(r.gflops)} GFLOP/s${r.errorVsDirect === undefined ? '' : `, ${formatNumber(r.errorVsDirect)}× direct's error`}${r.peer ? ` (${formatNumber(r.gflops / r.peer.gflops)}× ${r.peer.name})` : ''}` : '';
  const summary = h(
    'ul',
    { class: 'da-best' },
    best.map((entry) => {
      const fastest = resultOf(entry.layer, entry.threads, entry.fastest);
      if (!checked) return h('li', {}, h('strong', {}, entry.layer), `: ${pickText(fastest)}`);
      const within = entry.withinBudget && resultOf(entry.layer, entry.threads, entry.withinBudget);
      return h(
        'li',
        {},
        h('strong', {}, entry.layer),
        within ? `: ${pickText(within)}` : `: none within ${formatNumber(budget)}× direct's error`,
        within === fastest ? '' : h('span', { class: 'da-fastest' }, `; fastest: ${pickText(fastest)}${within ? `, over the ${formatNumber(budget)}× budget` : ''}`),
      );
    }),
  );
  const budgetNote = checked
    ? h('p', { class: 'da-budget' }, `Best = the fastest within ${formatNumber(budget)}× direct convolution's max error on the same data (setting deepAccel.bench.maxErrorVsDirect).`)
    : null;
  const exportJson = h('button', { type: 'button', class: 'da-button' }, 'Export JSON');
  exportJson.addEventListener('click', () => host.exportText('json', JSON.stringify(report, null, 2), 'bench.json'));
  const exportCsv = h('button', { type: 'button', class: 'da-button' }, 'Export CSV');
  exportCsv.addEventListener('click', () => host.exportText('csv', toCsv(report.results, BENCH_COLUMNS), 'bench.csv'));
  // Whole layers no algorithm can run are said in plain view; algorithm/layer pairs in the details.
  const layersLeftOut = (report.skipped ?? []).filter((s) => s.algo === 'every algorithm');
  const leftOutNote = layersLeftOut.length
    ? h('p', { class: 'da-note', 'data-layers-left-out': '' }, `Left out: ${layersLeftOut.length} layer${layersLeftOut.length === 1 ? '' : 's'} (${layersLeftOut.map((s) => s.layer).join(', ')}): ${[...new Set(layersLeftOut.map((s) => s.reason))].join('; ')}.`)
    : null;
  const skipped = report.skipped?.length
    ? h('details', { class: 'da-details' }, h('summary', {}, `${report.skipped.length} algorithm/layer pairs do not apply`), h('ul', {}, report.skipped.map((s) => h('li', {}, `${s.layer} · ${s.algo}: ${s.reason}`))))
    : null;
  const peerNames = unique(report.results.flatMap((r) => (r.peer ? [r.peer.name] : [])));
  const columns = benchTableColumns(report.results);
  const peerNote = report.peerUnavailable
    ? h('p', { class: 'da-note' }, report.peerUnavailable)
    : peerNames.length === 1
      ? h('p', { class: 'da-note' }, `Peer: ${peerNames[0]}, timed on the same layers.`)
      : null;
  return h(
    'div',
    { class: 'da-view da-bench' },
    header,
    summary,
    budgetNote,
    gflopsChart('Effective GFLOP/s per algorithm and layer', report.results, (r) => (threadCounts.length > 1 ? `${r.algo} · ${threadsLabel(r.threads)}` : r.algo)),
    section('Results', h('div', { class: 'da-toolbar' }, exportJson, exportCsv), peerNote, leftOutNote, sortableTable(report.results, columns, { pageSize: 100, label: 'Benchmark results' })),
    skipped,
  );
}

export interface ComparedResult {
  layer: string;
  algo: string;
  layout: string;
  threadsA: number;
  threadsB: number;
  a: number;
  b: number;
  /** B's speed over A's: above 1, B is faster. */
  speedup: number;
}

/**
 * Pairs A's results with B's on the same layer, algorithm and layout. Thread counts must match
 * too when both runs measured several; a 1-thread run against a 2-thread run pairs across them,
 * since that is usually the point of the comparison.
 */
export function compareResults(a: BenchResult[], b: BenchResult[]): ComparedResult[] {
  const severalThreads = (results: BenchResult[]) => new Set(results.map((r) => r.threads)).size > 1;
  const matchThreads = severalThreads(a) && severalThreads(b);
  const used = new Set<BenchResult>();
  return a.flatMap((ra) => {
    const rb = b.find((r) => !used.has(r) && r.layer === ra.layer && r.algo === ra.algo && r.layout === ra.layout && (!matchThreads || r.threads === ra.threads));
    if (!rb) return [];
    used.add(rb);
    return [{ layer: ra.layer, algo: ra.algo, layout: ra.layout, threadsA: ra.threads, threadsB: rb.threads, a: ra.gflops, b: rb.gflops, speedup: rb.gflops / ra.gflops }];
  });
}

function speedupText(speedup: number): string {
  return `${formatNumber(speedup)}×`;
}

function runLine(name: 'A' | 'B', run: BenchComparison['a']): HTMLElement {
  const summary = benchRunSummary(run.report);
  return h('li', { 'data-run': name }, h('strong', {}, `${name}: `), `${summary.date} · ${summary.machine} · ${summary.threads} · ${summary.layers}`, h('span', { class: 'da-note' }, ` (${run.label})`));
}

export function renderBenchComparison(comparison: BenchComparison, host: ViewHost): HTMLElement {
  const rows = compareResults(comparison.a.report.results, comparison.b.report.results);
  const threadsDiffer = rows.some((r) => r.threadsA !== r.threadsB);
  const layersOf = unique(rows.map((r) => r.layer));
  const severalLayers = layersOf.length > 1;
  const columns: Column<ComparedResult>[] = [
    { key: 'pair', title: severalLayers ? 'Layer · algorithm' : 'Algorithm', value: (r) => (severalLayers ? `${r.layer} · ${r.algo}` : r.algo) },
    { key: 'speedup', title: 'B / A', value: (r) => r.speedup, format: (r) => speedupText(r.speedup), numeric: true, description: 'Speed-up of B over A (effective GFLOP/s of B divided by A); above 1, B is faster' },
    { key: 'a', title: 'A GFLOP/s', value: (r) => r.a, format: (r) => formatNumber(r.a), numeric: true },
    { key: 'b', title: 'B GFLOP/s', value: (r) => r.b, format: (r) => formatNumber(r.b), numeric: true },
    ...(threadsDiffer
      ? [
          { key: 'threadsA', title: 'A threads', value: (r: ComparedResult) => r.threadsA, numeric: true },
          { key: 'threadsB', title: 'B threads', value: (r: ComparedResult) => r.threadsB, numeric: true },
        ]
      : []),
    { key: 'layout', title: 'Layout', value: (r) => r.layout },
  ];
  const table = sortableTable(rows, columns, { label: 'Matched results' });
  const csvColumns: Column<ComparedResult>[] = [
    { key: 'layer', title: 'layer', value: (r) => r.layer },
    { key: 'algo', title: 'algo', value: (r) => r.algo },
    { key: 'layout', title: 'layout', value: (r) => r.layout },
    { key: 'threadsA', title: 'threads A', value: (r) => r.threadsA },
    { key: 'threadsB', title: 'threads B', value: (r) => r.threadsB },
    { key: 'a', title: 'GFLOP/s A', value: (r) => r.a },
    { key: 'b', title: 'GFLOP/s B', value: (r) => r.b },
    { key: 'speedup', title: 'B / A', value: (r) => r.speedup },
  ];
  const exportCsv = h('button', { type: 'button', class: 'da-button' }, 'Export CSV');
  exportCsv.addEventListener('click', () => host.exportText('csv', toCsv(rows, csvColumns), 'bench-compare.csv'));
  // One group per (layer, algorithm), A's bar beside B's, the speed-up under the group's name.
  const chart = rows.length
    ? chartBox(
        'Effective GFLOP/s, run A beside run B',
        {
          type: 'bar',
          data: {
            labels: rows.map((r) => [severalLayers ? `${r.layer} · ${r.algo}` : r.algo, `B/A ${speedupText(r.speedup)}`]),
            datasets: [
              { label: 'A', data: rows.map((r) => r.a), backgroundColor: seriesColor(0) },
              { label: 'B', data: rows.map((r) => r.b), backgroundColor: seriesColor(1) },
            ],
          },
          options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'effective GFLOP/s' } } } },
        },
        300,
      )
    : null;
  const unmatched = comparison.a.report.results.length + comparison.b.report.results.length - 2 * rows.length;
  return h(
    'div',
    { class: 'da-view da-bench-compare' },
    h('header', { class: 'da-header' }, h('h2', {}, 'Benchmark runs compared'), h('ul', { class: 'da-runs' }, runLine('A', comparison.a), runLine('B', comparison.b))),
    chart,
    section(
      'Matched results',
      rows.length ? h('div', { class: 'da-toolbar' }, exportCsv) : null,
      rows.length ? table : h('p', { class: 'da-status' }, 'The two runs have no (layer, algorithm, layout) in common.'),
      unmatched > 0 ? h('p', { class: 'da-note' }, `${unmatched} result${unmatched === 1 ? '' : 's'} measured in only one of the runs ${unmatched === 1 ? 'is' : 'are'} left out.`) : null,
    ),
  );
}
