/**
 * Protobuf wire-format reading over a paged byte source, for models that are one protobuf message
 * too large to decode whole (ONNX). `fields` walks the fields of one message without reading
 * length-delimited values, so a caller descends only into the messages it wants and keeps the byte
 * ranges of payloads (tensor data) instead of their bytes. The small fields of a message are cut out
 * and decoded with a protobufjs type (`decode`); packed numeric runs are decoded here, window by
 * window, as they stream from disk.
 */
import type { Type } from 'protobufjs/light';
import { PagedReader } from './pagedReader';
import type { ByteSource } from './reader';
import { WeightFileError } from './types';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** Largest field number protobuf allows (2^29 - 1). */
const MAX_FIELD_NUMBER = 536870911;

/** A field of a message: its tag at `tagStart`, its value bytes [start, end); `value` for varints. */
export interface WireField {
  field: number;
  wire: number;
  tagStart: number;
  start: number;
  end: number;
  /** The varint's value when it is a safe integer, else NaN (negative int64s, huge values). */
  value: number;
}

/** Plain-object conversion for protobufjs: int64 as decimal strings (checked by the caller), bytes as arrays. */
export const TO_OBJECT_OPTIONS = { longs: String, enums: Number, bytes: Array, defaults: false, arrays: true } as const;

export class ProtobufReader {
  readonly pages: PagedReader;

  /** `format` names the message in errors, e.g. 'ONNX protobuf'. */
  constructor(
    source: ByteSource,
    readonly format = 'protobuf',
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
    throw new WeightFileError(this.pages.file, `invalid ${this.format}: ${problem}`);
  }

  /** The varint at `position` (loaded), ending before `end`: its value (NaN past 2^53) and where it ends. */
  private varint(position: number, end: number, what: string): { value: number; next: number } {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (position + i >= end) this.fail(`${what} at byte ${position} runs past the end of its message`);
      const byte = this.pages.u8(position + i);
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return { value: Number.isSafeInteger(value) ? value : NaN, next: position + i + 1 };
    }
    return this.fail(`${what} at byte ${position} is longer than 10 bytes`);
  }

  /** The fields of the message held in [start, end), in file order. Values are not read. */
  async *fields(start: number, end: number, what: string): AsyncGenerator<WireField> {
    let position = start;
    while (position < end) {
      // A tag and a length take at most 20 bytes. Awaiting only when they are not resident keeps a
      // message of many small fields from costing a promise per field.
      const head = Math.min(20, end - position);
      if (!this.pages.resident(position, head)) await this.pages.load(position, head, this.format);
      const tag = this.varint(position, end, `${what} field tag`);
      const field = Math.floor(tag.value / 8);
      const wire = tag.value % 8;
      if (!(field >= 1 && field <= MAX_FIELD_NUMBER)) this.fail(`${what} has field number ${String(field)} at byte ${position}`);
      let valueStart = tag.next;
      let valueEnd: number;
      let value = 0;
      switch (wire) {
        case WIRE_VARINT: {
          const v = this.varint(valueStart, end, `${what} field ${field}`);
          value = v.value;
          valueEnd = v.next;
          break;
        }
        case WIRE_FIXED64:
          valueEnd = valueStart + 8;
          break;
        case WIRE_FIXED32:
          valueEnd = valueStart + 4;
          break;
        case WIRE_LEN: {
          const length = this.varint(valueStart, end, `${what} field ${field} length`);
          if (Number.isNaN(length.value)) this.fail(`${what} field ${field} at byte ${position} declares a length beyond 2^53`);
          valueStart = length.next;
          valueEnd = valueStart + length.value;
          break;
        }
        default:
          this.fail(`${what} field ${field} at byte ${position} has wire type ${wire} (groups and unknown types are not read)`);
      }
      if (valueEnd > end) {
        this.fail(`${what} field ${field} at byte ${position} ends at ${valueEnd}, past the end of its message (${end}); the file is truncated or not ${this.format}`);
      }
      yield { field, wire, tagStart: position, start: valueStart, end: valueEnd, value };
      position = valueEnd;
    }
  }

  /** The bytes [start, end) of the file. */
  bytes(start: number, end: number): Promise<Uint8Array> {
    return this.pages.bytes(start, end - start, this.format);
  }

  /** The bytes [start, end) when they are resident in the page cache, else undefined. */
  residentBytes(start: number, end: number): Uint8Array | undefined {
    const length = end - start;
    if (length > this.pages.pageBytes || !this.pages.resident(start, length)) return undefined;
    return this.pages.view(start, length);
  }

  /** Decodes the collected fields `parts` (each a whole tag + value) of one message with protobufjs. */
  decode<T>(type: Type, parts: Uint8Array[], what: string): T {
    try {
      return type.toObject(type.decode(concatBytes(parts)), TO_OBJECT_OPTIONS) as T;
    } catch (error) {
      return this.fail(`${what}: ${(error as Error).message}`);
    }
  }
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Decodes varints from `bytes` starting at `start` (a packed run, or unpacked entries of one value
 * each), calling `push(low, high)` with the two 32-bit halves of each, until `maxValues` are decoded
 * or the bytes end. Unless `last` says the run ends with `bytes`, it stops before a varint that may
 * continue past them. Returns where it stopped. `fail` is called for a varint cut off by the end of
 * the run or longer than 10 bytes.
 */
export function decodeVarints(
  bytes: Uint8Array,
  start: number,
  last: boolean,
  maxValues: number,
  push: (low: number, high: number) => void,
  fail: (problem: string) => never,
): number {
  let p = start;
  for (let decoded = 0; decoded < maxValues && p < bytes.length; decoded++) {
    if (!last && bytes.length - p < 10) break;
    let low = 0;
    let high = 0;
    let i = 0;
    for (; ; i++) {
      if (p + i >= bytes.length || i >= 10) fail('ends inside a varint');
      const b = bytes[p + i]!;
      if (i < 4) low |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        low |= (b & 0x0f) << 28;
        high |= (b & 0x7f) >> 4;
      } else high |= (b & 0x7f) << (7 * i - 32);
      if ((b & 0x80) === 0) break;
    }
    p += i + 1;
    push(low >>> 0, high);
  }
  return p;
}

/** The int64 whose two's-complement halves are (low, high); exact while its magnitude is below 2^53. */
export function int64FromHalves(low: number, high: number): number {
  return (high | 0) * 4294967296 + (low >>> 0);
}

/** The uint64 whose halves are (low, high); exact below 2^53. */
export function uint64FromHalves(low: number, high: number): number {
  return (high >>> 0) * 4294967296 + (low >>> 0);
}
