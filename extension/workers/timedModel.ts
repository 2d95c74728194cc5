/**
 * The model report with its layers timed on an engine pool of the caller's own: the CLI's thread,
 * or the watched worker that reads an HDF5 or .keras model (whose own pool then runs inside it).
 */
import * as os from 'node:os';
import { runModel } from '../core/requests/model';
import type { RequestHooks } from '../core/requests/hooks';
import type { ModelReport } from '../shared/payloads';
import type { ModelRequest } from '../shared/requests';
import { PoolConvBackend } from './convBackend';
import { WorkerPool, defaultWorkerScript } from './pool';

export async function runModelOnEnginePool(request: ModelRequest, hooks: RequestHooks = {}): Promise<ModelReport> {
  const threads = request.threads ?? 1;
  // Enough workers for the requested threads, and all cores for the fp64 references.
  const pool = request.time === false ? undefined : new WorkerPool(defaultWorkerScript(), { size: Math.max(threads, os.availableParallelism?.() ?? os.cpus().length) });
  try {
    return await runModel(request, { ...hooks, ...(pool ? { backend: new PoolConvBackend(pool) } : {}) });
  } finally {
    await pool?.dispose();
  }
}
