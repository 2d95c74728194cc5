/**
 * A bounded walk over an HDF5 file's metadata before the HDF5 library sees it.
 *
 * h5wasm runs the HDF5 C library in WebAssembly, where a loop in the library never returns control
 * to JavaScript: the only way out is terminating the worker. Some corrupt structures make the
 * library loop for ever, so they are found here first, by reading the same structures in our own
 * code with every step bounded:
 * - global heap collections (where variable-length strings such as Keras's `model_config` and
 *   `backend` attributes live): HDF5 steps from object to object by each object's declared size, so
 *   an object of size 0, or one whose size runs past the collection (a 32-bit `size_t` in
 *   WebAssembly wraps it around), sends it round the same bytes again and again; and a value HDF5
 *   cannot fetch from its collection (no collection there, another version, a missing object)
 *   aborts h5wasm, which afterwards reads such values differently depending on what the process
 *   read before;
 * - local heaps of old-style groups: a free list that comes back to a block already seen makes HDF5
 *   allocate a node per lap until its heap is exhausted;
 * - object header continuation chunks and group B-tree nodes reached twice (a cycle).
 *
 * The walk follows the superblock (versions 0-3) to the root group, old-style groups (symbol table,
 * B-tree, symbol nodes) and compact new-style groups (link messages), and each object header's
 * attributes (versions 1-3). What it cannot read (a structure of another version, a shared or dense
 * message, a bad signature other than a global heap collection's) it leaves to HDF5, which reports
 * such damage as an error: it refuses a file only for a structure that no valid file has. Every
 * structure is visited once, so the walk is linear in the file's metadata, and a structure that
 * lies outside the file is refused with its address.
 */
import { BoundedReader } from './reader';
import { PagedReader } from './pagedReader';
import { WeightFileError } from './types';

/** Object headers, B-tree nodes and symbol nodes visited at most: beyond this the walk stops. */
const MAX_STRUCTURES = 1_000_000;
/** Variable-length values of one attribute whose heap references are checked. */
const MAX_VL_ELEMENTS = 1_000_000;
/** HDF5's local heap free-list terminator (H5HL_FREE_NULL). */
const LOCAL_HEAP_FREE_NULL = 1;

const MESSAGE_LINK_INFO_SKIPPED = 0x0002;
const MESSAGE_DATATYPE = 0x0003;
const MESSAGE_LINK = 0x0006;
const MESSAGE_ATTRIBUTE = 0x000c;
const MESSAGE_CONTINUATION = 0x0010;
const MESSAGE_SYMBOL_TABLE = 0x0011;
const DATATYPE_CLASS_VARIABLE_LENGTH = 9;
/** A message whose body is a reference to a shared copy (message flag bit 1). */
const MESSAGE_FLAG_SHARED = 0x02;

/** Longest link name read for a message. */
const MAX_NAME_BYTES = 256;

const childPath = (group: string, name: string): string => (group === '/' ? `/${name}` : `${group}/${name}`);

/** Raised for a structure HDF5 could not get out of; `problem` names it and its address. */
class Refused extends Error {}

/** The walk stops reading a branch it does not understand (HDF5 decides about it). */
class NotUnderstood extends Error {}

/** A local heap's data segment, where an old-style group keeps its link names. */
interface HeapSegment {
  data: number;
  bytes: number;
}

interface Sizes {
  offsets: number;
  lengths: number;
}

class StructureWalk {
  private readonly objectHeaders = new Set<number>();
  /** The object header each link path the walk read leads to (hard links to one object share it). */
  readonly objectOfPath = new Map<string, number>();
  private readonly treeNodes = new Set<number>();
  private readonly symbolNodes = new Set<number>();
  private readonly localHeaps = new Map<number, HeapSegment | undefined>();
  /** The object indices each global heap collection holds; undefined where the walk could not read it. */
  private readonly collections = new Map<number, Set<number> | undefined>();
  private structures = 0;
  sizes: Sizes = { offsets: 8, lengths: 8 };

  constructor(
    private readonly reader: PagedReader,
    private readonly base: number,
  ) {}

  /** The unsigned little-endian integer of `width` bytes at `at`; undefined for HDF5's undefined address (all ones). */
  async unsigned(at: number, width: number, what: string): Promise<number | undefined> {
    await this.reader.load(at, width, what);
    let value = 0;
    let allOnes = true;
    for (let i = width - 1; i >= 0; i--) {
      const byte = this.reader.u8(at + i);
      if (byte !== 0xff) allOnes = false;
      value = value * 256 + byte;
    }
    if (allOnes) return undefined;
    return value;
  }

  async address(at: number, what: string): Promise<number | undefined> {
    const relative = await this.unsigned(at, this.sizes.offsets, what);
    return relative === undefined ? undefined : this.base + relative;
  }

  async length(at: number, what: string): Promise<number | undefined> {
    return this.unsigned(at, this.sizes.lengths, what);
  }

  /** Makes [at, at + bytes) resident, refusing a structure that runs past the end of the file. */
  async need(at: number, bytes: number, what: string): Promise<void> {
    if (!Number.isSafeInteger(at) || at < 0 || !Number.isSafeInteger(bytes) || at + bytes > this.reader.size) {
      throw new Refused(`${what} at byte ${at} (${bytes} bytes) lies outside the file (${this.reader.size} bytes)`);
    }
    // Larger than the page cache's window: read in windows by the callers (they step through).
    await this.reader.load(at, Math.min(bytes, this.reader.maxLoadBytes), what);
  }

  async signature(at: number, text: string): Promise<boolean> {
    if (at + text.length > this.reader.size) return false;
    await this.reader.load(at, text.length, text);
    for (let i = 0; i < text.length; i++) if (this.reader.u8(at + i) !== text.charCodeAt(i)) return false;
    return true;
  }

  private count(): boolean {
    return ++this.structures <= MAX_STRUCTURES;
  }

  /** The superblock at `at` (the signature's offset): sizes, then the root group's object header. */
  async superblock(at: number): Promise<void> {
    await this.need(at, 12, 'the superblock');
    const version = this.reader.u8(at + 8);
    if (version === 0 || version === 1) {
      await this.need(at, 24, 'the superblock');
      this.sizes = { offsets: this.reader.u8(at + 13), lengths: this.reader.u8(at + 14) };
      this.checkSizes();
      const fixed = version === 0 ? 24 : 28;
      // Base, free-space, end-of-file and driver addresses, then the root group's symbol table entry.
      const rootEntry = at + fixed + 4 * this.sizes.offsets;
      await this.need(rootEntry, 2 * this.sizes.offsets + 24, "the superblock's root group entry");
      const header = await this.address(rootEntry + this.sizes.offsets, "the root group's object header address");
      if (header !== undefined) await this.objectHeader(header, '/');
    } else if (version === 2 || version === 3) {
      this.sizes = { offsets: this.reader.u8(at + 9), lengths: this.reader.u8(at + 10) };
      this.checkSizes();
      const rootField = at + 12 + 3 * this.sizes.offsets;
      await this.need(rootField, this.sizes.offsets, 'the superblock');
      const header = await this.address(rootField, "the root group's object header address");
      if (header !== undefined) await this.objectHeader(header, '/');
    }
  }

  private checkSizes(): void {
    const valid = (n: number) => n === 2 || n === 4 || n === 8;
    if (!valid(this.sizes.offsets) || !valid(this.sizes.lengths)) throw new NotUnderstood();
  }

  /** The object header (version 1 or 2) of the object at `objectPath`: its messages in chunk 0 and every continuation chunk. */
  async objectHeader(at: number, objectPath: string): Promise<void> {
    const what = `object '${objectPath}'`;
    if (this.objectOfPath.size < MAX_STRUCTURES) this.objectOfPath.set(objectPath, at);
    if (this.objectHeaders.has(at)) return;
    this.objectHeaders.add(at);
    if (!this.count()) return;
    await this.need(at, 16, `${what}: object header`);
    const chunks: { start: number; end: number }[] = [];
    let version: 1 | 2;
    if (await this.signature(at, 'OHDR')) {
      version = 2;
      if (this.reader.u8(at + 4) !== 2) return;
      const flags = this.reader.u8(at + 5);
      let p = at + 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
      const width = 1 << (flags & 0x03);
      const size = await this.unsigned(p, width, `${what}: object header`);
      if (size === undefined) return;
      p += width;
      chunks.push({ start: p, end: p + size });
      await this.messages(chunks, at, version, flags, objectPath);
      return;
    }
    version = 1;
    if (this.reader.u8(at) !== 1) return;
    const size = this.reader.u32(at + 8);
    chunks.push({ start: at + 16, end: at + 16 + size });
    await this.messages(chunks, at, version, 0, objectPath);
  }

  /** Reads the messages of each chunk, appending continuation chunks as they are found. */
  private async messages(chunks: { start: number; end: number }[], header: number, version: 1 | 2, headerFlags: number, objectPath: string): Promise<void> {
    const what = `object '${objectPath}'`;
    const seen = new Set<number>([chunks[0]!.start]);
    const messageHeader = version === 1 ? 8 : 4 + (headerFlags & 0x04 ? 2 : 0);
    for (let c = 0; c < chunks.length; c++) {
      const { start, end } = chunks[c]!;
      if (end > this.reader.size) throw new Refused(`${what}: object header at byte ${header}: a chunk at byte ${start} runs to byte ${end}, past the end of the file (${this.reader.size} bytes)`);
      for (let p = start; p + messageHeader <= end; ) {
        await this.need(p, messageHeader, `${what}: object header message`);
        const type = version === 1 ? this.reader.u16(p) : this.reader.u8(p);
        const size = version === 1 ? this.reader.u16(p + 2) : this.reader.u16(p + 1);
        const flags = version === 1 ? this.reader.u8(p + 4) : this.reader.u8(p + 3);
        const body = p + messageHeader;
        if (body + size > end) return;
        p = body + size;
        if (flags & MESSAGE_FLAG_SHARED || type === MESSAGE_LINK_INFO_SKIPPED || type === MESSAGE_DATATYPE) continue;
        if (type === MESSAGE_CONTINUATION) {
          await this.need(body, this.sizes.offsets + this.sizes.lengths, `${what}: continuation message`);
          const chunk = await this.address(body, `${what}: continuation address`);
          const length = await this.length(body + this.sizes.offsets, `${what}: continuation length`);
          if (chunk === undefined || length === undefined) continue;
          if (seen.has(chunk)) throw new Refused(`${what}: object header at byte ${header}: its continuation chunk at byte ${chunk} is reached a second time (the chunks form a cycle)`);
          seen.add(chunk);
          if (version === 2) {
            if (!(await this.signature(chunk, 'OCHK'))) continue;
            chunks.push({ start: chunk + 4, end: chunk + length - 4 });
          } else chunks.push({ start: chunk, end: chunk + length });
        } else if (type === MESSAGE_SYMBOL_TABLE) {
          await this.need(body, 2 * this.sizes.offsets, `${what}: symbol table message`);
          const tree = await this.address(body, `${what}: group B-tree address`);
          const heap = await this.address(body + this.sizes.offsets, `${what}: local heap address`);
          const names = heap === undefined ? undefined : await this.localHeap(heap, what);
          if (tree !== undefined) await this.groupTree(tree, objectPath, names, new Set());
        } else if (type === MESSAGE_LINK) {
          await this.link(body, size, objectPath);
        } else if (type === MESSAGE_ATTRIBUTE) {
          await this.attribute(body, size, what);
        }
      }
    }
  }

  /** A link message of a compact new-style group: a hard link's target is walked. */
  private async link(body: number, size: number, groupPath: string): Promise<void> {
    const what = `object '${groupPath}'`;
    await this.need(body, size, `${what}: link message`);
    if (this.reader.u8(body) !== 1) return;
    const flags = this.reader.u8(body + 1);
    let p = body + 2;
    let linkType = 0;
    if (flags & 0x08) linkType = this.reader.u8(p++);
    if (flags & 0x04) p += 8;
    if (flags & 0x10) p += 1;
    const width = 1 << (flags & 0x03);
    if (p + width > body + size) return;
    const nameLength = await this.unsigned(p, width, `${what}: link name length`);
    if (nameLength === undefined) return;
    p += width;
    const name = new TextDecoder().decode(this.reader.view(p, Math.min(nameLength, Math.max(0, body + size - p))));
    p += nameLength;
    if (linkType !== 0 || p + this.sizes.offsets > body + size) return;
    const target = await this.address(p, `${what}: link '${name}'`);
    if (target !== undefined) await this.objectHeader(target, childPath(groupPath, name));
  }

  /** A local heap (the names of an old-style group): its free list must end. */
  private async localHeap(at: number, what: string): Promise<HeapSegment | undefined> {
    if (this.localHeaps.has(at)) return this.localHeaps.get(at);
    this.localHeaps.set(at, undefined);
    const span = 8 + 2 * this.sizes.lengths + this.sizes.offsets;
    await this.need(at, span, `${what}: local heap`);
    if (!(await this.signature(at, 'HEAP')) || this.reader.u8(at + 4) !== 0) return undefined;
    const dataBytes = await this.length(at + 8, `${what}: local heap`);
    let free = await this.length(at + 8 + this.sizes.lengths, `${what}: local heap`);
    const data = await this.address(at + 8 + 2 * this.sizes.lengths, `${what}: local heap`);
    if (dataBytes === undefined || data === undefined) return undefined;
    const segment = { data, bytes: dataBytes };
    this.localHeaps.set(at, segment);
    const blocks = new Set<number>();
    while (free !== undefined && free !== LOCAL_HEAP_FREE_NULL) {
      // HDF5 itself rejects a block outside the data segment.
      if (free >= dataBytes || free + 2 * this.sizes.lengths > dataBytes) return segment;
      if (blocks.has(free)) throw new Refused(`${what}: the local heap at byte ${at}: its free list comes back to the block at offset ${free} (a cycle; HDF5 would allocate a list node per lap until its memory runs out)`);
      blocks.add(free);
      await this.need(data + free, 2 * this.sizes.lengths, `${what}: local heap free block`);
      free = await this.length(data + free, `${what}: local heap free block`);
    }
    return segment;
  }

  /** The link name at `offset` of a group's local heap (for messages), or its offset when unreadable. */
  private async linkName(names: HeapSegment | undefined, offset: number | undefined): Promise<string> {
    const fallback = `(name at heap offset ${offset})`;
    if (!names || offset === undefined || offset >= names.bytes || names.data + offset >= this.reader.size) return fallback;
    const length = Math.min(MAX_NAME_BYTES, names.bytes - offset, this.reader.size - names.data - offset);
    await this.reader.load(names.data + offset, length, 'a link name');
    const bytes = this.reader.view(names.data + offset, length);
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
  }

  /** A version 1 B-tree of a group's symbol nodes; `path` holds the nodes above this one. */
  private async groupTree(at: number, groupPath: string, names: HeapSegment | undefined, path: Set<number>): Promise<void> {
    const what = `group '${groupPath}'`;
    if (path.has(at)) throw new Refused(`${what}: the group B-tree node at byte ${at} is its own descendant (a cycle)`);
    if (this.treeNodes.has(at)) return;
    this.treeNodes.add(at);
    if (!this.count()) return;
    const O = this.sizes.offsets;
    const L = this.sizes.lengths;
    await this.need(at, 8 + 2 * O, `${what}: group B-tree node`);
    if (!(await this.signature(at, 'TREE')) || this.reader.u8(at + 4) !== 0) return;
    const level = this.reader.u8(at + 5);
    const entries = this.reader.u16(at + 6);
    const first = at + 8 + 2 * O;
    await this.need(first, entries * (L + O) + L, `${what}: group B-tree node`);
    const children: number[] = [];
    for (let i = 0; i < entries; i++) {
      const child = await this.address(first + L + i * (L + O), `${what}: group B-tree child`);
      if (child !== undefined) children.push(child);
    }
    path.add(at);
    for (const child of children) {
      if (level > 0) await this.groupTree(child, groupPath, names, path);
      else await this.symbolNode(child, groupPath, names);
    }
    path.delete(at);
  }

  /** A symbol node: the entries of an old-style group, each naming an object header. */
  private async symbolNode(at: number, groupPath: string, names: HeapSegment | undefined): Promise<void> {
    const what = `group '${groupPath}'`;
    if (this.symbolNodes.has(at)) return;
    this.symbolNodes.add(at);
    if (!this.count()) return;
    const entryBytes = 2 * this.sizes.offsets + 24;
    await this.need(at, 8, `${what}: symbol node`);
    if (!(await this.signature(at, 'SNOD')) || this.reader.u8(at + 4) !== 1) return;
    const symbols = this.reader.u16(at + 6);
    await this.need(at + 8, symbols * entryBytes, `${what}: symbol node`);
    const targets: { header: number; nameOffset: number | undefined }[] = [];
    for (let i = 0; i < symbols; i++) {
      const entry = at + 8 + i * entryBytes;
      const nameOffset = await this.length(entry, `${what}: symbol table entry`);
      const header = await this.address(entry + this.sizes.offsets, `${what}: symbol table entry`);
      if (header !== undefined) targets.push({ header, nameOffset });
    }
    for (const { header, nameOffset } of targets) await this.objectHeader(header, childPath(groupPath, await this.linkName(names, nameOffset)));
  }

  /** An attribute message (versions 1-3): a variable-length value's global heap collections are checked. */
  private async attribute(body: number, size: number, what: string): Promise<void> {
    await this.need(body, size, `${what}: attribute message`);
    if (size < 8) return;
    const version = this.reader.u8(body);
    if (version < 1 || version > 3) return;
    const flags = version === 1 ? 0 : this.reader.u8(body + 1);
    if (flags & 0x03) return;
    const nameBytes = this.reader.u16(body + 2);
    const datatypeBytes = this.reader.u16(body + 4);
    const dataspaceBytes = this.reader.u16(body + 6);
    const padded = (n: number) => (version === 1 ? Math.ceil(n / 8) * 8 : n);
    const datatype = body + (version === 3 ? 9 : 8) + padded(nameBytes);
    const dataspace = datatype + padded(datatypeBytes);
    const data = dataspace + padded(dataspaceBytes);
    const end = body + size;
    if (data > end || datatypeBytes < 8) return;
    const nameAt = body + (version === 3 ? 9 : 8);
    const name = new TextDecoder().decode(this.reader.view(nameAt, Math.min(Math.max(0, nameBytes - 1), MAX_NAME_BYTES, end - nameAt)));
    what = `attribute '${name}' of ${what}`;
    await this.need(datatype, 8, `${what}: datatype`);
    if ((this.reader.u8(datatype) & 0x0f) !== DATATYPE_CLASS_VARIABLE_LENGTH) return;
    const elements = await this.dataspaceElements(dataspace, dataspaceBytes, what);
    if (elements === undefined) return;
    const elementBytes = 4 + this.sizes.offsets + 4;
    if (elements > MAX_VL_ELEMENTS || data + elements * elementBytes > end) return;
    for (let i = 0; i < elements; i++) {
      const element = data + i * elementBytes;
      await this.need(element, elementBytes, `${what}: variable-length value`);
      if (this.reader.u32(element) === 0) continue;
      const collection = await this.address(element + 4, `${what}: global heap address`);
      if (collection === undefined || collection === this.base) continue;
      const objects = await this.globalHeapCollection(collection, what);
      const index = this.reader.u32(element + 4 + this.sizes.offsets);
      if (objects && !objects.has(index)) {
        throw new Refused(`${what}: value ${i} refers to object ${index} of the global heap collection at byte ${collection}, which holds no such object`);
      }
    }
  }

  /** The number of elements a dataspace message (version 1 or 2) describes; undefined when not understood. */
  private async dataspaceElements(at: number, bytes: number, what: string): Promise<number | undefined> {
    if (bytes < 4) return undefined;
    await this.need(at, bytes, `${what}: dataspace`);
    const version = this.reader.u8(at);
    const rank = this.reader.u8(at + 1);
    let dims: number;
    if (version === 1) dims = at + 8;
    else if (version === 2) {
      const kind = this.reader.u8(at + 3);
      if (kind === 2) return 0;
      dims = at + 4;
    } else return undefined;
    if (dims + rank * this.sizes.lengths > at + bytes) return undefined;
    let elements = 1;
    for (let d = 0; d < rank; d++) {
      const extent = await this.length(dims + d * this.sizes.lengths, `${what}: dataspace`);
      if (extent === undefined) return undefined;
      elements *= extent;
    }
    return Number.isSafeInteger(elements) ? elements : undefined;
  }

  /**
   * A global heap collection, walked object by object as HDF5 loads it: each object must move the
   * walk forward and stay inside the collection, or HDF5 goes round the same bytes for ever. A
   * value that HDF5 cannot fetch from its collection (no collection there, a version other than 1,
   * an object the collection does not hold) makes h5wasm abort inside WebAssembly rather than
   * report an error (and whether it aborts or reads something else depends on what the process read
   * before), so those are refused too. Returns the indices of the objects it holds.
   */
  private async globalHeapCollection(at: number, what: string): Promise<Set<number> | undefined> {
    if (this.collections.has(at)) return this.collections.get(at);
    this.collections.set(at, undefined);
    const L = this.sizes.lengths;
    const headerBytes = 8 + L;
    await this.need(at, headerBytes, `${what}: global heap collection`);
    if (!(await this.signature(at, 'GCOL'))) throw new Refused(`${what}: its value's global heap collection at byte ${at} has no GCOL signature`);
    const version = this.reader.u8(at + 4);
    if (version !== 1) throw new Refused(`${what}: the global heap collection at byte ${at} is of version ${version} (HDF5 knows only version 1)`);
    const size = await this.length(at + 8, `${what}: global heap collection`);
    if (size === undefined) return undefined;
    if (at + size > this.reader.size) {
      throw new Refused(`${what}: the global heap collection at byte ${at} declares ${size} bytes, past the end of the file (${this.reader.size} bytes)`);
    }
    // An object's header: index (2), reference count (2), reserved (4), size (a length).
    const objectHeader = 8 + L;
    const end = at + size;
    const objects = new Set<number>();
    for (let p = at + headerBytes; p < end; ) {
      // HDF5 takes the last bytes as free space when no object header fits.
      if (p + objectHeader > end) break;
      await this.need(p, objectHeader, `${what}: global heap object`);
      const index = this.reader.u16(p);
      const objectBytes = await this.length(p + 8, `${what}: global heap object`);
      const step = objectBytes === undefined ? Infinity : index > 0 ? objectHeader + Math.ceil(objectBytes / 8) * 8 : objectBytes;
      if (step === 0 || step > end - p) {
        const object = index === 0 ? 'its free-space object' : `object ${index}`;
        throw new Refused(
          `${what}: the global heap collection at byte ${at} (${size} bytes): ${object} at byte ${p} declares ${objectBytes ?? 'an undefined'} bytes, ${step === 0 ? 'which does not move past it' : `more than the ${end - p} bytes left in the collection`} (HDF5 would step through the collection for ever)`,
        );
      }
      if (index > 0) objects.add(index);
      p += step;
    }
    this.collections.set(at, objects);
    return objects;
  }
}

/** What the walk learnt: the object each link path leads to, where it could read the group. */
export interface Hdf5Structure {
  /** The object header address of the object at `path` ('/', '/a/b'); undefined where the walk did not read the link. */
  objectAt(path: string): number | undefined;
}

/**
 * Walks the metadata of the HDF5 file at `fsPath` (superblock at `signatureAt`) and throws a
 * WeightFileError naming `reportedFile` and the structure when it holds one that would keep the
 * HDF5 library from returning.
 */
export async function checkHdf5Structure(fsPath: string, signatureAt: number, reportedFile: string): Promise<Hdf5Structure> {
  const source = await BoundedReader.open(fsPath);
  const walk = new StructureWalk(new PagedReader(source), signatureAt);
  const structure: Hdf5Structure = { objectAt: (path) => walk.objectOfPath.get(path) };
  try {
    await walk.superblock(signatureAt);
  } catch (error) {
    if (error instanceof Refused) {
      const inside = reportedFile === fsPath ? '' : ` (in its HDF5 weights file)`;
      throw new WeightFileError(reportedFile, `HDF5 structure refused before the HDF5 library reads it${inside}: ${error.message}; the file is truncated or corrupt`);
    }
    if (!(error instanceof NotUnderstood || error instanceof WeightFileError)) throw error;
  } finally {
    await source.close();
  }
  return structure;
}
