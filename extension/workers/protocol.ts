/**
 * Messages between the host and the worker threads: the task kinds the pool runs, each with its
 * arguments and result, and the envelopes that carry them. Only the pool, the workers and the
 * engine runner import this module.
 */
import type { RequestKinds } from '../core/requests/index';
import type { SparsityPartRequest } from '../core/requests/sparsityPart';
import type { ScanUnitResult } from '../core/sparsity/scan';
import type { ConvPlanDescriptor } from '../engine/engine';
import type { ConvShape } from '../shared/payloads';

/**
 * Tasks the general worker pool runs; each maps its arguments to its result type. Every request
 * kind of core/requests is a task kind (its handler is the request function); the others are the
 * engine's own parts of a run.
 */
export interface WorkerTasks extends RequestKinds {
  /**
   * Test-only: lets tests exercise traps and crashes of a worker. 'spin' never yields (only a hard
   * terminate stops it); 'progress' busy-works `steps` steps of `stepMs` ms, reporting progress and
   * stopping cooperatively when cancelled.
   */
  selfTest: {
    args: { mode: 'ok' | 'throw' | 'exit' | 'wasmTrap' | 'spin' | 'progress'; steps?: number; stepMs?: number };
    result: string;
  };
  /** A worker's share of a sparsity scan spread over threads (see TensorPartScanner): the units it claimed and their results. */
  sparsityPart: { args: SparsityPartRequest; result: ScanUnitResult[] };
  /** Engine: runs steps (phase, unit range) of a plan over the shared engine memory; `units` = units it ran. */
  enginePart: { args: EnginePartRequest; result: { ms: number; units: number } };
  /** fp64 reference of output channels [kBegin, kEnd) into a shared Float64Array. */
  convReference: { args: ConvReferenceRequest; result: { maxRefAbs: number } };
  /** Error of an engine output range against the shared fp64 reference. */
  convCompare: { args: ConvCompareRequest; result: { maxAbsErr: number; maxRelErr: number } };
}
export type WorkerTaskKind = keyof WorkerTasks;

/** A compiled engine and its shared memory; workers instantiate it once per `key` and reuse it. */
export interface EngineHandle {
  key: string;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  variant: 'simd' | 'relaxed';
}

export interface EnginePartRequest {
  engine: EngineHandle;
  descriptor: ConvPlanDescriptor;
  /**
   * Run in order on this worker. Without `claim` the unit ranges of concurrent requests are
   * disjoint; with it every worker gets the whole range and claims units from a shared counter.
   */
  steps: { phase: number; begin: number; end: number }[];
  /** Dynamic scheduling: Int32 counters, one per phase, starting at 0; a worker claims units by Atomics.add. */
  claim?: { counters: SharedArrayBuffer };
  /** This worker's private scratch area (descriptor.scratchBytes). */
  scratchPtr: number;
}

export interface ConvReferenceRequest {
  shape: ConvShape;
  /** Float32 NCHW input, OIHW weights, optional bias [K]. */
  input: SharedArrayBuffer;
  weight: SharedArrayBuffer;
  bias?: SharedArrayBuffer;
  /** Float64 [N,K,P,Q], written for k in [kBegin, kEnd). */
  reference: SharedArrayBuffer;
  kBegin: number;
  kEnd: number;
}

export interface ConvCompareRequest {
  memory: WebAssembly.Memory;
  /** Byte address of the float32 NCHW output in `memory`. */
  outputPtr: number;
  reference: SharedArrayBuffer;
  /** Element range [begin, end) of the output to compare. */
  begin: number;
  end: number;
  /** Denominator floor of the relative error (1e-3 * max |reference|, as compareToReference). */
  relativeFloor: number;
}

export type HostToWorkerMessage =
  | { type: 'run'; id: number; task: WorkerTaskKind; args: unknown }
  | { type: 'cancel'; id: number };

export type WorkerToHostMessage =
  /** Sent once when the worker's entry module has loaded. */
  | { type: 'ready' }
  | { type: 'progress'; id: number; fraction: number; message?: string }
  | { type: 'result'; id: number; value: unknown }
  /**
   * `retire`: a WebAssembly module in this worker trapped (an engine kernel, HDF5 aborting), so its
   * state may be inconsistent: the pool replaces the worker before it runs another task.
   */
  | { type: 'error'; id: number; message: string; cancelled?: boolean; trap?: boolean; retire?: boolean; errorName?: string };

// Inside a worker: the function that runs one task kind.

export interface TaskContext {
  /** Reports progress in 0..1; also picks up a cancellation requested by the host (see worker.ts). */
  progress(fraction: number, message?: string): void;
  /** Aborted when the host cancels the task; long handlers check it between chunks of work. */
  signal: AbortSignal;
}

export type TaskHandler<K extends WorkerTaskKind> = (
  args: WorkerTasks[K]['args'],
  context: TaskContext,
) => Promise<WorkerTasks[K]['result']>;

export type TaskHandlerRegistry = { [K in WorkerTaskKind]: TaskHandler<K> };
