/**
 * Worker handlers for the Winograd generator and the weight-file inspector: thin adapters from the
 * typed worker protocol to the pure modules under core/.
 */
import { openWeightFile } from '../core/formats';
import { scanWeightFile, summarizeWeightFile } from '../core/sparsity/scan';
import { generateWinograd, searchPoints } from '../core/winograd';
import type { TaskHandler } from './handlers';

/** A preview never needs more than this many values. */
const MAX_PREVIEW_VALUES = 4096;

export const winogradTask: TaskHandler<'winograd'> = async (args, context) =>
  args.search ? searchPoints(args, { onProgress: (fraction, message) => context.progress(fraction, message), signal: context.signal }) : generateWinograd(args);

export const sparsityTask: TaskHandler<'sparsity'> = (args, context) =>
  scanWeightFile(args.file, {
    threshold: args.threshold,
    histogram: args.histogram ?? true,
    signal: context.signal,
    onProgress: (fraction, message) => context.progress(fraction, message),
  });

export const summaryTask: TaskHandler<'summary'> = (args, context) => summarizeWeightFile(args.file, { signal: context.signal });

export const tensorPreviewTask: TaskHandler<'tensorPreview'> = async (args, context) => {
  const count = Math.max(0, Math.min(MAX_PREVIEW_VALUES, Math.floor(args.count)));
  const opened = await openWeightFile(args.file, { signal: context.signal });
  try {
    const tensor = opened.tensors.find((t) => t.name === args.name);
    if (!tensor) throw new Error(`${args.file}: no tensor named '${args.name}'`);
    const values: number[] = [];
    for await (const chunk of tensor.chunks({ maxChunkElements: Math.max(1, count), signal: context.signal })) {
      for (let i = 0; i < chunk.length && values.length < count; i++) values.push(chunk[i]);
      if (values.length >= count) break;
    }
    return values;
  } finally {
    await opened.close();
  }
};
