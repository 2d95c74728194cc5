/**
 * Worker handlers for the Winograd generator and the weight-file inspector: thin adapters from the
 * typed worker protocol to the pure modules under core/.
 */
import { openWeightFile } from '../core/formats';
import { pruneToSafetensors, pruneWhatIf } from '../core/sparsity/prune';
import { scanOpenedWeightFile, summarizeWeightFile } from '../core/sparsity/scan';
import { winogradDomainSparsity } from '../core/sparsity/winogradDomain';
import { generateWinograd, searchPoints } from '../core/winograd';
import { errorByTileSize } from '../core/winograd/compareTiles';
import type { TaskHandler } from './handlers';

/** A preview never needs more than this many values. */
const MAX_PREVIEW_VALUES = 4096;

export const winogradTask: TaskHandler<'winograd'> = async (args, context) => {
  const result = args.search
    ? await searchPoints(args, { onProgress: (fraction, message) => context.progress(fraction * 0.9, message), signal: context.signal })
    : generateWinograd(args);
  if (args.compareTileSizes && args.n === undefined && args.s === undefined) {
    context.progress(0.9, 'error against tile size');
    result.errorByTile = errorByTileSize(args.r, { fractionsIn: args.fractionsIn, precision: args.precision, seed: args.seed, signal: context.signal });
  }
  return result;
};

export const sparsityTask: TaskHandler<'sparsity'> = async (args, context) => {
  const opened = await openWeightFile(args.file, { signal: context.signal });
  try {
    const report = await scanOpenedWeightFile(opened, {
      threshold: args.threshold,
      histogram: args.histogram ?? true,
      blockSize: args.blockSize,
      signal: context.signal,
      // The Winograd-domain pass reads the 3x3 kernels again: give it the last tenth of the bar.
      onProgress: (fraction, message) => context.progress(args.winograd ? fraction * 0.9 : fraction, message),
    });
    if (args.winograd !== undefined) {
      report.winogradDomain = await winogradDomainSparsity(opened, args.winograd, { signal: context.signal });
      context.progress(1, 'Winograd-domain zeros');
    }
    return report;
  } finally {
    await opened.close();
  }
};

export const pruneTask: TaskHandler<'prune'> = (args, context) => {
  const options = {
    sparsity: args.sparsity,
    method: args.method,
    profile: args.profile,
    inputSize: args.inputSize,
    signal: context.signal,
    onProgress: (fraction: number, message: string) => context.progress(fraction, message),
  };
  return args.out ? pruneToSafetensors(args.file, args.out, options) : pruneWhatIf(args.file, options);
};

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
