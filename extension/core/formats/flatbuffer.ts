/**
 * FlatBuffer reading over a paged byte source, for models that are one FlatBuffer (TFLite). Tables,
 * vtables, vectors and strings are read through checked accessors with async page loads, so opening
 * a model touches only its tables, never the weight data its vectors hold, and every offset is
 * checked against the file before it is followed.
 *
 * The flatbuffers runtime needs the whole buffer in memory (its offsets index one array), which a
 * multi-GB model is not; this reader keeps its addressing (uoffset_t forward references, soffset_t
 * vtable references, vtable slots 4 + 2 * field) over a page cache instead.
 *
 * FlatBuffers may share one table or vector among many references (a DAG), so a file of a few
 * kilobytes could make a reader walk millions of tables. The reader counts what it expands: tables
 * visited and vector bytes read may not exceed what a file of this size holds without sharing
 * (with a factor of slack), else the file is refused.
 */
import { PagedReader } from './pagedReader';
import type { ByteSource } from './reader';
import { WeightFileError } from './types';

/** Tables visited per byte of file: a table takes at least 4 bytes plus the 4-byte offset to it. */
const TABLE_VISITS_PER_BYTE = 1 / 4;
/** Vector and string bytes read per byte of file (each is read about once). */
const VECTOR_BYTES_PER_BYTE = 4;
/** Allowance for tiny files. */
const EXPANSION_ALLOWANCE = 1024;

export class FlatBufferReader {
  readonly pages: PagedReader;
  private tablesVisited = 0;
  private vectorBytesRead = 0;

  constructor(
    source: ByteSource,
    readonly format = 'FlatBuffer',
  ) {
    this.pages = new PagedReader(source);
  }

  get file(): string {
    return this.pages.file;
  }

  get size(): number {
    return this.pages.size;
  }

  fail(problem: string): never {
    throw new WeightFileError(this.pages.file, problem);
  }

  /** The root table; `identifier` (4 characters at bytes 4..8) is checked when given. */
  async root(identifier?: string): Promise<FlatTable> {
    if (this.size < 8) this.fail(`file is too short for a ${this.format} (${this.size} bytes)`);
    await this.pages.load(0, 8, 'FlatBuffer header');
    if (identifier !== undefined) {
      const found = new TextDecoder().decode(this.pages.view(4, 4));
      if (found !== identifier) {
        this.fail(`not a ${this.format}: file identifier is '${found.replace(/[^\x20-\x7e]/g, '?')}', expected '${identifier}'`);
      }
    }
    return FlatTable.at(this, this.pages.u32(0), 'root table');
  }

  /** Counts one table visit against the file's budget. */
  visitTable(what: string): void {
    if (++this.tablesVisited > this.size * TABLE_VISITS_PER_BYTE + EXPANSION_ALLOWANCE) {
      this.fail(`${what}: more tables are referenced than a ${this.size}-byte ${this.format} holds; its offsets share tables over and over`);
    }
  }

  /** Counts vector bytes read against the file's budget. */
  readVectorBytes(bytes: number, what: string): void {
    this.vectorBytesRead += bytes;
    if (this.vectorBytesRead > this.size * VECTOR_BYTES_PER_BYTE + EXPANSION_ALLOWANCE) {
      this.fail(`${what}: more vector data is referenced than a ${this.size}-byte ${this.format} holds; its offsets share vectors over and over`);
    }
  }
}

/** A vector's first element and its element count, the whole vector checked to lie in the file. */
export interface FlatVector {
  start: number;
  length: number;
}

/** A table: its position and its vtable, both checked; fields are read on demand. */
export class FlatTable {
  private constructor(
    readonly reader: FlatBufferReader,
    readonly position: number,
    readonly what: string,
    private readonly vtable: number,
    private readonly vtableBytes: number,
    private readonly tableBytes: number,
  ) {}

  static async at(reader: FlatBufferReader, position: number, what: string): Promise<FlatTable> {
    reader.visitTable(what);
    const pages = reader.pages;
    await pages.load(position, 4, `${what} vtable offset`);
    const vtable = position - pages.i32(position);
    await pages.load(vtable, 4, `${what} vtable`);
    const vtableBytes = pages.u16(vtable);
    const tableBytes = pages.u16(vtable + 2);
    if (vtableBytes < 4 || vtableBytes % 2 !== 0) reader.fail(`${what} has a malformed vtable (size ${vtableBytes})`);
    pages.check(vtable, vtableBytes, `${what} vtable`);
    pages.check(position, tableBytes, what);
    return new FlatTable(reader, position, what, vtable, vtableBytes, tableBytes);
  }

  /** Absolute position of field `index` (loaded for `width` bytes), or undefined when absent. */
  async field(index: number, width: number): Promise<number | undefined> {
    const slot = 4 + 2 * index;
    if (slot + 2 > this.vtableBytes) return undefined;
    const pages = this.reader.pages;
    await pages.load(this.vtable + slot, 2, `${this.what} vtable`);
    const relative = pages.u16(this.vtable + slot);
    if (relative === 0) return undefined;
    if (relative + width > this.tableBytes) this.reader.fail(`${this.what} field ${index} lies outside its table`);
    await pages.load(this.position + relative, width, `${this.what} field ${index}`);
    return this.position + relative;
  }

  /** Where the uoffset_t in field `index` points, or undefined when absent. */
  private async target(index: number): Promise<number | undefined> {
    const at = await this.field(index, 4);
    return at === undefined ? undefined : at + this.reader.pages.u32(at);
  }

  async int8(index: number, fallback: number): Promise<number> {
    const at = await this.field(index, 1);
    if (at === undefined) return fallback;
    const v = this.reader.pages.u8(at);
    return v > 127 ? v - 256 : v;
  }

  async uint8(index: number, fallback: number): Promise<number> {
    const at = await this.field(index, 1);
    return at === undefined ? fallback : this.reader.pages.u8(at);
  }

  async int32(index: number, fallback: number): Promise<number> {
    const at = await this.field(index, 4);
    return at === undefined ? fallback : this.reader.pages.i32(at);
  }

  async uint32(index: number, fallback: number): Promise<number> {
    const at = await this.field(index, 4);
    return at === undefined ? fallback : this.reader.pages.u32(at);
  }

  /** A uint64 field, refused when it does not fit a safe integer. */
  async uint64(index: number, fallback: number): Promise<number> {
    const at = await this.field(index, 8);
    if (at === undefined) return fallback;
    const value = this.reader.pages.u64(at);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.reader.fail(`${this.what} field ${index} ${value} is out of range`);
    return Number(value);
  }

  async table(index: number, what: string): Promise<FlatTable | undefined> {
    const at = await this.target(index);
    return at === undefined ? undefined : FlatTable.at(this.reader, at, what);
  }

  async string(index: number): Promise<string | undefined> {
    const at = await this.target(index);
    if (at === undefined) return undefined;
    const pages = this.reader.pages;
    await pages.load(at, 4, `${this.what} string length`);
    const length = pages.u32(at);
    this.reader.readVectorBytes(length, `${this.what} string`);
    return new TextDecoder().decode(await pages.bytes(at + 4, length, `${this.what} string`));
  }

  /** Start and element count of a vector field, with the whole vector checked to lie in the file. */
  async vector(index: number, elementBytes: number): Promise<FlatVector | undefined> {
    const at = await this.target(index);
    if (at === undefined) return undefined;
    const pages = this.reader.pages;
    await pages.load(at, 4, `${this.what} vector length`);
    const length = pages.u32(at);
    pages.check(at + 4, length * elementBytes, `${this.what} vector`);
    return { start: at + 4, length };
  }

  /** The elements of `vector` as bytes, counted against the reader's budget. */
  private async elements(vector: FlatVector, elementBytes: number): Promise<DataView> {
    const byteLength = vector.length * elementBytes;
    this.reader.readVectorBytes(byteLength, `${this.what} vector`);
    return dataView(await this.reader.pages.bytes(vector.start, byteLength, `${this.what} vector`));
  }

  /**
   * The tables a vector of offsets (field `index`) refers to. Entries pointing at one table share
   * one FlatTable (read and counted once); callers compare `position` to tell repeats apart.
   */
  async tables(index: number, what: string): Promise<FlatTable[]> {
    const vector = await this.vector(index, 4);
    if (!vector) return [];
    const view = await this.elements(vector, 4);
    const out: FlatTable[] = [];
    const byPosition = new Map<number, FlatTable>();
    for (let i = 0; i < vector.length; i++) {
      const position = vector.start + 4 * i + view.getUint32(4 * i, true);
      let table = byPosition.get(position);
      if (!table) {
        table = await FlatTable.at(this.reader, position, `${what} ${i}`);
        byPosition.set(position, table);
      }
      out.push(table);
    }
    return out;
  }

  async int32s(index: number): Promise<Int32Array> {
    const vector = await this.vector(index, 4);
    if (!vector) return new Int32Array(0);
    const view = await this.elements(vector, 4);
    return Int32Array.from({ length: vector.length }, (_, i) => view.getInt32(4 * i, true));
  }

  async float32s(index: number): Promise<Float32Array> {
    const vector = await this.vector(index, 4);
    if (!vector) return new Float32Array(0);
    const view = await this.elements(vector, 4);
    return Float32Array.from({ length: vector.length }, (_, i) => view.getFloat32(4 * i, true));
  }

  /** A vector of int64, each refused when it does not fit a safe integer. */
  async int64s(index: number): Promise<number[]> {
    const vector = await this.vector(index, 8);
    if (!vector) return [];
    const view = await this.elements(vector, 8);
    return Array.from({ length: vector.length }, (_, i) => {
      const value = view.getBigInt64(8 * i, true);
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
        this.reader.fail(`${this.what} vector ${value} is out of range`);
      }
      return Number(value);
    });
  }

  /** A vector of unsigned 8-, 16- or 32-bit integers (the element size picks which). */
  async unsigned(index: number, elementBytes: 1 | 2 | 4): Promise<Uint8Array | Uint16Array | Int32Array> {
    const vector = await this.vector(index, elementBytes);
    if (!vector) return new Uint8Array(0);
    const view = await this.elements(vector, elementBytes);
    if (elementBytes === 1) return new Uint8Array(view.buffer, view.byteOffset, vector.length).slice();
    if (elementBytes === 2) return Uint16Array.from({ length: vector.length }, (_, i) => view.getUint16(2 * i, true));
    return Int32Array.from({ length: vector.length }, (_, i) => view.getInt32(4 * i, true));
  }
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

