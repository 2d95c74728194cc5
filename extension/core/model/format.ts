/**
 * The model report as a plain-text table, one row per layer and a totals row that is the sum of
 * the rows, with the notes (assumptions, left-out nodes) under it.
 */
import { NM24_NOTE, type ModelLayer, type ModelReport } from '../../shared/payloads';
import { humanCount, percent, renderTable, shortName } from '../sparsity/format';
import { modelShapeText } from '../../shared/format';

function structured(layer: ModelLayer): string {
  const sp = layer.sparsity;
  if (!sp) return '-';
  return percent(sp.filters ?? sp.rows, 1);
}

function timingCells(layer: ModelLayer): string[] {
  const best = layer.best;
  if (!best) return ['-', '-', '-', '-'];
  const gflops = layer.flops ? (layer.flops / (best.msMedian * 1e6)).toFixed(1) : '-';
  return [`${best.algo}${layer.fastest ? '*' : ''}`, best.msMedian.toFixed(3), gflops, best.errorVsDirect.toFixed(1)];
}

/** "32/64 > 16/32" (input channels kept/of > filters kept/of), the pruned FLOPs and those removed, then the pruned time and speedup when timed. */
function prunedCells(layer: ModelLayer, timed: boolean): string[] {
  const p = layer.pruned;
  if (!p) return timed ? ['-', '-', '-', '-'] : ['-', '-', '-'];
  const channels = `${p.inputChannelsKept === p.inputChannels ? p.inputChannels : `${p.inputChannelsKept}/${p.inputChannels}`} > ${p.filtersKept === p.filters ? p.filters : `${p.filtersKept}/${p.filters}`}`;
  const flops = p.flops === null ? '?' : humanCount(p.flops);
  const removed = p.flopsRemoved === null ? '?' : humanCount(p.flopsRemoved);
  if (!timed) return [channels, flops, removed];
  return [channels, flops, removed, p.msMedian === undefined ? '-' : `${p.msMedian.toFixed(3)} (${p.speedup!.toFixed(2)}x)`];
}

export function formatModelReport(report: ModelReport): string {
  const timed = report.timing !== undefined;
  const peer = report.total.peerMs !== undefined;
  const pruned = report.total.pruned;
  const pct = pruned ? Math.round(pruned.target * 100) : 0;
  const header = [
    '#', 'Layer', 'Op', 'Shape (C x H x W > K x P x Q, kernel, stride, pad)', 'Params', 'FLOPs', 'Sparsity %', 'Filters/rows %', '2:4 %', '2:4 |w| kept %', 'Winograd',
    ...(timed ? ['Best', 'ms', 'GFLOP/s', 'Err x direct'] : []),
    ...(peer ? ['ORT ms'] : []),
    ...(pruned ? [`Pruned ${pct}%: C > K`, 'FLOPs', 'FLOPs removed', ...(timed ? ['ms (speedup)'] : [])] : []),
  ];
  const rows = report.layers.map((l, i) => [
    String(i + 1),
    shortName(l.name, 48),
    l.op,
    modelShapeText(l),
    String(l.params),
    l.flops === null ? '?' : humanCount(l.flops),
    l.sparsity ? percent(l.sparsity.element, 1) : '-',
    structured(l),
    l.sparsity ? percent(l.sparsity.nm24, 1) : '-',
    l.sparsity?.retained24 !== undefined ? percent(l.sparsity.retained24, 1) : '-',
    l.winograd.chosen?.tile ?? (l.winograd.applicable ? 'needs sizes' : '-'),
    ...(timed ? timingCells(l) : []),
    ...(peer ? [l.peerMs === undefined ? '-' : l.peerMs.toFixed(3)] : []),
    ...(pruned ? prunedCells(l, timed) : []),
  ]);
  const t = report.total;
  rows.push([
    '', 'total', '', `${t.layers} layers`, String(t.params), `${humanCount(t.flops)}${t.flopsUnknown ? ` + ${t.flopsUnknown} unknown` : ''}`, '', '', '', '', '',
    ...(timed ? [`${t.timedLayers} timed`, (t.bestMs ?? 0).toFixed(3), '', ''] : []),
    ...(peer ? [t.peerMs!.toFixed(3)] : []),
    ...(pruned ? ['', humanCount(pruned.flops), humanCount(pruned.flopsRemoved), ...(timed ? [pruned.msMedian === undefined ? '-' : `${pruned.msMedian.toFixed(3)} (${pruned.speedup!.toFixed(2)}x)`] : [])] : []),
  ]);
  const input = report.input.shape ? `input [${report.input.shape.join(', ')}] (${report.input.from === 'option' ? '--input' : 'from the file'})` : 'input size unknown';
  const lines = [
    `${report.file} (${report.format}, layers from the ${report.source === 'graph' ? 'graph' : 'weights alone'}), ${input}`,
    `${t.layers} layers, ${humanCount(t.params)} parameters, ${humanCount(t.flops)} FLOPs`,
    '',
    renderTable(header, rows, 4),
    '',
    `FLOPs: 2 per multiply-add; '?' needs ${report.layers.find((l) => l.flops === null)?.needs ?? 'the input size'}. Winograd: the engine's tile with the fewest products on the layer (ragged tiles counted) within the default error budget; '-' where none fits (see --json winograd.reason). ${NM24_NOTE}`,
  ];
  if (report.timing) {
    const g = report.timing;
    const shares = Object.entries(t.bestMsByOp ?? {}).map(([op, ms]) => `${op} ${((100 * ms) / (t.bestMs || 1)).toFixed(1)}%`);
    lines.push(
      `Timed on the engine (${report.machine?.simd ?? ''}, build ${g.engineBuild}), ${g.threads} thread${g.threads === 1 ? '' : 's'}, ${g.budgetMs} ms budget and ${g.warmupMs} ms warm-up per shape and algorithm: ${g.measured} timed, ${g.cacheHits} from the cache${g.cacheFile ? ` (${g.cacheFile})` : ''}, in ${(g.elapsedMs / 1000).toFixed(1)} s.`,
      `Best = the fastest algorithm whose max error on the layer's real weights is at most ${g.maxErrorVsDirect}x direct convolution's (Err x direct); * = a faster one lies outside that budget (--json fastest). Total best: ${(t.bestMs ?? 0).toFixed(3)} ms${shares.length ? ` (${shares.join(', ')})` : ''}.`,
    );
    if (g.peer) {
      lines.push(`ORT ms: ${g.peer} on the same layer with its weights (NCHW Conv), ${t.peerMs!.toFixed(3)} ms over the layers it ran${t.peerModelMs !== undefined ? `; the whole model end to end: ${t.peerModelMs.toFixed(3)} ms` : ''}.`);
    }
    if (g.peerUnavailable) lines.push(g.peerUnavailable);
    lines.push(
      g.activations?.source === 'npy'
        ? `Errors measured on your activations (${g.activations.from}) for ${g.activations.layers} layer${g.activations.layers === 1 ? '' : 's'}, random ones in [-1, 1) for the others.`
        : 'Errors measured on random activations in [-1, 1) (--activations gives your own).',
    );
    const notTimed = new Map<string, string[]>();
    for (const l of report.layers) if (l.notTimed) notTimed.set(l.notTimed, [...(notTimed.get(l.notTimed) ?? []), l.name]);
    for (const [reason, names] of notTimed) lines.push(`not timed: ${names.length} layer${names.length === 1 ? '' : 's'} (${names.slice(0, 4).join(', ')}${names.length > 4 ? ', ...' : ''}): ${reason}`);
    const overMemory = new Map<string, string[]>();
    for (const l of report.layers) {
      for (const s of l.skipped ?? []) if (s.workspaceMib !== undefined) overMemory.set(s.algo, [...(overMemory.get(s.algo) ?? []), l.name]);
    }
    if (overMemory.size > 0) {
      const listed = [...overMemory].map(([algo, names]) => `${algo} on ${names.length} layer${names.length === 1 ? '' : 's'}`);
      lines.push(`not timed over the ${g.maxWorkspaceMib} MiB engine-memory bound per algorithm (--max-workspace-mib; --json skipped has each one's need): ${listed.join(', ')}`);
    }
  }
  if (pruned) {
    const time = pruned.msMedian !== undefined ? `; the ${pruned.timedLayers} layers timed both ways: ${pruned.bestMs!.toFixed(3)} ms > ${pruned.msMedian.toFixed(3)} ms (${pruned.speedup!.toFixed(2)}x), each with its best algorithm` : '';
    lines.push(`Pruned ${pct}%: round(${pruned.target} x K) of each layer's K filters removed, the smallest L1 norms first (--prune-target; 0 for none); ${humanCount(pruned.flopsRemoved)} FLOPs removed (${percent(pruned.flopsRemoved / ((pruned.flops + pruned.flopsRemoved) || 1), 1)}% of the layers with sizes)${time}. 2:4 |w| kept % = the share of sum |w| that 2:4 magnitude pruning keeps.`);
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}
