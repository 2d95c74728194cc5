/**
 * The request layer: one function per request kind, `(request, hooks) => Promise<payload>`. Every
 * surface builds a request and calls the same function, directly (the CLI) or through the worker
 * pool (the extension, whose worker registry maps task kinds to these functions).
 */
import type { BenchComparison, BenchReport, ConvResult, ModelReport, PruneReport, SparsityReport, TensorSlice, TensorSliceRequest, WeightFileSummary, WinogradResult } from '../../shared/payloads';
import type { BenchRequest, CompareRequest, ConvRequest, ModelRequest, PruneRequest, SparsityRequest, WinogradRequest } from '../../shared/requests';

export { runBench } from './bench';
export { runCompare } from './compare';
export { runConv } from './conv';
export { runModel } from './model';
export { abortError, type ComputeHooks, type RequestHooks, type ScanHooks } from './hooks';
export { runPrune, runSparsity, runSummary, runTensorPreview, runTensorSlice } from './weightFile';
export { runWinograd } from './winograd';

/** Each request kind's request and payload; the worker protocol carries them as task kinds. */
export interface RequestKinds {
  winograd: { args: WinogradRequest; result: WinogradResult };
  sparsity: { args: SparsityRequest; result: SparsityReport };
  prune: { args: PruneRequest; result: PruneReport };
  summary: { args: { file: string }; result: WeightFileSummary };
  tensorPreview: { args: { file: string; name: string; offset?: number; count: number }; result: number[] };
  tensorSlice: { args: { file: string; name: string; slice: TensorSliceRequest; layout?: string }; result: TensorSlice };
  bench: { args: BenchRequest; result: BenchReport };
  conv: { args: ConvRequest; result: ConvResult };
  compare: { args: CompareRequest; result: BenchComparison };
  model: { args: ModelRequest; result: ModelReport };
}
export type RequestKind = keyof RequestKinds;

/** Runs a request kind somewhere (the worker pool in the extension, this thread in tests). */
export interface RequestRunner {
  run<K extends RequestKind>(kind: K, request: RequestKinds[K]['args'], hooks?: { signal?: AbortSignal; onProgress?(fraction: number, message?: string): void }): Promise<RequestKinds[K]['result']>;
}
