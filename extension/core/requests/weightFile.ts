/**
 * The weight-file requests: the sparsity scan (with the optional Winograd-domain pass), the pruning
 * what-if or pruned copy, and the header summary, tensor preview and heat-map slice of the inspector.
 */
import type { PruneReport, SparsityReport, TensorSlice, TensorSliceRequest, WeightFileSummary } from '../../shared/payloads';
import type { PruneRequest, SparsityRequest } from '../../shared/requests';
import { openWeightFile } from '../formats/index';
import { parseLayoutOverride } from '../sparsity/layout';
import { pruneToSafetensors, pruneWhatIf } from '../sparsity/prune';
import { previewTensor, scanOpenedWeightFile, summarizeWeightFile } from '../sparsity/scan';
import { tensorSlice } from '../sparsity/tensorSlice';
import type { RequestHooks, ScanHooks } from './hooks';
import { scanOptionsOf } from './sparsityPart';

type WinogradDomain = typeof import('../sparsity/winogradDomain');
/**
 * The Winograd-domain pass, loaded when a scan asks for it: it brings in the Winograd generator
 * and mathjs, about half a second of CPU to load, which a plain scan does not need. `require`, as in
 * workers/handlers.ts: a worker run from sources has tsx's CommonJS hooks only.
 */
const winogradDomain = (): WinogradDomain => require('../sparsity/winogradDomain') as WinogradDomain;

export async function runSparsity(request: SparsityRequest, hooks: ScanHooks = {}): Promise<SparsityReport> {
  const opened = await openWeightFile(request.file, hooks.signal ? { signal: hooks.signal } : undefined);
  try {
    const report = await scanOpenedWeightFile(opened, {
      ...scanOptionsOf(request, hooks),
      ...(hooks.parts ? { parts: hooks.parts } : {}),
      // The Winograd-domain pass reads the 3x3 kernels again: it gets the last tenth of the bar.
      onProgress: (fraction, message) => hooks.onProgress?.(request.winograd !== undefined ? fraction * 0.9 : fraction, message),
    });
    if (request.winograd !== undefined) {
      report.winogradDomain = await winogradDomain().winogradDomainSparsity(opened, request.winograd, { signal: hooks.signal });
      hooks.onProgress?.(1, 'Winograd-domain zeros');
    }
    return report;
  } finally {
    await opened.close();
  }
}

export function runPrune(request: PruneRequest, hooks: RequestHooks = {}): Promise<PruneReport> {
  const options = {
    sparsity: request.sparsity,
    method: request.method,
    profile: request.profile,
    inputSize: request.inputSize,
    tokens: request.tokens,
    nm: request.nm,
    masks: request.masks,
    signal: hooks.signal,
    onProgress: (fraction: number, message: string) => hooks.onProgress?.(fraction, message),
  };
  return request.out ? pruneToSafetensors(request.file, request.out, options) : pruneWhatIf(request.file, options);
}

export function runSummary(request: { file: string }, hooks: RequestHooks = {}): Promise<WeightFileSummary> {
  return summarizeWeightFile(request.file, { signal: hooks.signal });
}

export function runTensorPreview(request: { file: string; name: string; offset?: number; count: number }, hooks: RequestHooks = {}): Promise<number[]> {
  return previewTensor(request.file, request.name, request.count, { offset: request.offset, signal: hooks.signal });
}

/** The heat-map window of one kernel position, read in the layout the scan used (`layout`, as --layout takes it). */
export function runTensorSlice(request: { file: string; name: string; slice: TensorSliceRequest; layout?: string }, hooks: RequestHooks = {}): Promise<TensorSlice> {
  return tensorSlice(request.file, request.name, request.slice, { signal: hooks.signal, ...(request.layout ? { layout: parseLayoutOverride(request.layout) } : {}) });
}
