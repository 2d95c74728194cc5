/** What the model-report tests share: a worker pool for the engine and a scratch folder, both gone after the file's tests. */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolConvBackend } from '../../../../extension/workers/convBackend';
import { WorkerPool } from '../../../../extension/workers/pool';
import { WORKER_SOURCE } from '../../../paths';

export function modelTestBench(name: string): { backend: () => PoolConvBackend; folder: string } {
  const pool = new WorkerPool(WORKER_SOURCE, { size: 2 });
  const folder = mkdtempSync(join(tmpdir(), `deep-accel-${name}-`));
  after(async () => {
    await pool.dispose();
    rmSync(folder, { recursive: true, force: true });
  });
  return { backend: () => new PoolConvBackend(pool), folder };
}
