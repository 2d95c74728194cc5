/**
 * Bounded random-access reading of weight files.
 *
 * Parsers never read a whole file: they ask for byte ranges, and every range is checked against the
 * file size (and a per-read cap) before a buffer is allocated, so a header that claims a huge length
 * gets a WeightFileError rather than an allocation.
 */
import { promises as fs } from 'node:fs';
import { WeightFileError } from './types';

/** The largest single read a parser may ask for (tensor data is streamed in chunks well below it). */
export const MAX_SINGLE_READ_BYTES = 256 * 1024 * 1024;
/** Chunk size for streaming reads when the caller does not choose one. */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

/** Anything that serves checked byte ranges: a file, a stored zip entry, a slice of either. */
export interface ByteSource {
  /** The file the bytes come from, for error messages. */
  readonly file: string;
  readonly size: number;
  read(offset: number, length: number, what?: string): Promise<Uint8Array>;
}

export function checkRange(source: { file: string; size: number }, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new WeightFileError(source.file, `${what}: invalid byte range (offset ${offset}, length ${length})`);
  }
  if (offset + length > source.size) {
    throw new WeightFileError(
      source.file,
      `${what}: bytes ${offset}..${offset + length} run past the end of the data (${source.size} bytes); the file is truncated or its header is corrupt`,
    );
  }
  if (length > MAX_SINGLE_READ_BYTES) {
    throw new WeightFileError(source.file, `${what}: a single read of ${length} bytes exceeds the ${MAX_SINGLE_READ_BYTES}-byte limit`);
  }
}

export class BoundedReader implements ByteSource {
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly handle: fs.FileHandle,
    readonly size: number,
  ) {}

  static async open(file: string): Promise<BoundedReader> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : String(error);
      throw new WeightFileError(file, `cannot open: ${why}`);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new WeightFileError(file, 'not a regular file');
      return new BoundedReader(file, handle, stat.size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Reads exactly `length` bytes at `offset`, after checking the range against the file size. */
  async read(offset: number, length: number, what = 'read'): Promise<Uint8Array> {
    if (this.closed) throw new WeightFileError(this.file, `${what}: the file was already closed`);
    checkRange(this, offset, length, what);
    const buffer = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) {
        throw new WeightFileError(this.file, `${what}: the file shrank while being read (short read at byte ${offset + filled})`);
      }
      filled += bytesRead;
    }
    return buffer;
  }

  /** Up to the first `length` bytes (fewer when the file is smaller). */
  async head(length = 4096): Promise<Uint8Array> {
    return this.read(0, Math.min(length, this.size), 'reading the file header');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** A window [offset, offset + size) of another source, itself a ByteSource. */
export class ByteSlice implements ByteSource {
  constructor(
    private readonly parent: ByteSource,
    private readonly offset: number,
    readonly size: number,
    readonly file = parent.file,
  ) {
    checkRange(parent, offset, 0, 'slice');
    if (!Number.isSafeInteger(size) || size < 0 || offset + size > parent.size) {
      throw new WeightFileError(parent.file, `a section of ${size} bytes at ${offset} runs past the end of the data (${parent.size} bytes)`);
    }
  }

  async read(offset: number, length: number, what = 'read'): Promise<Uint8Array> {
    checkRange(this, offset, length, what);
    return this.parent.read(this.offset + offset, length, what);
  }
}

/** An in-memory ByteSource (a decompressed zip entry, a buffer built in a test). */
export class MemorySource implements ByteSource {
  constructor(
    readonly file: string,
    private readonly bytes: Uint8Array,
  ) {}

  get size(): number {
    return this.bytes.length;
  }

  async read(offset: number, length: number, what = 'read'): Promise<Uint8Array> {
    checkRange(this, offset, length, what);
    return this.bytes.subarray(offset, offset + length);
  }
}

/** Streams [offset, offset + length) of a source in chunks of at most `chunkBytes`. */
export async function* readChunks(
  source: ByteSource,
  offset: number,
  length: number,
  chunkBytes = DEFAULT_CHUNK_BYTES,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  checkRange(source, offset, 0, 'chunked read');
  if (offset + length > source.size) checkRange(source, offset, length, 'chunked read');
  for (let done = 0; done < length; ) {
    signal?.throwIfAborted();
    const size = Math.min(chunkBytes, length - done);
    yield await source.read(offset + done, size, 'chunked read');
    done += size;
  }
}

/**
 * A forward cursor over a source that reads it in bounded windows: for headers (GGUF metadata,
 * pickles) that are parsed field by field and may be megabytes long.
 */
export class ByteCursor {
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;
  private view = new DataView(this.window.buffer);
  position: number;

  constructor(
    private readonly source: ByteSource,
    start = 0,
    private readonly windowBytes = 1 << 20,
    readonly what = 'header',
  ) {
    this.position = start;
  }

  get file(): string {
    return this.source.file;
  }

  get remaining(): number {
    return this.source.size - this.position;
  }

  fail(problem: string): never {
    throw new WeightFileError(this.source.file, `${this.what}: ${problem} (at byte ${this.position})`);
  }

  /** Makes `length` bytes at the cursor available in the window and returns their offset there. */
  private async ensure(length: number): Promise<number> {
    if (length > this.remaining) {
      this.fail(`needs ${length} more bytes but the file ends ${this.remaining} bytes later; it is truncated or corrupt`);
    }
    const start = this.position - this.windowStart;
    if (start >= 0 && start + length <= this.window.length) return start;
    const size = Math.min(Math.max(length, this.windowBytes), this.remaining);
    this.window = await this.source.read(this.position, size, this.what);
    this.view = new DataView(this.window.buffer, this.window.byteOffset, this.window.byteLength);
    this.windowStart = this.position;
    return 0;
  }

  async bytes(length: number): Promise<Uint8Array> {
    const at = await this.ensure(length);
    this.position += length;
    return this.window.slice(at, at + length);
  }

  async skip(length: number): Promise<void> {
    if (length > this.remaining) this.fail(`cannot skip ${length} bytes; only ${this.remaining} remain`);
    this.position += length;
  }

  async u8(): Promise<number> {
    const at = await this.ensure(1);
    this.position += 1;
    return this.window[at];
  }

  async u16(): Promise<number> {
    const at = await this.ensure(2);
    this.position += 2;
    return this.view.getUint16(at, true);
  }

  async i16(): Promise<number> {
    const at = await this.ensure(2);
    this.position += 2;
    return this.view.getInt16(at, true);
  }

  async u32(): Promise<number> {
    const at = await this.ensure(4);
    this.position += 4;
    return this.view.getUint32(at, true);
  }

  async i32(): Promise<number> {
    const at = await this.ensure(4);
    this.position += 4;
    return this.view.getInt32(at, true);
  }

  async f32(): Promise<number> {
    const at = await this.ensure(4);
    this.position += 4;
    return this.view.getFloat32(at, true);
  }

  async f64(): Promise<number> {
    const at = await this.ensure(8);
    this.position += 8;
    return this.view.getFloat64(at, true);
  }

  async u64(): Promise<bigint> {
    const at = await this.ensure(8);
    this.position += 8;
    return this.view.getBigUint64(at, true);
  }

  async i64(): Promise<bigint> {
    const at = await this.ensure(8);
    this.position += 8;
    return this.view.getBigInt64(at, true);
  }

  /** A u64 that must fit a safe integer and not exceed `max`, else a named error. */
  async u64AsNumber(what: string, max = Number.MAX_SAFE_INTEGER): Promise<number> {
    const value = await this.u64();
    if (value > BigInt(max)) this.fail(`${what} is ${value}, more than the limit ${max}`);
    return Number(value);
  }
}
