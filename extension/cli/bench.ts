/**
 * deep-accel bench (--suite NAME [--layers a,b] | --shape N,C,H,W,K,R,S[,stride,pad[,groups[,dilation]]]) [options]
 * (the flags: BENCH_SCHEMA in core/options/commands.ts)
 *
 * Prints a benchdnn-like table, or the BenchReport JSON with --json; progress goes to stderr.
 */
import * as os from 'node:os';
import { formatBenchReport } from '../core/bench/format';
import { CONV_SHAPE_SYNTAX } from '../core/bench/layers';
import { requestedLayers } from '../core/bench/runner';
import { BENCH_SCHEMA } from '../core/options/commands';
import { runBench } from '../core/requests/bench';
import { BENCH_SUITES } from '../shared/payloads';
import { type BenchRequest } from '../shared/requests';
import { PoolConvBackend } from '../workers/convBackend';
import { WorkerPool, defaultWorkerScript } from '../workers/pool';
import { type CliCommand, type CliIo, CliUsageError } from './io';
import { commandLine, commandUsage } from './options';

export const BENCH_USAGE = commandUsage(BENCH_SCHEMA);

/** The BenchRequest of a command line (exported for tests). */
export function benchRequestFromArgs(argv: readonly string[]): { request: BenchRequest; json: boolean; help: boolean } {
  const parsed = commandLine(BENCH_SCHEMA, argv);
  if (parsed.help) return { request: {}, json: false, help: true };
  const request = parsed.request as BenchRequest;
  if (request.suite !== undefined && request.shape !== undefined) throw new CliUsageError('give either --suite or --shape, not both');
  if (request.suite === undefined && request.shape === undefined) throw new CliUsageError(`give --suite (${BENCH_SUITES.join(', ')}) or --shape ${CONV_SHAPE_SYNTAX}`);
  if (request.layers && !request.suite) throw new CliUsageError('--layers selects layers of a --suite');
  try {
    requestedLayers(request); // unknown --layers names are a usage error, reported before any worker starts
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  return { request, json: parsed.values.json === true, help: false };
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
