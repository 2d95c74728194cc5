/**
 * The model report: the user's network read layer by layer (from its graph, or from its weights'
 * names and shapes), with each layer's shape, parameters, FLOPs, weight sparsity and the engine's
 * Winograd kernels that fit it; given an engine, every applicable algorithm timed per layer with
 * its error on the layer's real weights, and the fastest within the accuracy budget.
 */
import type { ModelReport } from '../../shared/payloads';
import type { ModelRequest } from '../../shared/requests';
import { PEER_NOT_INSTALLED, findOnnxRuntime, runOnnxRuntimeModel } from '../bench/peer';
import { requestedAlgorithms } from '../bench/runner';
import { machineInfo } from '../bench/machine';
import type { ConvBackend } from '../conv/backend';
import { openActivations } from '../model/activations';
import { analyzeOpenedModel } from '../model/analyze';
import { checkModelExports, writeModelExports } from '../model/exports';
import { DEFAULT_PRUNE_TARGET, describePruning, timePrunedLayers } from '../model/pruneWhatIf';
import { checkInputShape, openModelFile } from '../model/readModel';
import { DEFAULT_MAX_ERROR_VS_DIRECT, DEFAULT_MAX_WORKSPACE_MIB, DEFAULT_MODEL_BUDGET_MS, timeModelLayers } from '../model/timing';
import { TimingCache, weightFileIdentity } from '../model/timingCache';
import { OptionError } from '../optionError';
import type { RequestHooks } from './hooks';

function checkRequest(request: ModelRequest, backend: ConvBackend | undefined): void {
  if (request.input) {
    const problem = checkInputShape(request.input);
    if (problem) throw new OptionError(`input: ${problem}`);
  }
  const nonNegative = (value: number | undefined, what: string): void => {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw new OptionError(`${what} must be a non-negative number, got ${value}`);
  };
  nonNegative(request.budgetMs, 'budget');
  nonNegative(request.warmupMs, 'warm-up');
  if (request.pruneTarget !== undefined && !(request.pruneTarget >= 0 && request.pruneTarget <= 0.95)) throw new OptionError(`prune-target must be a share from 0 to 0.95, got ${request.pruneTarget}`);
  if (request.maxErrorVsDirect !== undefined && !(request.maxErrorVsDirect >= 1)) throw new OptionError(`max-error-vs-direct must be a number >= 1, got ${request.maxErrorVsDirect}`);
  if (request.maxWorkspaceMib !== undefined && !(request.maxWorkspaceMib > 0)) throw new OptionError(`max-workspace-mib must be a positive number of MiB, got ${request.maxWorkspaceMib}`);
  const threads = request.threads ?? 1;
  const max = backend?.maxThreads ?? Infinity;
  if (!Number.isInteger(threads) || threads < 1 || threads > max) throw new OptionError(`threads must be an integer in 1..${max}, got ${threads}`);
}

export async function runModel(request: ModelRequest, hooks: RequestHooks & { backend?: ConvBackend } = {}): Promise<ModelReport> {
  const { backend, signal } = hooks;
  checkRequest(request, backend);
  const time = backend !== undefined && request.time !== false;
  const algos = time ? requestedAlgorithms({ algos: request.algos }) : undefined;
  const activations = request.activations !== undefined && time ? await openActivations(request.activations) : undefined;
  const opened = await openModelFile(request.file, { ...(request.input ? { input: request.input } : {}), signal });
  try {
    // Export paths are checked before any work: a wrong one fails at once, never after the timings.
    const exports = await checkModelExports(request, request.file, opened.companions ?? []);
    const pruneTarget = request.pruneTarget ?? DEFAULT_PRUNE_TARGET;
    // The sparsity scan streams the weights once; timing reads each timed layer's weight again.
    const scanShare = time ? 0.1 : 1;
    const report = await analyzeOpenedModel(opened, {
      ...(request.input ? { input: request.input } : {}),
      signal,
      onProgress: (fraction, message) => hooks.onProgress?.(fraction * scanShare, message),
    });
    const prunePlans = pruneTarget > 0 ? describePruning(report, opened, pruneTarget) : undefined;
    if (request.activations !== undefined && !time) report.notes.push('--activations: nothing timed, so no errors were measured on them');
    if (!time || !backend) {
      const written = await writeModelExports(report, exports);
      report.notes.push(...written);
      return report;
    }
    const budgetMs = request.budgetMs ?? DEFAULT_MODEL_BUDGET_MS;
    const warmupMs = request.warmupMs ?? Math.min(100, budgetMs / 5);
    const threads = request.threads ?? 1;
    const maxErrorVsDirect = request.maxErrorVsDirect ?? DEFAULT_MAX_ERROR_VS_DIRECT;
    const maxWorkspaceMib = request.maxWorkspaceMib ?? DEFAULT_MAX_WORKSPACE_MIB;
    const cache = await TimingCache.open(request.workspace ?? process.cwd());
    if (cache.problem) report.warnings.push(cache.problem);
    const engineBuild = backend.build ?? `${backend.variant}-unidentified`;
    const runtime = request.peer ? findOnnxRuntime() : undefined;
    const started = performance.now();
    const pruneShare = prunePlans ? 0.2 : 0;
    const { measured, cacheHits, activationLayers } = await timeModelLayers(report, opened, {
      backend,
      engineBuild,
      cache,
      fileIdentity: await weightFileIdentity(request.file),
      ...(algos ? { algos } : {}),
      budgetMs,
      warmupMs,
      threads,
      maxErrorVsDirect,
      maxWorkspaceMib,
      ...(runtime ? { peer: { version: runtime.version } } : {}),
      ...(activations ? { activations } : {}),
      signal,
      onProgress: (fraction, message) => hooks.onProgress?.(scanShare + (1 - scanShare - pruneShare) * fraction, message),
    });
    let pruneCounts = { measured: 0, cacheHits: 0 };
    if (prunePlans) {
      pruneCounts = await timePrunedLayers(report, opened, prunePlans, {
        backend,
        engineBuild,
        cache,
        budgetMs,
        warmupMs,
        threads,
        target: pruneTarget,
        signal,
        onProgress: (fraction, message) => hooks.onProgress?.(1 - pruneShare + pruneShare * fraction, message),
      });
    }
    let peerModelMs: number | undefined;
    if (runtime && report.format === 'onnx' && report.input.name && report.input.shape) {
      hooks.onProgress?.(1, 'onnxruntime-node: the whole model');
      try {
        const run = await runOnnxRuntimeModel(request.file, report.input.name, report.input.shape, report.total.flops, { threads, budgetMs: Math.max(budgetMs, 1000), signal });
        peerModelMs = run.msMedian;
      } catch (error) {
        if (signal?.aborted) throw error;
        report.warnings.push(`onnxruntime-node could not run the whole model: ${(error as Error).message}`);
      }
    }
    // Without a build digest a later engine could be served this build's times: nothing is kept.
    if (backend.build) await cache.save();
    const timed = report.layers.filter((l) => l.best);
    const byOp: Record<string, number> = {};
    for (const l of timed) byOp[l.op] = (byOp[l.op] ?? 0) + l.best!.msMedian;
    report.total.bestMs = timed.reduce((sum, l) => sum + l.best!.msMedian, 0);
    report.total.timedLayers = timed.length;
    report.total.bestMsByOp = byOp;
    const peered = report.layers.filter((l) => l.peerMs !== undefined);
    if (runtime) report.total.peerMs = peered.reduce((sum, l) => sum + l.peerMs!, 0);
    if (peerModelMs !== undefined) report.total.peerModelMs = peerModelMs;
    report.machine = machineInfo(backend.variant === 'relaxed' ? 'relaxed-simd' : 'simd128');
    report.timing = {
      budgetMs,
      warmupMs,
      threads,
      maxErrorVsDirect,
      ...(backend.workspaceBytes ? { maxWorkspaceMib } : {}),
      engineBuild,
      measured: measured + pruneCounts.measured,
      cacheHits: cacheHits + pruneCounts.cacheHits,
      activations: activations ? { source: 'npy', from: activations.path, layers: activationLayers } : { source: 'random' },
      ...(backend.build ? { cacheFile: cache.file } : {}),
      elapsedMs: performance.now() - started,
      ...(runtime ? { peer: `onnxruntime-node ${runtime.version} (${threads} thread${threads === 1 ? '' : 's'})` } : request.peer ? { peerUnavailable: PEER_NOT_INSTALLED } : {}),
    };
    if (activations && activationLayers === 0) {
      report.warnings.push(activations.kind === 'folder' ? `--activations ${activations.path}: no <layer>.npy file matched a timed layer's name; every error used random activations` : `--activations ${activations.path}: the first layer was not timed; every error used random activations`);
    }
    report.notes.push(...(await writeModelExports(report, exports)));
    return report;
  } finally {
    await opened.close();
  }
}
