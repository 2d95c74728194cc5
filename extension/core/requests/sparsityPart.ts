/**
 * One part of a sparsity scan spread over worker threads (see TensorPartScanner in
 * core/sparsity/scan.ts), and the scan options every part shares with the whole scan. Apart from
 * weightFile.ts so that a worker that only scans parts does not load the Winograd-domain pass.
 */
import type { SparsityRequest } from '../../shared/requests';
import { openWeightFile } from '../formats/index';
import { parseLayoutOverride } from '../sparsity/layout';
import { type NmPattern, parseNmPatterns } from '../sparsity/nmPattern';
import { type ScanOptions, type ScanUnit, type ScanUnitResult, scanClaimedUnitsOf } from '../sparsity/scan';
import { OptionError } from '../optionError';
import type { ScanHooks } from './hooks';

/** A worker's share of a scan: the scan's request, its units and the counter they are claimed through. */
export interface SparsityPartRequest {
  request: SparsityRequest;
  units: ScanUnit[];
  /** Int32 counter of the next unit to claim, shared by every thread of the scan. */
  claim: SharedArrayBuffer;
}

function onePattern(text: string): NmPattern {
  const patterns = parseNmPatterns(text);
  if (patterns.length !== 1) throw new OptionError(`the permutation search takes one N:M pattern such as 2:4, got '${text}'`);
  return patterns[0]!;
}

/** The scan options of a request: the same for the whole scan and for each of its parts. */
export function scanOptionsOf(request: SparsityRequest, hooks: ScanHooks): ScanOptions {
  return {
    threshold: request.threshold,
    histogram: request.histogram ?? false,
    ...(request.blockSize ? { blockSize: request.blockSize } : {}),
    ...(request.nm ? { nm: parseNmPatterns(request.nm) } : {}),
    ...(request.layout ? { layout: parseLayoutOverride(request.layout) } : {}),
    ...(request.permute ? { permute: { pattern: onePattern(request.permute), seconds: request.permuteSeconds } } : {}),
    ...(hooks.scanKernel ? { kernel: hooks.scanKernel } : {}),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  };
}

/** A worker's share of a sparsity scan spread over threads (see TensorPartScanner), on its worker. */
export async function runSparsityPart(part: SparsityPartRequest, hooks: ScanHooks = {}): Promise<ScanUnitResult[]> {
  const opened = await openWeightFile(part.request.file, hooks.signal ? { signal: hooks.signal } : undefined);
  try {
    return await scanClaimedUnitsOf(opened, part.units, part.claim, { ...scanOptionsOf(part.request, hooks), onProgress: (fraction, message) => hooks.onProgress?.(fraction, message) });
  } finally {
    await opened.close();
  }
}
