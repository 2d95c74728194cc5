/**
 * Header summaries and sparsity reports of weight files, computed in the worker pool and cached by
 * (path, size, mtime), so explorer badges, hovers and the inspector share one scan per file version.
 * A scan in flight is shared: each caller waits with its own signal, and the scan is cancelled only
 * when every caller waiting for it has cancelled (core/sharedWork.ts).
 */
import { stat } from 'node:fs/promises';
import { SharedWork, type WorkHooks } from './core/sharedWork';
import type { SparsityReport, WeightFileSummary } from './shared/payloads';
import type { WorkerTaskKind, WorkerTasks } from './workers/protocol';

/** What the cache needs of the extension's services: running a task in the worker pool. */
export interface TaskRunner {
  run<K extends WorkerTaskKind>(task: K, args: WorkerTasks[K]['args'], options?: WorkHooks): Promise<WorkerTasks[K]['result']>;
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
      // A failed or cancelled scan is not cached, so the next caller scans again.
      work.result.catch(() => map.get(key) === created && map.delete(key));
    }
    return entry.work.wait(hooks);
  }

  summary(file: string): Promise<WeightFileSummary> {
    return this.cached(this.summaries, file, file, (hooks) => this.services.run('summary', { file }, hooks), {});
  }

  /** The cached report if one is complete or running for this file version. */
  peekReport(file: string, threshold: number): Promise<SparsityReport> | undefined {
    return this.reports.get(`${threshold}:${file}`)?.work.result;
  }

  report(file: string, threshold: number, hooks: WorkHooks = {}): Promise<SparsityReport> {
    return this.cached(this.reports, `${threshold}:${file}`, file, (shared) => this.services.run('sparsity', { file, threshold, histogram: true }, shared), hooks);
  }

  async sizeOf(file: string): Promise<number> {
    return (await this.version(file)).size;
  }
}
