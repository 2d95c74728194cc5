/**
 * A page cache over a ByteSource for the binary readers that jump around a file (FlatBuffer tables
 * and vtables, protobuf fields between skipped payloads): `load` makes a byte range resident with
 * async reads, after which the scalar accessors read it synchronously. At most `maxPages` pages are
 * kept, so a multi-GB model is read in bounded memory whatever order its structures lie in.
 */
import { type ByteSource, MAX_SINGLE_READ_BYTES } from './reader';
import { WeightFileError } from './types';

export const PAGE_BYTES = 1 << 16;
export const MAX_CACHED_PAGES = 64;

interface Page {
  bytes: Uint8Array;
  view: DataView;
}

export class PagedReader {
  private readonly pages = new Map<number, Page>();
  private readonly scratch = new DataView(new ArrayBuffer(8));

  constructor(
    readonly source: ByteSource,
    readonly pageBytes = PAGE_BYTES,
    readonly maxPages = MAX_CACHED_PAGES,
  ) {}

  get file(): string {
    return this.source.file;
  }

  get size(): number {
    return this.source.size;
  }

  fail(problem: string): never {
    throw new WeightFileError(this.source.file, problem);
  }

  /** Throws a WeightFileError naming `what` unless [offset, offset + length) lies inside the file. */
  check(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      this.fail(`${what} at byte ${offset} (${length} bytes) lies outside the file (${this.size} bytes)`);
    }
  }

  /** Largest range `load` serves from the cache; longer ranges go through `bytes`. */
  get maxLoadBytes(): number {
    return this.pageBytes * Math.floor(this.maxPages / 2);
  }

  /** Whether [offset, offset + length) is resident already (then `load` would read nothing). */
  resident(offset: number, length: number): boolean {
    if (length <= 0) return true;
    const first = Math.floor(offset / this.pageBytes);
    const last = Math.floor((offset + length - 1) / this.pageBytes);
    for (let index = first; index <= last; index++) if (!this.pages.has(index)) return false;
    return true;
  }

  /** Makes [offset, offset + length) resident, reading each run of missing pages in one read. */
  async load(offset: number, length: number, what: string): Promise<void> {
    this.check(offset, length, what);
    if (length > this.maxLoadBytes) this.fail(`${what}: ${length} bytes at ${offset} exceed the ${this.maxLoadBytes}-byte window`);
    if (length === 0) return;
    const first = Math.floor(offset / this.pageBytes);
    const last = Math.floor((offset + length - 1) / this.pageBytes);
    for (let index = first; index <= last; ) {
      const cached = this.pages.get(index);
      if (cached) {
        // Most recently used last: Map iteration order is insertion order.
        this.pages.delete(index);
        this.pages.set(index, cached);
        index++;
        continue;
      }
      let runEnd = index + 1;
      while (runEnd <= last && !this.pages.has(runEnd)) runEnd++;
      const start = index * this.pageBytes;
      const end = Math.min(runEnd * this.pageBytes, this.size);
      const bytes = await this.source.read(start, end - start, what);
      for (let page = index; page < runEnd; page++) {
        const from = (page - index) * this.pageBytes;
        const slice = bytes.subarray(from, Math.min(from + this.pageBytes, bytes.length));
        this.pages.set(page, { bytes: slice, view: new DataView(slice.buffer, slice.byteOffset, slice.byteLength) });
      }
      index = runEnd;
    }
    // Evict least recently used pages, never one of those just loaded (they were touched last).
    for (const index of this.pages.keys()) {
      if (this.pages.size <= this.maxPages) break;
      if (index >= first && index <= last) continue;
      this.pages.delete(index);
    }
  }

  private page(index: number): Page {
    const page = this.pages.get(index);
    if (!page) throw new Error(`PagedReader: page ${index} of ${this.file} was read before it was loaded`);
    return page;
  }

  /** A DataView holding the `width` bytes at `offset` at its position 0 or at the returned index. */
  private at(offset: number, width: number): { view: DataView; index: number } {
    const index = Math.floor(offset / this.pageBytes);
    const within = offset - index * this.pageBytes;
    const page = this.page(index);
    if (within + width <= page.bytes.length) return { view: page.view, index: within };
    for (let i = 0; i < width; i++) this.scratch.setUint8(i, this.u8(offset + i));
    return { view: this.scratch, index: 0 };
  }

  u8(offset: number): number {
    const index = Math.floor(offset / this.pageBytes);
    return this.page(index).bytes[offset - index * this.pageBytes]!;
  }

  u16(offset: number): number {
    const { view, index } = this.at(offset, 2);
    return view.getUint16(index, true);
  }

  i32(offset: number): number {
    const { view, index } = this.at(offset, 4);
    return view.getInt32(index, true);
  }

  u32(offset: number): number {
    const { view, index } = this.at(offset, 4);
    return view.getUint32(index, true);
  }

  f32(offset: number): number {
    const { view, index } = this.at(offset, 4);
    return view.getFloat32(index, true);
  }

  i64(offset: number): bigint {
    const { view, index } = this.at(offset, 8);
    return view.getBigInt64(index, true);
  }

  u64(offset: number): bigint {
    const { view, index } = this.at(offset, 8);
    return view.getBigUint64(index, true);
  }

  /** The bytes [offset, offset + length), after a `load` of them: a view when they lie in one page. */
  view(offset: number, length: number): Uint8Array {
    const index = Math.floor(offset / this.pageBytes);
    const within = offset - index * this.pageBytes;
    const page = this.page(index);
    if (within + length <= page.bytes.length) return page.bytes.subarray(within, within + length);
    const out = new Uint8Array(length);
    for (let done = 0; done < length; ) {
      const position = offset + done;
      const pageIndex = Math.floor(position / this.pageBytes);
      const from = position - pageIndex * this.pageBytes;
      const source = this.page(pageIndex).bytes;
      const n = Math.min(length - done, source.length - from);
      out.set(source.subarray(from, from + n), done);
      done += n;
    }
    return out;
  }

  /** The bytes [offset, offset + length): through the cache when short, else one direct read. */
  async bytes(offset: number, length: number, what: string): Promise<Uint8Array> {
    this.check(offset, length, what);
    if (length <= this.pageBytes) {
      await this.load(offset, length, what);
      return this.view(offset, length);
    }
    if (length > MAX_SINGLE_READ_BYTES) this.fail(`${what}: a single read of ${length} bytes exceeds the ${MAX_SINGLE_READ_BYTES}-byte limit`);
    return this.source.read(offset, length, what);
  }
}
