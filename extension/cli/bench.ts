/**
 * deep-accel bench [--suite resnet18|resnet50|vgg16|mobilenet-v1 [--layers a,b] | --shape N,C,H,W,K,R,S[,stride,pad]]
 *                  [--algo a,b,...] [--layout L] [--threads T] [--budget-ms X] [--warmup-ms X]
 *                  [--peer] [--no-check] [--seed S] [--json]
 *
 * Prints a benchdnn-like table, or the BenchReport JSON with --json; progress goes to stderr.
 */
import * as os from 'node:os';
import { formatBenchReport } from '../core/bench/format';
import { SUITE_TABLES, isBenchSuite, parseConvShape } from '../core/bench/layers';
import { DEFAULT_BUDGET_MS, DEFAULT_WARMUP_MS, requestedLayers } from '../core/bench/runner';
import { runBench } from '../core/requests/bench';
import { BENCH_SUITES, CONV_ALGORITHMS, CONV_LAYOUTS, type ConvLayout } from '../shared/payloads';
import { type BenchRequest } from '../shared/requests';
import { PoolConvBackend } from '../workers/convBackend';
import { WorkerPool, defaultWorkerScript } from '../workers/pool';
import { type CliCommand, type CliIo, CliUsageError } from './io';

export interface FlagSpec {
  values: readonly string[];
  switches: readonly string[];
}

export interface Flags {
  values: Map<string, string>;
  switches: Set<string>;
}

/** `--flag value`, `--flag=value` and switches; anything else (unknown flags, positionals) is a usage error. */
export function parseCommandFlags(argv: readonly string[], spec: FlagSpec): Flags {
  const flags: Flags = { values: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      flags.switches.add('--help');
      continue;
    }
    if (!arg.startsWith('--')) throw new CliUsageError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (spec.values.includes(name)) {
      const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) throw new CliUsageError(`${name} needs a value`);
      if (flags.values.has(name)) throw new CliUsageError(`${name} given twice`);
      flags.values.set(name, value);
    } else if (spec.switches.includes(name)) {
      if (eq >= 0) throw new CliUsageError(`${name} takes no value`);
      flags.switches.add(name);
    } else {
      throw new CliUsageError(`unknown option ${name}`);
    }
  }
  return flags;
}

/** A positive integer flag (or non-negative with `allowZero`), or undefined when absent. */
export function integerFlag(flags: Flags, name: string, allowZero = false): number | undefined {
  const text = flags.values.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || (!allowZero && value < 1)) {
    throw new CliUsageError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got '${text}'`);
  }
  return value;
}

function msFlag(flags: Flags, name: string): number | undefined {
  const text = flags.values.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || text.trim() === '') throw new CliUsageError(`${name} must be a non-negative number of milliseconds, got '${text}'`);
  return value;
}

function listFlag(flags: Flags, name: string): string[] | undefined {
  const text = flags.values.get(name);
  if (text === undefined) return undefined;
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new CliUsageError(`${name}: empty item in '${text}'`);
  return items;
}

export function layoutFlag(flags: Flags): ConvLayout | undefined {
  const layout = flags.values.get('--layout');
  if (layout !== undefined && !(CONV_LAYOUTS as readonly string[]).includes(layout)) {
    throw new CliUsageError(`--layout must be one of ${CONV_LAYOUTS.join(', ')}, got '${layout}'`);
  }
  return layout as ConvLayout | undefined;
}

/** Help lines for the layers each suite cannot run: they are reported under "skipped" in every run. */
function suiteOmissions(): string {
  return Object.values(SUITE_TABLES)
    .flatMap((table) => (table.omitted ? [`                     ${table.suite} skips ${table.omitted.layers[0]}..${table.omitted.layers.at(-1)}: ${table.omitted.reason}\n`] : []))
    .join('');
}

export const BENCH_USAGE = `Usage: deep-accel bench (--suite ${BENCH_SUITES.join('|')} [--layers a,b] | --shape N,C,H,W,K,R,S[,stride,pad]) [options]

Times convolution algorithms of the WebAssembly SIMD engine and checks each against an fp64 reference.

  --suite NAME       a network's convolution layers (ImageNet 224x224, batch 1)
  --layers a,b       only these layers of the suite
${suiteOmissions()}  --shape ...        one custom layer; stride defaults to 1, pad to 0
  --algo a,b         algorithms (default: every one that applies): ${CONV_ALGORITHMS.join(', ')}
  --layout L         ${CONV_LAYOUTS.join(', ')} (default: nchw, or the algorithm's own layout
                     when it has no nchw kernel; conversions are timed apart)
  --threads T        engine worker threads (default 1)
  --budget-ms X      timed budget per layer and algorithm (default ${DEFAULT_BUDGET_MS})
  --warmup-ms X      warm-up per layer and algorithm (default ${DEFAULT_WARMUP_MS})
  --peer             also time onnxruntime-node (optional dependency) on each layer
  --no-check         skip the fp64 reference check (errors print as -)
  --seed S           seed of the random input and weights (default 1)
  --json             print the BenchReport JSON instead of the table
`;

const BENCH_FLAGS: FlagSpec = {
  values: ['--suite', '--layers', '--shape', '--algo', '--layout', '--threads', '--budget-ms', '--warmup-ms', '--seed'],
  switches: ['--json', '--peer', '--no-check', '--help'],
};

/** The BenchRequest of a command line (exported for tests). */
export function benchRequestFromArgs(argv: readonly string[]): { request: BenchRequest; json: boolean; help: boolean } {
  const flags = parseCommandFlags(argv, BENCH_FLAGS);
  if (flags.switches.has('--help')) return { request: {}, json: false, help: true };
  const request: BenchRequest = {};
  const suite = flags.values.get('--suite');
  const shape = flags.values.get('--shape');
  if (suite !== undefined && shape !== undefined) throw new CliUsageError('give either --suite or --shape, not both');
  if (suite === undefined && shape === undefined) throw new CliUsageError(`give --suite (${BENCH_SUITES.join(', ')}) or --shape N,C,H,W,K,R,S[,stride,pad]`);
  if (suite !== undefined) {
    if (!isBenchSuite(suite)) throw new CliUsageError(`--suite must be one of ${BENCH_SUITES.join(', ')}, got '${suite}'`);
    request.suite = suite;
  }
  if (shape !== undefined) {
    try {
      request.shape = parseConvShape(shape, '--shape');
    } catch (error) {
      throw new CliUsageError((error as Error).message);
    }
  }
  request.layers = listFlag(flags, '--layers');
  if (request.layers && !request.suite) throw new CliUsageError('--layers selects layers of a --suite');
  const algos = listFlag(flags, '--algo');
  for (const algo of algos ?? []) {
    if (!(CONV_ALGORITHMS as readonly string[]).includes(algo)) {
      throw new CliUsageError(`--algo: unknown algorithm '${algo}'; the algorithms are ${CONV_ALGORITHMS.join(', ')}`);
    }
  }
  request.algos = algos;
  request.layout = layoutFlag(flags);
  request.threads = integerFlag(flags, '--threads');
  request.budgetMs = msFlag(flags, '--budget-ms');
  request.warmupMs = msFlag(flags, '--warmup-ms');
  request.seed = integerFlag(flags, '--seed', true);
  request.peer = flags.switches.has('--peer');
  request.checkErrors = !flags.switches.has('--no-check');
  for (const key of Object.keys(request) as (keyof BenchRequest)[]) if (request[key] === undefined) delete request[key];
  try {
    requestedLayers(request); // unknown --layers names are a usage error, reported before any worker starts
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  return { request, json: flags.switches.has('--json'), help: false };
}

/** Prints progress to stderr when the step changes (not on every timed sample). */
export function progressPrinter(io: CliIo): (fraction: number, message?: string) => void {
  let last: string | undefined;
  return (fraction, message) => {
    if (!message || message === last) return;
    last = message;
    io.err(`[${Math.round(fraction * 100).toString().padStart(3)}%] ${message}\n`);
  };
}

export const benchCommand: CliCommand = async (argv, io) => {
  const { request, json, help } = benchRequestFromArgs(argv);
  if (help) {
    io.out(BENCH_USAGE);
    return 0;
  }
  const threads = request.threads ?? 1;
  // Enough workers for the requested threads, and all cores for the fp64 reference.
  const pool = new WorkerPool(defaultWorkerScript(), { size: Math.max(threads, os.availableParallelism?.() ?? os.cpus().length) });
  try {
    const report = await runBench(request, { backend: new PoolConvBackend(pool, { variant: request.variant }), onProgress: progressPrinter(io) });
    io.out(json ? JSON.stringify(report, null, 2) + '\n' : formatBenchReport(report));
    if (report.results.length === 0) {
      // Nothing was timed: a request that cannot run is not a success.
      const reasons = (report.skipped ?? []).map((skip) => `  ${skip.layer} ${skip.algo}: ${skip.reason}\n`).join('');
      io.err(`deep-accel bench: no algorithm ran\n${reasons}`);
      return 2;
    }
    return 0;
  } finally {
    await pool.dispose();
  }
};
