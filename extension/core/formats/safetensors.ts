/**
 * safetensors: an 8-byte little-endian header length, a JSON header mapping tensor names to
 * {dtype, shape, data_offsets}, then the raw little-endian data. Sharded checkpoints come as a
 * `*.safetensors.index.json` whose weight_map names the shard of every tensor.
 */
import { promises as fs } from 'node:fs';
import { type DType, checkedNumel, encodeValues, itemSize } from './dtypes';
import { BoundedReader } from './reader';
import { openShardedIndex, looksLikeShardIndex, shardFormatOf } from './sharded';
import { contiguousTensor } from './source';
import { type OpenOptions, type OpenedWeightFile, type TensorSource, WeightFileError, type WeightFormatParser } from './types';
import { setOwn } from './ownNames';

/** The reference implementation refuses headers above 100 MB; so do we. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

export const SAFETENSORS_DTYPES = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F8_E4M3: 'float8_e4m3fn',
  F8_E5M2: 'float8_e5m2',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U64: 'uint64',
  U32: 'uint32',
  U16: 'uint16',
  U8: 'uint8',
  BOOL: 'bool',
} as const satisfies Record<string, DType>;
export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPES;

/** Names the safetensors spec defines that we do not decode: skipped with a warning, not an error. */
const KNOWN_UNDECODED_DTYPES = new Set(['C64', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ']);

function isSafetensorsDType(name: string): name is SafetensorsDType {
  return Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPES, name);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

interface SingleFile {
  reader: BoundedReader;
  tensors: TensorSource[];
  metadata: Record<string, string>;
  warnings: string[];
}

/** Parses one .safetensors file's header and builds its tensor sources. Closes the reader on error. */
async function openSingle(file: string): Promise<SingleFile> {
  const reader = await BoundedReader.open(file);
  try {
    if (reader.size < 8) throw new WeightFileError(file, `only ${reader.size} bytes; a safetensors file starts with an 8-byte header length`);
    const lengthBytes = await reader.read(0, 8, 'header length');
    const declared = new DataView(lengthBytes.buffer).getBigUint64(0, true);
    if (declared > BigInt(reader.size - 8)) {
      throw new WeightFileError(file, `header length ${declared} runs past the end of the file (${reader.size} bytes); truncated or not safetensors`);
    }
    if (declared > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
      throw new WeightFileError(file, `header length ${declared} exceeds the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit`);
    }
    const headerLength = Number(declared);
    const headerBytes = await reader.read(8, headerLength, 'JSON header');
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
    } catch (error) {
      throw new WeightFileError(file, `the header is not valid UTF-8 JSON (${(error as Error).message})`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw new WeightFileError(file, 'the header is not a JSON object');
    }

    const dataStart = 8 + headerLength;
    const dataBytes = reader.size - dataStart;
    const warnings: string[] = [];
    const metadata: Record<string, string> = {};
    const placed: { name: string; begin: number; end: number }[] = [];
    const tensors: TensorSource[] = [];

    for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
          throw new WeightFileError(file, '__metadata__ must be an object of strings');
        }
        for (const [key, value] of Object.entries(entry)) {
          setOwn(metadata, key, typeof value === 'string' ? value : JSON.stringify(value));
        }
        continue;
      }
      const where = `tensor "${name}"`;
      if (typeof entry !== 'object' || entry === null) throw new WeightFileError(file, `${where}: entry is not an object`);
      const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
      if (typeof dtype !== 'string') throw new WeightFileError(file, `${where}: missing dtype`);
      if (!Array.isArray(shape)) throw new WeightFileError(file, `${where}: shape ${describe(shape)} is not a list`);
      const counted = checkedNumel(shape);
      if ('error' in counted) throw new WeightFileError(file, `${where}: ${counted.error}`);
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
        throw new WeightFileError(file, `${where}: data_offsets ${describe(offsets)} must be two non-negative integers`);
      }
      const [begin, end] = offsets as [number, number];
      if (end < begin) throw new WeightFileError(file, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
      if (end > dataBytes) {
        throw new WeightFileError(file, `${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataBytes} bytes); the file is truncated`);
      }
      placed.push({ name, begin, end });
      if (!isSafetensorsDType(dtype)) {
        if (KNOWN_UNDECODED_DTYPES.has(dtype)) {
          warnings.push(`tensor "${name}" has dtype ${dtype}, which is not decoded; skipped`);
          continue;
        }
        throw new WeightFileError(file, `${where}: unknown dtype ${describe(dtype)}`);
      }
      const decoded = SAFETENSORS_DTYPES[dtype];
      const expected = counted.numel * itemSize(decoded);
      if (end - begin !== expected) {
        throw new WeightFileError(
          file,
          `${where}: shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
        );
      }
      tensors.push(
        contiguousTensor({
          name,
          dtype: decoded,
          shape: shape as number[],
          numel: counted.numel,
          source: reader,
          byteOffset: dataStart + begin,
          fileByteOffset: dataStart + begin,
        }),
      );
    }

    placed.sort((a, b) => a.begin - b.begin || a.end - b.end);
    for (let i = 1; i < placed.length; i++) {
      const previous = placed[i - 1];
      const current = placed[i];
      if (current.begin < previous.end) {
        throw new WeightFileError(
          file,
          `tensors "${previous.name}" [${previous.begin}, ${previous.end}] and "${current.name}" [${current.begin}, ${current.end}] overlap`,
        );
      }
    }
    return { reader, tensors, metadata, warnings };
  } catch (error) {
    await reader.close();
    throw error;
  }
}

async function openSingleFile(file: string): Promise<OpenedWeightFile> {
  const single = await openSingle(file);
  return {
    file,
    format: 'safetensors',
    fileBytes: single.reader.size,
    tensors: single.tensors,
    warnings: single.warnings,
    metadata: single.metadata,
    close: () => single.reader.close(),
  };
}

export function isSafetensorsIndexName(fileName: string): boolean {
  return fileName.toLowerCase().endsWith('.safetensors.index.json');
}

export const safetensorsParser: WeightFormatParser = {
  format: 'safetensors',
  sniff(head, fileName) {
    if (head.length >= 10) {
      // An 8-byte length whose high bytes are zero, then the JSON object's opening brace.
      const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
      const length = view.getBigUint64(0, true);
      if (length >= 2n && length <= BigInt(MAX_SAFETENSORS_HEADER_BYTES) && head[8] === 0x7b && (head[9] === 0x22 || head[9] === 0x7d || head[9] === 0x20)) {
        return true;
      }
    }
    if (looksLikeShardIndex(head)) return shardFormatOf(head) !== 'pytorch';
    return isSafetensorsIndexName(fileName) || /\.safetensors$/i.test(fileName);
  },
  async open(file: string, _options?: OpenOptions): Promise<OpenedWeightFile> {
    const reader = await BoundedReader.open(file);
    let startsWithBrace = false;
    try {
      startsWithBrace = reader.size > 0 && (await reader.read(0, 1))[0] === 0x7b;
    } finally {
      await reader.close();
    }
    if (startsWithBrace || isSafetensorsIndexName(file)) return openShardedIndex(file, 'safetensors', openSingleFile);
    return openSingleFile(file);
  },
};

// ---------------------------------------------------------------------------------------------
// Writer.
// ---------------------------------------------------------------------------------------------

export interface SafetensorsTensorInput {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /**
   * Either raw little-endian bytes of exactly numel * itemsize (Uint8Array), numbers to encode as
   * `dtype` (any other typed array or number[]), or a function streaming raw byte chunks.
   */
  data: Uint8Array | ArrayLike<number> | (() => AsyncIterable<Uint8Array>);
}

/**
 * Writes a .safetensors file: tensors in the order given, the header padded with spaces to a
 * multiple of 8 bytes (as the reference implementation does), `metadata` as __metadata__.
 */
export async function writeSafetensors(
  file: string,
  tensors: readonly SafetensorsTensorInput[],
  metadata?: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const sizes: number[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    if (tensor.name === '__metadata__' || Object.prototype.hasOwnProperty.call(header, tensor.name)) {
      throw new WeightFileError(file, `cannot write tensor name "${tensor.name}" (reserved or repeated)`);
    }
    if (!isSafetensorsDType(tensor.dtype)) throw new WeightFileError(file, `tensor "${tensor.name}": unknown dtype ${String(tensor.dtype)}`);
    const counted = checkedNumel(tensor.shape);
    if ('error' in counted) throw new WeightFileError(file, `tensor "${tensor.name}": ${counted.error}`);
    const size = counted.numel * itemSize(SAFETENSORS_DTYPES[tensor.dtype]);
    setOwn(header, tensor.name, { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + size] });
    sizes.push(size);
    offset += size;
  }
  let json = JSON.stringify(header);
  const headerBytesUnpadded = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (headerBytesUnpadded % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));

  const handle = await fs.open(file, 'w');
  try {
    await handle.write(prefix);
    await handle.write(headerBytes);
    for (let i = 0; i < tensors.length; i++) {
      const tensor = tensors[i];
      const dtype = SAFETENSORS_DTYPES[tensor.dtype];
      let written = 0;
      const put = async (bytes: Uint8Array) => {
        written += bytes.length;
        if (written > sizes[i]) throw new WeightFileError(file, `tensor "${tensor.name}": data exceeds the ${sizes[i]} bytes its shape needs`);
        await handle.write(bytes);
      };
      if (typeof tensor.data === 'function') {
        for await (const chunk of tensor.data()) await put(chunk);
      } else if (tensor.data instanceof Uint8Array) {
        await put(tensor.data);
      } else {
        await put(encodeValues(tensor.data, dtype));
      }
      if (written !== sizes[i]) {
        throw new WeightFileError(file, `tensor "${tensor.name}": ${written} bytes of data given, its shape needs ${sizes[i]}`);
      }
    }
  } finally {
    await handle.close();
  }
}
