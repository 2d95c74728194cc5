/**
 * deep-accel prune FILE --sparsity S [--method magnitude|filter-l1] [--profile uniform|sensitivity]
 *                       --out OUT [--input-size HxW] [--tokens N] [--dry-run] [--json]
 *
 * Writes a pruned safetensors copy (never touching FILE) and verifies it by reading it back; with
 * --dry-run only reports what pruning would remove.
 */
import type { PruneMethod, PruneProfile } from '../shared/payloads';
import { formatPruneReport } from '../core/sparsity/format';
import { runPrune } from '../core/requests/weightFile';
import type { PruneRequest } from '../shared/requests';
import { type CliCommand, CliUsageError } from './io';
import { numberFlag, pairFlag, parseFlags, reportingFileErrors, singleFile } from './sparsity';

export const PRUNE_USAGE = `Usage: deep-accel prune FILE --sparsity S --out OUT [--method magnitude|filter-l1] [--profile uniform|sensitivity]

  --sparsity S      target share of zeros in conv and linear weights, 0 <= S < 1
  --method M        magnitude (default: smallest |w| per tensor) or filter-l1 (whole filters by L1 norm)
  --profile P       uniform (default) or sensitivity (early layers pruned less, late layers more)
  --out OUT         the pruned copy (safetensors); must differ from FILE
  --input-size HxW  conv output size assumed for FLOPs when the file has no graph (linear: per token)
  --tokens N        tokens per pass for linear-layer FLOPs with --input-size (default 1)
  --dry-run         report what would be pruned; write nothing
  --json            print the PruneReport JSON`;

export const pruneCommand: CliCommand = async (argv, io) => {
  const args = parseFlags(argv, {
    values: ['--sparsity', '--method', '--profile', '--out', '--input-size', '--tokens'],
    switches: ['--json', '--dry-run', '--help'],
  });
  if (args.switches.has('--help')) {
    io.out(`${PRUNE_USAGE}\n`);
    return 0;
  }
  const file = singleFile(args, PRUNE_USAGE);
  const sparsity = numberFlag(args, '--sparsity', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  if (sparsity === undefined) throw new CliUsageError(`--sparsity is required\n${PRUNE_USAGE}`);
  const method = args.values.get('--method') ?? 'magnitude';
  if (method !== 'magnitude' && method !== 'filter-l1') throw new CliUsageError(`--method must be magnitude or filter-l1, got '${method}'`);
  const profile = args.values.get('--profile') ?? 'uniform';
  if (profile !== 'uniform' && profile !== 'sensitivity') throw new CliUsageError(`--profile must be uniform or sensitivity, got '${profile}'`);
  const out = args.values.get('--out');
  const dryRun = args.switches.has('--dry-run');
  if (!out && !dryRun) throw new CliUsageError('--out OUT is required (or --dry-run to only report)');
  if (out && dryRun) throw new CliUsageError('--dry-run writes nothing; drop --out or --dry-run');
  const size = pairFlag(args, '--input-size');
  const tokens = numberFlag(args, '--tokens', (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  const request: PruneRequest = { file, sparsity, method: method as PruneMethod, profile: profile as PruneProfile };
  if (size) request.inputSize = { height: size[0], width: size[1] };
  if (tokens !== undefined) request.tokens = tokens;
  return reportingFileErrors(io, file, async () => {
    if (out) request.out = out;
    const report = await runPrune(request);
    io.out(args.switches.has('--json') ? `${JSON.stringify(report, null, 2)}\n` : formatPruneReport(report));
    return report.export && !report.export.verified ? 1 : 0;
  });
};
