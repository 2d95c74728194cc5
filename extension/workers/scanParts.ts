/**
 * The sparsity scan spread over worker threads: core's TensorPartScanner on a pool of its own of
 * threads - 1 workers (the calling thread scans too), started when the scan hands out its first
 * units (a small file never starts it); each worker claims units and scans them with its own
 * engine instance.
 */
import { WeightFileError } from '../core/formats/types';
import { OptionError } from '../core/optionError';
import type { ScanUnit, ScanUnitResult, TensorPartScanner } from '../core/sparsity/scan';
import type { SparsityRequest } from '../shared/requests';
import { WorkerPool, WorkerTaskError, defaultWorkerScript } from './pool';

/**
 * A worker's failure as the error the same failure raises on the calling thread: a file error
 * (or a stall, which is the file's) naming `file`, or a mistake in the options.
 */
export function errorFromWorker(error: unknown, file: string): unknown {
  const prefix = `${file}: `;
  if (error instanceof WorkerTaskError && (error.reason === 'timeout' || error.errorName === 'WeightFileError') && error.message.startsWith(prefix)) {
    return new WeightFileError(file, error.message.slice(prefix.length));
  }
  if (error instanceof WorkerTaskError && error.errorName === 'OptionError') return new OptionError(error.message);
  return error;
}

export class PoolTensorPartScanner implements TensorPartScanner {
  private pool: WorkerPool | undefined;

  readonly minElements?: number;
  readonly minStretchElements?: number;
  private readonly workerScript: string;

  /** `options`: the sizes worth the workers (see TensorPartScanner) and the workers' entry script. */
  constructor(
    private readonly request: SparsityRequest,
    readonly threads: number,
    options: { minElements?: number; minStretchElements?: number; workerScript?: string } = {},
  ) {
    if (options.minElements !== undefined) this.minElements = options.minElements;
    if (options.minStretchElements !== undefined) this.minStretchElements = options.minStretchElements;
    this.workerScript = options.workerScript ?? defaultWorkerScript();
  }

  async scan(units: ScanUnit[], claim: SharedArrayBuffer, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<ScanUnitResult[]> {
    this.pool ??= new WorkerPool(this.workerScript, { size: Math.max(1, this.threads - 1) });
    try {
      return await this.pool.run('sparsityPart', { request: this.request, units, claim }, { onProgress: (fraction) => onProgress(fraction), ...(signal ? { signal } : {}) });
    } catch (error) {
      throw errorFromWorker(error, this.request.file);
    }
  }

  async dispose(): Promise<void> {
    await this.pool?.dispose();
    this.pool = undefined;
  }
}
