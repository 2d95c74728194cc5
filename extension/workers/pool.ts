/**
 * A pool of worker_threads, created once and reused, that runs the typed tasks of
 * `WorkerTasks` (workers/protocol.ts). The extension host and the CLI never compute:
 * everything heavy is a task here.
 *
 * Failure model, each mapped to a rejected promise with a clear message:
 * - the handler throws: the worker's message (`reason: 'failed'`);
 * - a WebAssembly trap: named as such (`reason: 'trap'`);
 * - the worker dies (process.exit, uncaught error, out of memory): its in-flight task is rejected
 *   (`reason: 'crashed'`) and a fresh worker takes its slot;
 * - cancellation via AbortSignal: the worker is asked to stop (a message plus a shared flag that
 *   `ctx.progress` polls synchronously); a worker that has not stopped within the grace period
 *   (a tight loop) is terminated and replaced (`reason: 'cancelled'`);
 * - a stall: with `stallTimeout`, a task whose worker sends neither progress nor its answer for that
 *   long (a library looping inside WebAssembly, where no signal is ever looked at) is ended, its
 *   worker terminated and replaced (`reason: 'timeout'`);
 * - a worker whose WebAssembly trapped (an abort or a fault of a library such as HDF5) answers, and
 *   is then replaced: the trapped module's state may be inconsistent, and a later task must not
 *   inherit it.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostToWorkerMessage, WorkerTaskKind, WorkerTasks, WorkerToHostMessage } from './protocol';

export type WorkerTaskFailure = 'failed' | 'trap' | 'crashed' | 'cancelled' | 'timeout' | 'disposed';

/** Why a task did not produce its result. `reason` lets callers tell cancellation from failure. */
export class WorkerTaskError extends Error {
  constructor(
    message: string,
    readonly task: WorkerTaskKind,
    readonly reason: WorkerTaskFailure,
    /** The name of the error the handler threw (reason 'failed'), e.g. 'WeightFileError'. */
    readonly errorName?: string,
  ) {
    super(message);
    this.name = reason === 'cancelled' ? 'AbortError' : 'WorkerTaskError';
  }
}

export interface RunOptions {
  onProgress?(fraction: number, message?: string): void;
  signal?: AbortSignal;
  /**
   * Ends the task when its worker sends no progress and no answer for `ms` milliseconds: the worker
   * is terminated and replaced, and the task rejects with `message` (reason 'timeout').
   */
  stallTimeout?: { ms: number; message: string };
}

export interface WorkerPoolOptions {
  /** Number of workers, 1..n; default: the number of cores. */
  size?: number;
  /** How long a cancelled task may take to stop before its worker is terminated (default 1000 ms). */
  cancelGraceMs?: number;
  /** Extra Node flags for the workers. */
  execArgv?: string[];
  /** Per-worker heap limit, so a runaway task dies alone instead of taking the host down. */
  maxOldGenerationSizeMb?: number;
}

/** Data every worker receives at start (see worker.ts). */
export interface WorkerBootData {
  slot: number;
  /** The entry script of this pool, so a worker can start a nested pool of its own kind. */
  script: string;
  /** Int32Array view: [0] = id of the task the host wants cancelled (0: none). */
  cancelFlag: SharedArrayBuffer;
}

interface PendingTask {
  id: number;
  task: WorkerTaskKind;
  args: unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
  options: RunOptions;
  removeAbortListener?: () => void;
  cancelTimer?: NodeJS.Timeout;
  cancelRequested: boolean;
  stallTimer?: NodeJS.Timeout;
  /** Set when the stall watchdog ended the task. */
  stalled: boolean;
}

interface Slot {
  index: number;
  worker: Worker;
  cancelFlag: Int32Array;
  current?: PendingTask;
  /** The uncaught error reported by the 'error' event, used to explain the following 'exit'. */
  lastError?: Error;
  /** Set when the worker's entry module has loaded (its 'ready' message). */
  ready: boolean;
  /** Set when the pool itself terminates this worker (cancel after grace, dispose). */
  terminating: boolean;
}

const DEFAULT_CANCEL_GRACE_MS = 1000;

export class WorkerPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: PendingTask[] = [];
  private nextId = 1;
  private disposed = false;
  /** Why the workers cannot start, once one failed before its entry module loaded. */
  private startupError: string | undefined;
  private readonly cancelGraceMs: number;
  private readonly execArgv: string[];
  private readonly resourceLimits?: { maxOldGenerationSizeMb: number };
  /** Workers started so far, replacements included (tests check replacement with it). */
  private started = 0;

  constructor(
    private readonly workerScript: string,
    options: WorkerPoolOptions = {},
  ) {
    const size = options.size ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
    if (!Number.isInteger(size) || size < 1 || size > 256) {
      throw new RangeError(`WorkerPool: size must be an integer in 1..256, got ${size}`);
    }
    this.size = size;
    this.cancelGraceMs = options.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS;
    this.execArgv = options.execArgv ?? [];
    if (options.maxOldGenerationSizeMb !== undefined) {
      this.resourceLimits = { maxOldGenerationSizeMb: options.maxOldGenerationSizeMb };
    }
    for (let index = 0; index < size; index++) this.slots.push(this.startWorker(index));
  }

  /** How many workers were ever started (size + replacements after crashes and hard cancels). */
  get workersStarted(): number {
    return this.started;
  }

  /** Tasks waiting for a free worker. */
  get queued(): number {
    return this.queue.length;
  }

  run<K extends WorkerTaskKind>(
    task: K,
    args: WorkerTasks[K]['args'],
    options: RunOptions = {},
  ): Promise<WorkerTasks[K]['result']> {
    if (this.startupError) return Promise.reject(new WorkerTaskError(this.startupError, task, 'crashed'));
    if (this.disposed) {
      return Promise.reject(new WorkerTaskError(`Worker pool is disposed; cannot run '${task}'`, task, 'disposed'));
    }
    if (options.signal?.aborted) {
      return Promise.reject(new WorkerTaskError(`Task '${task}' was cancelled before it started`, task, 'cancelled'));
    }
    return new Promise<WorkerTasks[K]['result']>((resolve, reject) => {
      const pending: PendingTask = {
        id: this.nextId++,
        task,
        args,
        resolve: resolve as (value: unknown) => void,
        reject,
        options,
        cancelRequested: false,
        stalled: false,
      };
      if (options.signal) {
        const signal = options.signal;
        const onAbort = (): void => this.cancel(pending);
        signal.addEventListener('abort', onAbort, { once: true });
        pending.removeAbortListener = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(pending);
      this.dispatch();
    });
  }

  /** Terminates every worker; in-flight and queued tasks are rejected. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const pending of this.queue.splice(0)) {
      this.settle(pending, new WorkerTaskError(`Worker pool disposed before '${pending.task}' started`, pending.task, 'disposed'));
    }
    await Promise.all(
      this.slots.map(async (slot) => {
        slot.terminating = true;
        const current = slot.current;
        slot.current = undefined;
        if (current) {
          this.settle(current, new WorkerTaskError(`Worker pool disposed while '${current.task}' was running`, current.task, 'disposed'));
        }
        await slot.worker.terminate();
      }),
    );
  }

  private startWorker(index: number): Slot {
    const cancelFlag = new SharedArrayBuffer(4);
    const bootData: WorkerBootData = { slot: index, script: this.workerScript, cancelFlag };
    const entry = workerEntry(this.workerScript);
    const worker = new Worker(entry.code, {
      eval: entry.isEval,
      execArgv: this.execArgv,
      workerData: bootData,
      resourceLimits: this.resourceLimits,
    });
    this.started++;
    const slot: Slot = { index, worker, cancelFlag: new Int32Array(cancelFlag), terminating: false, ready: false };
    worker.on('message', (message: WorkerToHostMessage) => this.onMessage(slot, message));
    worker.on('error', (error: Error) => {
      slot.lastError = error;
    });
    worker.on('exit', (code: number) => this.onExit(slot, code));
    // An idle worker must not keep the CLI process alive.
    worker.unref();
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.current || slot.terminating) continue;
      const pending = this.queue.shift()!;
      slot.current = pending;
      Atomics.store(slot.cancelFlag, 0, 0);
      slot.worker.ref();
      this.armStallWatchdog(slot, pending);
      const message: HostToWorkerMessage = { type: 'run', id: pending.id, task: pending.task, args: pending.args };
      try {
        slot.worker.postMessage(message);
      } catch (error) {
        // Arguments that cannot be cloned (functions, class instances with private state).
        slot.current = undefined;
        slot.worker.unref();
        this.settle(pending, new WorkerTaskError(`Cannot send the arguments of '${pending.task}' to a worker: ${errorText(error)}`, pending.task, 'failed'));
      }
    }
  }

  private onMessage(slot: Slot, message: WorkerToHostMessage): void {
    if (message.type === 'ready') {
      slot.ready = true;
      return;
    }
    const pending = slot.current;
    if (!pending || pending.id !== message.id) return; // a late message of a task already settled
    if (message.type === 'progress') {
      this.armStallWatchdog(slot, pending);
      if (!pending.cancelRequested) pending.options.onProgress?.(message.fraction, message.message);
      return;
    }
    this.release(slot);
    if (message.type === 'result') {
      this.settle(pending, undefined, message.value);
    } else if (message.cancelled || pending.cancelRequested) {
      this.settle(pending, new WorkerTaskError(`Task '${pending.task}' was cancelled`, pending.task, 'cancelled'));
    } else {
      const reason: WorkerTaskFailure = message.trap ? 'trap' : 'failed';
      this.settle(pending, new WorkerTaskError(message.message, pending.task, reason, message.errorName));
    }
    if (message.type === 'error' && message.retire) {
      // Replaced on exit (onExit), before it takes another task.
      slot.terminating = true;
      void slot.worker.terminate();
      return;
    }
    this.dispatch();
  }

  private onExit(slot: Slot, code: number): void {
    const pending = slot.current;
    slot.current = undefined;
    if (this.disposed) return;
    if (!slot.ready && !slot.terminating) {
      // The entry itself failed (missing bundle, syntax error): replacing the worker would only
      // fail again, in a loop. Fail everything with the cause instead.
      const cause = slot.lastError ? slot.lastError.message : `exit code ${code}`;
      this.startupError = `worker entry ${this.workerScript} failed to start: ${cause}`;
      const inFlight = this.slots.map((other) => other.current).filter((task): task is PendingTask => task !== undefined);
      for (const other of this.slots) other.current = undefined;
      const failed = [...(pending ? [pending] : []), ...inFlight, ...this.queue.splice(0)];
      for (const task of failed) this.settle(task, new WorkerTaskError(this.startupError, task.task, 'crashed'));
      void this.dispose();
      return;
    }
    if (pending) {
      if (pending.stalled) {
        this.settle(pending, new WorkerTaskError(pending.options.stallTimeout!.message, pending.task, 'timeout'));
      } else if (pending.cancelRequested) {
        this.settle(pending, new WorkerTaskError(`Task '${pending.task}' was cancelled (its worker did not stop within ${this.cancelGraceMs} ms and was terminated)`, pending.task, 'cancelled'));
      } else {
        const cause = slot.lastError ? `: ${slot.lastError.message}` : '';
        this.settle(pending, new WorkerTaskError(`Worker ${slot.index} exited with code ${code} while running '${pending.task}'${cause}`, pending.task, 'crashed'));
      }
    }
    this.slots[slot.index] = this.startWorker(slot.index);
    this.dispatch();
  }

  private cancel(pending: PendingTask): void {
    const queuedAt = this.queue.indexOf(pending);
    if (queuedAt >= 0) {
      this.queue.splice(queuedAt, 1);
      this.settle(pending, new WorkerTaskError(`Task '${pending.task}' was cancelled before it started`, pending.task, 'cancelled'));
      return;
    }
    const slot = this.slots.find((candidate) => candidate.current === pending);
    if (!slot || pending.cancelRequested) return;
    pending.cancelRequested = true;
    Atomics.store(slot.cancelFlag, 0, pending.id);
    const message: HostToWorkerMessage = { type: 'cancel', id: pending.id };
    slot.worker.postMessage(message);
    pending.cancelTimer = setTimeout(() => {
      if (slot.current !== pending) return;
      slot.terminating = true;
      void slot.worker.terminate();
    }, this.cancelGraceMs);
  }

  /** (Re)starts the stall watchdog of the task running on `slot`, if it asked for one. */
  private armStallWatchdog(slot: Slot, pending: PendingTask): void {
    const stall = pending.options.stallTimeout;
    if (!stall) return;
    if (pending.stallTimer) clearTimeout(pending.stallTimer);
    pending.stallTimer = setTimeout(() => {
      if (slot.current !== pending) return;
      pending.stalled = true;
      slot.terminating = true;
      void slot.worker.terminate();
    }, stall.ms);
  }

  private release(slot: Slot): void {
    slot.current = undefined;
    slot.worker.unref();
  }

  private settle(pending: PendingTask, error: Error | undefined, value?: unknown): void {
    pending.removeAbortListener?.();
    if (pending.cancelTimer) clearTimeout(pending.cancelTimer);
    if (pending.stallTimer) clearTimeout(pending.stallTimer);
    if (error) pending.reject(error);
    else pending.resolve(value);
  }
}

/**
 * The worker entry next to the running code: dist/worker.js beside a bundled dist/*.js (the CLI,
 * the extension), or extension/workers/worker.ts when running from sources through tsx.
 */
export function defaultWorkerScript(): string {
  const candidates = [
    path.join(__dirname, 'worker.js'),
    path.join(__dirname, 'worker.ts'),
    path.resolve(__dirname, '..', 'workers', 'worker.ts'),
  ];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`worker entry not found (looked for ${candidates.join(', ')}); run 'npm run build'`);
  return found;
}

/**
 * The production entry is the esbuild bundle dist/worker.js. A TypeScript entry (tests, the CLI run
 * through tsx) is loaded by a small CommonJS bootstrap that registers tsx first: `--import tsx` in
 * a worker's execArgv does not reach the worker's own entry module in Node 20.
 */
function workerEntry(script: string): { code: string; isEval: boolean } {
  if (!/\.[cm]?tsx?$/.test(script)) return { code: script, isEval: false };
  const tsxRegister = createRequire(script).resolve('tsx/cjs');
  return { code: `require(${JSON.stringify(tsxRegister)}); require(${JSON.stringify(script)});`, isEval: true };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
