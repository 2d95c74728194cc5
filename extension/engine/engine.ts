/**
 * TypeScript wrapper around one instance of the Deep Accel WebAssembly engine.
 *
 * Memory model. The module imports one SHARED WebAssembly.Memory and keeps no state of its own in it,
 * so any number of instances (one per worker thread) can run over the same memory. All allocation is
 * host-side: the thread that owns the memory allocates tensors with a bump {@link Arena} and builds a
 * {@link ConvPlan}. A plan's {@link ConvPlanDescriptor} is plain data (numbers and strings): post it
 * with the Module and the Memory to workers, build an {@link Engine} there with
 * `Engine.instantiate(module, memory)`, and call {@link Engine.runPart} with a private scratch area.
 *
 * Threading contract, per plan:
 *  1. once, on the owning thread: `plan.setWeights(w, bias)` (packs / transforms the weights) and
 *     `plan.setInput(x)` (writes NCHW, then converts to the plan's layout: `writeInput` +
 *     `convertInput` when the conversion is timed apart);
 *  2. for each phase in `descriptor.phases`, in order: split [0, phase.units) into ranges and call
 *     `engine.runPart(descriptor, phaseIndex, begin, end, scratchPtr)` on any instance; ranges write
 *     disjoint outputs; each concurrent caller needs its own scratch area of
 *     `descriptor.scratchBytes` (from `plan.allocateScratch(threads)`); wait for all before the next phase;
 *  3. `plan.readOutput()` (converts back to NCHW and copies out).
 *
 * Algorithms (all fp32, cross-correlation; callers must loop over `descriptor.phases`: decomposed
 * plans, polyphase.ts, run a split, another algorithm's kernel and an interleave): one planner file
 * each beside this one (im2col.ts, direct.ts, winograd.ts, fft.ts, strassen.ts), each saying what its setup packs, what one unit of work is and
 * what scratch a caller needs; algorithms.ts lists them and says which applies to a shape.
 * `plan.realFlops` counts what the algorithm computes (transforms, padding, Strassen additions);
 * `plan.directFlops` = 2 N K (C/groups) R S P Q, the numerator of effective GFLOP/s; `plan.workspaceBytes(t)`
 * counts packed weights, layout copies, the buffers of decomposed plans and t scratch areas.
 */
import type { ConvAlgorithm, ConvLayout, ConvShape } from '../shared/payloads';
import { convDirectFlops, convGeometry, convOutputSize } from '../core/conv/reference';
import { ALGORITHMS, applies } from './algorithms';
import { ALIGN, RESERVED_LOW_BYTES } from './arena';
import { type EngineCreateOptions, EngineInstance } from './instance';
import { ENGINE_MAX_PAGES, type EngineVariant, WASM_PAGE_BYTES, createEngineMemory, loadEngineModule } from './loading';
import { type ConvPlanDescriptor, PLAN_BLOCK_BYTES, PLAN_SLOT, type PlanPhase } from './planDescriptor';
import { type AlgorithmPlan, type AlgorithmSpec, type PlanOptions, type PlannerEngine, blockOfLayout, roundUp } from './planner';

export { applies, supportedLayouts, type AppliesResult } from './algorithms';
export { Arena } from './arena';
export { directInputBlock } from './direct';
export {
  ENGINE_MAX_PAGES, WASM_PAGE_BYTES, createEngineMemory, detectEngineVariant, engineWasmDir, engineWasmPath,
  loadEngineModule, type EngineVariant,
} from './loading';
export { PLAN_SLOT, type ConvPlanDescriptor, type PlanPhase } from './planDescriptor';
export type { PlanOptions } from './planner';
export { STRASSEN_DEFAULT_CUTOFF } from './strassen';

export type { EngineCreateOptions } from './instance';

/** An engine instance that also plans and runs the convolutions. */
export class Engine extends EngineInstance implements PlannerEngine {
  readonly MR: number;
  readonly NR: number;
  readonly tileTmpBytes: number;

  protected constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, variant: EngineVariant) {
    super(module, memory, variant);
    this.MR = this.constant('MR');
    this.NR = this.constant('NR');
    this.tileTmpBytes = this.constant('TILE_TMP_BYTES');
  }

  /** A new engine; with no memory given, it creates (and owns) a fresh shared memory. */
  static override create(options: EngineCreateOptions = {}): Engine {
    const { module, variant } = loadEngineModule(options.variant ?? 'auto', options.wasmDir);
    return new Engine(module, options.memory ?? createEngineMemory(), variant);
  }

  /** An engine over an already compiled module and memory (what a worker does with what it was posted). */
  static override instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory, variant: EngineVariant): Engine {
    return new Engine(module, memory, variant);
  }

  /**
   * Runs units [begin, end) of phase `phaseIndex` of a plan, with `scratchPtr` private to this caller
   * (at least descriptor.scratchBytes).
   */
  runPart(descriptor: ConvPlanDescriptor, phaseIndex: number, begin: number, end: number, scratchPtr: number): void {
    const phase = descriptor.phases[phaseIndex];
    if (!phase) throw new Error(`engine: plan has no phase ${phaseIndex}`);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > phase.units || begin > end) {
      throw new Error(`engine: unit range [${begin}, ${end}) is outside [0, ${phase.units}) of ${phase.kernel}`);
    }
    const planPtr = phase.planPtr ?? descriptor.planPtr;
    this.checkRange(planPtr, PLAN_BLOCK_BYTES, 'plan block');
    this.checkRange(scratchPtr, descriptor.scratchBytes, 'scratch area');
    if (begin < end) this.call(phase.kernel, planPtr, begin, end, scratchPtr);
  }

  /** The flops `algo` really performs on `shape` on one thread (what plan().realFlops says), planned without allocating. */
  realFlops(shape: ConvShape, algo: ConvAlgorithm, layout: ConvLayout): number {
    const verdict = applies(algo, shape, layout);
    if (!verdict.ok) throw new Error(`engine: ${algo} cannot run ${describeShape(shape)} in ${layout}: ${verdict.reason}`);
    return (ALGORITHMS[algo] as AlgorithmSpec).plan(shape, layout, 1, this, {}).realFlops;
  }

  /**
   * Bytes of engine memory a plan of `algo` on `shape` would take beyond the NCHW input and output
   * (what `plan(shape, algo, layout, { threads }).workspaceBytes(scratchAreas)` says), planned without
   * allocating, so a caller can decline an algorithm before the memory, which never shrinks, grows for it.
   */
  workspaceBytes(shape: ConvShape, algo: ConvAlgorithm, layout: ConvLayout, threads = 1, scratchAreas = threads): number {
    const verdict = applies(algo, shape, layout);
    if (!verdict.ok) throw new Error(`engine: ${algo} cannot run ${describeShape(shape)} in ${layout}: ${verdict.reason}`);
    return workspaceOf(shape, layout, (ALGORITHMS[algo] as AlgorithmSpec).plan(shape, layout, threads, this, {}), scratchAreas);
  }

  /**
   * Allocates and describes a convolution. Throws with the reason when the algorithm does not apply.
   */
  plan(shape: ConvShape, algo: ConvAlgorithm, layout: ConvLayout, options: PlanOptions = {}): ConvPlan {
    const verdict = applies(algo, shape, layout);
    if (!verdict.ok) throw new Error(`engine: ${algo} cannot run ${describeShape(shape)} in ${layout}: ${verdict.reason}`);
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`engine: threads must be a positive integer, got ${threads}`);
    const spec = ALGORITHMS[algo] as AlgorithmSpec;
    return new ConvPlan(this, shape, algo, layout, spec.plan(shape, layout, threads, this, options), options.bias ?? true);
  }
}

function describeShape(s: ConvShape): string {
  const g = convGeometry(s);
  const pads = [g.padTop, g.padLeft, g.padBottom, g.padRight];
  const padText = pads.every((value) => value === pads[0]) ? `p${pads[0]}` : `pads ${pads.join(',')}`;
  const extra = (g.groups === 1 ? '' : ` groups ${g.groups}`) + (g.dilation === 1 ? '' : ` dilation ${g.dilation}`);
  return `N${s.N} C${s.C} ${s.H}x${s.W} K${s.K} ${s.R}x${s.S}/s${s.stride}${padText}${extra}`;
}

/** Fills a plan block: the shape's geometry, output size P x Q, then the given slots. */
function writePlanBlock(
  engine: Engine, ptr: number, shape: ConvShape, P: number, Q: number, extra: Partial<Record<keyof typeof PLAN_SLOT, number>>,
): void {
  const slots = new Int32Array(engine.memory.buffer, ptr, PLAN_BLOCK_BYTES / 4);
  const geometry = convGeometry(shape);
  const values: Partial<Record<keyof typeof PLAN_SLOT, number>> = {
    N: shape.N, C: shape.C, H: shape.H, W: shape.W, K: shape.K, R: shape.R, S: shape.S, stride: shape.stride,
    pad: geometry.padTop, P, Q, groups: geometry.groups, dilation: geometry.dilation, padLeft: geometry.padLeft,
    ...extra,
  };
  for (const [name, value] of Object.entries(values)) slots[PLAN_SLOT[name as keyof typeof PLAN_SLOT]] = value ?? 0;
}

/** Bytes one tensor of the layout takes (blocked layouts pad channels to the block). */
function tensorBytes(n: number, channels: number, hw: number, layout: ConvLayout): number {
  const block = blockOfLayout(layout);
  return n * roundUp(channels, block) * hw * 4;
}

/** Packed weights, layout copies, a decomposed plan's phase buffers and `threads` scratch areas of a plan. */
function workspaceOf(shape: ConvShape, layout: ConvLayout, algoPlan: AlgorithmPlan, threads: number): number {
  const { N, C, H, W, K } = shape;
  const { P, Q } = convOutputSize(shape);
  const layoutCopies = layout === 'nchw' ? 0 : tensorBytes(N, C, H * W, layout) + tensorBytes(N, K, P * Q, layout);
  const buffers = (algoPlan.buffers ?? []).reduce((sum, buffer) => sum + buffer.bytes, 0);
  return algoPlan.weightBytes + layoutCopies + buffers + threads * roundUp(algoPlan.scratchBytes, ALIGN);
}

/** A convolution laid out in engine memory: buffers, packed weights, plan block. */
export class ConvPlan {
  readonly descriptor: ConvPlanDescriptor;
  readonly P: number;
  readonly Q: number;
  /** NCHW staging buffers the host reads and writes. */
  readonly nchwInputPtr: number;
  readonly nchwOutputPtr: number;
  /** Buffers in the plan's layout (the same as the NCHW ones when layout is nchw). */
  readonly inputPtr: number;
  readonly outputPtr: number;
  readonly weightsPtr: number;
  readonly biasPtr: number;
  /** Flops the algorithm really performs, and the direct count used for effective GFLOP/s. */
  readonly realFlops: number;
  readonly directFlops: number;
  /** Recursion levels of strassen plans (0 = plain packed SGEMM); undefined for other algorithms. */
  readonly strassenLevels: number | undefined;
  private readonly arenaMark: number;
  private readonly algoPlan: AlgorithmPlan;
  private weightsSet = false;
  private scratchPtrs: number[] = [];
  private released = false;

  constructor(
    readonly engine: Engine,
    readonly shape: ConvShape,
    readonly algo: ConvAlgorithm,
    readonly layout: ConvLayout,
    algoPlan: AlgorithmPlan,
    hasBias: boolean,
  ) {
    const arena = engine.arena;
    this.arenaMark = arena.mark();
    this.algoPlan = algoPlan;
    const { N, C, H, W, K } = shape;
    const { P, Q } = convOutputSize(shape);
    this.P = P;
    this.Q = Q;
    this.realFlops = algoPlan.realFlops;
    this.strassenLevels = algoPlan.levels;
    this.directFlops = convDirectFlops(shape);
    const buffers = algoPlan.buffers ?? [];
    const needed =
      N * C * H * W * 4 + N * K * P * Q * 4 + algoPlan.weightBytes + algoPlan.scratchBytes +
      buffers.reduce((sum, buffer) => sum + buffer.bytes, 0) +
      (layout === 'nchw' ? 0 : tensorBytes(N, C, H * W, layout) + tensorBytes(N, K, P * Q, layout));
    const limit = ENGINE_MAX_PAGES * WASM_PAGE_BYTES;
    if (needed > limit - arena.used - RESERVED_LOW_BYTES) {
      throw new Error(`engine: ${describeShape(shape)} with ${algo} needs ${needed} bytes, more than the engine's free memory`);
    }
    try {
      const planPtr = arena.alloc(PLAN_BLOCK_BYTES, 'plan block', true);
      this.nchwInputPtr = arena.alloc(N * C * H * W * 4, 'input');
      this.nchwOutputPtr = arena.alloc(N * K * P * Q * 4, 'output');
      this.inputPtr = layout === 'nchw' ? this.nchwInputPtr : arena.alloc(tensorBytes(N, C, H * W, layout), 'input in layout', true);
      this.outputPtr = layout === 'nchw' ? this.nchwOutputPtr : arena.alloc(tensorBytes(N, K, P * Q, layout), 'output in layout', true);
      this.weightsPtr = arena.alloc(algoPlan.weightBytes, 'packed weights', true);
      this.biasPtr = hasBias ? arena.alloc(roundUp(K, 16) * 4, 'bias', true) : 0;
      const bufferSlots: Partial<Record<keyof typeof PLAN_SLOT, number>> = {};
      for (const buffer of buffers) bufferSlots[buffer.slot] = arena.alloc(buffer.bytes, buffer.what);
      const pointers = { weights: this.weightsPtr, bias: this.biasPtr };
      writePlanBlock(engine, planPtr, shape, P, Q, {
        input: this.inputPtr, output: this.outputPtr, ...pointers, ...algoPlan.slots, ...bufferSlots,
      });
      const phases: PlanPhase[] = [{ kernel: algoPlan.kernel, units: algoPlan.units, unit: algoPlan.unit }];
      const { inner } = algoPlan;
      const innerPtr = inner ? arena.alloc(PLAN_BLOCK_BYTES, 'inner plan block', true) : 0;
      if (inner) {
        const output = inner.outputSlot ? bufferSlots[inner.outputSlot] : this.outputPtr;
        writePlanBlock(engine, innerPtr, inner.shape, inner.P, inner.Q, {
          input: bufferSlots[inner.inputSlot], output, ...pointers, ...inner.plan.slots,
        });
      }
      for (const later of algoPlan.laterPhases ?? []) {
        const { kernel, units, unit } = later;
        phases.push(later.inner ? { kernel, units, unit, planPtr: innerPtr } : { kernel, units, unit });
      }
      this.descriptor = {
        algo, layout, shape: { ...shape }, P, Q, planPtr,
        scratchBytes: roundUp(algoPlan.scratchBytes, ALIGN),
        phases,
      };
    } catch (error) {
      arena.release(this.arenaMark);
      throw error;
    }
  }

  /**
   * Bytes of engine memory the algorithm needs beyond the NCHW input and output: packed weights, the
   * layout copies, a decomposed plan's phase buffers and `threads` scratch areas.
   */
  workspaceBytes(threads = 1): number {
    return workspaceOf(this.shape, this.layout, this.algoPlan, threads);
  }

  private assertLive(): void {
    if (this.released) throw new Error('engine: plan used after release()');
  }

  /** Packs / transforms [K, C/groups, R, S] weights and copies the bias: the once-per-plan setup. */
  setWeights(weights: Float32Array, bias?: Float32Array): void {
    this.assertLive();
    const { K, C, R, S } = this.shape;
    const { groups } = convGeometry(this.shape);
    const Cg = C / groups;
    if (weights.length !== K * Cg * R * S) {
      const dims = groups === 1 ? 'K*C*R*S' : `K*(C/groups)*R*S = ${K}*${Cg}*${R}*${S}`;
      throw new Error(`engine: weights have ${weights.length} elements, expected ${dims} = ${K * Cg * R * S}`);
    }
    if (bias !== undefined) {
      if (this.biasPtr === 0) throw new Error('engine: plan was made with bias: false');
      if (bias.length !== K) throw new Error(`engine: bias has ${bias.length} elements, expected K = ${K}`);
      this.engine.f32(this.biasPtr, K).set(bias);
    } else if (this.biasPtr !== 0) {
      this.engine.f32(this.biasPtr, K).fill(0);
    }
    const packed = this.engine.f32(this.weightsPtr, this.algoPlan.weightBytes / 4);
    packed.fill(0);
    if (this.algoPlan.packWeights) {
      this.algoPlan.packWeights(weights, packed);
    } else if (this.algoPlan.weightKernel) {
      const mark = this.engine.arena.mark();
      try {
        const raw = this.engine.arena.alloc(weights.length * 4, 'raw weights');
        const scratch = this.engine.arena.alloc(this.descriptor.scratchBytes, 'weight scratch');
        this.engine.f32(raw, weights.length).set(weights);
        this.engine.call(this.algoPlan.weightKernel, this.descriptor.planPtr, raw, scratch);
      } finally {
        this.engine.arena.release(mark);
      }
    }
    this.weightsSet = true;
  }

  /** Copies an NCHW input into engine memory (no layout conversion). */
  writeInput(input: Float32Array): void {
    this.assertLive();
    const { N, C, H, W } = this.shape;
    if (input.length !== N * C * H * W) {
      throw new Error(`engine: input has ${input.length} elements, expected N*C*H*W = ${N * C * H * W}`);
    }
    this.engine.f32(this.nchwInputPtr, input.length).set(input);
  }

  /** Converts the written NCHW input to the plan's layout (no-op for nchw). Timed apart from the kernel. */
  convertInput(): void {
    this.assertLive();
    const { N, C, H, W } = this.shape;
    this.convert(this.nchwInputPtr, this.inputPtr, C, H * W, N, 'to');
  }

  /** writeInput + convertInput. */
  setInput(input: Float32Array): void {
    this.writeInput(input);
    this.convertInput();
  }

  /** Converts the output from the plan's layout back to NCHW (no-op for nchw). */
  convertOutput(): void {
    this.assertLive();
    this.convert(this.outputPtr, this.nchwOutputPtr, this.shape.K, this.P * this.Q, this.shape.N, 'from');
  }

  private convert(src: number, dst: number, channels: number, hw: number, n: number, direction: 'to' | 'from'): void {
    if (this.layout === 'nchw') return;
    if (this.layout === 'nhwc') {
      this.engine.call(direction === 'to' ? 'nchwToNhwc' : 'nhwcToNchw', src, dst, channels, hw, 0, n);
    } else {
      const block = blockOfLayout(this.layout);
      this.engine.call(direction === 'to' ? 'nchwToBlocked' : 'blockedToNchw', src, dst, channels, hw, block, 0, n);
    }
  }

  /** convertOutput + a copy of the NCHW output [N,K,P,Q]. */
  readOutput(): Float32Array {
    this.convertOutput();
    const { N, K } = this.shape;
    return this.engine.f32(this.nchwOutputPtr, N * K * this.P * this.Q).slice();
  }

  /** `threads` private scratch areas (allocated once per plan, reused). */
  allocateScratch(threads: number): number[] {
    this.assertLive();
    while (this.scratchPtrs.length < threads) {
      this.scratchPtrs.push(this.engine.arena.alloc(this.descriptor.scratchBytes, 'scratch'));
    }
    return this.scratchPtrs.slice(0, threads);
  }

  /** Runs units [begin, end) of a phase on this thread. */
  runPart(phaseIndex: number, begin: number, end: number, scratchPtr: number): void {
    this.assertLive();
    if (!this.weightsSet) throw new Error('engine: setWeights() must run before the kernel');
    this.engine.runPart(this.descriptor, phaseIndex, begin, end, scratchPtr);
  }

  /** Runs every phase on this thread (kernel only: no layout conversion). */
  run(): void {
    const [scratch] = this.allocateScratch(1);
    for (let i = 0; i < this.descriptor.phases.length; i++) this.runPart(i, 0, this.descriptor.phases[i].units, scratch);
  }

  /** Frees this plan's memory and everything allocated after it (the arena is LIFO). */
  release(): void {
    if (this.released) return;
    this.engine.arena.release(this.arenaMark);
    this.released = true;
  }
}

/**
 * One-shot convenience: NCHW in, NCHW out, single thread. Allocates and releases a plan.
 */
export function convolve(
  engine: Engine,
  algo: ConvAlgorithm,
  layout: ConvLayout,
  shape: ConvShape,
  input: Float32Array,
  weights: Float32Array,
  bias?: Float32Array,
  options: PlanOptions = {},
): Float32Array {
  const plan = engine.plan(shape, algo, layout, { ...options, bias: bias !== undefined });
  try {
    plan.setWeights(weights, bias);
    plan.setInput(input);
    plan.run();
    return plan.readOutput();
  } finally {
    plan.release();
  }
}
