/**
 * Benchmarks from the extension: runs the engine's benchmark runner in a worker, and
 * keeps runs in the workspace under .deep-accel/bench/ so two runs can be compared.
 */
import * as vscode from 'vscode';
import { saveBenchReport, savedRunsDir } from './core/bench/saved';
import type { BenchCellCommand } from './core/notebook/cellLanguage';
import type { Services } from './services';
import { BENCH_SCHEMA, requestFields } from './core/options/commands';
import { DEFAULT_MAX_ERROR_VS_DIRECT } from './shared/format';
import type { BenchReport, BenchSuite } from './shared/payloads';
import type { BenchRequest } from './shared/requests';

/** The workspace folder runs are saved under (.deep-accel/bench/ inside it), if there is one on disk. */
export function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
}

export function savedRunsFolder(): string | undefined {
  const root = workspaceRoot();
  return root ? savedRunsDir(root) : undefined;
}

/** Saves a run as .deep-accel/bench/<timestamp>.json; returns the path, or undefined without a workspace. */
export async function saveBenchRun(report: BenchReport): Promise<string | undefined> {
  const root = workspaceRoot();
  return root ? saveBenchReport(root, report) : undefined;
}

export async function runBenchCommand(
  services: Services,
  command: BenchCellCommand,
  options: { signal?: AbortSignal; onProgress?(fraction: number, message?: string): void },
): Promise<BenchReport> {
  const request: BenchRequest = {
    ...(requestFields(BENCH_SCHEMA, command, 'cell') as BenchRequest),
    suite: command.suite as BenchSuite | undefined,
    threads: Math.min(command.threads ?? services.threads, services.threads),
    budgetMs: command.budgetMs ?? services.config.get<number>('bench.budgetMs', 1000),
    peer: services.config.get<boolean>('bench.comparePeer', true),
    maxErrorVsDirect: command.maxErrorVsDirect ?? services.config.get<number>('bench.maxErrorVsDirect', DEFAULT_MAX_ERROR_VS_DIRECT),
  };
  services.log.info(`benchmark: ${JSON.stringify(request)}`);
  // The whole run (plans, weight packing, Winograd constants, timing) happens in a worker that
  // coordinates its own engine workers; the extension host only waits.
  const report = await services.run('bench', request, options);
  for (const skip of report.skipped ?? []) services.log.info(`benchmark skipped ${skip.layer} ${skip.algo}: ${skip.reason}`);
  if (report.peerUnavailable) services.log.info(`benchmark: ${report.peerUnavailable}`);
  return report;
}
