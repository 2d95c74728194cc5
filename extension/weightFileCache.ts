/**
 * Header summaries and sparsity reports of weight files, computed in the worker pool and cached by
 * (path, size, mtime), so explorer badges, hovers and the inspector share one scan per file version.
 * A scan in flight is shared: each caller waits with its own signal, and the scan is cancelled only
 * when every caller waiting for it has cancelled (core/sharedWork.ts). A read that ran out of the
 * time limit is remembered for that file version, so a hostile file costs one worker's limit once.
 */
import { stat } from 'node:fs/promises';
import { SharedWork, type WorkHooks } from './core/sharedWork';
import { parseNmPatterns } from './core/sparsity/nmPattern';
import { DEFAULT_PERMUTE_SECONDS } from './core/sparsity/scan';
import type { SparsityReport, WeightFileSummary } from './shared/payloads';
import type { SparsityRequest } from './shared/requests';
import type { WorkerTaskKind, WorkerTasks } from './workers/protocol';
import { WorkerTaskError } from './workers/pool';

function isTimeout(error: unknown): boolean {
  return error instanceof WorkerTaskError && error.reason === 'timeout';
}

/** What the cache needs of the extension's services: running a task in the worker pool. */
export interface TaskRunner {
  run<K extends WorkerTaskKind>(task: K, args: WorkerTasks[K]['args'], options?: WorkHooks): Promise<WorkerTasks[K]['result']>;
}

/** What a scan was asked for besides the file: one cached report per distinct choice. */
export type ScanChoices = Pick<SparsityRequest, 'threshold' | 'nm' | 'layout' | 'permute' | 'permuteSeconds'>;

/** The settings a full scan (inspector, Inspect Model Sparsity) uses: threshold, N:M patterns, channel permutation. */
export function inspectorScanChoices(config: { get<T>(section: string, fallback: T): T }): ScanChoices {
  const threshold = config.get<number>('sparsity.threshold', 0);
  let nm: string[];
  try {
    nm = parseNmPatterns(config.get<string>('sparsity.nm', '2:4')).map((p) => p.name);
  } catch (error) {
    throw new RangeError(`setting deepAccel.sparsity.nm: ${(error as Error).message}`);
  }
  const permuteText = config.get<string>('sparsity.permute', '').trim();
  let permute: string | undefined;
  try {
    const patterns = parseNmPatterns(permuteText);
    if (patterns.length > 1) throw new RangeError(`one pattern such as 2:4, or empty for none; got '${permuteText}'`);
    permute = patterns[0]?.name;
  } catch (error) {
    throw new RangeError(`setting deepAccel.sparsity.permute: ${(error as Error).message}`);
  }
  const choices: ScanChoices = { threshold };
  if (permute && !nm.includes(permute)) nm.push(permute);
  if (nm.length > 0) choices.nm = nm;
  if (permute) {
    choices.permute = permute;
    choices.permuteSeconds = config.get<number>('sparsity.permuteSeconds', DEFAULT_PERMUTE_SECONDS);
  }
  return choices;
}

function reportKey(file: string, scan: ScanChoices): string {
  return `${scan.threshold ?? 0}|${(scan.nm ?? []).join(',')}|${scan.layout ?? ''}|${scan.permute ?? ''}:${scan.permuteSeconds ?? ''}|${file}`;
}

interface Entry<T> {
  version: string;
  work: SharedWork<T>;
}

export class WeightFileCache {
  private readonly summaries = new Map<string, Entry<WeightFileSummary>>();
  private readonly reports = new Map<string, Entry<SparsityReport>>();

  constructor(private readonly services: TaskRunner) {}

  private async version(file: string): Promise<{ version: string; size: number }> {
    const info = await stat(file);
    return { version: `${info.size}:${info.mtimeMs}`, size: info.size };
  }

  private async cached<T>(map: Map<string, Entry<T>>, key: string, file: string, compute: (hooks: Required<WorkHooks>) => Promise<T>, hooks: WorkHooks): Promise<T> {
    const { version } = await this.version(file);
    let entry = map.get(key);
    if (!entry || entry.version !== version || entry.work.cancelled) {
      const work = new SharedWork(compute);
      const created: Entry<T> = { version, work };
      entry = created;
      map.set(key, created);
      // A failed or cancelled scan is not cached, so the next caller scans again; except one that ran
      // out of its time limit: asking again would cost another worker that long for the same answer.
      work.result.catch((error: unknown) => !isTimeout(error) && map.get(key) === created && map.delete(key));
    }
    return entry.work.wait(hooks);
  }

  summary(file: string): Promise<WeightFileSummary> {
    return this.cached(this.summaries, file, file, (hooks) => this.services.run('summary', { file }, hooks), {});
  }

  /** The cached report if one is complete or running for this file version. */
  peekReport(file: string, scan: ScanChoices): Promise<SparsityReport> | undefined {
    return this.reports.get(reportKey(file, scan))?.work.result;
  }

  report(file: string, scan: ScanChoices, hooks: WorkHooks = {}): Promise<SparsityReport> {
    return this.cached(this.reports, reportKey(file, scan), file, (shared) => this.services.run('sparsity', { file, ...scan, histogram: true }, shared), hooks);
  }

  async sizeOf(file: string): Promise<number> {
    return (await this.version(file)).size;
  }
}
