/**
 * The convolution backend of core/ (core/conv/backend.ts) over the parallel engine and the worker
 * pool: plans and kernels run on the pool's engine workers, the fp64 reference and the comparison
 * against it are split across every worker of the pool.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AppliesVerdict, ConvBackend, ConvPlanHandle } from '../core/conv/backend';
import { convOutputSize } from '../core/conv/reference';
import { applies, supportedLayouts, type ConvPlan, type EngineVariant } from '../engine/engine';
import { engineWasmPath } from '../engine/loading';
import type { ConvAlgorithm, ConvLayout, ConvShape } from '../shared/payloads';
import { ParallelEngine, splitUnits } from './parallelEngine';
import type { WorkerPool } from './pool';

export class PoolConvBackend implements ConvBackend {
  readonly parallel: ParallelEngine;

  constructor(
    readonly pool: WorkerPool,
    options: { variant?: EngineVariant | 'auto' } = {},
  ) {
    this.parallel = new ParallelEngine(pool, { variant: options.variant ?? 'auto' });
  }

  get variant(): EngineVariant {
    return this.parallel.engine.variant;
  }

  private buildDigest: string | undefined;

  /** The first 16 hex digits of the SHA-256 of the running engine's WebAssembly, and its variant. */
  get build(): string {
    this.buildDigest ??= `${this.variant}-${createHash('sha256').update(readFileSync(engineWasmPath(this.variant))).digest('hex').slice(0, 16)}`;
    return this.buildDigest;
  }

  get maxThreads(): number {
    return this.pool.size;
  }

  applies(algo: ConvAlgorithm, shape: ConvShape, layout: ConvLayout): AppliesVerdict {
    return applies(algo, shape, layout);
  }

  supportedLayouts(algo: ConvAlgorithm): readonly ConvLayout[] {
    return supportedLayouts(algo);
  }

  plan(shape: ConvShape, algo: ConvAlgorithm, layout: ConvLayout, threads: number, bias = false): ConvPlanHandle {
    return this.parallel.plan(shape, algo, layout, threads, bias);
  }

  workspaceBytes(shape: ConvShape, algo: ConvAlgorithm, layout: ConvLayout, threads: number): number {
    return this.parallel.workspaceBytes(shape, algo, layout, threads);
  }

  workersFor(plan: ConvPlanHandle, threads: number): number {
    return this.parallel.workersFor(plan as ConvPlan, threads);
  }

  run(plan: ConvPlanHandle, threads: number, options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.parallel.run(plan as ConvPlan, threads, options);
  }

  /** Split by output channels, several chunks per worker so progress moves and a cancel is seen between chunks. */
  async reference(
    shape: ConvShape,
    input: Float32Array,
    weight: Float32Array,
    options: { signal?: AbortSignal; onChunk?(fractionDone: number): void } = {},
  ): Promise<{ reference: Float64Array; maxRefAbs: number }> {
    const { P, Q } = convOutputSize(shape);
    const referenceBuffer = new SharedArrayBuffer(shape.N * shape.K * P * Q * 8);
    const chunks = splitUnits(shape.K, Math.min(shape.K, this.pool.size * 4)).filter(([begin, end]) => end > begin);
    let done = 0;
    const parts = await Promise.all(
      chunks.map(async ([kBegin, kEnd]) => {
        const part = await this.pool.run(
          'convReference',
          { shape, input: shared(input), weight: shared(weight), reference: referenceBuffer, kBegin, kEnd },
          { signal: options.signal },
        );
        options.onChunk?.(++done / chunks.length);
        return part;
      }),
    );
    return { reference: new Float64Array(referenceBuffer), maxRefAbs: Math.max(0, ...parts.map((part) => part.maxRefAbs)) };
  }

  async compare(
    plan: ConvPlanHandle,
    reference: Float64Array,
    relativeFloor: number,
    threads: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ maxAbsErr: number; maxRelErr: number }> {
    const ranges = splitUnits(reference.length, threads).filter(([begin, end]) => end > begin);
    const parts = await Promise.all(
      ranges.map(([begin, end]) =>
        this.pool.run(
          'convCompare',
          {
            memory: this.parallel.engine.memory,
            outputPtr: (plan as ConvPlan).nchwOutputPtr,
            reference: shared(reference),
            begin,
            end,
            relativeFloor,
          },
          { signal: options.signal },
        ),
      ),
    );
    if (parts.some((part) => Number.isNaN(part.maxAbsErr))) return { maxAbsErr: NaN, maxRelErr: NaN };
    return {
      maxAbsErr: Math.max(...parts.map((part) => part.maxAbsErr)),
      maxRelErr: Math.max(...parts.map((part) => part.maxRelErr)),
    };
  }
}

function shared(array: Float32Array | Float64Array): SharedArrayBuffer {
  if (!(array.buffer instanceof SharedArrayBuffer)) throw new Error('convolution backend: tensors must live in shared memory (sharedFloats)');
  return array.buffer;
}
