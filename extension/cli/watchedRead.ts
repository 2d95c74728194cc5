/**
 * Reading a weight file in a worker of its own, under the read time limit, for the formats whose
 * parser hands the file to a library that can loop where no JavaScript check reaches (HDF5 in
 * WebAssembly: .h5, .hdf5 and the model.weights.h5 inside .keras). Other formats are read on the
 * CLI's own thread, as before: their parsers check sizes and cancellation themselves.
 */
import { detectFormat } from '../core/formats/index';
import { DEFAULT_READ_TIMEOUT_SECONDS, stalledReadMessage } from '../core/weightFiles';
import { WorkerPool, defaultWorkerScript } from '../workers/pool';
import { errorFromWorker } from '../workers/scanParts';
import type { WorkerTasks } from '../workers/protocol';

const WATCHED_FORMATS: ReadonlySet<string> = new Set(['hdf5', 'keras']);

/** Whether `file` is read through a library that needs the watchdog. */
export async function needsWatchedRead(file: string): Promise<boolean> {
  return WATCHED_FORMATS.has(await detectFormat(file));
}

type WeightFileTask = 'sparsity' | 'prune' | 'model';

/**
 * Runs `task` on a one-worker pool: a read that sends no progress for `seconds` ends with a file
 * error naming the file and the limit (the worker is terminated), never a silent hang. A file error
 * inside the worker comes back as the same WeightFileError.
 */
export async function readInWatchedWorker<K extends WeightFileTask>(
  task: K,
  args: WorkerTasks[K]['args'],
  seconds = DEFAULT_READ_TIMEOUT_SECONDS,
  onProgress?: (fraction: number, message?: string) => void,
): Promise<WorkerTasks[K]['result']> {
  const file = args.file;
  const pool = new WorkerPool(defaultWorkerScript(), { size: 1 });
  try {
    return await pool.run(task, args, { stallTimeout: { ms: seconds * 1000, message: stalledReadMessage(file, seconds, '--timeout') }, ...(onProgress ? { onProgress } : {}) });
  } catch (error) {
    throw errorFromWorker(error, file);
  } finally {
    await pool.dispose();
  }
}
