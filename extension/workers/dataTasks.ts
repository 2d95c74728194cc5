/**
 * Worker handlers of the weight-file, Winograd, comparison and model request kinds: each is the
 * core request function, with the worker's progress and cancellation as its hooks (and, for the
 * sparsity scan, the engine's per-chunk statistics). A model report that times its layers does so
 * on an engine pool the handler starts (the CLI reads HDF5 and .keras models in a watched worker,
 * timing included).
 */
import { runCompare } from '../core/requests/compare';
import { runPrune, runSparsity, runSummary, runTensorPreview, runTensorSlice } from '../core/requests/weightFile';
import { runWinograd } from '../core/requests/winograd';
import type { RequestHooks } from '../core/requests/hooks';
import type { TaskContext, TaskHandler, WorkerTaskKind } from './protocol';
import { workerScanKernel } from './scanTasks';

export function hooksOf(context: TaskContext): RequestHooks {
  return { signal: context.signal, onProgress: (fraction, message) => context.progress(fraction, message) };
}

function handler<K extends WorkerTaskKind>(run: (request: Parameters<TaskHandler<K>>[0], hooks: RequestHooks) => ReturnType<TaskHandler<K>>): TaskHandler<K> {
  return (args, context) => run(args, hooksOf(context));
}

export const winogradTask = handler<'winograd'>(runWinograd);
export const sparsityTask: TaskHandler<'sparsity'> = (args, context) => runSparsity(args, { ...hooksOf(context), scanKernel: workerScanKernel() });
export const pruneTask = handler<'prune'>(runPrune);
export const summaryTask = handler<'summary'>(runSummary);
export const tensorPreviewTask = handler<'tensorPreview'>(runTensorPreview);
export const tensorSliceTask = handler<'tensorSlice'>(runTensorSlice);
export const compareTask = handler<'compare'>((request) => runCompare(request));
