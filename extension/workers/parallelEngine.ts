/**
 * Multi-threaded execution of engine plans over the worker pool.
 *
 * One engine (module + SHARED memory) is owned by this thread: it allocates the tensors, packs the
 * weights and builds plans (engine.ts). Every pool worker instantiates the same module over the same
 * memory once (cached per engine key) and runs a contiguous range of a phase's work units: blocks of
 * output channels / pixel rows, never single tiles, because one dispatch costs a postMessage round
 * trip (~60 us) and a tile is a few microseconds of work.
 */
import type { ConvAlgorithm, ConvLayout, ConvShape } from '../shared/payloads';
import type { EngineHandle } from './protocol';
import type { WorkerPool } from './pool';
import { Engine, type ConvPlan, type EngineVariant } from '../engine/engine';

let engineCounter = 0;

/**
 * Work units a multi-threaded plan is cut into, per thread: enough that claiming them dynamically
 * evens out partial edge blocks and uneven progress of the threads, few enough that each unit
 * stays a large block (a thread claims about this many per phase).
 */
export const UNITS_PER_THREAD = 4;

/** Splits [0, units) into `parts` contiguous ranges whose sizes differ by at most one. */
export function splitUnits(units: number, parts: number): [number, number][] {
  if (!Number.isInteger(units) || units < 0) throw new Error(`splitUnits: bad unit count ${units}`);
  if (!Number.isInteger(parts) || parts < 1) throw new Error(`splitUnits: bad part count ${parts}`);
  const ranges: [number, number][] = [];
  const base = Math.floor(units / parts);
  const extra = units % parts;
  let begin = 0;
  for (let part = 0; part < parts; part++) {
    const end = begin + base + (part < extra ? 1 : 0);
    ranges.push([begin, end]);
    begin = end;
  }
  return ranges;
}

/**
 * Each worker beyond the first must save at least this much of a layer's estimated one-thread time,
 * or the layer runs on fewer: a dispatch to several workers costs their wake-up and round trips
 * (~0.1 ms on an idle machine, more on a busy one), which a small layer's split does not win back.
 */
export const MIN_SAVED_MS_PER_WORKER = 0.3;

/** The rate a layer's one-thread time is estimated at from its real flops: about the micro-kernel's peak, so small layers err towards fewer workers. */
export const ESTIMATE_GFLOPS = 45;

/**
 * Workers worth using for work estimated at `oneThreadMs` on one: the most, up to `threads` and
 * `units`, such that the last one added still saves `minSavedMs` (oneThreadMs/(t-1) - oneThreadMs/t).
 */
export function workersWorthUsing(oneThreadMs: number, threads: number, units: number, minSavedMs = MIN_SAVED_MS_PER_WORKER): number {
  let workers = 1;
  while (workers < Math.min(threads, units) && oneThreadMs / workers - oneThreadMs / (workers + 1) >= minSavedMs) workers++;
  return workers;
}

export interface ParallelEngineOptions {
  variant?: EngineVariant | 'auto';
  wasmDir?: string;
  /** See MIN_SAVED_MS_PER_WORKER; 0 always uses every thread asked for. */
  minSavedMsPerWorker?: number;
}

export interface ParallelRunOptions {
  signal?: AbortSignal;
}

export class ParallelEngine {
  /** The owning engine: allocate, plan, set weights and inputs, read outputs through it. */
  readonly engine: Engine;
  readonly handle: EngineHandle;

  /** Workers each multi-threaded plan runs on (fewer than asked for small layers). */
  private readonly planWorkers = new WeakMap<ConvPlan, number>();
  private readonly minSavedMs: number;

  constructor(
    readonly pool: WorkerPool,
    options: ParallelEngineOptions = {},
  ) {
    this.minSavedMs = options.minSavedMsPerWorker ?? MIN_SAVED_MS_PER_WORKER;
    this.engine = Engine.create({ variant: options.variant ?? 'auto', wasmDir: options.wasmDir });
    this.handle = {
      key: `engine-${process.pid}-${Date.now().toString(36)}-${++engineCounter}`,
      module: this.engine.module,
      memory: this.engine.memory,
      variant: this.engine.variant,
    };
  }

  /** Most threads a run can use: one per pool worker. */
  get maxThreads(): number {
    return this.pool.size;
  }

  /**
   * A plan for up to `threads` workers: as many as its estimated one-thread time makes worth it
   * (workersWorthUsing), its work units shaped for them (UNITS_PER_THREAD units each and more); a
   * layer too small to split is planned and run exactly as on one thread.
   */
  plan(shape: ConvShape, algo: ConvAlgorithm, layout: ConvLayout, threads: number, bias = false): ConvPlan {
    const workers = this.workersPlanned(shape, algo, layout, threads);
    const plan = this.engine.plan(shape, algo, layout, { threads: workers === 1 ? 1 : workers * UNITS_PER_THREAD, bias });
    this.planWorkers.set(plan, Math.min(workers, plan.descriptor.phases.reduce((most, phase) => Math.max(most, phase.units), 1)));
    return plan;
  }

  /** What `plan(...).workspaceBytes(workers)` would be (at most: a run may use fewer workers), allocating nothing. */
  workspaceBytes(shape: ConvShape, algo: ConvAlgorithm, layout: ConvLayout, threads: number): number {
    const workers = this.workersPlanned(shape, algo, layout, threads);
    return this.engine.workspaceBytes(shape, algo, layout, workers === 1 ? 1 : workers * UNITS_PER_THREAD, workers);
  }

  private workersPlanned(shape: ConvShape, algo: ConvAlgorithm, layout: ConvLayout, threads: number): number {
    this.checkThreads(threads);
    if (threads === 1 || this.minSavedMs <= 0) return threads;
    const oneThreadMs = this.engine.realFlops(shape, algo, layout) / (ESTIMATE_GFLOPS * 1e6);
    return workersWorthUsing(oneThreadMs, threads, Infinity, this.minSavedMs);
  }

  /** Workers a run of `plan` asked for `threads` uses: at most what its planning found worth it. */
  workersFor(plan: ConvPlan, threads: number): number {
    return Math.min(threads, this.planWorkers.get(plan) ?? threads);
  }

  /**
   * Runs every phase of `plan` on `threads` workers (kernel only: the layout conversions are the
   * caller's). Resolves with the time in ms: for one thread the worker's own measurement of the
   * kernel, for several the wall time seen here, dispatch included (the honest figure for a
   * parallel layer; it costs the multi-threaded numbers ~0.1 ms per run).
   */
  async run(plan: ConvPlan, threads: number, options: ParallelRunOptions = {}): Promise<number> {
    this.checkThreads(threads);
    if (plan.engine !== this.engine) throw new Error('ParallelEngine.run: the plan belongs to another engine');
    const descriptor = plan.descriptor;
    const workers = this.workersFor(plan, threads);
    const scratch = plan.allocateScratch(workers);
    const runOptions = { signal: options.signal };
    if (workers === 1) {
      const steps = descriptor.phases.map((phase, index) => ({ phase: index, begin: 0, end: phase.units }));
      const { ms } = await this.pool.run('enginePart', { engine: this.handle, descriptor, steps, scratchPtr: scratch[0] }, runOptions);
      return ms;
    }
    // Every worker gets the whole phase and claims units from a shared counter (dynamic
    // scheduling); the phases are separated by the round trip, which is their barrier.
    const claim = { counters: new SharedArrayBuffer(4 * descriptor.phases.length) };
    const start = performance.now();
    for (let phase = 0; phase < descriptor.phases.length; phase++) {
      const steps = [{ phase, begin: 0, end: descriptor.phases[phase].units }];
      const parts = await Promise.all(
        scratch
          .slice(0, Math.min(workers, descriptor.phases[phase].units))
          .map((scratchPtr) => this.pool.run('enginePart', { engine: this.handle, descriptor, steps, scratchPtr, claim }, runOptions)),
      );
      this.lastUnitsPerWorker = parts.map((part) => part.units);
    }
    return performance.now() - start;
  }

  /** Units each worker claimed in the last phase of the last multi-threaded run (diagnostics, tests). */
  lastUnitsPerWorker: number[] = [];

  /** One-shot NCHW convolution on `threads` workers; the plan is released afterwards. */
  async convolve(
    algo: ConvAlgorithm,
    layout: ConvLayout,
    shape: ConvShape,
    input: Float32Array,
    weights: Float32Array,
    bias: Float32Array | undefined,
    threads: number,
    options: ParallelRunOptions = {},
  ): Promise<Float32Array> {
    const plan = this.plan(shape, algo, layout, threads, bias !== undefined);
    try {
      plan.setWeights(weights, bias);
      plan.setInput(input);
      await this.run(plan, threads, options);
      return plan.readOutput();
    } finally {
      plan.release();
    }
  }

  private checkThreads(threads: number): void {
    if (!Number.isInteger(threads) || threads < 1 || threads > this.pool.size) {
      throw new Error(`threads must be an integer in 1..${this.pool.size} (the worker pool's size), got ${threads}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Worker side
// ---------------------------------------------------------------------------------------------

/** Engines instantiated in this worker, by handle key. Only the newest few are kept, so an old
 * engine's memory can be collected. */
const workerEngines = new Map<string, Engine>();
const WORKER_ENGINE_CACHE = 2;

export function workerEngine(handle: EngineHandle): Engine {
  let engine = workerEngines.get(handle.key);
  if (!engine) {
    engine = Engine.instantiate(handle.module, handle.memory, handle.variant);
    workerEngines.set(handle.key, engine);
    while (workerEngines.size > WORKER_ENGINE_CACHE) {
      const oldest = workerEngines.keys().next().value as string;
      workerEngines.delete(oldest);
    }
  }
  return engine;
}
