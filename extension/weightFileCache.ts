/**
 * Header summaries and sparsity reports of weight files, computed in the worker pool and cached by
 * (path, size, mtime), so explorer badges, hovers and the inspector share one scan per file version.
 */
import { stat } from 'node:fs/promises';
import type { Services } from './services';
import type { SparsityReport, WeightFileSummary } from './shared/payloads';

interface Entry<T> {
  version: string;
  value: Promise<T>;
}

export class WeightFileCache {
  private readonly summaries = new Map<string, Entry<WeightFileSummary>>();
  private readonly reports = new Map<string, Entry<SparsityReport>>();

  constructor(private readonly services: Services) {}

  private async version(file: string): Promise<{ version: string; size: number }> {
    const info = await stat(file);
    return { version: `${info.size}:${info.mtimeMs}`, size: info.size };
  }

  private async cached<T>(map: Map<string, Entry<T>>, key: string, file: string, compute: () => Promise<T>): Promise<T> {
    const { version } = await this.version(file);
    const hit = map.get(key);
    if (hit && hit.version === version) return hit.value;
    const value = compute();
    map.set(key, { version, value });
    // A failed scan is not cached, so a fixed file is scanned again.
    value.catch(() => map.get(key)?.value === value && map.delete(key));
    return value;
  }

  summary(file: string): Promise<WeightFileSummary> {
    return this.cached(this.summaries, file, file, () => this.services.run('summary', { file }));
  }

  /** The cached report if one is complete or running for this file version. */
  peekReport(file: string, threshold: number): Promise<SparsityReport> | undefined {
    return this.reports.get(`${threshold}:${file}`)?.value;
  }

  report(file: string, threshold: number, options: { signal?: AbortSignal; onProgress?(fraction: number, message?: string): void } = {}): Promise<SparsityReport> {
    return this.cached(this.reports, `${threshold}:${file}`, file, () => this.services.run('sparsity', { file, threshold, histogram: true }, options));
  }

  async sizeOf(file: string): Promise<number> {
    return (await this.version(file)).size;
  }
}
