/**
 * Worker handlers of the engine tasks: run a share of a plan, compute a share of the fp64
 * reference, compare a share of an output against it, and the bench and conv requests.
 */
import * as os from 'node:os';
import { workerData } from 'node:worker_threads';
import { referenceConv2d } from '../core/conv/reference';
import { abortError } from '../core/requests/hooks';
import type { ConvBackend } from '../core/conv/backend';
import type { BenchRequest } from '../shared/requests';
import type { TaskHandler } from './protocol';
import type { WorkerBootData } from './pool';

// The engine wrapper pulls in the Winograd generator (mathjs), seconds of start-up under tsx; a
// worker loads it on its first engine task instead of at start, so pools of workers that never run
// the engine (and every crash replacement) start fast. `require`: see lazy() in handlers.ts.
const parallelModule = (): typeof import('./parallelEngine') => require('./parallelEngine') as typeof import('./parallelEngine');
const benchModule = (): typeof import('../core/requests/bench') => require('../core/requests/bench') as typeof import('../core/requests/bench');
const modelModule = (): typeof import('../core/requests/model') => require('../core/requests/model') as typeof import('../core/requests/model');
const convModule = (): typeof import('../core/requests/conv') => require('../core/requests/conv') as typeof import('../core/requests/conv');
const backendModule = (): typeof import('./convBackend') => require('./convBackend') as typeof import('./convBackend');
const poolModule = (): typeof import('./pool') => require('./pool') as typeof import('./pool');

export const enginePart: TaskHandler<'enginePart'> = async (args) => {
  const engine = parallelModule().workerEngine(args.engine);
  const start = performance.now();
  let units = 0;
  if (args.claim) {
    // Dynamic scheduling: claim one unit at a time until the phase is exhausted, so a worker that
    // the OS descheduled (a shared machine) or that got heavier units simply claims fewer.
    const counters = new Int32Array(args.claim.counters);
    for (const step of args.steps) {
      for (;;) {
        const unit = step.begin + Atomics.add(counters, step.phase, 1);
        if (unit >= step.end) break;
        engine.runPart(args.descriptor, step.phase, unit, unit + 1, args.scratchPtr);
        units++;
      }
    }
  } else {
    for (const step of args.steps) {
      engine.runPart(args.descriptor, step.phase, step.begin, step.end, args.scratchPtr);
      units += step.end - step.begin;
    }
  }
  return { ms: performance.now() - start, units };
};

export const convReference: TaskHandler<'convReference'> = async (args) => {
  const { shape, kBegin, kEnd } = args;
  const { N, C, H, W, K, R, S } = shape;
  if (!Number.isInteger(kBegin) || !Number.isInteger(kEnd) || kBegin < 0 || kEnd > K || kBegin >= kEnd) {
    throw new Error(`convReference: channel range [${kBegin}, ${kEnd}) is outside [0, ${K})`);
  }
  const input = new Float32Array(args.input, 0, N * C * H * W);
  const weight = new Float32Array(args.weight, 0, K * (C / (shape.groups ?? 1)) * R * S);
  const bias = args.bias ? new Float32Array(args.bias, 0, K) : undefined;
  const part = referenceConv2d(input, weight, bias, shape, { begin: kBegin, end: kEnd });
  const PQ = part.length / (N * (kEnd - kBegin));
  const reference = new Float64Array(args.reference);
  if (reference.length !== N * K * PQ) {
    throw new Error(`convReference: reference buffer holds ${reference.length} values, expected N*K*P*Q = ${N * K * PQ}`);
  }
  let maxRefAbs = 0;
  const rows = (kEnd - kBegin) * PQ;
  for (let n = 0; n < N; n++) {
    const from = n * rows;
    reference.set(part.subarray(from, from + rows), (n * K + kBegin) * PQ);
    for (let i = from; i < from + rows; i++) maxRefAbs = Math.max(maxRefAbs, Math.abs(part[i]));
  }
  return { maxRefAbs };
};

export const convCompare: TaskHandler<'convCompare'> = async (args) => {
  const { begin, end } = args;
  const reference = new Float64Array(args.reference);
  if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > reference.length || begin > end) {
    throw new Error(`convCompare: range [${begin}, ${end}) is outside the ${reference.length}-value reference`);
  }
  const actual = new Float32Array(args.memory.buffer, args.outputPtr + begin * 4, end - begin);
  const floor = Math.max(args.relativeFloor, Number.MIN_VALUE);
  let maxAbsErr = 0;
  let maxRelErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const expected = reference[begin + i];
    const err = Math.abs(actual[i] - expected);
    if (Number.isNaN(err)) return { maxAbsErr: NaN, maxRelErr: NaN };
    if (err > maxAbsErr) maxAbsErr = err;
    const rel = err / Math.max(Math.abs(expected), floor);
    if (rel > maxRelErr) maxRelErr = rel;
  }
  return { maxAbsErr, maxRelErr };
};

/**
 * A request that runs the engine, in this worker: it starts a nested pool of engine workers (of
 * this same entry script) and coordinates them, so the thread that asked, the extension host, only
 * waits: the weight packing, Winograd matrix generation and layout conversions of the plans run
 * here too. `size` workers; the fp64 reference of a benchmark uses all cores.
 */
async function withNestedBackend<T>(
  size: number,
  variant: BenchRequest['variant'],
  signal: AbortSignal,
  work: (backend: ConvBackend) => Promise<T>,
): Promise<T> {
  const boot = workerData as WorkerBootData;
  const pool = new (poolModule().WorkerPool)(boot.script, { size });
  // A cancel ends the request at once: an engine worker still loading its modules, or inside a plan
  // part, only sees it when it yields, so rather than wait for each the nested pool is torn down.
  let onAbort: () => void = () => undefined;
  const cancelled = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError('engine request'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  const working = work(new (backendModule().PoolConvBackend)(pool, { variant: variant ?? 'auto' }));
  working.catch(() => undefined);
  try {
    return await Promise.race([working, cancelled]);
  } finally {
    signal.removeEventListener('abort', onAbort);
    await pool.dispose();
  }
}

const allCores = (): number => os.availableParallelism?.() ?? os.cpus().length;

export const bench: TaskHandler<'bench'> = (args, context) =>
  withNestedBackend(Math.max(args.threads ?? 1, allCores()), args.variant, context.signal, (backend) =>
    benchModule().runBench(args, { backend, onProgress: context.progress, signal: context.signal }),
  );

/**
 * The model report, timed on the engine unless the request says `time: false` (then only the layers
 * and their sparsity are read, and no engine workers start). As for a benchmark, every core computes
 * the fp64 references the errors are measured against.
 */
export const model: TaskHandler<'model'> = (args, context) => {
  const hooks = { onProgress: context.progress, signal: context.signal };
  if (args.time === false) return modelModule().runModel(args, hooks);
  return withNestedBackend(Math.max(args.threads ?? 1, allCores()), 'auto', context.signal, (backend) => modelModule().runModel(args, { ...hooks, backend }));
};

export const conv: TaskHandler<'conv'> = (args, context) =>
  withNestedBackend(args.threads ?? 1, 'auto', context.signal, (backend) => convModule().runConv(args, { backend, onProgress: context.progress, signal: context.signal }));
