/**
 * The registry of worker task handlers: one function per task kind of `WorkerTasks`
 * (workers/protocol.ts). worker.ts dispatches to it; tests and the CLI may also call a
 * handler directly on their own thread when no pool is wanted.
 */
import type { TaskHandler, TaskHandlerRegistry, WorkerTaskKind } from './protocol';
import { bench, conv, convCompare, convReference, enginePart, model } from './engineHandlers';

/**
 * A module whose only function executes `unreachable`: (func (export "trap") unreachable).
 * Hand-assembled so the trap test needs no build step.
 */
const TRAP_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: one type, () -> ()
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x07, 0x08, 0x01, 0x04, 0x74, 0x72, 0x61, 0x70, 0x00, 0x00, // export "trap" = function 0
  0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // code: no locals, unreachable, end
]);

const selfTest: TaskHandler<'selfTest'> = async (args, context) => {
  switch (args.mode) {
    case 'ok':
      return 'ok';
    case 'throw':
      throw new Error('selfTest: failure thrown on purpose');
    case 'exit':
      // In a worker thread this ends the thread only, as a crash would.
      process.exit(3);
    // eslint-disable-next-line no-fallthrough
    case 'wasmTrap': {
      const { instance } = await WebAssembly.instantiate(TRAP_MODULE);
      (instance.exports.trap as () => void)();
      return 'unreachable was not reached';
    }
    case 'spin': {
      // A loop that never yields nor checks for cancellation: only terminate() stops it.
      const forever = (): boolean => true;
      while (forever()) {
        /* spin */
      }
      return 'spin ended';
    }
    case 'progress': {
      // A synchronous loop that cooperates through progress() and the signal.
      const steps = args.steps ?? 10;
      const stepMs = args.stepMs ?? 5;
      for (let step = 0; step < steps; step++) {
        const until = Date.now() + stepMs;
        while (Date.now() < until) {
          /* busy, as a compute kernel would be */
        }
        context.progress((step + 1) / steps, `step ${step + 1} of ${steps}`);
        if (context.signal.aborted) throw new Error('selfTest: stopped on cancellation');
      }
      return `done ${steps} steps`;
    }
    default:
      throw new Error(`selfTest: unknown mode '${String((args as { mode: unknown }).mode)}'`);
  }
};

/**
 * A handler whose module is loaded on its first task, so a worker starts without paying for
 * modules its tasks may never need (the Winograd and weight-file modules take seconds to load
 * under tsx, which every worker start, crash replacement and engine worker would otherwise pay).
 * `require`, not `import()`: a worker run from sources has tsx's CommonJS hooks only, and esbuild
 * bundles a require of a relative module like a static import.
 */
function lazy<K extends WorkerTaskKind>(load: () => TaskHandler<K>): TaskHandler<K> {
  let handler: TaskHandler<K> | undefined;
  return (args, context) => (handler ??= load())(args, context);
}

type DataTasks = typeof import('./dataTasks');
const dataTasks = (): DataTasks => require('./dataTasks') as DataTasks;
type ScanTasks = typeof import('./scanTasks');
const scanTasks = (): ScanTasks => require('./scanTasks') as ScanTasks;

export const taskHandlers: TaskHandlerRegistry = {
  selfTest,
  enginePart,
  convReference,
  convCompare,
  bench,
  conv,
  model,
  // The request kinds that need no engine: the core request functions (see dataTasks.ts).
  winograd: lazy(() => dataTasks().winogradTask),
  sparsity: lazy(() => dataTasks().sparsityTask),
  sparsityPart: lazy(() => scanTasks().sparsityPartTask),
  summary: lazy(() => dataTasks().summaryTask),
  tensorPreview: lazy(() => dataTasks().tensorPreviewTask),
  tensorSlice: lazy(() => dataTasks().tensorSliceTask),
  prune: lazy(() => dataTasks().pruneTask),
  compare: lazy(() => dataTasks().compareTask),
};
