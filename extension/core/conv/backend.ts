/**
 * What the request functions need of a convolution engine, so that core/ runs benchmarks and
 * convolutions without importing the engine or the worker pool: the workers layer implements it
 * over the parallel engine and the pool (workers/convBackend.ts), tests may implement it otherwise.
 */
import { CONV_LAYOUTS, type ConvAlgorithm, type ConvLayout, type ConvShape } from '../../shared/payloads';

export type AppliesVerdict = { ok: true } | { ok: false; reason: string };

/** One convolution laid out in the engine: set weights and input, run, read the NCHW output. */
export interface ConvPlanHandle {
  /** Flops the algorithm really performs (transforms, padding, Strassen additions included). */
  readonly realFlops: number;
  /** Packs or transforms OIHW weights (and copies the bias): once per plan. */
  setWeights(weights: Float32Array, bias?: Float32Array): void;
  /** Writes the NCHW input without converting it to the plan's layout (see convertInput). */
  writeInput(input: Float32Array): void;
  /** Converts the written NCHW input to the plan's layout (timed apart by the benchmark). */
  convertInput(): void;
  /** Converts the output from the plan's layout back to NCHW. */
  convertOutput(): void;
  /** writeInput then convertInput. */
  setInput(input: Float32Array): void;
  /** Converts back to NCHW and copies the output out. */
  readOutput(): Float32Array;
  /** Engine memory the algorithm needs beyond the NCHW tensors, for `threads` concurrent workers. */
  workspaceBytes(threads: number): number;
  release(): void;
}

export interface ConvBackend {
  /** The engine build that runs: SIMD128, or relaxed SIMD where the runtime validates it. */
  readonly variant: 'simd' | 'relaxed';
  /** What identifies the engine build (a digest of its WebAssembly), so cached timings of another build are not reused. */
  readonly build?: string;
  /** Most threads one run may use. */
  readonly maxThreads: number;
  /** Whether `algo` computes `shape` in `layout`, and if not, why. */
  applies(algo: ConvAlgorithm, shape: ConvShape, layout: ConvLayout): AppliesVerdict;
  /** The layouts `algo` has kernels for (empty when this build lacks it). */
  supportedLayouts(algo: ConvAlgorithm): readonly ConvLayout[];
  plan(shape: ConvShape, algo: ConvAlgorithm, layout: ConvLayout, threads: number, bias?: boolean): ConvPlanHandle;
  /** What `plan(...).workspaceBytes(threads)` would say, known without planning (nothing allocated). */
  workspaceBytes?(shape: ConvShape, algo: ConvAlgorithm, layout: ConvLayout, threads: number): number;
  /** Workers a run of the plan asked for `threads` really uses (fewer when the layer is too small to split). */
  workersFor?(plan: ConvPlanHandle, threads: number): number;
  /** Runs the plan's kernel on `threads` workers; resolves with the time in ms. */
  run(plan: ConvPlanHandle, threads: number, options?: { signal?: AbortSignal }): Promise<number>;
  /**
   * The fp64 reference [N,K,P,Q] of float32 NCHW input and OIHW weights (both in shared memory),
   * computed in parallel; `onChunk` gets the share done.
   */
  reference(
    shape: ConvShape,
    input: Float32Array,
    weight: Float32Array,
    options?: { signal?: AbortSignal; onChunk?(fractionDone: number): void },
  ): Promise<{ reference: Float64Array; maxRefAbs: number }>;
  /**
   * Error of the plan's NCHW output (after its last run) against a reference from `reference()`;
   * the relative error's denominator never drops below `relativeFloor`.
   */
  compare(
    plan: ConvPlanHandle,
    reference: Float64Array,
    relativeFloor: number,
    threads: number,
    options?: { signal?: AbortSignal },
  ): Promise<{ maxAbsErr: number; maxRelErr: number }>;
}

/**
 * The layout an algorithm runs in: the requested one, or without a request nchw where the
 * algorithm supports it and otherwise its own first layout (blocked-layout kernels then run in
 * their layout, with the conversion from and to NCHW done around the kernel).
 */
export function layoutChooser(
  request: { layout?: ConvLayout },
  supportedLayouts: (algo: ConvAlgorithm) => readonly ConvLayout[],
): (algo: ConvAlgorithm) => ConvLayout {
  const requested = request.layout;
  if (requested !== undefined) {
    if (!(CONV_LAYOUTS as readonly string[]).includes(requested)) {
      throw new Error(`unknown layout '${requested}'; the layouts are ${CONV_LAYOUTS.join(', ')}`);
    }
    return () => requested;
  }
  return (algo) => {
    const supported = supportedLayouts(algo);
    return supported.includes('nchw') || supported.length === 0 ? 'nchw' : supported[0];
  };
}
