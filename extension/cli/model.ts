/**
 * deep-accel model FILE [--input N,C,H,W] [--algos a,b] [--budget-ms T] [--threads T]
 *   [--max-error-vs-direct X] [--no-time] [--json]   (the flags: MODEL_SCHEMA in core/options/commands.ts)
 *
 * Prints the layer table (or the ModelReport JSON with --json); progress goes to stderr. Timings
 * run on the engine's worker pool; the cache lives in ./.deep-accel/.
 */
import { MODEL_SCHEMA } from '../core/options/commands';
import { formatModelReport } from '../core/model/format';
import type { ModelRequest } from '../shared/requests';
import { runModelOnEnginePool } from '../workers/timedModel';
import { progressPrinter } from './bench';
import type { CliCommand } from './io';
import { commandLine, commandUsage } from './options';
import { reportingFileErrors, singleFile } from './sparsity';
import { needsWatchedRead, readInWatchedWorker } from './watchedRead';

export const MODEL_USAGE = commandUsage(MODEL_SCHEMA);

export const modelCommand: CliCommand = async (argv, io) => {
  const parsed = commandLine(MODEL_SCHEMA, argv, { positionals: true });
  if (parsed.help) {
    io.out(MODEL_USAGE);
    return 0;
  }
  const file = singleFile(parsed.positionals, MODEL_USAGE);
  const request = { ...parsed.request, file, workspace: process.cwd() } as ModelRequest;
  return reportingFileErrors(io, file, async () => {
    const onProgress = progressPrinter(io);
    // HDF5 runs inside WebAssembly, where only a watchdog can stop a loop: the whole report (reading
    // and timing) runs in a watched worker, which times the layers on an engine pool of its own.
    const report = (await needsWatchedRead(file))
      ? await readInWatchedWorker('model', request, parsed.values.timeout as number | undefined, onProgress)
      : await runModelOnEnginePool(request, { onProgress });
    io.out(parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatModelReport(report)}\n`);
    return 0;
  });
};
