/**
 * deep-accel sparsity FILE [options]   (the flags: SPARSITY_SCHEMA in core/options/commands.ts)
 *
 * Prints the per-tensor sparsity table (or the SparsityReport JSON with --json). Parser errors name
 * the file and the problem; they are printed as `deep-accel: <file>: <problem>` with exit status 2.
 */
import * as os from 'node:os';
import { WeightFileError } from '../core/formats/index';
import { OptionError } from '../core/optionError';
import { SPARSITY_SCHEMA, optionCombinationProblem } from '../core/options/commands';
import { runSparsity } from '../core/requests/weightFile';
import { EngineScanKernel } from '../engine/scanKernel';
import type { SparsityReport } from '../shared/payloads';
import type { SparsityRequest } from '../shared/requests';
import { PoolTensorPartScanner } from '../workers/scanParts';
import { formatSparsityReport, formatWinogradSparsity } from '../core/sparsity/format';
import { type CliCommand, type CliIo, CliUsageError } from './io';
import { needsWatchedRead, readInWatchedWorker } from './watchedRead';
import { commandLine, commandUsage } from './options';

/** One worker per core, at most 8: the scan is bound by memory and disk bandwidth well before that. */
function defaultThreads(): number {
  return Math.min(8, Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
}

export function singleFile(positionals: readonly string[], usage: string): string {
  if (positionals.length !== 1) {
    throw new CliUsageError(positionals.length === 0 ? `missing FILE\n${usage}` : `expected one FILE, got ${positionals.length}: ${positionals.join(' ')}`);
  }
  return positionals[0]!;
}

/**
 * Runs `body`, which reads `file`. A parser's WeightFileError prints as `deep-accel: <file>: <problem>`
 * with exit status 2; a mistake in the options (OptionError) is a usage error; any other failure
 * while reading is still the file's problem (an internal limit or a bug met on this input), so it
 * is reported against the file, also with exit status 2, never as a usage error.
 */
export async function reportingFileErrors(io: CliIo, file: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof WeightFileError) {
      io.err(`deep-accel: ${error.message}\n`);
      return 2;
    }
    if (error instanceof OptionError) throw new CliUsageError(error.message);
    if (error instanceof CliUsageError || !(error instanceof Error)) throw error;
    io.err(`deep-accel: ${file}: could not be read: ${error.name === 'Error' ? '' : `${error.name}: `}${error.message}\n`);
    if (process.env.DEEP_ACCEL_DEBUG) io.err(`${error.stack}\n`);
    return 2;
  }
}

/** The scan on this thread's engine, its tensors spread over `--threads` workers when the file is large. */
async function scanOnThreads(request: SparsityRequest): Promise<SparsityReport> {
  const threads = request.threads ?? defaultThreads();
  const parts = threads > 1 ? new PoolTensorPartScanner(request, threads) : undefined;
  try {
    return await runSparsity(request, { scanKernel: new EngineScanKernel(), ...(parts ? { parts } : {}) });
  } finally {
    await parts?.dispose();
  }
}

export const SPARSITY_USAGE = commandUsage(SPARSITY_SCHEMA);

export const sparsityCommand: CliCommand = async (argv, io) => {
  const parsed = commandLine(SPARSITY_SCHEMA, argv, { positionals: true });
  if (parsed.help) {
    io.out(SPARSITY_USAGE);
    return 0;
  }
  const file = singleFile(parsed.positionals, SPARSITY_USAGE);
  const problem = optionCombinationProblem(SPARSITY_SCHEMA, parsed.values, 'cli');
  if (problem) throw new CliUsageError(problem);
  return reportingFileErrors(io, file, async () => {
    const request = { ...parsed.request, file } as SparsityRequest;
    // HDF5 runs inside WebAssembly, where only a watchdog can stop a loop: read it in a worker.
    const timeout = parsed.values.timeout as number | undefined;
    const report = (await needsWatchedRead(file)) ? await readInWatchedWorker('sparsity', request, timeout) : await scanOnThreads(request);
    if (parsed.values.json) {
      io.out(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      io.out(formatSparsityReport(report));
      if (report.winogradDomain) io.out(`\n${formatWinogradSparsity(report.winogradDomain)}`);
    }
    return 0;
  });
};
