import { type Histogram, LAYOUT_NOTE, NM24_NOTE, layoutLabel, leftOutNote, maskedTotalsNote, type SparsityReport, type TensorStats } from '../../extension/shared/payloads';
import { chartBox, seriesColor } from './charts';
import { formatBytes } from '../../extension/shared/format';
import { formatCount, formatNumber, formatPercent, h, section } from './dom';
import type { ViewHost } from './host';
import { type Column, sortableTable, toCsv } from './table';

/** The bars of the per-layer chart: more than this and the chart shows the largest layers. */
const MAX_LAYER_BARS = 60;

export const TENSOR_COLUMNS: Column<TensorStats>[] = [
  { key: 'name', title: 'Tensor', value: (t) => t.name },
  { key: 'dtype', title: 'dtype', value: (t) => t.dtype, cellTitle: (t) => t.quantization },
  { key: 'shape', title: 'Shape', value: (t) => t.shape.join('×') },
  { key: 'layout', title: 'Layout', value: (t) => layoutLabel(t) },
  { key: 'numel', title: 'Params', value: (t) => t.numel, format: (t) => formatCount(t.numel), numeric: true },
  { key: 'sparsity', title: 'Sparsity', value: (t) => t.sparsity, format: (t) => formatPercent(t.sparsity), numeric: true },
  { key: 'filters', title: 'Filters', value: (t) => t.filters, format: (t) => formatPercent(t.filters), numeric: true },
  { key: 'channels', title: 'Channels', value: (t) => t.channels, format: (t) => formatPercent(t.channels), numeric: true },
  { key: 'kernels', title: 'Kernels', value: (t) => t.kernels, format: (t) => formatPercent(t.kernels), numeric: true },
  { key: 'rows', title: 'Rows', value: (t) => t.rows, format: (t) => formatPercent(t.rows), numeric: true },
  { key: 'cols', title: 'Cols', value: (t) => t.cols, format: (t) => formatPercent(t.cols), numeric: true },
  { key: 'nm24', title: '2:4', value: (t) => t.nm24, format: (t) => formatPercent(t.nm24), numeric: true },
  { key: 'mean', title: 'Mean', value: (t) => t.mean, format: (t) => formatNumber(t.mean), numeric: true },
  { key: 'std', title: 'Std', value: (t) => t.std, format: (t) => formatNumber(t.std), numeric: true },
  { key: 'min', title: 'Min', value: (t) => t.min, format: (t) => formatNumber(t.min), numeric: true },
  { key: 'max', title: 'Max', value: (t) => t.max, format: (t) => formatNumber(t.max), numeric: true },
  { key: 'absMean', title: 'Abs mean', value: (t) => t.absMean, format: (t) => formatNumber(t.absMean), numeric: true },
];

/**
 * The columns of the scan's choices: per N:M pattern asked for, the share of compliant groups and
 * the share of sum |w| pruning keeps; with a permutation search, that share before and after it.
 */
export function choiceColumns(report: SparsityReport): Column<TensorStats>[] {
  const columns: Column<TensorStats>[] = [];
  for (const p of report.nmPatterns ?? []) {
    const [n, m] = p.split(':');
    columns.push(
      { key: `nm:${p}`, title: p, value: (t) => t.nm?.[p], format: (t) => formatPercent(t.nm?.[p]), numeric: true, description: `Groups of ${m} consecutive input channels with at least ${Number(m) - Number(n)} zeros` },
      { key: `kept:${p}`, title: `Kept ${p}`, value: (t) => t.retained?.[p], format: (t) => formatPercent(t.retained?.[p]), numeric: true, description: `Share of Σ|w| that keeping the ${n} largest |w| of each group would keep` },
    );
  }
  const permute = report.permute?.pattern;
  if (permute) {
    columns.push({
      key: 'permuted',
      title: `Kept ${permute} permuted`,
      value: (t) => t.permutation?.retainedAfter,
      format: (t) => (t.permutation ? `${formatPercent(t.permutation.retainedAfter)}${t.permutation.perfect ? ' ✓' : ''}` : ''),
      cellTitle: (t) => permutationNote(t),
      numeric: true,
      description: `Share of Σ|w| that ${permute} pruning keeps once the input channels take the order the search found (✓: every pruned value is 0)`,
    });
  }
  return columns;
}

function permutationNote(t: TensorStats): string | undefined {
  const p = t.permutation;
  if (!p) return undefined;
  const how = p.perfect ? 'a perfect order' : p.exhaustive ? 'the best of every order' : p.budgetExhausted ? 'cut short by the time bound' : 'settled';
  return `${formatPercent(p.retainedBefore)} → ${formatPercent(p.retainedAfter)} kept (${how}, ${(p.ms / 1000).toFixed(2)} s)`;
}

/** The table's order: the name, the figures people come for, then dtype and value statistics; unlisted columns follow. */
const TABLE_ORDER = ['name', 'sparsity', 'numel', 'shape', 'layout', 'filters', 'channels', 'kernels', 'rows', 'cols', 'nm24', 'choices', 'dtype', 'mean', 'std', 'min', 'max', 'absMean'];
const tableRank = (key: string) => {
  const at = TABLE_ORDER.indexOf(/^(nm|kept):|^permuted$/.test(key) ? 'choices' : key);
  return at >= 0 ? at : TABLE_ORDER.length;
};

/** The layouts the inspector offers: each reads every 4-D kernel so, and every matrix in the order it implies. */
const PICKABLE_LAYOUTS: [string, string][] = [
  ['', 'as the file suggests'],
  ['OIHW', 'OIHW / OI (PyTorch, ONNX)'],
  ['HWIO', 'HWIO / IO (Keras, TF.js)'],
  ['OHWI', 'OHWI / OI (TFLite)'],
];

function layoutSelect(report: SparsityReport, choose: (layout: string) => void): HTMLElement {
  const current = report.layoutOverride ?? '';
  const options = PICKABLE_LAYOUTS.some(([value]) => value === current) ? PICKABLE_LAYOUTS : [...PICKABLE_LAYOUTS, [current, current] as [string, string]];
  const select = h('select', { class: 'da-select', 'data-layout-picker': '', 'aria-label': 'Read weights in layout' }, options.map(([value, label]) => h('option', { value, selected: value === current }, label)));
  select.addEventListener('change', () => choose(select.value));
  return h('label', { class: 'da-field' }, 'Layout ', select);
}

/** Sums the per-tensor log-magnitude histograms that share bin edges into one model histogram. */
export function modelHistogram(tensors: TensorStats[]): Histogram | undefined {
  const first = tensors.find((t) => t.histogram)?.histogram;
  if (!first) return undefined;
  const counts = new Array<number>(first.counts.length).fill(0);
  let zeros = 0;
  for (const tensor of tensors) {
    const histogram = tensor.histogram;
    if (!histogram || histogram.counts.length !== counts.length) continue;
    histogram.counts.forEach((count, i) => (counts[i] += count));
    zeros += histogram.zeros;
  }
  return { log10Edges: first.log10Edges, counts, zeros };
}

export function renderSparsity(report: SparsityReport, host: ViewHost): HTMLElement {
  const fileName = report.file.split(/[\\/]/).pop() ?? report.file;
  const header = h(
    'header',
    { class: 'da-header' },
    h('h2', {}, fileName),
    h(
      'p',
      { class: 'da-subtitle' },
      `${report.format} · ${formatBytes(report.fileBytes)} · ${report.tensors.length} tensors · ${formatCount(report.total.numel)} parameters · `,
      h('strong', { 'data-total-sparsity': String(report.total.sparsity) }, `${formatPercent(report.total.sparsity)} sparse`),
      report.threshold > 0 ? ` (|w| ≤ ${report.threshold})` : '',
      report.total.permutation
        ? h(
            'span',
            { 'data-permutation-total': String(report.total.permutation.retainedAfter) },
            ` · ${report.total.permutation.pattern} keeps ${formatPercent(report.total.permutation.retainedBefore)} of Σ|w|, ${formatPercent(report.total.permutation.retainedAfter)} with the channels permuted`,
          )
        : '',
    ),
    report.total.maskedParameters ? h('p', { class: 'da-note', 'data-masked-totals': '' }, maskedTotalsNote(report.total)) : null,
    report.leftOut?.length ? h('p', { class: 'da-note', 'data-left-out': '' }, leftOutNote(report)) : null,
  );

  const layers = report.tensors.length > MAX_LAYER_BARS ? [...report.tensors].sort((a, b) => b.numel - a.numel).slice(0, MAX_LAYER_BARS) : report.tensors;
  const layerChart = chartBox(`Sparsity per tensor${report.tensors.length > MAX_LAYER_BARS ? ` (largest ${MAX_LAYER_BARS})` : ''}`, {
    type: 'bar',
    data: {
      labels: layers.map((t) => t.name),
      datasets: [{ label: 'sparsity %', data: layers.map((t) => t.sparsity * 100), backgroundColor: seriesColor(0) }],
    },
    options: {
      plugins: { legend: { display: false } },
      scales: { y: { min: 0, max: 100, title: { display: true, text: 'sparsity %' } }, x: { ticks: { display: layers.length <= 24 } } },
    },
  });

  const permuted = report.tensors.filter((t) => t.permutation);
  const permutedBars = permuted.length > MAX_LAYER_BARS ? [...permuted].sort((a, b) => b.numel - a.numel).slice(0, MAX_LAYER_BARS) : permuted;
  const permutationChart = report.permute && permuted.length > 0
    ? chartBox(`What ${report.permute.pattern} pruning keeps, per layer: before and after the channel permutation${permuted.length > MAX_LAYER_BARS ? ` (largest ${MAX_LAYER_BARS})` : ''}`, {
        type: 'bar',
        data: {
          labels: permutedBars.map((t) => t.name),
          datasets: [
            { label: 'kept before %', data: permutedBars.map((t) => t.permutation!.retainedBefore * 100), backgroundColor: seriesColor(0) },
            { label: 'kept after permutation %', data: permutedBars.map((t) => t.permutation!.retainedAfter * 100), backgroundColor: seriesColor(1) },
          ],
        },
        options: {
          scales: {
            y: { min: Math.max(0, Math.floor(Math.min(...permutedBars.map((t) => t.permutation!.retainedBefore * 100)) / 10) * 10 - 10), max: 100, title: { display: true, text: `Σ|w| kept by ${report.permute.pattern} %` } },
            x: { ticks: { display: permutedBars.length <= 24 } },
          },
        },
      })
    : null;
  const histogram = modelHistogram(report.tensors);
  // Show the occupied range of bins (plus one on each side), not decades where no weight lies.
  const occupied = histogram ? histogram.counts.flatMap((count, i) => (count > 0 ? [i] : [])) : [];
  const firstBin = Math.max(0, (occupied[0] ?? 0) - 1);
  const lastBin = Math.min((histogram?.counts.length ?? 1) - 1, (occupied.at(-1) ?? 0) + 1);
  const histogramChart = histogram
    ? chartBox('Magnitude histogram', {
        type: 'bar',
        data: {
          labels: ['zero', ...histogram.counts.slice(firstBin, lastBin + 1).map((_, i) => `≥${formatNumber(10 ** histogram.log10Edges[firstBin + i], 2)}`)],
          datasets: [{ label: 'weights', data: [histogram.zeros, ...histogram.counts.slice(firstBin, lastBin + 1)], backgroundColor: seriesColor(2) }],
        },
        options: { plugins: { legend: { display: false } }, scales: { y: { type: 'logarithmic', title: { display: true, text: 'count (log)' } }, x: { title: { display: true, text: '|w| (log10 bins)' } } } },
      })
    : null;

  const curve = report.thresholdCurve;
  const curveChart = curve
    ? chartBox('Sparsity against threshold', {
        type: 'line',
        data: {
          labels: curve.thresholds.map((t) => formatNumber(t, 2)),
          datasets: [{ label: 'sparsity %', data: curve.sparsity.map((s) => s * 100), borderColor: seriesColor(1), backgroundColor: seriesColor(1), pointRadius: 2 }],
        },
        options: { plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 100, title: { display: true, text: 'sparsity %' } }, x: { title: { display: true, text: 'threshold' } } } },
      })
    : null;

  const byType = report.byLayerType
    ? sortableTable(
        Object.entries(report.byLayerType).map(([type, totals]) => ({ type, ...totals })),
        [
          { key: 'type', title: 'Layer type', value: (row) => row.type },
          { key: 'numel', title: 'Params', value: (row) => row.numel, format: (row) => formatCount(row.numel), numeric: true },
          { key: 'sparsity', title: 'Sparsity', value: (row) => row.sparsity, format: (row) => formatPercent(row.sparsity), numeric: true },
        ],
      )
    : null;

  // Hide columns that no tensor has (e.g. rows/cols in a conv-only model).
  // A 2:4 pattern column says what the fixed 2:4 column says: show one of them.
  const fixed = report.nmPatterns?.includes('2:4') ? TENSOR_COLUMNS.filter((c) => c.key !== 'nm24') : TENSOR_COLUMNS;
  const allColumns = [...fixed, ...choiceColumns(report)];
  const columns = allColumns.filter((c) => report.tensors.some((t) => c.value(t) !== undefined)).sort((a, b) => tableRank(a.key) - tableRank(b.key));
  // The filter box is always there in the Weight Inspector (host.previewTensor), where it is the way to find a tensor.
  const table = sortableTable(report.tensors, columns, { pageSize: 50, filterPlaceholder: 'Filter tensors', alwaysFilter: Boolean(host.previewTensor), label: 'Tensors' });
  if (host.previewTensor) {
    // A click on a tensor's name shows its values and heat-map below the table.
    table.classList.add('da-previewable');
    table.addEventListener('click', (event) => {
      const cell = (event.target as HTMLElement).closest('td');
      const row = cell?.parentElement;
      const name = cell?.textContent;
      if (name && cell === row?.firstElementChild && row?.parentElement?.tagName === 'TBODY') host.previewTensor?.(name);
    });
  }
  const exportJson = h('button', { type: 'button', class: 'da-button' }, 'Export JSON');
  exportJson.addEventListener('click', () => host.exportText('json', JSON.stringify(report, null, 2), `${fileName}.sparsity.json`));
  const exportCsv = h('button', { type: 'button', class: 'da-button' }, 'Export CSV');
  const layoutPicker = host.chooseLayout && report.tensors.some((t) => t.layout) ? layoutSelect(report, host.chooseLayout) : null;
  exportCsv.addEventListener('click', () => host.exportText('csv', toCsv(report.tensors, allColumns), `${fileName}.sparsity.csv`));

  const winograd = report.winogradDomain;
  const winogradSection = winograd
    ? section(
        `Winograd-domain zeros of 3×3 kernels, F(${winograd.m},3): do spatial zeros survive G g Gᵀ?`,
        h('p', { 'data-winograd-sparsity': String(winograd.total.winogradSparsity) }, `${winograd.total.kernels} kernels: ${formatPercent(winograd.total.spatialSparsity)} zeros in space, ${formatPercent(winograd.total.winogradSparsity)} in the ${winograd.alpha}×${winograd.alpha} transform domain.`),
        sortableTable(winograd.tensors, [
          { key: 'name', title: 'Tensor', value: (t) => t.name },
          { key: 'kernels', title: 'Kernels', value: (t) => t.kernels, numeric: true },
          { key: 'spatial', title: 'Spatial zeros', value: (t) => t.spatialSparsity, format: (t) => formatPercent(t.spatialSparsity), numeric: true },
          { key: 'winograd', title: 'Winograd zeros', value: (t) => t.winogradSparsity, format: (t) => formatPercent(t.winogradSparsity), numeric: true },
          { key: 'with', title: 'Kernels with zeros (space → transform)', value: (t) => t.kernelsWithSpatialZeros, format: (t) => `${t.kernelsWithSpatialZeros} → ${t.kernelsWithWinogradZeros}`, numeric: true },
        ]),
      )
    : null;
  const masks = report.masks?.length
    ? section(
        'Pruning masks found',
        sortableTable(report.masks, [
          { key: 'parameter', title: 'Parameter', value: (m) => m.parameter },
          { key: 'kind', title: 'Kind', value: (m) => (m.kind === 'asp' ? 'NVIDIA ASP (_mma_mask)' : 'torch prune (_orig/_mask)') },
          { key: 'mask', title: 'Mask zeros', value: (m) => m.maskSparsity, format: (m) => formatPercent(m.maskSparsity), numeric: true },
          { key: 'effective', title: 'Effective sparsity', value: (m) => m.effectiveSparsity, format: (m) => formatPercent(m.effectiveSparsity), numeric: true },
          { key: 'nm24', title: 'Effective 2:4', value: (m) => m.effectiveNm24, format: (m) => formatPercent(m.effectiveNm24), numeric: true },
        ]),
      )
    : null;
  const hint = host.previewTensor ? h('p', { class: 'da-status' }, 'Click a tensor\'s name to page through its values and see a heat-map of |w|.') : null;

  return h(
    'div',
    { class: 'da-view da-sparsity' },
    header,
    h('div', { class: 'da-charts' }, layerChart, permutationChart, histogramChart, curveChart),
    byType ? section('By layer type', byType) : null,
    section('Tensors', h('div', { class: 'da-toolbar' }, exportJson, exportCsv, layoutPicker), hint, table,
      report.tensors.some((t) => t.nm24 !== undefined) ? h('p', { class: 'da-note' }, NM24_NOTE) : null,
      report.tensors.some((t) => t.layout) ? h('p', { class: 'da-note', 'data-layout-note': '' }, LAYOUT_NOTE) : null,
    ),
    masks,
    winogradSection,
    report.warnings.length ? section('Notes', h('ul', { class: 'da-warnings' }, report.warnings.map((w) => h('li', {}, w)))) : null,
  );
}
