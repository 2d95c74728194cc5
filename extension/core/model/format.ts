/**
 * The model report as a plain-text table, one row per layer and a totals row that is the sum of
 * the rows, with the notes (assumptions, left-out nodes) under it.
 */
import { NM24_NOTE, type ModelLayer, type ModelReport } from '../../shared/payloads';
import { humanCount, percent, renderTable, shortName } from '../sparsity/format';
import { isConvShape } from './layers';

const size = (value: number | null): string => (value === null ? '?' : String(value));

/** "64x56x56 > 128x28x28 3x3 s2 p1" (C x H x W in, K x P x Q out, kernel, stride, padding, groups, dilation). */
export function shapeText(layer: ModelLayer): string {
  const s = layer.shape;
  if (!isConvShape(s)) return `${size(s.N)}x${s.I} > ${s.O}`;
  const stride = s.strides[0] === s.strides[1] ? `${s.strides[0]}` : s.strides.join('x');
  const pads = s.pads === null ? '?' : new Set(s.pads).size === 1 ? `${s.pads[0]}` : s.pads.join(',');
  const extras = [s.groups !== 1 ? `g${s.groups}` : '', s.dilations.some((d) => d !== 1) ? `d${s.dilations[0] === s.dilations[1] ? s.dilations[0] : s.dilations.join('x')}` : ''].filter(Boolean);
  return `${s.C}x${size(s.H)}x${size(s.W)} > ${s.K}x${size(s.P)}x${size(s.Q)} ${s.R}x${s.S} s${stride} p${pads}${extras.length ? ` ${extras.join(' ')}` : ''}`;
}

function structured(layer: ModelLayer): string {
  const sp = layer.sparsity;
  if (!sp) return '-';
  return percent(sp.filters ?? sp.rows, 1);
}

export function formatModelReport(report: ModelReport): string {
  const header = ['#', 'Layer', 'Op', 'Shape (C x H x W > K x P x Q, kernel, stride, pad)', 'Params', 'FLOPs', 'Sparsity %', 'Filters/rows %', '2:4 %', 'Winograd'];
  const rows = report.layers.map((l, i) => [
    String(i + 1),
    shortName(l.name, 48),
    l.op,
    shapeText(l),
    String(l.params),
    l.flops === null ? '?' : humanCount(l.flops),
    l.sparsity ? percent(l.sparsity.element, 1) : '-',
    structured(l),
    l.sparsity ? percent(l.sparsity.nm24, 1) : '-',
    l.winograd.chosen?.tile ?? (l.winograd.applicable ? 'needs sizes' : '-'),
  ]);
  const t = report.total;
  rows.push(['', 'total', '', `${t.layers} layers`, String(t.params), `${humanCount(t.flops)}${t.flopsUnknown ? ` + ${t.flopsUnknown} unknown` : ''}`, '', '', '', '']);
  const input = report.input.shape ? `input [${report.input.shape.join(', ')}] (${report.input.from === 'option' ? '--input' : 'from the file'})` : 'input size unknown';
  const lines = [
    `${report.file} (${report.format}, layers from the ${report.source === 'graph' ? 'graph' : 'weights alone'}), ${input}`,
    `${t.layers} layers, ${humanCount(t.params)} parameters, ${humanCount(t.flops)} FLOPs`,
    '',
    renderTable(header, rows, 4),
    '',
    `FLOPs: 2 per multiply-add; '?' needs ${report.layers.find((l) => l.flops === null)?.needs ?? 'the input size'}. Winograd: the engine's tile with the fewest products on the layer (ragged tiles counted) within the default error budget; '-' where none fits (see --json winograd.reason). ${NM24_NOTE}`,
  ];
  for (const note of report.notes) lines.push(`note: ${note}`);
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}
