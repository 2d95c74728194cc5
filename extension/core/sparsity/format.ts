/**
 * Plain-text tables of sparsity and pruning reports, in the spirit of Distiller's sparsity summary:
 * one row per tensor with its shape, size, fine-grained and structured sparsity and its moments.
 */
import { formatBytes } from '../../shared/format';
import { LAYOUT_NOTE, NM24_NOTE, layoutLabel, leftOutNote, maskedTotalsNote, type PruneReport, type SparsityReport, type TensorStats, type WinogradSparsityReport } from '../../shared/payloads';

export function percent(share: number | undefined, digits = 2): string {
  return share === undefined ? '-' : `${(share * 100).toFixed(digits)}`;
}

export function compactNumber(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e4 || abs < 1e-3) return value.toExponential(3);
  return value.toPrecision(4);
}

export function humanCount(value: number): string {
  if (value >= 1e12) return `${(value / 1e12).toFixed(2)}T`;
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)}G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)}K`;
  return String(value);
}

/** A count with every digit and thousands separators (4,608): parameter counts a user compares exactly. */
export function exactCount(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 0 });
}

/** Left-aligns the first `leftColumns` columns and right-aligns the rest. */
export function renderTable(header: string[], rows: string[][], leftColumns = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i < leftColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function structuredCells(t: TensorStats): [string, string, string] {
  if (t.rows !== undefined || t.cols !== undefined) return [percent(t.rows), percent(t.cols), '-'];
  return [percent(t.filters), percent(t.channels), percent(t.kernels)];
}

/** Long names (TFLite joins several op names with ';') cut in the middle so the table stays readable. */
export function shortName(name: string, width = 64): string {
  if (name.length <= width) return name;
  const head = Math.ceil((width - 3) / 2);
  return `${name.slice(0, head)}...${name.slice(name.length - (width - 3 - head))}`;
}

export function formatSparsityReport(report: SparsityReport): string {
  const header = ['Name', 'Shape', 'Layout', 'Numel', 'Sparsity %', 'Filt/Row %', 'Chan/Col %', 'Kernel %', '2:4 %', 'Block %', 'Mean', 'Std', 'AbsMean'];
  const rows = report.tensors.map((t) => [
    shortName(t.name),
    `[${t.shape.join(', ')}]`,
    layoutLabel(t) ?? '',
    String(t.numel),
    percent(t.sparsity),
    ...structuredCells(t),
    percent(t.nm24),
    percent(t.block?.sparsity),
    compactNumber(t.mean),
    compactNumber(t.std),
    compactNumber(t.absMean),
  ]);
  rows.push(['Total', '', '', String(report.total.numel), percent(report.total.sparsity), '', '', '', '', '', '', '', '']);
  const parts = [`${report.file} (${report.format}, ${formatBytes(report.fileBytes)}, threshold ${report.threshold})`, '', renderTable(header, rows, 3)];
  const leftOut = leftOutNote(report);
  if (leftOut) parts.push(leftOut);
  const maskedNote = maskedTotalsNote(report.total);
  if (maskedNote) parts.push(maskedNote);
  if (report.tensors.some((t) => t.layout)) parts.push(LAYOUT_NOTE);
  const blockSize = report.tensors.find((t) => t.block)?.block?.size;
  if (blockSize) parts.push(`Block % = all-zero ${blockSize[0]}x${blockSize[1]} blocks of the [O, I*R*S] view.`);
  if (report.tensors.some((t) => t.nm24 !== undefined)) parts.push(NM24_NOTE);
  const quantised = formatQuantisedNote(report.tensors);
  if (quantised) parts.push('', quantised);
  const nmTable = formatNmTable(report);
  if (nmTable) parts.push('', nmTable);
  const permutationTable = formatPermutationTable(report);
  if (permutationTable) parts.push('', permutationTable);
  if (report.byLayerType && Object.keys(report.byLayerType).length > 0) {
    parts.push('', renderTable(['Layer type', 'Numel', 'Sparsity %'], Object.entries(report.byLayerType).map(([type, t]) => [type, String(t.numel), percent(t.sparsity)]), 1));
  }
  if (report.masks && report.masks.length > 0) {
    parts.push(
      '',
      renderTable(
        ['Masked parameter', 'Kind', 'Mask sparsity %', 'Effective sparsity %'],
        report.masks.map((m) => [m.parameter, m.kind, percent(m.maskSparsity), percent(m.effectiveSparsity)]),
        2,
      ),
    );
  }
  if (report.thresholdCurve) {
    const { thresholds, sparsity } = report.thresholdCurve;
    // One row per decade keeps the curve readable in a terminal.
    const rows2 = thresholds.flatMap((t, i) => (Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9 ? [[t.toExponential(0), percent(sparsity[i])]] : []));
    parts.push('', 'Sparsity if |w| <= threshold were zero:', renderTable(['Threshold', 'Sparsity %'], rows2, 0));
  }
  if (report.warnings.length > 0) parts.push('', ...report.warnings.map((w) => `warning: ${w}`));
  return parts.join('\n') + '\n';
}

/** Most quantised tensors whose zero rule the table lists by name; --json gives every one. */
const QUANTISED_NOTE_LINES = 6;

/** Which stored value of each quantised tensor counted as zero (the zero point, decoded to exactly 0). */
function formatQuantisedNote(tensors: readonly TensorStats[]): string | undefined {
  const quantised = tensors.filter((t) => t.quantization !== undefined);
  if (quantised.length === 0) return undefined;
  const lines = [`Quantised tensors (${quantised.length}): the stored value that decodes to exactly 0 (the zero point) counts as zero:`];
  for (const t of quantised.slice(0, QUANTISED_NOTE_LINES)) lines.push(`  ${shortName(t.name)}: ${t.quantization}`);
  if (quantised.length > QUANTISED_NOTE_LINES) lines.push(`  ... and ${quantised.length - QUANTISED_NOTE_LINES} more (--json gives each tensor's quantization)`);
  return lines.join('\n');
}

/**
 * Per N:M pattern, the share of compliant groups and the share of sum |w| that N:M pruning keeps,
 * for the tensors that have them (2-D and 4-D weights with at least M input channels).
 */
function formatNmTable(report: SparsityReport): string | undefined {
  const patterns = report.nmPatterns ?? [];
  const tensors = report.tensors.filter((t) => t.nm !== undefined);
  if (patterns.length === 0 || tensors.length === 0) return undefined;
  const header = ['Name', 'Layout', ...patterns.flatMap((p) => [`${p} %`, `Kept ${p} %`])];
  const cells = (nm: Record<string, number> | undefined, retained: Record<string, number> | undefined) =>
    patterns.flatMap((p) => [percent(nm?.[p]), percent(retained?.[p])]);
  const rows = tensors.map((t) => [shortName(t.name), t.layout ?? '', ...cells(t.nm, t.retained)]);
  rows.push(['Total', '', ...cells(report.total.nm, report.total.retained)]);
  return [
    renderTable(header, rows),
    'N:M % = groups of M consecutive input channels with >= M-N zeros (a short last group zero-padded, as NVIDIA ASP pads it); ' +
      'Kept N:M % = share of sum |w| that keeping the N largest |w| of each group would keep.',
  ].join('\n');
}

/** Per permuted weight, what N:M pruning keeps in the stored order and in the order found. */
function formatPermutationTable(report: SparsityReport): string | undefined {
  const tensors = report.tensors.filter((t) => t.permutation !== undefined);
  if (!report.permute || tensors.length === 0) return undefined;
  const { pattern, secondsPerTensor } = report.permute;
  const outcome = (p: NonNullable<SparsityReport['tensors'][number]['permutation']>) =>
    p.perfect ? `perfect ${pattern}` : p.exhaustive ? 'best order' : p.budgetExhausted ? 'time bound hit' : 'settled';
  const rows = tensors.map((t) => {
    const p = t.permutation!;
    return [shortName(t.name), percent(p.retainedBefore), percent(p.retainedAfter), outcome(p), (p.ms / 1000).toFixed(2)];
  });
  const total = report.total.permutation;
  if (total) rows.push(['Total', percent(total.retainedBefore), percent(total.retainedAfter), `${total.tensors} permuted`, '']);
  return [
    renderTable(['Name', `Kept ${pattern} before %`, `Kept ${pattern} after %`, 'Search', 'Seconds'], rows, 1),
    `Kept after % = share of sum |w| that ${pattern} pruning keeps once the input channels take the order found (--json gives it; ` +
      `permute the previous layer's output channels the same way). At most ${secondsPerTensor} s per weight.`,
  ].join('\n');
}

export function formatPruneReport(report: PruneReport): string {
  const header = ['Name', 'Shape', 'Target %', 'Before %', 'After %', 'Removed', 'Threshold/Filters', 'FLOPs removed'];
  const rows = report.tensors.map((p) => [
    shortName(p.name),
    `[${p.shape.join(', ')}]`,
    percent(p.targetSparsity),
    percent(p.zerosBefore / p.numel),
    percent(p.sparsityAfter),
    String(p.paramsRemoved),
    p.filters !== undefined ? `${p.filtersRemoved}/${p.filters}` : p.retained !== undefined ? `kept ${percent(p.retained)}% |w|` : compactNumber(p.threshold ?? 0),
    p.flopsRemoved !== undefined ? humanCount(Math.round(p.flopsRemoved)) : '-',
  ]);
  const t = report.total;
  const lines = [
    report.pattern
      ? `${report.file}: ${report.pattern} pruning (the ${report.pattern.split(':')[0]} largest |w| of every ${report.pattern.split(':')[1]} input channels), target ${percent(report.targetSparsity)}%`
      : `${report.file}: ${report.method} pruning, ${report.profile} profile, target ${percent(report.targetSparsity)}%`,
    '',
    renderTable(header, rows),
    '',
    `Parameters removed: ${exactCount(t.paramsRemoved)} of ${exactCount(t.parameters)} (prunable ${exactCount(t.prunableParameters)})`,
    `Sparsity after: ${percent(t.prunableSparsityAfter)}% of prunable weights, ${percent(t.modelSparsityAfter)}% of the model`,
  ];
  if (t.retained !== undefined) lines.push(`Magnitude kept: ${percent(t.retained)}% of sum |w| over the pruned weights`);
  if (report.masks) lines.push('The copy holds the weights unchanged and an NVIDIA ASP mask beside each pruned one (bool, 1 = kept).');
  if (t.flops !== undefined) {
    const source = report.flopsSource === 'graph' ? 'from the graph' : `assuming every conv output is ${report.inputSize ? `${report.inputSize.height}x${report.inputSize.width}` : 'the given input size'}`;
    lines.push(`FLOPs removed: ${humanCount(Math.round(t.flopsRemoved ?? 0))} of ${humanCount(Math.round(t.flops))} (${percent((t.flopsRemoved ?? 0) / t.flops)}%, ${source})`);
  } else {
    lines.push('FLOPs: unknown (no graph in this format; give --input-size HxW)');
  }
  if (report.export) {
    const e = report.export;
    lines.push(
      `Wrote ${e.out} (${formatBytes(e.bytes)}): ${e.verified ? 'verified' : 'VERIFICATION FAILED'} by reading it back ` +
        `(${e.pruned.filter((p) => p.zerosReadBack === p.expectedZeros).length}/${e.pruned.length} pruned tensors at the planned sparsity, ` +
        `${e.untouchedIdentical} untouched tensors identical${e.untouchedDiffering.length > 0 ? `, differing: ${e.untouchedDiffering.join(', ')}` : ''})`,
    );
  }
  if (report.warnings.length > 0) lines.push(...report.warnings.map((w) => `warning: ${w}`));
  return lines.join('\n') + '\n';
}

export function formatWinogradSparsity(report: WinogradSparsityReport): string {
  const rows = report.tensors.map((t) => [shortName(t.name), String(t.kernels), percent(t.spatialSparsity), percent(t.winogradSparsity), `${t.kernelsWithWinogradZeros}/${t.kernelsWithSpatialZeros}`]);
  rows.push(['Total', String(report.total.kernels), percent(report.total.spatialSparsity), percent(report.total.winogradSparsity), '']);
  return (
    `Winograd F(${report.m}, ${report.r}) filter domain (${report.alpha}x${report.alpha} tiles, U = G g G^T):\n` +
    renderTable(['Tensor', 'Kernels', 'Spatial zeros %', 'Winograd zeros %', 'Kernels keeping zeros'], rows, 1) +
    '\n'
  );
}
