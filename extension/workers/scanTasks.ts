/**
 * Worker handler of a sparsity scan's parts, and this thread's scan kernel. Kept apart from
 * dataTasks.ts: a worker of a scan spread over threads loads only the scan, not the Winograd
 * generator and the other request kinds (about a second of CPU per worker).
 */
import { runSparsityPart } from '../core/requests/sparsityPart';
import { EngineScanKernel } from '../engine/scanKernel';
import type { TaskHandler } from './protocol';

let kernel: EngineScanKernel | undefined;

/** This worker thread's scan kernel, made on its first scan (a worker runs one task at a time). */
export function workerScanKernel(): EngineScanKernel {
  return (kernel ??= new EngineScanKernel());
}

export const sparsityPartTask: TaskHandler<'sparsityPart'> = (args, context) =>
  runSparsityPart(args, { signal: context.signal, onProgress: (fraction, message) => context.progress(fraction, message), scanKernel: workerScanKernel() });
