/**
 * deep-accel prune FILE --sparsity S --out OUT [options]   (the flags: PRUNE_SCHEMA in core/options/commands.ts)
 * deep-accel prune FILE --nm N:M [--masks] --out OUT [options]
 *
 * Writes a pruned safetensors copy (never touching FILE) and verifies it by reading it back; with
 * --dry-run only reports what pruning would remove.
 */
import { PRUNE_SCHEMA, optionCombinationProblem } from '../core/options/commands';
import { runPrune } from '../core/requests/weightFile';
import { formatPruneReport } from '../core/sparsity/format';
import type { PruneRequest } from '../shared/requests';
import { type CliCommand, CliUsageError } from './io';
import { commandLine, commandUsage } from './options';
import { reportingFileErrors, singleFile } from './sparsity';
import { needsWatchedRead, readInWatchedWorker } from './watchedRead';

export const PRUNE_USAGE = commandUsage(PRUNE_SCHEMA);

export const pruneCommand: CliCommand = async (argv, io) => {
  const parsed = commandLine(PRUNE_SCHEMA, argv, { positionals: true });
  if (parsed.help) {
    io.out(PRUNE_USAGE);
    return 0;
  }
  const file = singleFile(parsed.positionals, PRUNE_USAGE);
  const problem = optionCombinationProblem(PRUNE_SCHEMA, parsed.values, 'cli');
  if (problem) throw new CliUsageError(parsed.values.sparsity === undefined && parsed.values.nm === undefined ? `${problem}\n${PRUNE_USAGE}` : problem);
  const dryRun = parsed.values.dryRun === true;
  if (parsed.values.out === undefined && !dryRun) throw new CliUsageError('--out OUT is required (or --dry-run to only report)');
  if (parsed.values.out !== undefined && dryRun) throw new CliUsageError('--dry-run writes nothing; drop --out or --dry-run');
  const request = { ...parsed.request, file } as PruneRequest;
  return reportingFileErrors(io, file, async () => {
    // HDF5 runs inside WebAssembly, where only a watchdog can stop a loop: read it in a worker.
    const report = (await needsWatchedRead(file)) ? await readInWatchedWorker('prune', request, parsed.values.timeout as number | undefined) : await runPrune(request);
    io.out(parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : formatPruneReport(report));
    return report.export && !report.export.verified ? 1 : 0;
  });
};
