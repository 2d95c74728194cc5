/**
 * Worker handlers for the Winograd generator and the weight-file inspector: thin adapters from the
 * typed worker protocol to the pure modules under core/.
 */
import { openWeightFile } from '../core/formats';
import { parseLayoutOverride } from '../core/sparsity/layout';
import { parseNmPatterns } from '../core/sparsity/nmPattern';
import { pruneToSafetensors, pruneWhatIf } from '../core/sparsity/prune';
import { previewTensor, scanOpenedWeightFile, summarizeWeightFile } from '../core/sparsity/scan';
import { tensorSlice } from '../core/sparsity/tensorSlice';
import { winogradDomainSparsity } from '../core/sparsity/winogradDomain';
import { generateWinograd, searchPoints } from '../core/winograd';
import { errorByTileSize } from '../core/winograd/compareTiles';
import type { TaskHandler } from './protocol';

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
      ...(args.nm ? { nm: parseNmPatterns(args.nm) } : {}),
      ...(args.layout ? { layout: parseLayoutOverride(args.layout) } : {}),
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

export const tensorPreviewTask: TaskHandler<'tensorPreview'> = (args, context) => previewTensor(args.file, args.name, args.count, { offset: args.offset, signal: context.signal });

export const tensorSliceTask: TaskHandler<'tensorSlice'> = (args, context) =>
  tensorSlice(args.file, args.name, args.slice, { signal: context.signal, ...(args.layout ? { layout: parseLayoutOverride(args.layout) } : {}) });
