/**
 * Random-access zip reading for the zip-based weight formats (.npz, PyTorch, .keras).
 *
 * Only the central directory is read up front. Stored entries are served as byte ranges of the
 * file; deflated entries are inflated as a stream. Zip bombs are refused: declared sizes are
 * checked against limits and the compression ratio deflate can reach, entries may not overlap, and
 * inflation stops as soon as it passes the declared size.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { BoundedReader, type ByteSource, ByteSlice, checkRange, readChunks } from './reader';
import { WeightFileError } from './types';

const EOCD_SIGNATURE = 0x06054b50;
const EOCD64_LOCATOR_SIGNATURE = 0x07064b50;
const EOCD64_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
/** Central directories above this are refused (a million entries with long names is ~100 MB). */
export const MAX_CENTRAL_DIRECTORY_BYTES = 128 * 1024 * 1024;
/** Deflate cannot expand more than ~1032:1; anything claiming more is malformed or a bomb. */
export const MAX_DEFLATE_RATIO = 1100;
/** Entries read whole into memory (pickles, small headers) may not exceed this. */
export const MAX_IN_MEMORY_ENTRY_BYTES = 256 * 1024 * 1024;
/**
 * Most bytes the temporary copies of deflated entries (inflated once for random access, or for a
 * library that needs a real file) may hold: this many times the archive's size, or TEMP_FLOOR_BYTES
 * when that is more. Real weights deflate by a few times at most (heavily pruned ones by tens); a
 * small archive that inflates to gigabytes is a bomb, and it would fill the disk.
 */
export const MAX_TEMP_INFLATION = 64;
export const TEMP_FLOOR_BYTES = 256 * 1024 * 1024;

export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  flags: number;
  crc32: number;
}

/** zlib.crc32 exists from Node 20.15 / 22.2; without it CRCs go unchecked. */
const crc32: ((data: Uint8Array, value?: number) => number) | undefined = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** True when `head` starts with a zip local file header (or is an empty archive). */
export function isZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

/** The name of the first entry, read from the first local header in `head`; undefined if not there. */
export function firstZipEntryName(head: Uint8Array): string | undefined {
  if (!isZip(head) || head.length < 30 || head[2] !== 3) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const nameLength = view.getUint16(26, true);
  if (30 + nameLength > head.length) return undefined;
  return new TextDecoder().decode(head.subarray(30, 30 + nameLength));
}

/** Every entry name found in local headers within `head` (stops at the first one that does not fit). */
export function zipEntryNamesInHead(head: Uint8Array): string[] {
  const names: string[] = [];
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let at = 0;
  while (at + 30 <= head.length && view.getUint32(at, true) === LOCAL_SIGNATURE) {
    const flags = view.getUint16(at + 6, true);
    const compressed = view.getUint32(at + 18, true);
    const nameLength = view.getUint16(at + 26, true);
    const extraLength = view.getUint16(at + 28, true);
    if (at + 30 + nameLength > head.length) break;
    names.push(new TextDecoder().decode(head.subarray(at + 30, at + 30 + nameLength)));
    // With a data descriptor (flag bit 3) the size is not in the local header; stop there.
    if (flags & 0x8 || compressed === 0xffffffff) break;
    at += 30 + nameLength + extraLength + compressed;
  }
  return names;
}

export class ZipArchive {
  private readonly byName = new Map<string, ZipEntry>();
  private readonly dataOffsets = new Map<ZipEntry, number>();

  private constructor(
    readonly source: ByteSource,
    readonly entries: readonly ZipEntry[],
  ) {
    for (const entry of entries) this.byName.set(entry.name, entry);
  }

  get file(): string {
    return this.source.file;
  }

  private static fail(source: ByteSource, problem: string): never {
    throw new WeightFileError(source.file, `zip archive: ${problem}`);
  }

  /** Reads the central directory of the zip archive held in `source`. */
  static async open(source: ByteSource): Promise<ZipArchive> {
    if (source.size < EOCD_BYTES) ZipArchive.fail(source, `only ${source.size} bytes; too short to be a zip archive (truncated?)`);
    const tailLength = Math.min(source.size, EOCD_BYTES + MAX_COMMENT_BYTES);
    const tailStart = source.size - tailLength;
    const tail = await source.read(tailStart, tailLength, 'zip end record');
    const tailView = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    let eocd = -1;
    for (let at = tail.length - EOCD_BYTES; at >= 0; at--) {
      if (tailView.getUint32(at, true) === EOCD_SIGNATURE && at + EOCD_BYTES + tailView.getUint16(at + 20, true) <= tail.length) {
        eocd = at;
        break;
      }
    }
    if (eocd < 0) ZipArchive.fail(source, 'no end-of-central-directory record; the file is truncated or not a zip');

    let entryCount = tailView.getUint16(eocd + 10, true);
    let directorySize = tailView.getUint32(eocd + 12, true);
    let directoryOffset = tailView.getUint32(eocd + 16, true);
    const locatorAt = eocd - 20;
    if (locatorAt >= 0 && tailView.getUint32(locatorAt, true) === EOCD64_LOCATOR_SIGNATURE) {
      const eocd64Offset = tailView.getBigUint64(locatorAt + 8, true);
      if (eocd64Offset > BigInt(source.size - 56)) ZipArchive.fail(source, 'zip64 end record lies past the end of the file');
      const record = await source.read(Number(eocd64Offset), 56, 'zip64 end record');
      const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
      if (view.getUint32(0, true) !== EOCD64_SIGNATURE) ZipArchive.fail(source, 'zip64 end record signature is wrong');
      const count64 = view.getBigUint64(32, true);
      const size64 = view.getBigUint64(40, true);
      const offset64 = view.getBigUint64(48, true);
      if (count64 > BigInt(source.size) || size64 > BigInt(source.size) || offset64 > BigInt(source.size)) {
        ZipArchive.fail(source, 'zip64 end record declares sizes larger than the file');
      }
      entryCount = Number(count64);
      directorySize = Number(size64);
      directoryOffset = Number(offset64);
    }
    if (directoryOffset + directorySize > source.size) {
      ZipArchive.fail(source, `central directory (${directorySize} bytes at ${directoryOffset}) runs past the end of the file; it is truncated`);
    }
    if (directorySize > MAX_CENTRAL_DIRECTORY_BYTES) ZipArchive.fail(source, `central directory of ${directorySize} bytes exceeds the limit`);
    // Each central record is at least 46 bytes, which bounds the entry count by the directory size.
    if (entryCount * 46 > directorySize) ZipArchive.fail(source, `${entryCount} entries cannot fit in a ${directorySize}-byte central directory`);

    const directory = await source.read(directoryOffset, directorySize, 'zip central directory');
    const view = new DataView(directory.buffer, directory.byteOffset, directory.byteLength);
    const decoder = new TextDecoder();
    const entries: ZipEntry[] = [];
    let at = 0;
    for (let i = 0; i < entryCount; i++) {
      if (at + 46 > directory.length || view.getUint32(at, true) !== CENTRAL_SIGNATURE) {
        ZipArchive.fail(source, `central directory record ${i} is malformed`);
      }
      const flags = view.getUint16(at + 8, true);
      const method = view.getUint16(at + 10, true);
      const crc = view.getUint32(at + 16, true);
      let compressedSize = view.getUint32(at + 20, true);
      let uncompressedSize = view.getUint32(at + 24, true);
      const nameLength = view.getUint16(at + 28, true);
      const extraLength = view.getUint16(at + 30, true);
      const commentLength = view.getUint16(at + 32, true);
      let localHeaderOffset = view.getUint32(at + 42, true);
      const end = at + 46 + nameLength + extraLength + commentLength;
      if (end > directory.length) ZipArchive.fail(source, `central directory record ${i} runs past the directory`);
      const name = decoder.decode(directory.subarray(at + 46, at + 46 + nameLength));
      // Zip64 extended information: the 64-bit values present are those whose 32-bit field is saturated.
      for (let extra = at + 46 + nameLength; extra + 4 <= at + 46 + nameLength + extraLength; ) {
        const tag = view.getUint16(extra, true);
        const size = view.getUint16(extra + 2, true);
        if (tag === 0x0001) {
          let field = extra + 4;
          const take = (): number => {
            if (field + 8 > extra + 4 + size) ZipArchive.fail(source, `entry "${name}": zip64 extra field is too short`);
            const value = view.getBigUint64(field, true);
            field += 8;
            if (value > BigInt(Number.MAX_SAFE_INTEGER)) ZipArchive.fail(source, `entry "${name}": zip64 size ${value} is too large`);
            return Number(value);
          };
          if (uncompressedSize === 0xffffffff) uncompressedSize = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
        }
        extra += 4 + size;
      }
      if (flags & 0x1) ZipArchive.fail(source, `entry "${name}" is encrypted`);
      if (localHeaderOffset + 30 + compressedSize > source.size) {
        ZipArchive.fail(source, `entry "${name}" (${compressedSize} bytes at ${localHeaderOffset}) runs past the end of the file; it is truncated`);
      }
      if (method === METHOD_STORED && compressedSize !== uncompressedSize) {
        ZipArchive.fail(source, `stored entry "${name}" declares ${compressedSize} bytes stored but ${uncompressedSize} bytes of content`);
      }
      if (method === METHOD_DEFLATED && uncompressedSize > Math.max(1024, compressedSize * MAX_DEFLATE_RATIO)) {
        ZipArchive.fail(source, `entry "${name}" claims ${uncompressedSize} bytes from ${compressedSize} compressed, beyond what deflate can produce (zip bomb?)`);
      }
      entries.push({ name, method, compressedSize, uncompressedSize, localHeaderOffset, flags, crc32: crc });
      at = end;
    }
    // Overlapping entries are the trick of non-recursive zip bombs: refuse them.
    const sorted = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
    for (let i = 1; i < sorted.length; i++) {
      const previous = sorted[i - 1];
      if (previous.localHeaderOffset + 30 + previous.compressedSize > sorted[i].localHeaderOffset) {
        ZipArchive.fail(source, `entries "${previous.name}" and "${sorted[i].name}" overlap (zip bomb?)`);
      }
    }
    return new ZipArchive(source, entries);
  }

  entry(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /** Offset of the entry's data in the archive, from its local header. */
  async dataOffset(entry: ZipEntry): Promise<number> {
    const known = this.dataOffsets.get(entry);
    if (known !== undefined) return known;
    const header = await this.source.read(entry.localHeaderOffset, 30, `zip local header of "${entry.name}"`);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    if (view.getUint32(0, true) !== LOCAL_SIGNATURE) ZipArchive.fail(this.source, `entry "${entry.name}": local header signature is wrong`);
    const offset = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    if (offset + entry.compressedSize > this.source.size) {
      ZipArchive.fail(this.source, `entry "${entry.name}": data runs past the end of the file; it is truncated`);
    }
    this.dataOffsets.set(entry, offset);
    return offset;
  }

  private checkMethod(entry: ZipEntry): void {
    if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATED) {
      ZipArchive.fail(this.source, `entry "${entry.name}" uses compression method ${entry.method}; only stored and deflated are supported`);
    }
  }

  /**
   * The entry's content as a stream of chunks. Inflation stops with an error past the declared
   * size. With `verifyCrc`, the CRC-32 is checked once the whole entry has streamed by (an error
   * then arrives after the data: callers that act on the data before the end should leave it off).
   */
  async *chunks(entry: ZipEntry, signal?: AbortSignal, chunkBytes = 1 << 20, verifyCrc = false): AsyncGenerator<Uint8Array> {
    this.checkMethod(entry);
    const offset = await this.dataOffset(entry);
    let crc = 0;
    if (entry.method === METHOD_STORED) {
      for await (const piece of readChunks(this.source, offset, entry.compressedSize, chunkBytes, signal)) {
        if (verifyCrc && crc32) crc = crc32(piece, crc);
        yield piece;
      }
    } else {
      const input = Readable.from(readChunks(this.source, offset, entry.compressedSize, Math.min(chunkBytes, 1 << 20), signal));
      const inflater = zlib.createInflateRaw({ chunkSize: 64 * 1024 });
      input.on('error', (error) => inflater.destroy(error));
      input.pipe(inflater);
      let produced = 0;
      try {
        for await (const piece of inflater as AsyncIterable<Buffer>) {
          produced += piece.length;
          if (produced > entry.uncompressedSize) {
            ZipArchive.fail(this.source, `entry "${entry.name}" inflates past its declared ${entry.uncompressedSize} bytes (zip bomb?)`);
          }
          const bytes = new Uint8Array(piece.buffer, piece.byteOffset, piece.length);
          if (verifyCrc && crc32) crc = crc32(bytes, crc);
          yield bytes;
        }
      } catch (error) {
        if (error instanceof WeightFileError || (error as Error).name === 'AbortError') throw error;
        ZipArchive.fail(this.source, `entry "${entry.name}" is corrupt: ${(error as Error).message}`);
      } finally {
        input.destroy();
        inflater.destroy();
      }
      if (produced !== entry.uncompressedSize) {
        ZipArchive.fail(this.source, `entry "${entry.name}" inflates to ${produced} bytes, not the ${entry.uncompressedSize} declared; it is truncated or corrupt`);
      }
    }
    if (verifyCrc && crc32 && crc >>> 0 !== entry.crc32) {
      ZipArchive.fail(this.source, `entry "${entry.name}" fails its CRC-32 check (0x${(crc >>> 0).toString(16)} != 0x${entry.crc32.toString(16)}); the archive is corrupt`);
    }
  }

  /** The whole entry in memory, CRC-checked; refused when its declared size exceeds `maxBytes`. */
  async read(entry: ZipEntry, maxBytes = MAX_IN_MEMORY_ENTRY_BYTES): Promise<Uint8Array> {
    if (entry.uncompressedSize > maxBytes) {
      ZipArchive.fail(this.source, `entry "${entry.name}" holds ${entry.uncompressedSize} bytes, more than the ${maxBytes} allowed in memory`);
    }
    const out = new Uint8Array(entry.uncompressedSize);
    let filled = 0;
    for await (const chunk of this.chunks(entry, undefined, 1 << 20, true)) {
      out.set(chunk, filled);
      filled += chunk.length;
    }
    return out;
  }

  /**
   * The entry as a source read front to back (a row-major tensor): a slice of the archive when
   * stored; else inflated as it is read, keeping only the piece in hand, so each pass over the entry
   * inflates it once and memory stays at a read window whatever the entry inflates to. A read before
   * the position reached starts the inflation again (a second pass).
   */
  async streamingSource(entry: ZipEntry): Promise<ByteSource> {
    this.checkMethod(entry);
    if (entry.method === METHOD_STORED) return new ByteSlice(this.source, await this.dataOffset(entry), entry.uncompressedSize);
    const source = new InflatingSource(this, entry);
    this.streams.add(source);
    return source;
  }

  /**
   * Random access to the entry: a slice of the archive when stored; else the entry inflated once into
   * a private temporary file (on first read), which every later read of it shares and close() deletes.
   * Memory stays at a read window; what the temporary folder receives is counted against
   * `tempLimitBytes` over the whole archive.
   */
  async randomAccess(entry: ZipEntry): Promise<ByteSource> {
    this.checkMethod(entry);
    if (entry.method === METHOD_STORED) {
      return new ByteSlice(this.source, await this.dataOffset(entry), entry.uncompressedSize);
    }
    return {
      file: this.source.file,
      size: entry.uncompressedSize,
      read: async (offset, length, what = 'read') => {
        checkRange({ file: this.source.file, size: entry.uncompressedSize }, offset, length, what);
        this.checkOpen(entry, what);
        let copy = this.inflatedCopies.get(entry);
        if (!copy) {
          copy = this.inflateToTemp(entry);
          this.inflatedCopies.set(entry, copy);
        }
        return (await copy).read(offset, length, what);
      },
    };
  }

  /** Most bytes all temporary copies of this archive's entries may hold together. */
  get tempLimitBytes(): number {
    return Math.max(TEMP_FLOOR_BYTES, this.source.size * MAX_TEMP_INFLATION);
  }

  private async inflateToTemp(entry: ZipEntry): Promise<BoundedReader> {
    if (this.tempBytes + entry.uncompressedSize > this.tempLimitBytes) {
      ZipArchive.fail(
        this.source,
        `entry "${entry.name}" would bring the temporary copies of its entries to ${this.tempBytes + entry.uncompressedSize} bytes, more than the ${this.tempLimitBytes} allowed (${MAX_TEMP_INFLATION}x the archive, at least ${TEMP_FLOOR_BYTES})`,
      );
    }
    this.tempBytes += entry.uncompressedSize;
    this.tempFolder ??= mkdtemp(path.join(tmpdir(), 'deep-accel-zip-'));
    const target = path.join(await this.tempFolder, `entry-${this.inflatedCopies.size}`);
    const output = createWriteStream(target, { flags: 'wx', mode: 0o600 });
    try {
      for await (const chunk of this.chunks(entry, undefined, 1 << 20, true)) {
        if (!output.write(chunk)) await once(output, 'drain');
      }
    } finally {
      output.end();
      await once(output, 'close');
    }
    return BoundedReader.open(target);
  }

  /** Ends the inflating streams and deletes the temporary copies; the archive's own source stays open. */
  /** Refuses to inflate anything once the archive is closed (its temporary copies are gone). */
  checkOpen(entry: ZipEntry, what: string): void {
    if (this.closed) throw new WeightFileError(this.source.file, `${what} of entry "${entry.name}": the file was already closed`);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stream of this.streams) await stream.close();
    this.streams.clear();
    const copies = [...this.inflatedCopies.values()];
    this.inflatedCopies.clear();
    for (const copy of copies) await copy.then((reader) => reader.close()).catch(() => undefined);
    const folder = this.tempFolder;
    this.tempFolder = undefined;
    if (folder) await rm(await folder, { recursive: true, force: true });
  }

  private readonly streams = new Set<InflatingSource>();
  private readonly inflatedCopies = new Map<ZipEntry, Promise<BoundedReader>>();
  private tempFolder?: Promise<string>;
  private tempBytes = 0;
  private closed = false;
}

/** A deflated entry read forward through one inflating stream (ZipArchive.streamingSource). */
class InflatingSource implements ByteSource {
  readonly file: string;
  readonly size: number;
  private stream?: AsyncGenerator<Uint8Array>;
  /** The piece in hand and the entry offset of its first byte. */
  private piece: Uint8Array = new Uint8Array(0);
  private pieceStart = 0;
  /** Times the inflation started (passes over the entry). */
  inflations = 0;

  constructor(
    private readonly archive: ZipArchive,
    private readonly entry: ZipEntry,
  ) {
    this.file = archive.file;
    this.size = entry.uncompressedSize;
  }

  private async next(what: string): Promise<void> {
    if (!this.stream) {
      this.archive.checkOpen(this.entry, what);
      this.stream = this.archive.chunks(this.entry, undefined, 1 << 20, true);
      this.inflations++;
    }
    const { value, done } = await this.stream.next();
    if (done) throw new WeightFileError(this.file, `entry "${this.entry.name}" ended before its declared ${this.size} bytes`);
    this.pieceStart += this.piece.length;
    this.piece = value;
  }

  async read(offset: number, length: number, what = 'read'): Promise<Uint8Array> {
    checkRange(this, offset, length, what);
    if (offset < this.pieceStart) await this.close();
    while (this.pieceStart + this.piece.length <= offset && length > 0) await this.next(what);
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      if (this.pieceStart + this.piece.length <= offset + filled) await this.next(what);
      const from = offset + filled - this.pieceStart;
      const take = Math.min(this.piece.length - from, length - filled);
      out.set(this.piece.subarray(from, from + take), filled);
      filled += take;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.stream?.return(undefined);
    this.stream = undefined;
    this.piece = new Uint8Array(0);
    this.pieceStart = 0;
  }
}
