import { constants, crc32, deflateRawSync } from 'node:zlib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import type { OpenedWeightFile } from '../../../../extension/core/formats/types';
import { readAllValues } from '../../../../extension/core/formats/source';

/** A temporary folder removed when the test file finishes. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `deep-accel-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** name -> all values, for small test files. */
export async function valuesByName(opened: OpenedWeightFile): Promise<Record<string, number[]>> {
  const result: Record<string, number[]> = {};
  for (const tensor of opened.tensors) result[tensor.name] = Array.from(await readAllValues(tensor));
  return result;
}

export function le32(values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

export interface ZipInput {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** Override the sizes written in the central directory (to build malformed archives). */
  declaredSize?: number;
  /** Already deflated content (`data` is then ignored): its raw deflate body, size and CRC-32. */
  deflated?: { body: Uint8Array; size: number; crc: number };
}

/**
 * `prefix` (an .npy header, say) then `count` MiB of zero bytes as a raw deflate stream, built
 * without holding them: the prefix fully flushed, one fully flushed (self-contained) block of 1 MiB
 * of zeros repeated, then an empty final block.
 */
export function deflatedZeros(mebibytes: number, prefix: Uint8Array = new Uint8Array(0)): { body: Uint8Array; size: number; crc: number } {
  const zeros = Buffer.alloc(1 << 20);
  const head = prefix.length > 0 ? deflateRawSync(prefix, { finishFlush: constants.Z_FULL_FLUSH }) : new Uint8Array(0);
  const block = deflateRawSync(zeros, { finishFlush: constants.Z_FULL_FLUSH });
  const final = deflateRawSync(Buffer.alloc(0));
  const body = new Uint8Array(head.length + block.length * mebibytes + final.length);
  body.set(head, 0);
  let crc = prefix.length > 0 ? crc32(prefix) : 0;
  for (let i = 0; i < mebibytes; i++) {
    body.set(block, head.length + i * block.length);
    crc = crc32(zeros, crc);
  }
  body.set(final, head.length + block.length * mebibytes);
  return { body, size: prefix.length + mebibytes * (1 << 20), crc };
}

/**
 * Writes a zip archive: local headers, data, central directory, end record. With `zip64`, the
 * central records carry saturated 32-bit fields plus a zip64 extra field, and a zip64 end record
 * and locator precede the classic end record (as writers do for archives over 4 GiB).
 */
export function buildZip(entries: ZipInput[], options: { zip64?: boolean } = {}): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = ascii(entry.name);
    const deflate = entry.deflate || entry.deflated !== undefined;
    const body = entry.deflated ? entry.deflated.body : entry.deflate ? new Uint8Array(deflateRawSync(entry.data)) : entry.data;
    const crc = entry.deflated ? entry.deflated.crc : crc32(entry.data);
    const size = entry.declaredSize ?? entry.deflated?.size ?? entry.data.length;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, deflate ? 8 : 0, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const extra = options.zip64 ? 4 + 24 : 0;
    const central = new Uint8Array(46 + name.length + extra);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, deflate ? 8 : 0, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    if (options.zip64) {
      cv.setUint32(20, 0xffffffff, true);
      cv.setUint32(24, 0xffffffff, true);
      cv.setUint32(42, 0xffffffff, true);
      cv.setUint16(30, extra, true);
      const at = 46 + name.length;
      cv.setUint16(at, 0x0001, true);
      cv.setUint16(at + 2, 24, true);
      cv.setBigUint64(at + 4, BigInt(size), true);
      cv.setBigUint64(at + 12, BigInt(body.length), true);
      cv.setBigUint64(at + 20, BigInt(offset), true);
    }
    locals.push(local, body);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const directory = concat(...centrals);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, directory.length, true);
  ev.setUint32(16, offset, true);
  if (!options.zip64) return concat(...locals, directory, end);
  ev.setUint16(8, 0xffff, true);
  ev.setUint16(10, 0xffff, true);
  ev.setUint32(12, 0xffffffff, true);
  ev.setUint32(16, 0xffffffff, true);
  const record = new Uint8Array(56);
  const rv = new DataView(record.buffer);
  rv.setUint32(0, 0x06064b50, true);
  rv.setBigUint64(4, 44n, true);
  rv.setUint16(12, 45, true);
  rv.setUint16(14, 45, true);
  rv.setBigUint64(24, BigInt(entries.length), true);
  rv.setBigUint64(32, BigInt(entries.length), true);
  rv.setBigUint64(40, BigInt(directory.length), true);
  rv.setBigUint64(48, BigInt(offset), true);
  const locator = new Uint8Array(20);
  const lv = new DataView(locator.buffer);
  lv.setUint32(0, 0x07064b50, true);
  lv.setBigUint64(8, BigInt(offset + directory.length), true);
  lv.setUint32(16, 1, true);
  return concat(...locals, directory, record, locator, end);
}

/**
 * Emits pickle opcodes one by one, so each test documents the exact bytes it feeds the VM. Opcode
 * values are those of CPython's pickle.py (e.g. 0x80 PROTO, 'c' GLOBAL, 'R' REDUCE, 'Q' BINPERSID).
 */
export class Pickler {
  private parts: number[] = [];
  private memo = 0;
  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }
  proto(version: number): this {
    return this.op(0x80, version);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...ascii(`${module}\n${name}\n`));
  }
  str(text: string): this {
    const bytes = new TextEncoder().encode(text);
    return this.op(0x58, bytes.length & 0xff, (bytes.length >> 8) & 0xff, 0, 0, ...bytes);
  }
  int(value: number): this {
    if (value >= 0 && value < 256) return this.op(0x4b, value);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, value, true);
    return this.op(0x4a, ...b);
  }
  put(): this {
    return this.op(0x71, this.memo++);
  }
  get(index: number): this {
    return this.op(0x68, index);
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  /** An int tuple via MARK ... TUPLE. */
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  reduce(): this {
    return this.op(0x52);
  }
  orderedDict(): this {
    return this.global('collections', 'OrderedDict').emptyTuple().reduce();
  }
  /** torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()). */
  tensor(storageType: string, key: string, storageNumel: number, offset: number, size: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', storageType).str(key).str('cpu').int(storageNumel).tuple().op(0x51); // BINPERSID
    this.int(offset).ints(size).ints(stride).op(0x89).orderedDict(); // NEWFALSE, backward hooks
    return this.tuple().reduce();
  }
  stop(): Uint8Array {
    return Uint8Array.from([...this.parts, 0x2e]);
  }
}


/** Little-endian GGUF field writer. */
export class GgufWriter {
  private parts: Uint8Array[] = [];
  private n(bytes: number, set: (view: DataView) => void): this {
    const b = new Uint8Array(bytes);
    set(new DataView(b.buffer));
    this.parts.push(b);
    return this;
  }
  raw(bytes: Uint8Array): this {
    this.parts.push(bytes);
    return this;
  }
  u8 = (v: number) => this.n(1, (d) => d.setUint8(0, v));
  u32 = (v: number) => this.n(4, (d) => d.setUint32(0, v, true));
  f32 = (v: number) => this.n(4, (d) => d.setFloat32(0, v, true));
  u64 = (v: number | bigint) => this.n(8, (d) => d.setBigUint64(0, BigInt(v), true));
  str(text: string): this {
    const bytes = new TextEncoder().encode(text);
    return this.u64(bytes.length).raw(bytes);
  }
  get length(): number {
    return this.parts.reduce((n, p) => n + p.length, 0);
  }
  pad(alignment: number): this {
    return this.raw(new Uint8Array((alignment - (this.length % alignment)) % alignment));
  }
  bytes(): Uint8Array {
    return concat(...this.parts);
  }
}

export function ggufHeader(tensorCount: number, keyCount: number, version = 3): GgufWriter {
  return new GgufWriter().raw(new TextEncoder().encode('GGUF')).u32(version).u64(tensorCount).u64(keyCount);
}

export function ggufTensorInfo(w: GgufWriter, name: string, dims: number[], type: number, offset: number): void {
  w.str(name).u32(dims.length);
  for (const d of dims) w.u64(d);
  w.u32(type).u64(offset);
}

