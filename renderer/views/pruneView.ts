import type { PrunedTensorPlan, PruneReport } from '../../extension/shared/payloads';
import { chartBox, seriesColor } from './charts';
import { formatBytes } from '../../extension/shared/format';
import { formatCount, formatNumber, formatPercent, h, section } from './dom';
import type { ViewHost } from './host';
import { sortableTable } from './table';

const MAX_BARS = 60;

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

const TARGET = 'the sparsity this tensor was asked to reach (the uniform profile gives every prunable tensor the overall target; the sensitivity profile prunes early layers less and late layers more)';
const AFTER = 'the share of zeros this tensor has after pruning, counting the zeros it already had';

/** What was cut: the magnitude threshold, or the filters (rows, for a linear layer) zeroed. */
function cutText(t: PrunedTensorPlan): string {
  // "|w| < 0" would read as a rule that cuts something; say plainly that nothing was.
  if (t.threshold !== undefined && t.paramsRemoved === 0) return t.zerosBefore >= t.targetSparsity * t.numel ? 'none: at target already' : 'none';
  if (t.threshold !== undefined) return `|w| < ${formatNumber(t.threshold)}`;
  if (t.filtersRemoved === undefined) return '';
  return `${t.filtersRemoved} of ${t.filters} ${t.layerType === 'linear' ? 'rows' : 'filters'}`;
}

export function renderPrune(report: PruneReport, host: ViewHost): HTMLElement {
  const fileName = report.file.split(/[\\/]/).pop() ?? report.file;
  const total = report.total;
  const flops =
    total.flops !== undefined && total.flopsRemoved !== undefined
      ? ` · ${formatCount(total.flopsRemoved)} of ${formatCount(total.flops)} FLOPs removed (${formatPercent(total.flopsRemoved / Math.max(1, total.flops))}, ${report.flopsSource === 'graph' ? 'from the graph' : report.inputSize ? `every conv output taken as ${report.inputSize.height}×${report.inputSize.width}` : 'from the input size'})`
      : ' · FLOPs unknown (give an input size)';
  const header = h(
    'header',
    { class: 'da-header' },
    h('h2', {}, `Pruning ${fileName}: ${report.method}, ${report.profile}, target ${formatPercent(report.targetSparsity)}`),
    h(
      'p',
      { class: 'da-subtitle' },
      h('strong', { 'data-params-removed': String(total.paramsRemoved) }, `${formatCount(total.paramsRemoved)} of ${formatCount(total.parameters)} parameters removed`),
      ` · prunable tensors ${formatPercent(total.prunableSparsityAfter)} sparse after · whole model ${formatPercent(total.modelSparsityAfter)}`,
      flops,
    ),
  );
  const check = report.export;
  const exported = check
    ? h(
        'p',
        { class: check.verified ? 'da-ok' : 'da-bad', 'data-export-verified': String(check.verified) },
        `${check.verified ? '✓' : '✗'} wrote ${check.out} (${formatBytes(check.bytes)}); read back: ${plural(check.pruned.length, 'pruned tensor')} with the planned zeros, ${plural(check.untouchedIdentical, 'untouched tensor')} identical${check.untouchedDiffering.length ? `, differing: ${check.untouchedDiffering.join(', ')}` : ''}`,
      )
    : h('p', { class: 'da-status' }, 'What-if only: nothing was written. Give an output file to write a pruned copy; the original is never modified.');

  const bars = report.tensors.length > MAX_BARS ? [...report.tensors].sort((a, b) => b.numel - a.numel).slice(0, MAX_BARS) : report.tensors;
  const chart = chartBox('Sparsity before and after pruning', {
    type: 'bar',
    data: {
      labels: bars.map((t) => t.name),
      datasets: [
        { label: 'before %', data: bars.map((t) => (t.zerosBefore / t.numel) * 100), backgroundColor: seriesColor(0) },
        { label: 'after %', data: bars.map((t) => t.sparsityAfter * 100), backgroundColor: seriesColor(1) },
      ],
    },
    options: { scales: { y: { min: 0, max: 100, title: { display: true, text: 'sparsity %' } }, x: { ticks: { display: bars.length <= 24 } } } },
  });
  const table = sortableTable(
    report.tensors,
    [
      { key: 'name', title: 'Tensor', value: (t) => t.name },
      { key: 'after', title: 'After', value: (t) => t.sparsityAfter, format: (t) => formatPercent(t.sparsityAfter), numeric: true, description: AFTER },
      { key: 'target', title: 'Target', value: (t) => t.targetSparsity, format: (t) => formatPercent(t.targetSparsity), numeric: true, description: TARGET },
      { key: 'removed', title: 'Removed', value: (t) => t.paramsRemoved, format: (t) => formatCount(t.paramsRemoved), numeric: true, description: 'Weights that become zero and were not zero before' },
      { key: 'cut', title: 'Cut', value: (t) => t.threshold ?? t.filtersRemoved, format: cutText, numeric: true, description: 'magnitude: the |w| below which weights are zeroed; filter-l1: the output filters (rows of a linear layer) zeroed' },
      { key: 'before', title: 'Before', value: (t) => t.zerosBefore / t.numel, format: (t) => formatPercent(t.zerosBefore / t.numel), numeric: true, description: 'Share of zeros in the file as it is' },
      { key: 'numel', title: 'Params', value: (t) => t.numel, format: (t) => formatCount(t.numel), numeric: true },
      { key: 'layerType', title: 'Type', value: (t) => t.layerType },
      { key: 'shape', title: 'Shape', value: (t) => t.shape.join('×') },
    ],
    { pageSize: 50, filterPlaceholder: 'Filter tensors', label: 'Pruned tensors' },
  );
  const legend = h('p', { class: 'da-note da-legend' }, h('strong', {}, 'Target'), `: ${TARGET}. `, h('strong', {}, 'After'), `: ${AFTER}.`);
  const exportJson = h('button', { type: 'button', class: 'da-button' }, 'Export JSON');
  exportJson.addEventListener('click', () => host.exportText('json', JSON.stringify(report, null, 2), `${fileName}.prune.json`));
  return h(
    'div',
    { class: 'da-view da-prune' },
    header,
    exported,
    chart,
    section('Tensors', h('div', { class: 'da-toolbar' }, exportJson), legend, table),
    report.warnings.length ? section('Notes', h('ul', { class: 'da-warnings' }, report.warnings.map((w) => h('li', {}, w)))) : null,
  );
}
