/**
 * deep-accel winograd --m 4 --r 3 [--n N --s S] [--points 0,1,-1,1/2,-1/2] [--finite]
 *                     [--fractions-in G|A|B] [--search] [--precision fp32|fp16|bf16]
 *                     [--export c|numpy|ts|latex|markdown|json] [--layer C,K,H,W]
 *                     [--trials N] [--seed N] [--json]
 *
 * Prints aligned matrices, the exact verification, the cost table and the error table; with
 * --json the WinogradResult payload (shared/payloads.ts); with --export (and no --json) the exported text only.
 */
import { EXPORT_FORMATS, type ExportFormat, type FractionsIn, type Precision, type WinogradResult } from '../shared/payloads';
import { type WinogradRequest } from '../shared/requests';
import { exportWinograd } from '../core/winograd/index';
import { runWinograd } from '../core/requests/winograd';
import { type CliCommand, CliUsageError } from './io';

const VALUE_FLAGS = ['--m', '--r', '--n', '--s', '--points', '--fractions-in', '--precision', '--export', '--layer', '--trials', '--seed'] as const;
const SWITCHES = ['--search', '--finite', '--json', '--help'] as const;

export const WINOGRAD_USAGE = `Usage: deep-accel winograd --m M --r R [options]

Generates the exact Winograd / Toom-Cook transforms of F(M x N, R x S), proves them, costs them and
measures their floating-point error.

Options:
  --m M, --r R             output tile and filter size (1-D: F(M,R); 2-D nesting F(MxM, RxR))
  --n N, --s S             second dimension for rectangular F(M x N, R x S)
  --points LIST            finite interpolation points, e.g. 0,1,-1,1/2,-1/2 (default: best published set)
  --finite                 use only finite points (no point at infinity): needs M+R-1 points
  --fractions-in G|A|B     which matrix takes the Lagrange denominators (default G, as wincnn)
  --search                 search points that minimise the error in --precision (under a minute)
  --precision P            fp32 (default), fp16 or bf16: the precision of interest, whose error --search
                           minimises and whose row is marked * in the error table (all are measured)
  --export FORMAT          c, numpy, ts, latex, markdown or json (comma-separated for several)
  --layer C,K,H,W          cost of a stride-1 layer: C in, K out channels, H x W output
  --trials N               random tiles per precision for the error table (default: ~8000 outputs; 0 skips)
  --seed N                 seed of the error measurement (default 1)
  --json                   print the WinogradResult JSON
`;

interface Parsed {
  values: Map<string, string>;
  switches: Set<string>;
}

function parseArguments(argv: readonly string[]): Parsed {
  const parsed: Parsed = { values: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h') {
      parsed.switches.add('--help');
      continue;
    }
    if (!arg.startsWith('--')) throw new CliUsageError(`unexpected argument "${arg}" (options start with --; see --help)`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if ((VALUE_FLAGS as readonly string[]).includes(name)) {
      const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new CliUsageError(`${name} needs a value`);
      if (parsed.values.has(name)) throw new CliUsageError(`${name} given twice`);
      parsed.values.set(name, value);
    } else if ((SWITCHES as readonly string[]).includes(name)) {
      if (eq >= 0) throw new CliUsageError(`${name} takes no value`);
      parsed.switches.add(name);
    } else {
      throw new CliUsageError(`unknown option ${name} (see deep-accel winograd --help)`);
    }
  }
  return parsed;
}

function integerFlag(parsed: Parsed, name: string, minimum: number): number | undefined {
  const text = parsed.values.get(name);
  if (text === undefined) return undefined;
  if (!/^\s*[+-]?\d+\s*$/.test(text)) throw new CliUsageError(`${name} must be a whole number, got "${text}"`);
  const value = Number(text);
  if (value < minimum) throw new CliUsageError(`${name} must be >= ${minimum}, got ${value}`);
  return value;
}

/** Turns command-line flags into a WinogradRequest; throws CliUsageError on bad flags. */
export function requestFromArguments(argv: readonly string[]): { request: WinogradRequest; json: boolean; help: boolean } {
  const parsed = parseArguments(argv);
  const help = parsed.switches.has('--help');
  if (help) return { request: { m: 1, r: 1 }, json: false, help };
  const m = integerFlag(parsed, '--m', 1);
  const r = integerFlag(parsed, '--r', 1);
  if (m === undefined || r === undefined) throw new CliUsageError('--m and --r are required, e.g. --m 4 --r 3');
  const request: WinogradRequest = { m, r };
  const n = integerFlag(parsed, '--n', 1);
  const s = integerFlag(parsed, '--s', 1);
  if (n !== undefined) request.n = n;
  if (s !== undefined) request.s = s;
  const points = parsed.values.get('--points');
  if (points !== undefined) {
    request.points = points.trim() === '' ? [] : points.split(',').map((point) => point.trim());
  }
  if (parsed.switches.has('--finite')) request.infinity = false;
  const fractionsIn = parsed.values.get('--fractions-in');
  if (fractionsIn !== undefined) {
    if (!['G', 'A', 'B'].includes(fractionsIn)) throw new CliUsageError(`--fractions-in must be G, A or B, got "${fractionsIn}"`);
    request.fractionsIn = fractionsIn as FractionsIn;
  }
  const precision = parsed.values.get('--precision');
  if (precision !== undefined) {
    if (!['fp32', 'fp16', 'bf16'].includes(precision)) throw new CliUsageError(`--precision must be fp32, fp16 or bf16, got "${precision}"`);
    request.precision = precision as Precision;
  }
  if (parsed.switches.has('--search')) request.search = true;
  const exportText = parsed.values.get('--export');
  if (exportText !== undefined) {
    const formats = exportText.split(',').map((format) => format.trim());
    for (const format of formats) {
      if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
        throw new CliUsageError(`--export must be one of ${EXPORT_FORMATS.join(', ')}, got "${format}"`);
      }
    }
    request.exports = formats as ExportFormat[];
  }
  const layer = parsed.values.get('--layer');
  if (layer !== undefined) {
    const parts = layer.split(',').map((part) => part.trim());
    if (parts.length !== 4 || parts.some((part) => !/^\d+$/.test(part) || Number(part) < 1)) {
      throw new CliUsageError(`--layer must be four whole numbers >= 1 as C,K,H,W (e.g. 64,64,56,56), got "${layer}"`);
    }
    const [C, K, H, W] = parts.map(Number) as [number, number, number, number];
    request.layer = { C, K, H, W };
  }
  const trials = integerFlag(parsed, '--trials', 0);
  if (trials !== undefined) {
    if (trials > 1_000_000) throw new CliUsageError(`--trials must be at most 1000000, got ${trials}`);
    request.errorTrials = trials;
  }
  const seed = integerFlag(parsed, '--seed', 0);
  if (seed !== undefined) request.seed = seed;
  return { request, json: parsed.switches.has('--json'), help };
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
