/**
 * deep-accel winograd --m 4 --r 3 [options]   (the flags: WINOGRAD_SCHEMA in core/options/commands.ts)
 *
 * Prints aligned matrices, the exact verification, the cost table and the error table; with
 * --json the WinogradResult payload (shared/payloads.ts); with --export (and no --json) the exported text only.
 */
import type { WinogradResult } from '../shared/payloads';
import { type WinogradRequest } from '../shared/requests';
import { WINOGRAD_SCHEMA } from '../core/options/commands';
import { exportWinograd } from '../core/winograd/index';
import { runWinograd } from '../core/requests/winograd';
import { type CliCommand, CliUsageError } from './io';
import { commandLine, commandUsage } from './options';

export const WINOGRAD_USAGE = commandUsage(WINOGRAD_SCHEMA);

/** Turns command-line flags into a WinogradRequest; throws CliUsageError on bad flags. */
export function requestFromArguments(argv: readonly string[]): { request: WinogradRequest; json: boolean; help: boolean } {
  const parsed = commandLine(WINOGRAD_SCHEMA, argv);
  if (parsed.help) return { request: { m: 1, r: 1 }, json: false, help: true };
  if (parsed.values.m === undefined || parsed.values.r === undefined) throw new CliUsageError('--m and --r are required, e.g. --m 4 --r 3');
  return { request: parsed.request as unknown as WinogradRequest, json: parsed.values.json === true, help: false };
}

/** Right-aligned columns, one bracketed row per line. */
export function formatMatrix(name: string, matrix: string[][]): string {
  const columns = matrix[0]?.length ?? 0;
  const widths = Array.from({ length: columns }, (_, j) => Math.max(...matrix.map((row) => row[j]!.length)));
  const lines = matrix.map((row) => `  [ ${row.map((entry, j) => entry.padStart(widths[j]!)).join('  ')} ]`);
  return `${name} (${matrix.length}x${columns}) =\n${lines.join('\n')}`;
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, j) => Math.max(header.length, ...rows.map((row) => row[j]!.length)));
  const line = (cells: string[]): string => cells.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join('  ');
  return [line(headers), ...rows.map(line)].map((text) => `  ${text.trimEnd()}`).join('\n');
}

/** The human-readable report. */
export function formatWinogradResult(result: WinogradResult): string {
  const n = result.n ?? result.m;
  const s = result.s ?? result.r;
  const points = `${result.points.join(', ')}${result.infinity ? ', infinity' : ''}`;
  const parts: string[] = [
    `F(${result.m}x${n}, ${result.r}x${s})  alpha = ${result.alpha}${result.second ? ` x ${result.second.BT.length}` : ''}  points: ${points}  fractions in ${result.fractionsIn}`,
    '',
    formatMatrix('AT', result.AT),
    formatMatrix('G', result.G),
    formatMatrix('BT', result.BT),
  ];
  if (result.second) {
    parts.push(`second dimension points: ${result.second.points.join(', ')}`, formatMatrix("AT'", result.second.AT), formatMatrix("G'", result.second.G), formatMatrix("BT'", result.second.BT));
  }
  parts.push('', `Verification: ${result.verified ? 'VERIFIED exactly' : 'FAILED'}`, ...result.verification.steps.map((step) => `  ${step}`));
  const cost = result.cost;
  parts.push(
    '',
    `Cost per ${result.m}x${n} output tile: ${cost.winogradMultiplications} element-wise multiplications vs ${cost.directMultiplications} direct (${cost.saving.toFixed(2)}x fewer)`,
    table(
      ['transform', 'adds', 'muls'],
      (['input', 'filter', 'output'] as const).map((kind) => [kind, String(cost.transformOps[kind].adds), String(cost.transformOps[kind].muls)]),
    ),
  );
  if (cost.layer) {
    const layer = cost.layer;
    parts.push(
      `Layer C=${layer.C} K=${layer.K} H=${layer.H} W=${layer.W}: ${layer.tiles} tiles, direct ${layer.directFlops.toExponential(3)} flops, ` +
        `Winograd ${layer.winogradFlops.toExponential(3)} flops: effective reduction ${layer.effectiveReduction.toFixed(2)}x`,
    );
  }
  if (result.error.length > 0) {
    const first = result.error[0]!;
    parts.push(
      '',
      `Error against fp64 direct correlation (${first.trials} random tiles, uniform [-1,1), seed ${first.seed}; * --precision ${result.precision}):`,
      table(
        ['precision', 'mean abs', 'x direct', 'max abs', 'x direct', 'max |transform|'],
        result.error.map((e) => {
          // Every output overflowed: the measurement carries Number.MAX_VALUE, shown as words.
          const overflow = e.meanAbs === Number.MAX_VALUE;
          const show = (value: number, text: string): string => (overflow || value === Number.MAX_VALUE ? 'overflow' : text);
          return [
            e.precision + (e.precision === result.precision ? ' *' : '') + (e.nonFiniteOutputs ? ` (${e.nonFiniteOutputs} outputs overflowed)` : ''),
            show(e.meanAbs, e.meanAbs.toExponential(3)),
            show(e.meanMultiple, e.meanMultiple.toFixed(2)),
            show(e.maxAbs, e.maxAbs.toExponential(3)),
            show(e.maxMultiple, e.maxMultiple.toFixed(2)),
            e.maxTransformMagnitude === Number.MAX_VALUE ? 'overflow' : e.maxTransformMagnitude.toPrecision(4),
          ];
        }),
      ),
    );
  }
  if (result.search) {
    const search = result.search;
    parts.push(
      '',
      `Search (${search.precision}, ${search.candidatesEvaluated} candidate sets, ${(search.elapsedMs / 1000).toFixed(1)} s): ` +
        `best ${search.bestError.toFixed(2)}x direct vs baseline ${search.baselinePoints.join(', ')} ${search.baselineError.toFixed(2)}x ` +
        `(${(search.improvement * 100).toFixed(1)}% lower)` +
        (search.budgetExhausted ? '; the time budget cut the search short, so the result depends on machine speed' : ''),
    );
  }
  return parts.join('\n') + '\n';
}

export const winogradCommand: CliCommand = async (argv, io) => {
  const { request, json, help } = requestFromArguments(argv);
  if (help) {
    io.out(WINOGRAD_USAGE);
    return 0;
  }
  let result: WinogradResult;
  let lastReport = 0;
  try {
    result = await runWinograd(request, {
      onProgress: (fraction, message) => {
        const now = Date.now();
        if (now - lastReport > 1000 || fraction === 1) {
          lastReport = now;
          io.err(`[${Math.round(fraction * 100)}%] ${message}\n`);
        }
      },
    });
  } catch (error) {
    // Bad points, sizes or layer: the message already names the problem.
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }
  if (json) {
    io.out(JSON.stringify(result, null, 2) + '\n');
  } else if (request.exports && request.exports.length > 0) {
    io.out(request.exports.map((format) => result.exports?.[format] ?? exportWinograd(result, format)).join('\n'));
  } else {
    io.out(formatWinogradResult(result));
  }
  return result.verified ? 0 : 1;
};
