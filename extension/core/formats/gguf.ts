/**
 * GGUF (versions 2 and 3), the llama.cpp/ggml checkpoint format: "GGUF", version, tensor and
 * key-value counts, typed key-values, tensor infos (name, dims with the fastest-varying first, ggml
 * type, offset), then aligned tensor data.
 *
 * The header is read field by field through a bounded cursor with limits on every count and length.
 * F32/F16/BF16/F64, the integer types and the Q8_0, Q4_0 and Q4_1 block quantisations are decoded;
 * other ggml types are listed in warnings and left out.
 */
import { checkedNumel, float16FromBits } from './dtypes';
import { type ByteSource, BoundedReader, ByteCursor } from './reader';
import { chunkLimit, contiguousTensor } from './source';
import { type OpenOptions, type OpenedWeightFile, type TensorSource, WeightFileError, type WeightFormatParser } from './types';

export const MAX_GGUF_TENSORS = 1_000_000;
export const MAX_GGUF_KEYS = 1_000_000;
export const MAX_GGUF_STRING_BYTES = 64 * 1024 * 1024;
const MAX_KEY_BYTES = 65_535;
const MAX_DIMS = 8;
const MAX_ARRAY_NESTING = 4;
const DEFAULT_ALIGNMENT = 32;

interface GgmlType {
  name: string;
  blockElements: number;
  blockBytes: number;
}

/** ggml_type ids, with block sizes (elements) and block byte sizes from ggml's type traits. */
export const GGML_TYPES: Record<number, GgmlType> = {
  0: { name: 'F32', blockElements: 1, blockBytes: 4 },
  1: { name: 'F16', blockElements: 1, blockBytes: 2 },
  2: { name: 'Q4_0', blockElements: 32, blockBytes: 18 },
  3: { name: 'Q4_1', blockElements: 32, blockBytes: 20 },
  6: { name: 'Q5_0', blockElements: 32, blockBytes: 22 },
  7: { name: 'Q5_1', blockElements: 32, blockBytes: 24 },
  8: { name: 'Q8_0', blockElements: 32, blockBytes: 34 },
  9: { name: 'Q8_1', blockElements: 32, blockBytes: 36 },
  10: { name: 'Q2_K', blockElements: 256, blockBytes: 84 },
  11: { name: 'Q3_K', blockElements: 256, blockBytes: 110 },
  12: { name: 'Q4_K', blockElements: 256, blockBytes: 144 },
  13: { name: 'Q5_K', blockElements: 256, blockBytes: 176 },
  14: { name: 'Q6_K', blockElements: 256, blockBytes: 210 },
  15: { name: 'Q8_K', blockElements: 256, blockBytes: 292 },
  24: { name: 'I8', blockElements: 1, blockBytes: 1 },
  25: { name: 'I16', blockElements: 1, blockBytes: 2 },
  26: { name: 'I32', blockElements: 1, blockBytes: 4 },
  27: { name: 'I64', blockElements: 1, blockBytes: 8 },
  28: { name: 'F64', blockElements: 1, blockBytes: 8 },
  30: { name: 'BF16', blockElements: 1, blockBytes: 2 },
};

/** Names of ggml types whose layout we do not decode (nor size), for the warning text. */
const OTHER_GGML_TYPE_NAMES: Record<number, string> = {
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  29: 'IQ1_M',
  34: 'TQ1_0',
  35: 'TQ2_0',
  39: 'MXFP4',
};

const PLAIN_TYPES = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64', I8: 'int8', I16: 'int16', I32: 'int32', I64: 'int64' } as const;
const QUANTISED_DECODERS = new Set(['Q8_0', 'Q4_0', 'Q4_1']);

const VALUE_TYPE_NAMES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'];

export function isGguf(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46;
}

async function readString(cursor: ByteCursor, what: string, max = MAX_GGUF_STRING_BYTES): Promise<string> {
  const length = await cursor.u64AsNumber(`${what} length`, Math.min(max, cursor.remaining));
  return new TextDecoder().decode(await cursor.bytes(length));
}

/** Reads one typed value; arrays are summarised when long. Returns its text for the metadata record. */
async function readValue(cursor: ByteCursor, type: number, key: string, depth: number): Promise<{ text: string; value?: number }> {
  switch (type) {
    case 0: {
      const v = await cursor.u8();
      return { text: String(v), value: v };
    }
    case 1: {
      const v = ((await cursor.u8()) << 24) >> 24;
      return { text: String(v), value: v };
    }
    case 2: {
      const v = await cursor.u16();
      return { text: String(v), value: v };
    }
    case 3: {
      const v = await cursor.i16();
      return { text: String(v), value: v };
    }
    case 4: {
      const v = await cursor.u32();
      return { text: String(v), value: v };
    }
    case 5: {
      const v = await cursor.i32();
      return { text: String(v), value: v };
    }
    case 6: {
      const v = await cursor.f32();
      return { text: String(v), value: v };
    }
    case 7: {
      const v = await cursor.u8();
      if (v > 1) cursor.fail(`key "${key}": bool value ${v}`);
      return { text: v ? 'true' : 'false', value: v };
    }
    case 8:
      return { text: await readString(cursor, `key "${key}" string`) };
    case 9: {
      if (depth >= MAX_ARRAY_NESTING) cursor.fail(`key "${key}": arrays nest deeper than ${MAX_ARRAY_NESTING}`);
      const itemType = await cursor.u32();
      if (itemType >= VALUE_TYPE_NAMES.length) cursor.fail(`key "${key}": unknown array element type ${itemType}`);
      // Every element takes at least one byte, so the count cannot exceed the bytes left.
      const count = await cursor.u64AsNumber(`key "${key}" array length`, cursor.remaining);
      const shown: string[] = [];
      for (let i = 0; i < count; i++) {
        const item = await readValue(cursor, itemType, key, depth + 1);
        if (i < 8) shown.push(itemType === 8 ? JSON.stringify(item.text) : item.text);
      }
      return { text: `[${shown.join(', ')}${count > 8 ? `, ... (${count} ${VALUE_TYPE_NAMES[itemType]})` : ''}]` };
    }
    case 10: {
      const v = await cursor.u64();
      return { text: String(v), value: Number(v) };
    }
    case 11: {
      const v = await cursor.i64();
      return { text: String(v), value: Number(v) };
    }
    case 12: {
      const v = await cursor.f64();
      return { text: String(v), value: v };
    }
    default:
      return cursor.fail(`key "${key}": unknown value type ${type}`);
  }
}

/** Q8_0, Q4_0 and Q4_1 blocks of 32 elements, dequantised as ggml's dequantize_row_* do. */
function quantisedTensor(name: string, typeName: string, shape: number[], numel: number, source: ByteSource, byteOffset: number, blockBytes: number): TensorSource {
  return {
    name,
    dtype: typeName.toLowerCase(),
    shape,
    numel,
    byteOffset,
    byteLength: (numel / 32) * blockBytes,
    async *chunks(options) {
      const limit = chunkLimit(source.file, options);
      const blocksPerChunk = Math.max(1, Math.floor(limit / 32));
      const totalBlocks = numel / 32;
      const out = new Float32Array(Math.min(blocksPerChunk, totalBlocks) * 32);
      for (let block = 0; block < totalBlocks; ) {
        options?.signal?.throwIfAborted();
        const count = Math.min(blocksPerChunk, totalBlocks - block);
        const bytes = await source.read(byteOffset + block * blockBytes, count * blockBytes, `tensor "${name}"`);
        for (let b = 0; b < count; b++) {
          const at = b * blockBytes;
          const d = float16FromBits(bytes[at] | (bytes[at + 1] << 8));
          const base = b * 32;
          if (typeName === 'Q8_0') {
            for (let j = 0; j < 32; j++) out[base + j] = ((bytes[at + 2 + j] << 24) >> 24) * d;
          } else if (typeName === 'Q4_0') {
            for (let j = 0; j < 16; j++) {
              const q = bytes[at + 2 + j];
              out[base + j] = ((q & 0x0f) - 8) * d;
              out[base + j + 16] = ((q >> 4) - 8) * d;
            }
          } else {
            const m = float16FromBits(bytes[at + 2] | (bytes[at + 3] << 8));
            for (let j = 0; j < 16; j++) {
              const q = bytes[at + 4 + j];
              out[base + j] = Math.fround((q & 0x0f) * d) + m;
              out[base + j + 16] = Math.fround((q >> 4) * d) + m;
            }
          }
        }
        for (let start = 0; start < count * 32; start += limit) yield out.subarray(start, Math.min(start + limit, count * 32));
        block += count;
      }
    },
  };
}

async function openGguf(file: string): Promise<OpenedWeightFile> {
  const reader = await BoundedReader.open(file);
  try {
    const cursor = new ByteCursor(reader, 0, 1 << 20, 'GGUF header');
    if (reader.size < 24) cursor.fail(`only ${reader.size} bytes; truncated`);
    const magic = await cursor.bytes(4);
    if (!isGguf(magic)) cursor.fail('missing the GGUF magic');
    const version = await cursor.u32();
    if (version === 1) cursor.fail('GGUF version 1 is not supported (convert it with a current llama.cpp)');
    if (version !== 2 && version !== 3) {
      cursor.fail(version > 0xffff ? `version field ${version} looks byte-swapped: big-endian GGUF is not supported` : `unsupported GGUF version ${version}`);
    }
    const tensorCount = await cursor.u64AsNumber('tensor count', MAX_GGUF_TENSORS);
    const keyCount = await cursor.u64AsNumber('key-value count', MAX_GGUF_KEYS);
    const metadata: Record<string, string> = { 'gguf.version': String(version) };
    let alignment = DEFAULT_ALIGNMENT;
    for (let i = 0; i < keyCount; i++) {
      const key = await readString(cursor, `key ${i}`, MAX_KEY_BYTES);
      const type = await cursor.u32();
      const { text, value } = await readValue(cursor, type, key, 0);
      metadata[key] = text.length > 500 ? `${text.slice(0, 497)}...` : text;
      if (key === 'general.alignment') {
        if (value === undefined || !Number.isSafeInteger(value) || value < 1 || value > 1 << 20 || (value & (value - 1)) !== 0) {
          cursor.fail(`general.alignment ${text} is not a power of two up to 2^20`);
        }
        alignment = value as number;
      }
    }

    interface Info {
      name: string;
      dims: number[];
      type: number;
      offset: number;
    }
    const infos: Info[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = await readString(cursor, `tensor ${i} name`, MAX_KEY_BYTES);
      const dimCount = await cursor.u32();
      if (dimCount > MAX_DIMS) cursor.fail(`tensor "${name}" has ${dimCount} dimensions (at most ${MAX_DIMS})`);
      const dims: number[] = [];
      for (let d = 0; d < dimCount; d++) dims.push(await cursor.u64AsNumber(`tensor "${name}" dimension ${d}`));
      const type = await cursor.u32();
      const offset = await cursor.u64AsNumber(`tensor "${name}" offset`);
      infos.push({ name, dims, type, offset });
    }
    const dataStart = Math.ceil(cursor.position / alignment) * alignment;
    const dataBytes = reader.size - dataStart;
    if (dataBytes < 0 && tensorCount > 0) cursor.fail('the file ends before its tensor data');

    const tensors: TensorSource[] = [];
    const warnings: string[] = [];
    const placed: { name: string; begin: number; end: number }[] = [];
    for (const info of infos) {
      // ggml lists the fastest-varying dimension first; row-major shape is the reverse.
      const shape = [...info.dims].reverse();
      const counted = checkedNumel(shape);
      if ('error' in counted) throw new WeightFileError(file, `tensor "${info.name}": ${counted.error}`);
      const ggml = GGML_TYPES[info.type];
      if (!ggml) {
        const known = OTHER_GGML_TYPE_NAMES[info.type];
        warnings.push(`tensor "${info.name}" has ggml type ${known ?? `#${info.type}`}, which is not decoded; skipped`);
        continue;
      }
      if ((info.dims[0] ?? 1) % ggml.blockElements !== 0) {
        throw new WeightFileError(file, `tensor "${info.name}": first dimension ${info.dims[0]} is not a multiple of the ${ggml.name} block size ${ggml.blockElements}`);
      }
      const byteLength = (counted.numel / ggml.blockElements) * ggml.blockBytes;
      if (info.offset + byteLength > dataBytes) {
        throw new WeightFileError(
          file,
          `tensor "${info.name}": ${byteLength} bytes at data offset ${info.offset} run past the end of the file (${Math.max(0, dataBytes)} data bytes); truncated`,
        );
      }
      placed.push({ name: info.name, begin: info.offset, end: info.offset + byteLength });
      const byteOffset = dataStart + info.offset;
      if (ggml.name in PLAIN_TYPES) {
        tensors.push(
          contiguousTensor({
            name: info.name,
            dtype: PLAIN_TYPES[ggml.name as keyof typeof PLAIN_TYPES],
            shape,
            numel: counted.numel,
            source: reader,
            byteOffset,
            fileByteOffset: byteOffset,
          }),
        );
      } else if (QUANTISED_DECODERS.has(ggml.name)) {
        tensors.push(quantisedTensor(info.name, ggml.name, shape, counted.numel, reader, byteOffset, ggml.blockBytes));
      } else {
        warnings.push(`tensor "${info.name}" has ggml type ${ggml.name}, which is not decoded; skipped`);
      }
    }
    placed.sort((a, b) => a.begin - b.begin);
    for (let i = 1; i < placed.length; i++) {
      if (placed[i].begin < placed[i - 1].end) {
        throw new WeightFileError(file, `tensors "${placed[i - 1].name}" and "${placed[i].name}" overlap`);
      }
    }
    return { file, format: 'gguf', fileBytes: reader.size, tensors, warnings, metadata, close: () => reader.close() };
  } catch (error) {
    await reader.close();
    throw error;
  }
}

export const ggufParser: WeightFormatParser = {
  format: 'gguf',
  sniff: (head) => isGguf(head),
  open: (file: string, _options?: OpenOptions) => openGguf(file),
};
