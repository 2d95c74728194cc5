/**
 * Timings of the model report kept between runs in the workspace (.deep-accel/model-timings.json),
 * keyed by everything a time depends on: the shape, the algorithm, the layout, the threads and the
 * engine build (a digest of its WebAssembly). Errors depend on a layer's weights too, so they are
 * keyed by the weight file (path, size, modification time) and the layer as well. A second report
 * of the same model, or of one that shares shapes, times nothing again. A cache that cannot be read
 * starts empty (said in the report); writes go through a temporary file and a rename.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { ConvShape } from '../../shared/payloads';
import { writeOutputFile } from '../outputFile';

export const TIMING_CACHE_FILE = path.join('.deep-accel', 'model-timings.json');
const VERSION = 1;
/** Most entries kept; the oldest go first. */
const MAX_ENTRIES = 20000;

export interface CachedTiming {
  msMedian: number;
  msMin: number;
  msP90: number;
  iterations: number;
}

interface CacheFile {
  version: number;
  timings: Record<string, CachedTiming>;
  errors: Record<string, number>;
}

export function timingKey(engineBuild: string, shape: ConvShape, algo: string, layout: string, threads: number): string {
  const { N, C, H, W, K, R, S, stride, pad } = shape;
  // Groups, dilation and uneven pads change the work: a depthwise 32 -> 32 layer is not the full one.
  const extras = [shape.groups && shape.groups !== 1 ? `g${shape.groups}` : '', shape.dilation && shape.dilation !== 1 ? `d${shape.dilation}` : '', shape.pads ? `p${shape.pads.join(',')}` : ''].filter(Boolean);
  return `${engineBuild}|${algo}|${layout}|t${threads}|${[N, C, H, W, K, R, S, stride, pad].join(',')}${extras.length ? `|${extras.join('|')}` : ''}`;
}

export class TimingCache {
  private dirty = false;

  private constructor(
    readonly file: string,
    private readonly data: CacheFile,
    /** Why an existing cache file was not used. */
    readonly problem?: string,
  ) {}

  static async open(workspace: string): Promise<TimingCache> {
    const file = path.join(workspace, TIMING_CACHE_FILE);
    const empty: CacheFile = { version: VERSION, timings: {}, errors: {} };
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return new TimingCache(file, empty);
    }
    try {
      const parsed = JSON.parse(text) as Partial<CacheFile>;
      if (parsed.version !== VERSION || typeof parsed.timings !== 'object' || typeof parsed.errors !== 'object' || !parsed.timings || !parsed.errors) {
        return new TimingCache(file, empty, `${file}: not a version ${VERSION} timing cache; starting a new one`);
      }
      return new TimingCache(file, { version: VERSION, timings: parsed.timings, errors: parsed.errors });
    } catch (error) {
      return new TimingCache(file, empty, `${file}: not valid JSON (${(error as Error).message}); starting a new one`);
    }
  }

  timing(key: string): CachedTiming | undefined {
    const entry = Object.hasOwn(this.data.timings, key) ? this.data.timings[key] : undefined;
    return entry && typeof entry.msMedian === 'number' && entry.msMedian > 0 ? entry : undefined;
  }

  setTiming(key: string, timing: CachedTiming): void {
    this.data.timings[key] = timing;
    this.dirty = true;
  }

  error(key: string): number | undefined {
    const value = Object.hasOwn(this.data.errors, key) ? this.data.errors[key] : undefined;
    return typeof value === 'number' && value >= 0 ? value : undefined;
  }

  setError(key: string, maxAbsErr: number): void {
    this.data.errors[key] = maxAbsErr;
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    for (const table of [this.data.timings, this.data.errors] as Record<string, unknown>[]) {
      const keys = Object.keys(table);
      for (const key of keys.slice(0, Math.max(0, keys.length - MAX_ENTRIES))) delete table[key];
    }
    await mkdir(path.dirname(this.file), { recursive: true });
    await writeOutputFile(this.file, (temporary) => writeFile(temporary, JSON.stringify(this.data)));
    this.dirty = false;
  }
}

/** What identifies a weight file's contents for the error cache: its real path, size and modification time. */
export async function weightFileIdentity(file: string): Promise<string> {
  const info = await stat(file);
  return `${path.resolve(file)}|${info.size}|${info.mtimeMs}`;
}
