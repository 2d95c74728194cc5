/**
 * Bump allocator over the engine's shared memory. Only the thread that owns the memory allocates;
 * workers receive addresses inside plan descriptors.
 */
import { ENGINE_MAX_PAGES, WASM_PAGE_BYTES } from './loading';

/** Bytes at the bottom of memory never handed out, so that address 0 can mean "none". */
export const RESERVED_LOW_BYTES = WASM_PAGE_BYTES;
/** Alignment of every allocation: a cache line. */
export const ALIGN = 64;

/** Bump allocator; `mark()`/`release(mark)` free in LIFO order. Grows the memory on demand. */
export class Arena {
  private top = RESERVED_LOW_BYTES;

  constructor(readonly memory: WebAssembly.Memory) {}

  /** Address of `bytes` fresh bytes aligned to 64 (zero-filled when `zero`). */
  alloc(bytes: number, what = 'buffer', zero = false): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`engine: bad size ${bytes} for ${what}`);
    const start = Math.ceil(this.top / ALIGN) * ALIGN;
    const end = start + Math.max(bytes, 1);
    const limit = ENGINE_MAX_PAGES * WASM_PAGE_BYTES;
    if (end > limit) {
      throw new Error(
        `engine: out of memory allocating ${what} (${bytes} bytes; ${start} in use, limit ${limit} bytes)`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / WASM_PAGE_BYTES));
    this.top = end;
    if (zero) new Uint8Array(this.memory.buffer, start, bytes).fill(0);
    return start;
  }

  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    if (mark < RESERVED_LOW_BYTES || mark > this.top) throw new Error(`engine: bad arena mark ${mark}`);
    this.top = mark;
  }

  get used(): number {
    return this.top - RESERVED_LOW_BYTES;
  }
}
