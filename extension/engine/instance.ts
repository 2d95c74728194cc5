/**
 * One instance of the engine's WebAssembly module over its memory: exported constants, kernel calls
 * and the arena, without the convolution planners (engine.ts), so that users of other kernels (the
 * sparsity scan's statistics) do not load them and the Winograd generator behind them.
 */
import { Arena } from './arena';
import { type EngineVariant, createEngineMemory, loadEngineModule } from './loading';

type KernelFn = (...args: number[]) => void;

export interface EngineCreateOptions {
  variant?: EngineVariant | 'auto';
  /** Share an existing engine memory (a worker's view of the owner's memory). */
  memory?: WebAssembly.Memory;
  /** Directory of the .wasm files (default: engineWasmDir in loading.ts). */
  wasmDir?: string;
}

export class EngineInstance {
  private readonly exports: Record<string, unknown>;
  private arenaInstance: Arena | undefined;

  protected constructor(
    readonly module: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    readonly variant: EngineVariant,
  ) {
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    this.exports = instance.exports as Record<string, unknown>;
  }

  /** A new instance; with no memory given, it creates (and owns) a fresh shared memory. */
  static create(options: EngineCreateOptions = {}): EngineInstance {
    const { module, variant } = loadEngineModule(options.variant ?? 'auto', options.wasmDir);
    return new EngineInstance(module, options.memory ?? createEngineMemory(), variant);
  }

  /** An instance over an already compiled module and memory (what a worker does with what it was posted). */
  static instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory, variant: EngineVariant): EngineInstance {
    return new EngineInstance(module, memory, variant);
  }

  /** The allocator; only the thread that owns the memory may use it. */
  get arena(): Arena {
    this.arenaInstance ??= new Arena(this.memory);
    return this.arenaInstance;
  }

  /** An exported constant of the module (block sizes, flop counts of generated transforms). */
  constant(name: string): number {
    const value = this.exports[name];
    if (!(value instanceof WebAssembly.Global)) throw new Error(`engine: export ${name} missing`);
    return value.value as number;
  }

  /** Calls an exported function, turning a trap into an Error naming the kernel and its arguments. */
  call(name: string, ...args: number[]): void {
    const fn = this.exports[name];
    if (typeof fn !== 'function') throw new Error(`engine: no exported kernel '${name}'`);
    try {
      (fn as KernelFn)(...args);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) {
        throw new Error(`engine: kernel ${name}(${args.join(', ')}) trapped: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  /** A Float32Array view of `length` floats at `ptr` (re-create after the memory grows). */
  f32(ptr: number, length: number): Float32Array {
    this.checkRange(ptr, length * 4, 'f32 view');
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  checkRange(ptr: number, bytes: number, what: string): void {
    const size = this.memory.buffer.byteLength;
    if (!Number.isSafeInteger(ptr) || ptr < 0 || ptr % 4 !== 0 || bytes < 0 || ptr + bytes > size) {
      throw new Error(`engine: ${what} [${ptr}, ${ptr + bytes}) is outside the ${size}-byte memory`);
    }
  }
}
