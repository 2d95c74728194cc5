/**
 * deep-accel model FILE [--input N,C,H,W] [--algos a,b] [--budget-ms T] [--threads T]
 *   [--max-error-vs-direct X] [--no-time] [--json]   (the flags: MODEL_SCHEMA in core/options/commands.ts)
 *
 * Prints the layer table (or the ModelReport JSON with --json); progress goes to stderr. Timings
 * run on the engine's worker pool; the cache lives in ./.deep-accel/.
 */
import * as os from 'node:os';
import { MODEL_SCHEMA } from '../core/options/commands';
import { formatModelReport } from '../core/model/format';
import { runModel } from '../core/requests/model';
import type { ModelRequest } from '../shared/requests';
import { PoolConvBackend } from '../workers/convBackend';
import { WorkerPool, defaultWorkerScript } from '../workers/pool';
import { progressPrinter } from './bench';
import type { CliCommand } from './io';
import { commandLine, commandUsage } from './options';
import { reportingFileErrors, singleFile } from './sparsity';

export const MODEL_USAGE = commandUsage(MODEL_SCHEMA);

export const modelCommand: CliCommand = async (argv, io) => {
  const parsed = commandLine(MODEL_SCHEMA, argv, { positionals: true });
  if (parsed.help) {
    io.out(MODEL_USAGE);
    return 0;
  }
  const file = singleFile(parsed.positionals, MODEL_USAGE);
  const request = { ...parsed.request, file, workspace: process.cwd() } as ModelRequest;
  const threads = request.threads ?? 1;
  // Enough workers for the requested threads, and all cores for the fp64 references.
  const pool = request.time === false ? undefined : new WorkerPool(defaultWorkerScript(), { size: Math.max(threads, os.availableParallelism?.() ?? os.cpus().length) });
  try {
    return await reportingFileErrors(io, file, async () => {
      const report = await runModel(request, { onProgress: progressPrinter(io), ...(pool ? { backend: new PoolConvBackend(pool) } : {}) });
      io.out(parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatModelReport(report)}\n`);
      return 0;
    });
  } finally {
    await pool?.dispose();
  }
};
