/**
 * Benchmarks from the extension: runs the engine's benchmark runner over the shared worker pool, and
 * keeps runs in the workspace under .deep-accel/bench/ so two runs can be compared.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BenchCellCommand } from './core/notebook/cellLanguage';
import type { Services } from './services';
import { runBenchmarks } from './core/bench/runner';
import type { BenchReport, BenchRequest, BenchSuite, ConvLayout } from './shared/protocol';

export function savedRunsFolder(): string | undefined {
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
  return folder ? path.join(folder.uri.fsPath, '.deep-accel', 'bench') : undefined;
}

/** Saves a run as .deep-accel/bench/<timestamp>.json; returns the path, or undefined without a workspace. */
export async function saveBenchRun(report: BenchReport): Promise<string | undefined> {
  const folder = savedRunsFolder();
  if (!folder) return undefined;
  await mkdir(folder, { recursive: true });
  const stamp = (report.startedAt ?? new Date().toISOString()).replace(/[:.]/g, '-');
  const file = path.join(folder, `${stamp}${report.suite ? `-${report.suite}` : ''}.json`);
  await writeFile(file, JSON.stringify(report, null, 2) + '\n');
  return file;
}

export async function runBenchCommand(
  services: Services,
  command: BenchCellCommand,
  options: { signal?: AbortSignal; onProgress?(fraction: number, message?: string): void },
): Promise<BenchReport> {
  const request: BenchRequest = {
    suite: command.suite as BenchSuite | undefined,
    shape: command.shape,
    layers: command.layers,
    algos: command.algos,
    layout: command.layout as ConvLayout | undefined,
    threads: Math.min(command.threads ?? services.threads, services.threads),
    budgetMs: command.budgetMs ?? services.config.get<number>('bench.budgetMs', 1000),
    peer: services.config.get<boolean>('bench.comparePeer', true),
  };
  services.log.info(`benchmark: ${JSON.stringify(request)}`);
  const report = await runBenchmarks(request, services.pool(), options);
  for (const skip of report.skipped ?? []) services.log.info(`benchmark skipped ${skip.layer} ${skip.algo}: ${skip.reason}`);
  return report;
}
