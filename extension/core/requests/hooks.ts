/** What every request function takes besides its request: progress, cancellation and, where needed, compute. */
import type { ConvBackend } from '../conv/backend';
import type { ScanKernel } from '../sparsity/scanKernel';
import type { TensorPartScanner } from '../sparsity/scan';

export interface RequestHooks {
  /** Progress in 0..1 with a short message of the current step. */
  onProgress?(fraction: number, message?: string): void;
  /** Aborted when the user cancels; long work checks it between chunks. */
  signal?: AbortSignal;
}

/**
 * Hooks of the sparsity scan: the engine's per-chunk statistics, where the surface has the engine,
 * and the worker threads that scan parts of a file, where it has a pool.
 */
export interface ScanHooks extends RequestHooks {
  scanKernel?: ScanKernel;
  parts?: TensorPartScanner;
}

/** Hooks of the requests that run convolutions: the engine and pool come in through `backend`. */
export interface ComputeHooks extends RequestHooks {
  backend: ConvBackend;
}

/** The error a cancelled request rejects with (name 'AbortError', which every surface recognises). */
export function abortError(what: string): Error {
  const error = new Error(`${what} cancelled`);
  error.name = 'AbortError';
  return error;
}

/** Progress of a sub-step mapped into [from, to] of the whole. */
export function progressSlice(hooks: RequestHooks, from: number, to: number): ((fraction: number, message?: string) => void) | undefined {
  const report = hooks.onProgress;
  return report ? (fraction, message) => report(from + (to - from) * fraction, message) : undefined;
}
