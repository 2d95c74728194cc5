/**
 * The model report: the user's network layer by layer. A sortable layer table with a totals row
 * that is the sum of the rows, a stacked bar of each layer's best time coloured by its algorithm,
 * and a time-against-error scatter of every algorithm timed on every layer (the choice the accuracy
 * budget makes). What the figures assume (input size, activations, budget, threads, layers left
 * untimed) is said above them.
 */
import { NM24_NOTE, PRUNE_NOTE_PREFIX, type ModelLayer, type ModelReport } from '../../extension/shared/payloads';
import { modelShapeText, threadsLabel } from '../../extension/shared/format';
import { chartBox, seriesColor } from './charts';
import { formatCount, formatNumber, formatPercent, h, section } from './dom';
import type { ModelExportTarget } from '../../extension/shared/webviewProtocol';
import type { ViewHost } from './host';
import { ERROR_AXIS_FLOOR, algorithmSlot, errorAgainstTime, inputAssumption, modelTotals, notTimedGroups, pruneAssumption, prunedChannelsText, prunedTotals, timeByBestAlgorithm, timingAssumption } from './modelFigures';
import { type Column, sortableTable, toCsv } from './table';

const ms = (value: number | undefined): string => (value === undefined ? '' : formatNumber(value));

function winogradCell(layer: ModelLayer): string {
  const w = layer.winograd;
  if (w.chosen) return `${w.chosen.tile}${w.chosen.errorVsDirect === undefined ? '' : ` · ${formatNumber(w.chosen.errorVsDirect)}×`}`;
  return w.applicable ? 'needs sizes' : '–';
}

function winogradTitle(layer: ModelLayer): string | undefined {
  const w = layer.winograd;
  if (!w.applicable) return w.reason;
  const tiles = w.tiles.map((t) => `${t.tile}: ${t.reduction === null ? '?' : `${formatNumber(t.reduction)}× fewer products`}${t.outsideBudget ? ` (${t.outsideBudget})` : ''}`);
  const chosen = w.chosen?.maxAbsErr === undefined ? '' : `\nchosen ${w.chosen.algo}: max |err| ${formatNumber(w.chosen.maxAbsErr)} on this layer's weights, ${formatNumber(w.chosen.errorVsDirect ?? NaN)}× direct's`;
  return `${tiles.join('\n')}${chosen}`;
}

function bestCell(layer: ModelLayer): string {
  if (layer.best) return layer.best.algo;
  if (layer.notTimed) return 'not timed';
  return layer.results ? 'none within budget' : '';
}

function fastestCell(layer: ModelLayer): string {
  const f = layer.fastest;
  return f ? `${f.algo} ${formatNumber(f.msMedian)} ms · ${formatNumber(f.errorVsDirect)}× ⚠` : '';
}

function layerGflops(layer: ModelLayer): number | undefined {
  return layer.best && layer.flops ? layer.flops / (layer.best.msMedian * 1e6) : undefined;
}

type Row = ModelLayer & { index: number };

/** Why a layer's pruned figures are what they are: whose output feeds it, why its filters stay, which algorithm timed it. */
function prunedTitle(layer: ModelLayer): string | undefined {
  const p = layer.pruned;
  if (!p) return undefined;
  const lines = [`input channels ${p.inputChannelsKept} of ${p.inputChannels}${p.inputFrom ? ` (after pruning '${p.inputFrom}')` : ''}, filters ${p.filtersKept} of ${p.filters}`];
  if (p.filtersReason) lines.push(`filters kept: ${p.filtersReason}`);
  if (p.l1Removed !== undefined) lines.push(`${formatPercent(p.l1Removed)} of the weight's sum |w| removed`);
  return lines.join('\n');
}

function prunedMsTitle(layer: ModelLayer): string | undefined {
  const p = layer.pruned;
  if (!p) return undefined;
  if (p.notTimed) return `not timed: ${p.notTimed}`;
  if (p.msMedian === undefined) return undefined;
  return `${p.algo ?? ''}${p.layout ? ` (${p.layout})` : ''}${p.algoReason ? `: ${p.algoReason}` : ''}${p.cached ? ' · from the cache' : ''}`;
}

/**
 * The pruning what-if's columns: the pruned shape (input channels > filters kept), its FLOPs and
 * those removed, and with timings the pruned shape's time and its speedup over the layer's best.
 */
function prunedColumns(report: ModelReport): Column<Row>[] {
  const totals = prunedTotals(report.layers);
  if (!totals) return [];
  const pct = `${Math.round(totals.target * 100)}%`;
  const columns: Column<Row>[] = [
    { key: 'prunedShape', title: `Pruned ${pct} C > K`, value: (l) => (l.pruned ? l.pruned.filtersKept / l.pruned.filters : undefined), format: (l) => (l.pruned ? prunedChannelsText(l.pruned) : ''), cellTitle: prunedTitle, numeric: true, description: `Input channels kept > filters kept, with ${pct} of each layer’s filters removed (smallest L1 norm first); sorted by the share of filters kept` },
    { key: 'prunedFlops', title: 'Pruned FLOPs', value: (l) => l.pruned?.flops ?? undefined, format: (l) => (l.pruned ? (l.pruned.flops === null ? '?' : formatCount(l.pruned.flops)) : ''), numeric: true, description: 'FLOPs of the pruned layer' },
    { key: 'flopsRemoved', title: 'FLOPs removed', value: (l) => l.pruned?.flopsRemoved ?? undefined, format: (l) => (l.pruned?.flopsRemoved == null ? (l.pruned ? '?' : '') : formatCount(l.pruned.flopsRemoved)), cellTitle: (l) => (l.pruned?.flopsRemoved != null && l.flops ? `${formatPercent(l.pruned.flopsRemoved / l.flops)} of the layer's FLOPs` : undefined), numeric: true, description: 'The layer’s FLOPs minus the pruned layer’s' },
  ];
  if (report.timing) {
    columns.push(
      { key: 'prunedMs', title: 'Pruned ms', value: (l) => l.pruned?.msMedian, format: (l) => ms(l.pruned?.msMedian), cellTitle: prunedMsTitle, numeric: true, description: 'Median time of the pruned shape with the layer’s best algorithm and its kept weights' },
      { key: 'prunedSpeedup', title: 'Pruned speedup', value: (l) => l.pruned?.speedup, format: (l) => (l.pruned?.speedup === undefined ? '' : `${formatNumber(l.pruned.speedup)}×`), numeric: true, description: 'Best ms over pruned ms' },
    );
  }
  return columns;
}

/**
 * The columns, in the table's (and the CSV's) order: the name, then the figures people come for
 * (the best algorithm, its time, its error, the peer, the fastest over budget, what pruning would
 * buy), then the layer's description (op, shape, size, sparsity, Winograd fit). An untimed report
 * has no time columns.
 */
export function modelColumns(report: ModelReport): Column<Row>[] {
  const budget = report.timing?.maxErrorVsDirect;
  const timed: Column<Row>[] = report.timing
    ? [
        { key: 'best', title: 'Best', value: bestCell, cellTitle: (l) => l.notTimed ?? (l.skipped?.length ? `not applicable: ${l.skipped.map((s) => s.algo).join(', ')}` : undefined), description: `The fastest algorithm within ${budget}× direct convolution’s max error` },
        { key: 'bestMs', title: 'Best ms', value: (l) => l.best?.msMedian, format: (l) => ms(l.best?.msMedian), numeric: true, description: 'Median time of one run of the layer, in milliseconds' },
        ...(report.layers.some((l) => l.peerMs !== undefined)
          ? [{ key: 'peerMs', title: 'Peer ms', value: (l: Row) => l.peerMs, format: (l: Row) => ms(l.peerMs), numeric: true, description: report.timing?.peer ?? 'onnxruntime-node on the same layer' }]
          : []),
        { key: 'bestErr', title: 'Best × direct err', value: (l) => l.best?.errorVsDirect, format: (l) => (l.best ? formatNumber(l.best.errorVsDirect) : ''), numeric: true, description: 'The best algorithm’s max error over direct convolution’s on the same data' },
        // Only when some layer has a faster algorithm over the budget: an empty column would take room from the pruned figures.
        ...(report.layers.some((l) => l.fastest)
          ? [{ key: 'fastest', title: 'Fastest (over budget)', value: fastestCell, cellTitle: (l: Row) => (l.fastest ? `faster than the best, but its error is over the ${budget}× budget` : undefined), description: `The fastest of all, when its error is outside the ${budget}× budget` }]
          : []),
      ]
    : [];
  return [
    { key: 'name', title: 'Layer', value: (l) => l.name, cellTitle: (l) => `${l.opType} · weight ${l.weight} (${l.weightLayout})${l.bias ? ` · bias ${l.bias}` : ''}`, description: 'As the file names it (the ONNX node, TFLite tensor or weight), as Netron shows it' },
    { key: 'index', title: '#', value: (l) => l.index + 1, numeric: true, description: 'The layer’s place in the file' },
    ...timed,
    ...prunedColumns(report),
    { key: 'op', title: 'Op', value: (l) => l.op, cellTitle: (l) => l.opType },
    { key: 'shape', title: 'Shape (C×H×W > K×P×Q, kernel, stride, pad)', value: (l) => modelShapeText(l), cellTitle: (l) => l.needs },
    { key: 'params', title: 'Params', value: (l) => l.params, format: (l) => formatCount(l.params), numeric: true },
    { key: 'flops', title: 'FLOPs', value: (l) => l.flops ?? undefined, format: (l) => (l.flops === null ? '?' : formatCount(l.flops)), cellTitle: (l) => l.needs, numeric: true, description: '2 per multiply-add: 2·N·K·(C/groups)·R·S·P·Q; 2·N·I·O for a matrix product; ? = needs the input size' },
    { key: 'sparsity', title: 'Sparsity', value: (l) => l.sparsity?.element, format: (l) => formatPercent(l.sparsity?.element), numeric: true, description: 'Share of zero elements of the weight' },
    { key: 'structured', title: 'Filters/rows', value: (l) => l.sparsity?.filters ?? l.sparsity?.rows, format: (l) => formatPercent(l.sparsity?.filters ?? l.sparsity?.rows), numeric: true, description: 'Share of all-zero filters (output channels) or matrix rows' },
    { key: 'nm24', title: '2:4', value: (l) => l.sparsity?.nm24, format: (l) => formatPercent(l.sparsity?.nm24), numeric: true, description: NM24_NOTE },
    { key: 'winograd', title: 'Winograd F(m,r) · × direct err', value: winogradCell, cellTitle: winogradTitle, description: 'The engine’s Winograd tile with the fewest products on this layer within the default error budget, and its max error on this layer’s real weights over direct’s' },
    ...(report.timing ? [{ key: 'gflops', title: 'GFLOP/s', value: layerGflops, format: (l: Row) => (layerGflops(l) === undefined ? '' : formatNumber(layerGflops(l)!)), numeric: true }] : []),
  ];
}

function totalsFooter(report: ModelReport): { footer: Record<string, string>; titles: Record<string, string> } {
  const t = modelTotals(report.layers);
  const footer: Record<string, string> = {
    name: 'Total (sum of the rows)',
    shape: `${t.layers} layer${t.layers === 1 ? '' : 's'}`,
    params: formatCount(t.params),
    flops: `${formatCount(t.flops)}${t.flopsUnknown ? ` + ${t.flopsUnknown} ?` : ''}`,
  };
  const titles: Record<string, string> = { params: String(t.params), flops: `${t.flops} FLOPs${t.flopsUnknown ? `; ${t.flopsUnknown} layers unknown` : ''}` };
  if (report.timing) {
    footer.best = `${t.timedLayers} timed`;
    footer.bestMs = formatNumber(t.bestMs);
    titles.bestMs = `${t.bestMs} ms`;
  }
  if (t.peerLayers) {
    footer.peerMs = formatNumber(t.peerMs);
    titles.peerMs = `${t.peerMs} ms over ${t.peerLayers} layers`;
  }
  const pruned = prunedTotals(report.layers);
  if (pruned) {
    footer.prunedFlops = formatCount(pruned.flops);
    titles.prunedFlops = `${pruned.flops} FLOPs`;
    footer.flopsRemoved = formatCount(pruned.flopsRemoved);
    titles.flopsRemoved = `${pruned.flopsRemoved} FLOPs, ${formatPercent(pruned.flopsBefore ? pruned.flopsRemoved / pruned.flopsBefore : undefined)} of the layers with sizes`;
    if (pruned.timedLayers > 0) {
      footer.prunedMs = formatNumber(pruned.msMedian);
      titles.prunedMs = `${pruned.msMedian} ms over ${pruned.timedLayers} layers timed both ways (${pruned.bestMs} ms before)`;
      footer.prunedSpeedup = pruned.speedup === undefined ? '' : `${formatNumber(pruned.speedup)}×`;
    }
  }
  return { footer, titles };
}

const algoColor = (algo: string): string => seriesColor(algorithmSlot(algo));

function timeChart(report: ModelReport): HTMLElement | null {
  const data = timeByBestAlgorithm(report.layers);
  if (data.labels.length === 0) return null;
  return chartBox(
    'Time per layer, coloured by its best algorithm',
    {
      type: 'bar',
      data: { labels: data.labels, datasets: data.series.map((s) => ({ label: s.algo, data: s.data, backgroundColor: algoColor(s.algo) })) },
      options: {
        scales: {
          x: { stacked: true, ticks: { display: data.labels.length <= 30, autoSkip: true } },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: 'best ms' } },
        },
      },
    },
    300,
  );
}

/** Log-axis ticks at 1, 2 and 5 times a power of ten only, so labels never run into each other. */
const logTicks = {
  autoSkip: true,
  callback: (value: number | string): string => {
    const v = Number(value);
    const leading = Math.round((v / 10 ** Math.floor(Math.log10(v))) * 1000) / 1000;
    return [1, 2, 5].includes(leading) ? formatNumber(v) : '';
  },
};

function scatterChart(report: ModelReport): HTMLElement | null {
  const series = errorAgainstTime(report.layers);
  if (series.length === 0) return null;
  const budget = report.timing?.maxErrorVsDirect;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  // Room above the largest error (and the budget line) on the log axis, so no point sits on the edge.
  const top = Math.max(budget ?? 1, ...series.flatMap((s) => s.points.map((p) => p.y)));
  const yMax = 10 ** Math.ceil(Math.log10(top * 1.5));
  const datasets: object[] = series.map((s) => ({
    type: 'scatter',
    label: s.algo,
    data: s.points,
    backgroundColor: algoColor(s.algo),
    borderColor: algoColor(s.algo),
    pointRadius: s.points.map((p) => (p.best ? 5 : 3)),
    pointStyle: s.points.map((p) => (p.best ? 'rectRot' : 'circle')),
  }));
  if (budget !== undefined && xs.length) {
    datasets.push({ type: 'line', label: `budget ${budget}× direct`, data: [{ x: Math.min(...xs), y: budget }, { x: Math.max(...xs), y: budget }], borderColor: seriesColor(4), borderDash: [6, 4], pointRadius: 0, borderWidth: 1 });
  }
  return chartBox(
    'Time against error, every algorithm on every layer',
    {
      type: 'scatter',
      data: { datasets: datasets as never },
      options: {
        scales: {
          // A margin either side on the log axis, so the fastest and slowest points are drawn whole.
          x: { type: 'logarithmic', min: Math.min(...xs) / 1.3, max: Math.max(...xs) * 1.3, ticks: logTicks, title: { display: true, text: 'median ms (log)' } },
          y: { type: 'logarithmic', min: ERROR_AXIS_FLOOR, max: yMax, ticks: logTicks, title: { display: true, text: 'max error × direct’s (log)' } },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => {
                const p = item.raw as { layer?: string; x: number; errorVsDirect?: number };
                return p.layer ? `${item.dataset.label} · ${p.layer}: ${formatNumber(p.x)} ms, ${formatNumber(p.errorVsDirect ?? NaN)}× direct's error` : String(item.dataset.label);
              },
            },
          },
        },
      },
    },
    320,
  );
}

function assumptions(report: ModelReport): HTMLElement {
  const items: (HTMLElement | null)[] = [
    h('li', { 'data-assumption': 'input' }, inputAssumption(report), report.source === 'weights' ? ' Layers come from the weights’ names and shapes alone (no graph).' : ''),
  ];
  const timing = timingAssumption(report);
  items.push(h('li', { 'data-assumption': 'timing' }, timing ?? 'Not timed: this report has the layers and their weights only (no engine run).'));
  if (report.timing?.peer) items.push(h('li', { 'data-assumption': 'peer' }, `Peer: ${report.timing.peer} on the same layers${report.total.peerModelMs !== undefined ? `; the whole model end to end: ${formatNumber(report.total.peerModelMs)} ms` : ''}.`));
  if (report.timing?.peerUnavailable) items.push(h('li', { 'data-assumption': 'peer' }, report.timing.peerUnavailable));
  const prune = pruneAssumption(report);
  if (prune) items.push(h('li', { 'data-assumption': 'prune' }, prune));
  for (const group of notTimedGroups(report.layers)) {
    const names = group.layers.length > 4 ? `${group.layers.slice(0, 4).join(', ')}, …` : group.layers.join(', ');
    items.push(h('li', { 'data-assumption': 'not-timed' }, `Not timed: ${group.layers.length} layer${group.layers.length === 1 ? '' : 's'} (${names}): ${group.reason}.`));
  }
  // The report's own note on pruning says less than the prune line above: it is left out when that is shown.
  for (const note of report.notes) if (!(prune && note.startsWith(PRUNE_NOTE_PREFIX))) items.push(h('li', { 'data-assumption': 'note' }, note));
  for (const warning of report.warnings) items.push(h('li', { class: 'da-bad', 'data-assumption': 'warning' }, warning));
  return h('ul', { class: 'da-note da-assumptions' }, items);
}

function subtitle(report: ModelReport): HTMLElement {
  const t = modelTotals(report.layers);
  const shares = report.timing && t.bestMs > 0 ? Object.entries(report.total.bestMsByOp ?? {}).map(([op, value]) => `${op} ${formatPercent(value / t.bestMs)}`) : [];
  return h(
    'p',
    { class: 'da-subtitle' },
    `${report.format} · ${t.layers} layers · ${formatCount(t.params)} parameters · ${formatCount(t.flops)} FLOPs${t.flopsUnknown ? ` (+${t.flopsUnknown} unknown)` : ''}`,
    report.timing ? h('span', { 'data-total-best-ms': String(t.bestMs) }, ` · best ${formatNumber(t.bestMs)} ms over ${t.timedLayers} timed layers${shares.length ? ` (${shares.join(', ')})` : ''}`) : '',
    report.timing ? ` · ${threadsLabel(report.timing.threads)}` : '',
    report.machine ? ` · ${report.machine.cpu}, ${report.machine.simd}` : '',
  );
}

export function renderModel(report: ModelReport, host: ViewHost): HTMLElement {
  const rows: Row[] = report.layers.map((layer, index) => ({ ...layer, index }));
  const columns = modelColumns(report);
  const { footer, titles } = totalsFooter(report);
  const fileName = report.file.split(/[\\/]/).pop() ?? report.file;
  const exportJson = h('button', { type: 'button', class: 'da-button' }, 'Export JSON');
  exportJson.addEventListener('click', () => host.exportText('json', JSON.stringify(report, null, 2), `${fileName}.model.json`));
  const exportCsv = h('button', { type: 'button', class: 'da-button' }, 'Export CSV');
  exportCsv.addEventListener('click', () => host.exportText('csv', toCsv(rows, columns), `${fileName}.model.csv`));
  const charts = report.timing ? [timeChart(report), scatterChart(report)] : [];
  const exportStatus = h('span', { class: 'da-export-status', role: 'status', 'data-model-export-status': '' });
  const viewerExport = (target: ModelExportTarget, label: string, what: string) => {
    const button = h('button', { type: 'button', class: 'da-button', 'data-model-export': target, title: host.exportModel ? what : `${what}. Needs the Deep Accel extension running in VS Code (this output is drawn without it)` }, label);
    if (!host.exportModel) {
      button.setAttribute('disabled', '');
      return button;
    }
    button.addEventListener('click', () => {
      button.setAttribute('disabled', '');
      exportStatus.classList.remove('da-error');
      exportStatus.textContent = 'Choose where to save…';
      host.exportModel!(report, target).then(
        (written) => (exportStatus.textContent = written ?? ''),
        (error: unknown) => {
          exportStatus.classList.add('da-error');
          exportStatus.textContent = `${label}: ${error instanceof Error ? error.message : String(error)}`;
        },
      ).finally(() => button.removeAttribute('disabled'));
    });
    return button;
  };
  const exportNetron = viewerExport('netron', 'Export for Netron', 'The per-layer figures as a Netron attachment (netron:attachment metrics per node): open it in Netron with the model shown');
  const exportModelExplorer = viewerExport('modelExplorer', 'Export for Model Explorer', `Model Explorer node data (${report.layers.some((l) => l.best) ? 'best ms' : 'FLOPs'} per node, with a colour gradient): load it as node data beside the model`);
  const noHost = host.exportModel ? null : h('span', { class: 'da-note', 'data-model-export-unavailable': '' }, 'Exports for Netron and Model Explorer need the Deep Accel extension running in VS Code.');
  return h(
    'div',
    { class: 'da-view da-model' },
    h('header', { class: 'da-header' }, h('h2', {}, fileName), subtitle(report)),
    assumptions(report),
    ...charts,
    section(
      'Layers',
      h('div', { class: 'da-toolbar' }, exportJson, exportCsv, exportNetron, exportModelExplorer, exportStatus, noHost),
      sortableTable(rows, columns, { pageSize: 100, filterPlaceholder: 'Filter layers', label: 'Layers', footer, footerTitles: titles}),
    ),
  );
}
