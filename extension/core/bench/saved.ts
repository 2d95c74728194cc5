/** Saved benchmark runs: .deep-accel/bench/<timestamp>.json under a folder, loaded back to compare. */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { benchRunSummary } from '../../shared/format';
import type { BenchComparison, BenchReport } from '../../shared/payloads';
import { writeOutputFile } from '../outputFile';

/** The folder saved runs go to under `root` (a workspace folder). */
export function savedRunsDir(root: string): string {
  return path.join(root, '.deep-accel', 'bench');
}

/** Saves `report` as <root>/.deep-accel/bench/<timestamp>[-suite].json and returns the file's path. */
export async function saveBenchReport(root: string, report: BenchReport, now: Date = new Date()): Promise<string> {
  const dir = savedRunsDir(root);
  await mkdir(dir, { recursive: true });
  const stamp = (report.startedAt ?? now.toISOString()).replace(/[:.]/g, '-');
  const file = path.join(dir, `${stamp}${report.suite ? `-${report.suite}` : ''}.json`);
  await writeOutputFile(file, (temporary) => writeFile(temporary, JSON.stringify(report, null, 2) + '\n'));
  return file;
}

function fail(file: string, problem: string): never {
  throw new Error(`${file}: not a saved benchmark run: ${problem}`);
}

/** Loads a saved run, checking the fields a comparison reads. */
export async function loadBenchReport(file: string): Promise<BenchReport> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${file}: no such file`);
    fail(file, `invalid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null) fail(file, 'the top level is not an object');
  const report = parsed as Partial<BenchReport>;
  if (typeof report.machine !== 'object' || report.machine === null) fail(file, 'no "machine" object');
  if (!Array.isArray(report.results)) fail(file, 'no "results" array');
  report.results.forEach((result, index) => {
    for (const field of ['layer', 'algo', 'layout'] as const) {
      if (typeof result?.[field] !== 'string') fail(file, `results[${index}].${field} is not a string`);
    }
    for (const field of ['threads', 'msMedian'] as const) {
      if (typeof result[field] !== 'number') fail(file, `results[${index}].${field} is not a number`);
    }
  });
  return report as BenchReport;
}

/** Loads two saved runs into a BenchComparison labelled by their file names. */
export async function compareBenchFiles(fileA: string, fileB: string): Promise<BenchComparison> {
  const [a, b] = await Promise.all([loadBenchReport(fileA), loadBenchReport(fileB)]);
  return {
    a: { label: path.basename(fileA, '.json'), report: a },
    b: { label: path.basename(fileB, '.json'), report: b },
  };
}

export interface SavedRun {
  file: string;
  /** The file name without .json. */
  name: string;
  summary: ReturnType<typeof benchRunSummary>;
  startedAt?: string;
}

/**
 * The saved runs in `dir`, newest first, each with what tells it apart (date, machine, threads,
 * layers); files that are not saved runs are listed in `unreadable` with the reason. A missing
 * folder has no runs.
 */
export async function listSavedRuns(dir: string): Promise<{ runs: SavedRun[]; unreadable: string[] }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { runs: [], unreadable: [] };
    throw error;
  }
  const runs: SavedRun[] = [];
  const unreadable: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const report = await loadBenchReport(file);
      runs.push({ file, name: path.basename(name, '.json'), summary: benchRunSummary(report), startedAt: report.startedAt });
    } catch (error) {
      unreadable.push((error as Error).message);
    }
  }
  runs.sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? '') || b.name.localeCompare(a.name));
  return { runs, unreadable };
}
