/**
 * Entry of every pool worker (bundled as dist/worker.js; run through tsx in tests). It receives
 * tasks from WorkerPool, dispatches them by kind to the handler registry and answers with the
 * result, the error or progress. One task at a time: the pool never sends a second before the
 * first is answered.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HostToWorkerMessage, WorkerTaskKind, WorkerToHostMessage } from './protocol';
import { taskHandlers } from './handlers';
import type { TaskContext, TaskHandler } from './protocol';
import type { WorkerBootData } from './pool';
import { trappedWithin } from '../core/wasmTrap';

const port = parentPort;
if (!port) throw new Error('extension/workers/worker.ts must be started as a worker thread by WorkerPool');
const boot = workerData as WorkerBootData;
const cancelFlag = new Int32Array(boot.cancelFlag);
const controllers = new Map<number, AbortController>();

function post(message: WorkerToHostMessage): void {
  port!.postMessage(message);
}

async function runTask(id: number, task: WorkerTaskKind, args: unknown): Promise<void> {
  const controller = new AbortController();
  controllers.set(id, controller);
  // The 'cancel' message is only seen when the handler yields; a synchronous compute loop sees
  // the request through the shared flag, which every progress() call polls.
  const context: TaskContext = {
    signal: controller.signal,
    progress(fraction: number, message?: string): void {
      if (Atomics.load(cancelFlag, 0) === id && !controller.signal.aborted) controller.abort();
      post({ type: 'progress', id, fraction, message });
    },
  };
  try {
    const handler = taskHandlers[task] as TaskHandler<WorkerTaskKind> | undefined;
    if (!handler) throw new Error(`Unknown worker task '${String(task)}'`);
    const value = await handler(args as never, context);
    post({ type: 'result', id, value });
  } catch (error) {
    const cancelled = controller.signal.aborted || Atomics.load(cancelFlag, 0) === id;
    if (error instanceof WebAssembly.RuntimeError) {
      post({ type: 'error', id, trap: true, retire: true, cancelled, message: `WebAssembly trap in worker task '${task}': ${error.message}` });
    } else if (error instanceof Error && error.cause instanceof WebAssembly.RuntimeError && !('file' in error)) {
      // The engine wrapper already names the kernel and its arguments; keep its message.
      post({ type: 'error', id, trap: true, retire: true, cancelled, message: `WebAssembly trap in worker task '${task}': ${error.message}` });
    } else {
      // A file error whose cause is a trap (HDF5 aborting inside WebAssembly) keeps its message,
      // which names the file, but the worker is still replaced.
      const message = error instanceof Error ? error.message : String(error);
      const errorName = error instanceof Error ? error.name : undefined;
      post({ type: 'error', id, cancelled, message, ...(errorName ? { errorName } : {}), ...(trappedWithin(error) ? { retire: true } : {}) });
    }
  } finally {
    controllers.delete(id);
  }
}

port.on('message', (message: HostToWorkerMessage) => {
  if (message.type === 'run') {
    void runTask(message.id, message.task, message.args);
  } else if (message.type === 'cancel') {
    controllers.get(message.id)?.abort();
  }
});

post({ type: 'ready' });
