import { EXPORT_FORMATS, type ExportFormat, type WinogradResult } from '../../extension/shared/payloads';
import { chartBox, seriesColor } from './charts';
import { formatNumber, h, matrixView, section } from './dom';
import type { ViewHost } from './host';
import { scrollingTable, sortableTable } from './table';

const EXPORT_LABELS: Record<ExportFormat, string> = { c: 'C', numpy: 'NumPy', ts: 'TypeScript', latex: 'LaTeX', markdown: 'Markdown', json: 'JSON' };

function title(result: WinogradResult): string {
  if (result.n !== undefined || result.s !== undefined) return `F(${result.m}×${result.n ?? result.m}, ${result.r}×${result.s ?? result.r})`;
  return `F(${result.m}, ${result.r})`;
}

export function renderWinograd(result: WinogradResult, host: ViewHost): HTMLElement {
  const saving = result.multiplications.saving;
  const header = h(
    'header',
    { class: 'da-header' },
    h('h2', {}, `Winograd ${title(result)}`),
    h(
      'p',
      { class: 'da-subtitle' },
      `α = ${result.alpha} · points ${result.points.join(', ')}${result.infinity ? ', ∞' : ''} · fractions in ${result.fractionsIn} · `,
      h('span', { class: result.verified ? 'da-ok' : 'da-bad', 'data-verified': String(result.verified) }, result.verified ? '✓ verified exactly' : '✗ NOT verified'),
      ` · ${formatNumber(saving)}× fewer multiplications`,
    ),
  );

  const matrices = section('Transforms', h('div', { class: 'da-matrices' }, matrixView('AT', result.AT), matrixView('G', result.G), matrixView('BT', result.BT)));
  const second = result.second
    ? section('Second dimension', h('div', { class: 'da-matrices' }, matrixView('AT₂', result.second.AT), matrixView('G₂', result.second.G), matrixView('BT₂', result.second.BT)))
    : null;

  const verification = h(
    'details',
    { class: 'da-details' },
    h('summary', {}, `Verification: ${result.verification.steps.length} steps`),
    h('ol', {}, result.verification.steps.map((step) => h('li', {}, step))),
  );

  const ops = result.transformOps;
  const costRows = [
    { what: 'Element-wise multiplications per tile', winograd: result.multiplications.winograd, direct: result.multiplications.direct },
    { what: 'Input transform (adds / muls)', winograd: `${ops.input.adds} / ${ops.input.muls}`, direct: '' },
    { what: 'Filter transform (adds / muls)', winograd: `${ops.filter.adds} / ${ops.filter.muls}`, direct: '' },
    { what: 'Output transform (adds / muls)', winograd: `${ops.output.adds} / ${ops.output.muls}`, direct: '' },
  ];
  const layer = result.cost.layer;
  const cost = section(
    'Cost',
    scrollingTable(
      h(
        'table',
        { class: 'da-table da-prose da-cost' },
        h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', { class: 'num' }, 'Winograd'), h('th', { class: 'num' }, 'Direct'))),
        h('tbody', {}, costRows.map((row) => h('tr', {}, h('td', {}, row.what), h('td', { class: 'num' }, String(row.winograd)), h('td', { class: 'num' }, String(row.direct))))),
      ),
      'Cost',
    ),
    layer
      ? h('p', {}, `Layer C=${layer.C} K=${layer.K} ${layer.H}×${layer.W}: ${layer.tiles} tiles, effective arithmetic reduction ${formatNumber(layer.effectiveReduction)}× with transforms amortised.`)
      : null,
  );

  // Older payloads carry no precision: fp32 was the default then too.
  const chosen = result.precision ?? 'fp32';
  const errorTable = sortableTable(result.error, [
    { key: 'precision', title: 'Precision', value: (e) => e.precision },
    { key: 'meanAbs', title: 'Mean |err|', value: (e) => e.meanAbs, format: (e) => formatNumber(e.meanAbs), numeric: true },
    { key: 'meanMultiple', title: '× direct (mean)', value: (e) => e.meanMultiple, format: (e) => formatNumber(e.meanMultiple), numeric: true },
    { key: 'maxAbs', title: 'Max |err|', value: (e) => e.maxAbs, format: (e) => formatNumber(e.maxAbs), numeric: true },
    { key: 'maxMultiple', title: '× direct (max)', value: (e) => e.maxMultiple, format: (e) => formatNumber(e.maxMultiple), numeric: true },
    { key: 'maxTransformMagnitude', title: 'Max transform |v|', value: (e) => e.maxTransformMagnitude, format: (e) => formatNumber(e.maxTransformMagnitude), numeric: true },
  ], { highlight: (e) => e.precision === chosen, label: 'Error per precision' });
  const chosenNote = result.error.some((e) => e.precision === chosen)
    ? h('p', { class: 'da-note', 'data-precision': chosen }, `Highlighted: ${chosen}, the precision of interest${result.search ? ', whose error the point search minimised' : ''}. Every precision is measured.`)
    : null;
  const errorChart =
    result.error.length > 0
      ? chartBox('Error as a multiple of direct convolution', {
          type: 'bar',
          data: {
            labels: result.error.map((e) => (e.precision === chosen ? `${e.precision} ◀` : e.precision)),
            datasets: [
              { label: 'mean |err| × direct', data: result.error.map((e) => e.meanMultiple), backgroundColor: seriesColor(0) },
              { label: 'max |err| × direct', data: result.error.map((e) => e.maxMultiple), backgroundColor: seriesColor(1) },
            ],
          },
          // A log axis only when the multiples span more than a decade (large tiles, fp16 overflow risk).
          options: (() => {
            const values = result.error.flatMap((e) => [e.meanMultiple, e.maxMultiple]).filter((v) => v > 0);
            const wide = Math.max(...values) / Math.min(...values) > 10;
            return { scales: { y: wide ? { type: 'logarithmic' as const, title: { display: true, text: '× direct error (log)' } } : { beginAtZero: true, title: { display: true, text: '× direct error' } } } };
          })(),
        })
      : null;
  const byTile = result.errorByTile?.filter((row) => row.error.length > 0);
  const tileChart = byTile?.length
    ? chartBox('Error against tile size', {
        type: 'bar',
        data: {
          labels: byTile.map((row) => `F(${row.m},${row.r})${row.m === result.m ? ' ◀' : ''}`),
          datasets: byTile[0].error.map((measurement, i) => ({
            label: `${measurement.precision} mean |err| × direct`,
            data: byTile.map((row) => row.error.find((e) => e.precision === measurement.precision)?.meanMultiple ?? null),
            backgroundColor: seriesColor(i),
          })),
        },
        options: { scales: { y: { type: 'logarithmic', title: { display: true, text: '× direct error (log), default points' } } } },
      })
    : null;
  const error = section('Numerical error (2-D tile vs fp64 direct)', chosenNote, errorTable, h('div', { class: 'da-charts' }, errorChart, tileChart));

  const search = result.search
    ? section(
        'Point search',
        h(
          'p',
          { 'data-search-improvement': String(result.search.improvement) },
          `${result.search.candidatesEvaluated} candidate sets in ${formatNumber(result.search.elapsedMs / 1000)} s (${result.search.precision}): `,
          `error ${formatNumber(result.search.bestError)} vs ${formatNumber(result.search.baselineError)} for {${result.search.baselinePoints.join(', ')}}, `,
          h('strong', {}, `${formatNumber(result.search.improvement * 100)}% lower`),
        ),
      )
    : null;

  const exports = result.exports || host.exportWinograd ? exportsView(result, host) : null;
  return h('div', { class: 'da-view da-winograd' }, header, matrices, second, verification, cost, error, search, exports);
}

/** The default file name of an export: "winograd-F4-3.h", "winograd-F4x2-3x3.py". */
export function exportFileName(result: WinogradResult, format: ExportFormat): string {
  const extension: Record<ExportFormat, string> = { c: 'h', numpy: 'py', ts: 'ts', latex: 'tex', markdown: 'md', json: 'json' };
  const rectangular = result.n !== undefined || result.s !== undefined;
  const size = rectangular ? `F${result.m}x${result.n ?? result.m}-${result.r}x${result.s ?? result.r}` : `F${result.m}-${result.r}`;
  return `winograd-${size}.${extension[format]}`;
}

/**
 * Tabs of export formats. The text is not in the payload (a saved notebook would carry every
 * format): a tab asks the host for it when first opened, and keeps it. A payload that does carry
 * exports (the CLI's `--export ... --json`) is shown as it is.
 */
function exportsView(result: WinogradResult, host: ViewHost): HTMLElement {
  const known = new Map<ExportFormat, string>(Object.entries(result.exports ?? {}) as [ExportFormat, string][]);
  const formats = host.exportWinograd ? [...EXPORT_FORMATS] : [...known.keys()];
  const code = h('pre', { class: 'da-code', 'aria-live': 'polite' });
  const status = h('p', { class: 'da-status', role: 'status' });
  const tabs = h('div', { class: 'da-tabs', role: 'tablist' });
  const copy = h('button', { type: 'button', class: 'da-button da-copy' }, 'Copy');
  const save = h('button', { type: 'button', class: 'da-button' }, 'Save…');
  let current = formats[0]!;
  const textOf = async (format: ExportFormat): Promise<string> => {
    const cached = known.get(format);
    if (cached !== undefined) return cached;
    const text = await host.exportWinograd!(result, format);
    known.set(format, text);
    return text;
  };
  const show = (format: ExportFormat) => {
    current = format;
    for (const tab of Array.from(tabs.children)) tab.setAttribute('aria-selected', String(tab.getAttribute('data-format') === format));
    const ready = known.has(format);
    code.textContent = ready ? known.get(format)! : '';
    status.textContent = ready ? '' : `Making the ${EXPORT_LABELS[format]} export…`;
    status.classList.remove('da-error');
    copy.disabled = save.disabled = !ready;
    if (ready) return;
    textOf(format).then(
      (text) => {
        if (current !== format) return;
        code.textContent = text;
        status.textContent = '';
        copy.disabled = save.disabled = false;
      },
      (error: unknown) => {
        if (current !== format) return;
        status.textContent = `The ${EXPORT_LABELS[format]} export failed: ${error instanceof Error ? error.message : String(error)}`;
        status.classList.add('da-error');
      },
    );
  };
  for (const format of formats) {
    const tab = h('button', { type: 'button', role: 'tab', class: 'da-tab', 'data-format': format }, EXPORT_LABELS[format]);
    tab.addEventListener('click', () => show(format));
    tabs.append(tab);
  }
  copy.addEventListener('click', () => {
    const text = known.get(current);
    if (text !== undefined) host.copyText(text);
  });
  save.addEventListener('click', () => {
    const text = known.get(current);
    if (text !== undefined) host.exportText(current, text, exportFileName(result, current));
  });
  show(current);
  return section('Export', h('div', { class: 'da-toolbar' }, tabs, copy, save), status, code);
}
