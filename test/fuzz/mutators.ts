/**
 * Mutators: each takes the bytes of one file of a seed and returns damaged bytes and a short
 * description (kept with every saved failure, so a case can be understood without rerunning it).
 * Generic ones (bit flips, special bytes, truncation, splices, integer fields) apply to every
 * format; structure-aware ones aim at the fields parsers trust: numbers in JSON/text headers, zip
 * header sizes and offsets, pickle opcodes, protobuf lengths, FlatBuffer offsets, GGUF counts and
 * the HDF5 metadata at the start of the file. Everything draws from a seeded PRNG, so a run is
 * reproducible from its seed.
 */
import * as zlib from 'node:zlib';
import type { Target } from './seeds';

/** mulberry32: small, fast, good enough to pick offsets. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** An offset biased towards the start of the file, where headers live. */
  offset(length: number): number {
    if (length <= 1) return 0;
    const r = this.next();
    return r < 0.6 ? this.int(Math.min(length, 512)) : r < 0.8 ? this.int(Math.min(length, 8192)) : this.int(length);
  }
}

export interface Mutation {
  bytes: Uint8Array;
  what: string;
}

type Mutator = (bytes: Uint8Array, random: Random, others: Uint8Array[]) => Mutation;

const SPECIAL_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, 0x20, 0x0a];
/** Integers that break size arithmetic: zero, one, sign boundaries, 2^32, 2^53 and around them. */
const INTERESTING = [0n, 1n, -1n, 2n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n];
const TEXT_NUMBERS = ['-1', '0', '-0', '4294967296', '4294967295', '9007199254740993', '1e308', '-1e308', '1.5', 'NaN', 'Infinity', '"7"', '[]', '{}', 'null', '99999999999999999999'];
const TEXT_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', '', '../x', 'float32', 'int64', 'F64'];
const PICKLE_OPCODES = [0x28, 0x29, 0x2e, 0x30, 0x31, 0x32, 0x4a, 0x4b, 0x51, 0x52, 0x5d, 0x62, 0x63, 0x65, 0x68, 0x6a, 0x71, 0x72, 0x73, 0x74, 0x75, 0x7d, 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x93, 0x94, 0x95];

function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

const bitFlips: Mutator = (bytes, random) => {
  const out = copy(bytes);
  const flips = 1 + random.int(8);
  const at: number[] = [];
  for (let i = 0; i < flips && out.length > 0; i++) {
    const offset = random.offset(out.length);
    out[offset]! ^= 1 << random.int(8);
    at.push(offset);
  }
  return { bytes: out, what: `bit flips at ${at.join(',')}` };
};

const specialBytes: Mutator = (bytes, random) => {
  const out = copy(bytes);
  const at: string[] = [];
  for (let i = 0, n = 1 + random.int(4); i < n && out.length > 0; i++) {
    const offset = random.offset(out.length);
    const value = random.pick(SPECIAL_BYTES);
    out[offset] = value;
    at.push(`${offset}=0x${value.toString(16)}`);
  }
  return { bytes: out, what: `bytes ${at.join(',')}` };
};

const truncate: Mutator = (bytes, random) => {
  const length = random.next() < 0.5 ? random.offset(bytes.length) : random.int(bytes.length);
  return { bytes: bytes.slice(0, length), what: `truncated to ${length} of ${bytes.length} bytes` };
};

const splice: Mutator = (bytes, random, others) => {
  const source = others.length > 0 && random.next() < 0.3 ? random.pick(others) : bytes;
  if (source.length === 0 || bytes.length === 0) return truncate(bytes, random, others);
  const from = random.int(source.length);
  const length = Math.min(source.length - from, 1 + random.int(64));
  const to = random.offset(bytes.length);
  const piece = source.subarray(from, from + length);
  if (random.next() < 0.5) {
    const out = copy(bytes);
    out.set(piece.subarray(0, Math.min(piece.length, out.length - to)), to);
    return { bytes: out, what: `overwrote ${length} bytes at ${to} with bytes from ${from}` };
  }
  const out = new Uint8Array(bytes.length + piece.length);
  out.set(bytes.subarray(0, to));
  out.set(piece, to);
  out.set(bytes.subarray(to), to + piece.length);
  return { bytes: out, what: `inserted ${length} bytes from ${from} at ${to}` };
};

function writeInt(out: Uint8Array, offset: number, width: 2 | 4 | 8, value: bigint): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (offset + width > out.length) return;
  if (width === 2) view.setUint16(offset, Number(BigInt.asUintN(16, value)), true);
  else if (width === 4) view.setUint32(offset, Number(BigInt.asUintN(32, value)), true);
  else view.setBigUint64(offset, BigInt.asUintN(64, value), true);
}

function interestingNear(random: Random, current: bigint): bigint {
  const r = random.next();
  if (r < 0.6) return random.pick(INTERESTING);
  if (r < 0.8) return current + BigInt(random.int(17) - 8);
  return current << BigInt(1 + random.int(16));
}

/** An integer field (2, 4 or 8 bytes, aligned or not) rewritten to a boundary value. */
function intFieldAt(bytes: Uint8Array, random: Random, offset: number, width: 2 | 4 | 8, label: string): Mutation {
  const out = copy(bytes);
  if (offset + width > out.length) return { bytes: out, what: `${label}: no field at ${offset}` };
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const current = width === 2 ? BigInt(view.getUint16(offset, true)) : width === 4 ? BigInt(view.getUint32(offset, true)) : view.getBigUint64(offset, true);
  const value = interestingNear(random, current);
  writeInt(out, offset, width, value);
  return { bytes: out, what: `${label}: u${width * 8} at ${offset}: ${current} -> ${BigInt.asUintN(width * 8, value)}` };
}

const intField: Mutator = (bytes, random) => {
  const width = random.pick([2, 4, 4, 8] as const);
  let offset = random.offset(bytes.length);
  if (random.next() < 0.7) offset -= offset % width;
  return intFieldAt(bytes, random, offset, width, 'integer field');
};

/** A number (or a name) in a text header (JSON, npy dict, cfg) replaced. */
const textField: Mutator = (bytes, random) => {
  const limit = Math.min(bytes.length, 1 << 16);
  const text = Buffer.from(bytes.subarray(0, limit)).toString('latin1');
  const tokens: { at: number; length: number; kind: 'number' | 'name' }[] = [];
  for (const match of text.matchAll(/-?\d+(\.\d+)?([eE][-+]?\d+)?/g)) tokens.push({ at: match.index!, length: match[0].length, kind: 'number' });
  for (const match of text.matchAll(/"([A-Za-z_][\w./-]{0,40})"/g)) tokens.push({ at: match.index! + 1, length: match[1]!.length, kind: 'name' });
  if (tokens.length === 0) return bitFlips(bytes, random, []);
  const token = random.pick(tokens);
  const replacement = token.kind === 'number' ? random.pick(TEXT_NUMBERS) : random.pick(TEXT_NAMES);
  const encoded = Buffer.from(replacement, 'latin1');
  const out = new Uint8Array(bytes.length - token.length + encoded.length);
  out.set(bytes.subarray(0, token.at));
  out.set(encoded, token.at);
  out.set(bytes.subarray(token.at + token.length), token.at + encoded.length);
  const before = text.slice(token.at, token.at + token.length);
  // A length-prefixed header (safetensors u64, npy u16/u32) must follow the text's new length to
  // get past the first check; half the time it does.
  if (random.next() < 0.5) fixLengthPrefix(out, encoded.length - token.length);
  return { bytes: out, what: `text ${token.kind} at ${token.at}: ${JSON.stringify(before)} -> ${JSON.stringify(replacement)}` };
};

/** safetensors (u64 at 0) and npy (u16 at 8 or u32 at 8) header lengths follow an edit of the header. */
function fixLengthPrefix(out: Uint8Array, delta: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (out.length >= 10 && out[0] === 0x93 && out[1] === 0x4e) {
    if (out[6] === 1) view.setUint16(8, (view.getUint16(8, true) + delta) & 0xffff, true);
    else if (out.length >= 12) view.setUint32(8, (view.getUint32(8, true) + delta) >>> 0, true);
  } else if (out.length >= 9 && out[8] === 0x7b) {
    view.setBigUint64(0, BigInt.asUintN(64, view.getBigUint64(0, true) + BigInt(delta)), true);
  }
}

/** Offsets of every zip record with `signature` ("PK\x03\x04" local, "PK\x01\x02" central, "PK\x05\x06" end). */
function zipRecords(bytes: Uint8Array, signature: number): number[] {
  const found: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i + 4 <= bytes.length; i++) if (view.getUint32(i, true) === signature) found.push(i);
  return found;
}

/** Sizes, offsets, name lengths, methods and counts of zip records rewritten. */
type ZipFields = readonly (readonly [number, 2 | 4])[];

const zipHeader: Mutator = (bytes, random) => {
  const local = zipRecords(bytes, 0x04034b50).map((at) => ({ at, fields: [[8, 2], [14, 4], [18, 4], [22, 4], [26, 2], [28, 2]] as ZipFields, name: 'local' }));
  const central = zipRecords(bytes, 0x02014b50).map((at) => ({ at, fields: [[10, 2], [16, 4], [20, 4], [24, 4], [28, 2], [30, 2], [42, 4]] as ZipFields, name: 'central' }));
  const end = zipRecords(bytes, 0x06054b50).map((at) => ({ at, fields: [[8, 2], [10, 2], [12, 4], [16, 4], [20, 2]] as ZipFields, name: 'end' }));
  const records = [...local, ...central, ...end];
  if (records.length === 0) return intField(bytes, random, []);
  const record = random.pick(records);
  const [field, width] = random.pick(record.fields);
  return intFieldAt(bytes, random, record.at + field, width, `zip ${record.name} header at ${record.at}, field +${field}`);
};

const BOMB_SIZES = [1 << 20, 64 << 20, 256 << 20] as const;
const bombs = new Map<number, Buffer>();

/**
 * The raw deflate stream of `inflated` zero bytes, made once per size: deflating 256 MiB takes about
 * a second, which the run would otherwise pay on every zip bomb instead of spending it on parsers.
 */
function bombOf(inflated: number): Buffer {
  let bomb = bombs.get(inflated);
  if (!bomb) {
    bomb = zlib.deflateRawSync(Buffer.alloc(inflated), { level: 9 });
    bombs.set(inflated, bomb);
  }
  return bomb;
}

/**
 * A zip bomb in place of one entry: the data replaced by a deflate stream of zeros that inflates to
 * far more than the entry claims (or claims it honestly, up to 1 GiB).
 */
const zipBomb: Mutator = (bytes, random) => {
  const local = zipRecords(bytes, 0x04034b50);
  if (local.length === 0) return intField(bytes, random, []);
  const at = random.pick(local);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (at + 30 > bytes.length) return intField(bytes, random, []);
  const nameLength = view.getUint16(at + 26, true);
  const extraLength = view.getUint16(at + 28, true);
  const compressedSize = view.getUint32(at + 18, true);
  const dataAt = at + 30 + nameLength + extraLength;
  if (dataAt > bytes.length) return intField(bytes, random, []);
  const inflated = random.pick(BOMB_SIZES);
  const bomb = bombOf(inflated);
  const claimed = random.next() < 0.5 ? inflated : Number(random.pick(INTERESTING) & 0xffffffffn);
  const out = new Uint8Array(bytes.length - Math.min(compressedSize, bytes.length - dataAt) + bomb.length);
  out.set(bytes.subarray(0, dataAt));
  out.set(bomb, dataAt);
  out.set(bytes.subarray(Math.min(bytes.length, dataAt + compressedSize)), dataAt + bomb.length);
  const outView = new DataView(out.buffer);
  outView.setUint16(at + 8, 8, true);
  outView.setUint32(at + 18, bomb.length, true);
  outView.setUint32(at + 22, claimed >>> 0, true);
  const shift = bomb.length - compressedSize;
  // The central directory entry of the same file, and the end record's directory offset.
  for (const c of zipRecords(out, 0x02014b50)) {
    if (c + 46 > out.length) continue;
    const offset = outView.getUint32(c + 42, true);
    if (offset === at) {
      outView.setUint16(c + 10, 8, true);
      outView.setUint32(c + 20, bomb.length, true);
      outView.setUint32(c + 24, claimed >>> 0, true);
    } else if (offset > at) outView.setUint32(c + 42, (offset + shift) >>> 0, true);
  }
  for (const e of zipRecords(out, 0x06054b50)) {
    if (e + 22 > out.length) continue;
    const directory = outView.getUint32(e + 16, true);
    if (directory > at) outView.setUint32(e + 16, (directory + shift) >>> 0, true);
  }
  return { bytes: out, what: `zip bomb: entry at ${at} deflates ${inflated} zero bytes, claims ${claimed}` };
};

/** Pickle opcodes inserted or overwritten inside a stored data.pkl (or anywhere, for a bare pickle). */
const pickleOpcodes: Mutator = (bytes, random) => {
  const found = Buffer.from(bytes).indexOf('data.pkl');
  let start = 0;
  let end = bytes.length;
  if (found >= 0) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const at = found - 30;
    if (at >= 0 && view.getUint32(at, true) === 0x04034b50) {
      start = found + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
      end = Math.min(bytes.length, start + view.getUint32(at + 18, true));
    }
  }
  const out = copy(bytes);
  const changes: string[] = [];
  for (let i = 0, n = 1 + random.int(3); i < n && end > start; i++) {
    const offset = start + random.int(end - start);
    const opcode = random.pick(PICKLE_OPCODES);
    out[offset] = opcode;
    if (random.next() < 0.5 && offset + 1 < end) out[offset + 1] = random.int(4);
    changes.push(`${offset}=0x${opcode.toString(16)}`);
  }
  return { bytes: fixZipCrcs(out), what: `pickle opcodes ${changes.join(',')}` };
};

/** A protobuf length (the varint after a wire-type-2 tag) rewritten huge, zero or off by a little. */
const protobufLength: Mutator = (bytes, random) => {
  const out = copy(bytes);
  for (let attempt = 0; attempt < 64; attempt++) {
    const at = random.offset(out.length - 1);
    if ((out[at]! & 7) !== 2 || out[at]! >> 3 === 0) continue;
    const replacement = random.pick([[0xff, 0xff, 0xff, 0xff, 0x0f], [0x00], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [(out[at + 1]! + 1) & 0x7f], [0x7f]]);
    out.set(replacement.slice(0, out.length - at - 1), at + 1);
    return { bytes: out, what: `protobuf length after tag 0x${out[at]!.toString(16)} at ${at} -> [${replacement.join(',')}]` };
  }
  return bitFlips(bytes, random, []);
};

/** A FlatBuffer offset or vector length (a 4-aligned u32) rewritten. */
const flatbufferOffset: Mutator = (bytes, random) => {
  let offset = random.offset(bytes.length);
  offset -= offset % 4;
  return intFieldAt(bytes, random, offset, 4, 'flatbuffer u32');
};

/** GGUF: the tensor and key-value counts, or a string/array length near the start, rewritten. */
const ggufCount: Mutator = (bytes, random) => {
  const offset = random.next() < 0.5 ? random.pick([8, 16]) : 24 + random.int(Math.min(bytes.length, 256));
  return intFieldAt(bytes, random, offset, 8, 'gguf count');
};

/** HDF5: the superblock and object headers sit in the first kilobytes: flips and fields there. */
const hdf5Header: Mutator = (bytes, random) => {
  const out = copy(bytes);
  const span = Math.min(out.length, 4096);
  const offset = random.int(span);
  if (random.next() < 0.5) {
    out[offset]! ^= 1 << random.int(8);
    return { bytes: out, what: `hdf5 metadata bit flip at ${offset}` };
  }
  return intFieldAt(bytes, random, offset - (offset % 4), random.pick([4, 8] as const), 'hdf5 metadata');
};

/**
 * The CRC-32 of every stored (uncompressed) zip entry recomputed, so that a mutation inside an
 * entry reaches the parser rather than stopping at a checksum.
 */
export function fixZipCrcs(bytes: Uint8Array): Uint8Array {
  const crc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (!crc32) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const at of zipRecords(bytes, 0x04034b50)) {
    if (at + 30 > bytes.length || view.getUint16(at + 8, true) !== 0) continue;
    const size = view.getUint32(at + 18, true);
    const dataAt = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
    if (dataAt + size > bytes.length) continue;
    const crc = crc32(bytes.subarray(dataAt, dataAt + size));
    view.setUint32(at + 14, crc, true);
    for (const c of zipRecords(bytes, 0x02014b50)) if (c + 46 <= bytes.length && view.getUint32(c + 42, true) === at) view.setUint32(c + 16, crc, true);
  }
  return bytes;
}

const GENERIC: [Mutator, number][] = [
  [bitFlips, 3],
  [specialBytes, 2],
  [truncate, 1],
  [splice, 1],
  [intField, 3],
];

const BY_TARGET: Record<Target, [Mutator, number][]> = {
  safetensors: [[textField, 4]],
  sharded: [[textField, 4]],
  npy: [[textField, 3]],
  npz: [[zipHeader, 2], [zipBomb, 1], [textField, 2]],
  pytorch: [[zipHeader, 2], [zipBomb, 1], [pickleOpcodes, 4]],
  hdf5: [[hdf5Header, 4]],
  keras: [[zipHeader, 2], [zipBomb, 1], [hdf5Header, 2], [textField, 1]],
  gguf: [[ggufCount, 4]],
  darknet: [[textField, 4]],
  tfjs: [[textField, 5]],
  onnx: [[protobufLength, 4]],
  tflite: [[flatbufferOffset, 5]],
};

/** One mutation of `bytes` for `target`, by a weighted choice of the generic and the format's mutators. */
export function mutate(target: Target, bytes: Uint8Array, random: Random, others: Uint8Array[] = []): Mutation {
  const choices = [...GENERIC, ...BY_TARGET[target]];
  let r = random.next() * choices.reduce((sum, [, w]) => sum + w, 0);
  for (const [mutator, weight] of choices) {
    r -= weight;
    if (r < 0) {
      try {
        return mutator(bytes, random, others);
      } catch (error) {
        // A mutator meeting bytes it did not expect (an earlier mutation moved a record) is the
        // harness's problem, not the parser's: fall back to bit flips and say so.
        process.stderr.write(`mutator ${mutator.name} failed (${(error as Error).message}); bit flips instead\n`);
        return bitFlips(bytes, random, others);
      }
    }
  }
  return bitFlips(bytes, random, others);
}
