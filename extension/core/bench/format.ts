/** Human-readable benchmark tables (benchdnn-like), for the CLI and plain-text outputs. */
import { DEFAULT_MAX_ERROR_VS_DIRECT, bestPerLayer, formatBytes } from '../../shared/format';
import type { BenchComparison, BenchReport, BenchResult } from '../../shared/payloads';

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

function scientific(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toExponential(1);
}


/** peer time / our time: above 1 means the engine is faster than the peer. */
export function peerSpeedup(result: BenchResult): number | undefined {
  return result.peer ? result.peer.msMedian / result.msMedian : undefined;
}

function table(header: string[], rows: string[][], rightAligned: (column: number) => boolean): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => (rightAligned(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

export function formatBenchReport(report: BenchReport): string {
  const { machine } = report;
  const lines = [
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.simd}, node ${machine.node}, ${machine.platform}`,
  ];
  if (report.suite) lines.push(`suite: ${report.suite}`);
  lines.push('');
  // The peer's columns only when it ran on some layer.
  const withPeer = report.results.some((result) => result.peer);
  const header = ['layer', 'algo', 'layout', 'thr', 'ms min', 'ms med', 'ms p90', 'GFLOP/s', 'max abs err', 'err/direct', 'max rel err', 'workspace'];
  const withPeerError = report.results.some((result) => result.peer?.maxAbsErr !== undefined);
  if (withPeer) header.push('peer ms', 'vs peer', ...(withPeerError ? ['peer err'] : []));
  const rows = report.results.map((result) => [
    result.layer,
    result.algo,
    result.layout,
    result.threadsUsed === undefined ? String(result.threads) : `${result.threadsUsed} of ${result.threads}`,
    fixed(result.msMin, 3),
    fixed(result.msMedian, 3),
    fixed(result.msP90, 3),
    fixed(result.gflops, 2),
    scientific(result.maxAbsErr),
    result.errorVsDirect === undefined || !Number.isFinite(result.errorVsDirect) ? '-' : `${fixed(result.errorVsDirect, 1)}x`,
    scientific(result.maxRelErr),
    formatBytes(result.workspaceBytes),
    ...(withPeer ? [fixed(result.peer?.msMedian, 3), result.peer ? `${fixed(peerSpeedup(result), 2)}x` : '-'] : []),
    ...(withPeerError ? [scientific(result.peer?.maxAbsErr)] : []),
  ]);
  lines.push(rows.length ? table(header, rows, (column) => column >= 3) : '(no algorithm ran)');
  const peerName = report.results.find((result) => result.peer)?.peer?.name;
  if (peerName) {
    const errorNote = withPeerError ? `; "peer err" = its max abs error against the same fp64 reference, on the same input` : '';
    lines.push('', `peer: ${peerName}; "vs peer" = peer time / engine time (above 1: the engine is faster)${errorNote}`);
  }
  if (report.peerUnavailable) lines.push('', `peer: ${report.peerUnavailable}`);
  lines.push('GFLOP/s = 2*N*K*(C/groups)*R*S*P*Q / median time for every algorithm (effective, direct-convolution count)');
  if (report.results.some((result) => result.threadsUsed !== undefined)) {
    lines.push('thr "1 of 2": the layer is too small to gain from more workers, so the planner ran it on fewer');
  }
  lines.push(...bestLines(report));
  const skipped = report.skipped ?? [];
  if (skipped.length) {
    // One line per (algorithm, reason), with the layers it concerns.
    const groups = new Map<string, string[]>();
    for (const skip of skipped) {
      const key = `${skip.algo}: ${skip.reason}`;
      groups.set(key, [...(groups.get(key) ?? []), skip.layer]);
    }
    lines.push('', 'skipped:');
    for (const [key, layers] of groups) lines.push(`  ${key} (${layers.length === 1 ? layers[0] : `${layers.length} layers: ${layers.join(', ')}`})`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Per layer: the fastest algorithm and the fastest within the accuracy budget, which differ when
 * the fastest is less accurate than the budget allows (F(7,3) under the default 16x).
 */
function bestLines(report: BenchReport): string[] {
  if (!report.results.length) return [];
  const budget = report.maxErrorVsDirect ?? DEFAULT_MAX_ERROR_VS_DIRECT;
  const best = report.best ?? bestPerLayer(report.results, budget);
  const multiThread = new Set(best.map((b) => b.threads)).size > 1;
  const describe = (pick: { algo: string; msMedian: number; errorVsDirect?: number }): string =>
    `${pick.algo} ${fixed(pick.msMedian, 3)} ms${pick.errorVsDirect === undefined ? '' : `, ${fixed(pick.errorVsDirect, 1)}x direct's error`}`;
  const lines = ['', `best per layer (the fastest within max error ${budget}x direct's; --max-error-vs-direct):`];
  for (const entry of best) {
    const name = `${entry.layer}${multiThread ? ` (${entry.threads} thr)` : ''}`;
    const within = entry.withinBudget;
    if (within && within.algo === entry.fastest.algo && within.layout === entry.fastest.layout) {
      lines.push(`  ${name}: ${describe(within)} (also the fastest)`);
    } else if (within) {
      lines.push(`  ${name}: ${describe(within)}; fastest: ${describe(entry.fastest)}, over the budget`);
    } else {
      lines.push(`  ${name}: none within the budget${entry.fastest.errorVsDirect === undefined ? ' (errors not checked)' : ''}; fastest: ${describe(entry.fastest)}`);
    }
  }
  return lines;
}

/** Side by side: median times of the (layer, algo, layout, threads) rows the two runs share. */
export function formatBenchComparison(comparison: BenchComparison): string {
  const key = (r: BenchResult): string => `${r.layer}|${r.algo}|${r.layout}|${r.threads}`;
  const b = new Map(comparison.b.report.results.map((result) => [key(result), result]));
  const rows: string[][] = [];
  for (const a of comparison.a.report.results) {
    const other = b.get(key(a));
    if (!other) continue;
    rows.push([a.layer, a.algo, a.layout, String(a.threads), fixed(a.msMedian, 3), fixed(other.msMedian, 3), `${fixed(a.msMedian / other.msMedian, 2)}x`]);
  }
  const header = ['layer', 'algo', 'layout', 'thr', `${comparison.a.label} ms`, `${comparison.b.label} ms`, 'a/b'];
  return (rows.length ? table(header, rows, (column) => column >= 3) : '(the two runs share no layer/algorithm)') + '\n';
}
