/**
 * NumPy .npy and .npz.
 *
 * A .npy file is "\x93NUMPY", a version, a header length (u16 for 1.0, u32 for 2.0/3.0) and a
 * Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, then the raw
 * data. Fortran-order arrays are streamed back in row-major order through the strided reader, so
 * memory stays bounded. A .npz is a zip of .npy entries, stored or deflated.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type DType, allocateDecoded, checkedNumel, decodeInto, encodeValues, itemSize } from './dtypes';
import { type ByteSource, BoundedReader, MemorySource } from './reader';
import { chunkLimit, contiguousTensor, stridedTensor } from './source';
import { type OpenOptions, type OpenedWeightFile, type TensorSource, WeightFileError, type WeightFormatParser } from './types';
import { METHOD_STORED, ZipArchive, type ZipEntry, firstZipEntryName, isZip } from './zip';
import { setOwn } from './ownNames';

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** Real headers are a few hundred bytes; this refuses a header length field that asks for more. */
export const MAX_NPY_HEADER_BYTES = 1 << 20;

export interface NpyHeader {
  dtype: DType;
  /** The descr string as written, e.g. '<f4'. */
  descr: string;
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  numel: number;
  /** Offset of the first data byte. */
  dataOffset: number;
}

const KIND_AND_SIZE: Record<string, DType> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  b1: 'bool',
};

export function isNpy(head: Uint8Array): boolean {
  return head.length >= 6 && NPY_MAGIC.every((byte, i) => head[i] === byte);
}

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

/** A parser for the small subset of Python literals numpy writes in .npy headers. */
function parsePythonLiteral(text: string, fail: (problem: string) => never): PyValue {
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && /\s/.test(text[at])) at++;
  };
  const value = (depth: number): PyValue => {
    if (depth > 16) fail('header nests too deeply');
    skipSpace();
    const char = text[at];
    if (char === "'" || char === '"') {
      const end = text.indexOf(char, at + 1);
      if (end < 0) fail('unterminated string in header');
      const result = text.slice(at + 1, end);
      at = end + 1;
      return result;
    }
    if (char === '{') {
      at++;
      const result: { [key: string]: PyValue } = {};
      for (;;) {
        skipSpace();
        if (text[at] === '}') {
          at++;
          return result;
        }
        const key = value(depth + 1);
        if (typeof key !== 'string') fail('header dict keys must be strings');
        skipSpace();
        if (text[at] !== ':') fail(`expected ':' after '${key}' in header`);
        at++;
        setOwn(result, key, value(depth + 1));
        skipSpace();
        if (text[at] === ',') at++;
        else if (text[at] !== '}') fail('expected , or } in header dict');
      }
    }
    if (char === '(' || char === '[') {
      const close = char === '(' ? ')' : ']';
      at++;
      const result: PyValue[] = [];
      for (;;) {
        skipSpace();
        if (text[at] === close) {
          at++;
          return result;
        }
        result.push(value(depth + 1));
        skipSpace();
        if (text[at] === ',') at++;
        else if (text[at] !== close) fail(`expected , or ${close} in header`);
      }
    }
    const word = /^(True|False|None|-?\d+L?)/.exec(text.slice(at, at + 40));
    if (!word) fail(`unexpected text in header near "${text.slice(at, at + 20)}"`);
    at += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    const digits = word[0].replace('L', '');
    const number = Number(digits);
    if (!Number.isSafeInteger(number)) fail(`number ${digits} in header is too large`);
    return number;
  };
  const result = value(0);
  skipSpace();
  if (at !== text.length) fail('trailing text after the header dict');
  return result;
}

/** Parses the header of a .npy held in `source`. */
export async function readNpyHeader(source: ByteSource, what = 'npy header'): Promise<NpyHeader> {
  const fail = (problem: string): never => {
    throw new WeightFileError(source.file, `${what}: ${problem}`);
  };
  if (source.size < 10) fail(`only ${source.size} bytes; too short for a .npy header (truncated?)`);
  const prefix = await source.read(0, 12 <= source.size ? 12 : 10, what);
  if (!isNpy(prefix)) fail('missing the \\x93NUMPY magic');
  const major = prefix[6];
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = prefix[8] | (prefix[9] << 8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (prefix.length < 12) fail('truncated version 2 header');
    headerLength = new DataView(prefix.buffer, prefix.byteOffset).getUint32(8, true);
    headerStart = 12;
  } else {
    return fail(`unsupported .npy format version ${major}.${prefix[7]}`);
  }
  if (headerLength > MAX_NPY_HEADER_BYTES) fail(`header length ${headerLength} exceeds the ${MAX_NPY_HEADER_BYTES}-byte limit`);
  if (headerStart + headerLength > source.size) fail(`header length ${headerLength} runs past the end of the file (${source.size} bytes); truncated`);
  const bytes = await source.read(headerStart, headerLength, what);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes).trim();
  const dict = parsePythonLiteral(text, fail);
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) return fail('header is not a dict');
  const { descr, fortran_order: fortranOrder, shape } = dict;
  for (const [key, value] of Object.entries({ descr, fortran_order: fortranOrder, shape })) if (value === undefined) fail(`the header dict has no '${key}'`);
  if (typeof descr !== 'string') {
    return fail(`structured dtype ${JSON.stringify(descr)} is not supported; save plain numeric arrays`);
  }
  const match = /^([<>|=])([a-z])(\d+)$/.exec(descr);
  const dtype = match ? KIND_AND_SIZE[match[2] + match[3]] : undefined;
  if (!match || !dtype) return fail(`unsupported dtype '${descr}' (supported: f2 f4 f8 i1-i8 u1-u8 b1)`);
  if (typeof fortranOrder !== 'boolean') fail(`'fortran_order' must be True or False`);
  if (!Array.isArray(shape)) return fail(`'shape' must be a tuple`);
  const counted = checkedNumel(shape);
  if ('error' in counted) return fail(counted.error);
  const dataOffset = headerStart + headerLength;
  const expected = counted.numel * itemSize(dtype);
  const actual = source.size - dataOffset;
  if (actual < expected) fail(`shape (${shape.join(', ')}) of ${descr} needs ${expected} data bytes but only ${actual} follow the header; truncated`);
  if (actual > expected) fail(`shape (${shape.join(', ')}) of ${descr} needs ${expected} data bytes but ${actual} follow the header`);
  return {
    dtype,
    descr,
    littleEndian: match[1] !== '>',
    fortranOrder: fortranOrder as boolean,
    shape: shape as number[],
    numel: counted.numel,
    dataOffset,
  };
}

/** Element strides (in elements) of a Fortran-order array: the first axis varies fastest. */
export function fortranStrides(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let step = 1;
  for (const dim of shape) {
    strides.push(step);
    step *= dim;
  }
  return strides;
}

function npyTensor(name: string, header: NpyHeader, source: ByteSource): TensorSource {
  const common = { name, dtype: header.dtype, shape: header.shape, numel: header.numel, source, littleEndian: header.littleEndian };
  if (!header.fortranOrder) return contiguousTensor({ ...common, byteOffset: header.dataOffset, fileByteOffset: header.dataOffset });
  return stridedTensor({
    ...common,
    storageByteOffset: header.dataOffset,
    storageElements: header.numel,
    elementOffset: 0,
    strides: fortranStrides(header.shape),
  });
}

/** A C-order array inside a deflated npz entry: decoded from the inflating stream, never held whole. */
function streamedNpyTensor(name: string, header: NpyHeader, archive: ZipArchive, entry: ZipEntry): TensorSource {
  const size = itemSize(header.dtype);
  return {
    name,
    dtype: header.dtype,
    shape: header.shape,
    numel: header.numel,
    async *chunks(options) {
      const limit = chunkLimit(archive.file, options);
      const elementsPerChunk = Math.min(limit, Math.max(1, header.numel));
      const staging = new Uint8Array(elementsPerChunk * size);
      let staged = 0;
      let skip = header.dataOffset;
      let emitted = 0;
      const out = allocateDecoded(header.dtype, elementsPerChunk);
      for await (let bytes of archive.chunks(entry, options?.signal, 1 << 20, true)) {
        if (skip > 0) {
          const dropped = Math.min(skip, bytes.length);
          bytes = bytes.subarray(dropped);
          skip -= dropped;
        }
        while (bytes.length > 0) {
          const take = Math.min(bytes.length, staging.length - staged);
          staging.set(bytes.subarray(0, take), staged);
          staged += take;
          bytes = bytes.subarray(take);
          if (staged === staging.length) {
            const count = decodeInto(staging, header.dtype, out, header.littleEndian);
            emitted += count;
            yield out.subarray(0, count);
            staged = 0;
          }
        }
      }
      if (staged > 0) {
        const count = decodeInto(staging.subarray(0, staged), header.dtype, out, header.littleEndian);
        emitted += count;
        yield out.subarray(0, count);
      }
      if (emitted !== header.numel) {
        throw new WeightFileError(archive.file, `npz entry "${entry.name}": ${emitted} of ${header.numel} values present`);
      }
    },
  };
}

async function openNpy(file: string): Promise<OpenedWeightFile> {
  const reader = await BoundedReader.open(file);
  try {
    const header = await readNpyHeader(reader);
    const name = path.basename(file).replace(/\.npy$/i, '');
    return { file, format: 'npy', fileBytes: reader.size, tensors: [npyTensor(name, header, reader)], warnings: [], close: () => reader.close() };
  } catch (error) {
    await reader.close();
    throw error;
  }
}

/** Reads enough of a deflated entry to hold its .npy header (the header and its length prefix). */
async function npyHeaderOfDeflated(archive: ZipArchive, entry: ZipEntry): Promise<NpyHeader> {
  const limit = Math.min(entry.uncompressedSize, MAX_NPY_HEADER_BYTES + 12);
  const head = new Uint8Array(limit);
  let filled = 0;
  const stream = archive.chunks(entry, undefined, 64 * 1024);
  try {
    for await (const chunk of stream) {
      const take = Math.min(chunk.length, limit - filled);
      head.set(chunk.subarray(0, take), filled);
      filled += take;
      if (filled >= 12) {
        const view = new DataView(head.buffer);
        const needed = head[6] === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
        if (filled >= Math.min(needed, limit)) break;
      }
      if (filled === limit) break;
    }
  } finally {
    await stream.return(undefined);
  }
  // The header parser checks the data size against the source size, so present the declared size.
  const sized: ByteSource = {
    file: archive.file,
    size: entry.uncompressedSize,
    read: (offset, length, what) => new MemorySource(archive.file, head.subarray(0, filled)).read(offset, length, what),
  };
  return readNpyHeader(sized, `npz entry "${entry.name}"`);
}

async function openNpz(file: string): Promise<OpenedWeightFile> {
  const reader = await BoundedReader.open(file);
  let archive: ZipArchive | undefined;
  try {
    archive = await ZipArchive.open(reader);
    const tensors: TensorSource[] = [];
    const warnings: string[] = [];
    for (const entry of archive.entries) {
      if (entry.name.endsWith('/')) continue;
      if (!entry.name.toLowerCase().endsWith('.npy')) {
        warnings.push(`npz entry "${entry.name}" is not a .npy array; ignored`);
        continue;
      }
      const name = entry.name.slice(0, -4);
      if (entry.method === METHOD_STORED) {
        const source = await archive.randomAccess(entry);
        const header = await readNpyHeader(source, `npz entry "${entry.name}"`);
        tensors.push(npyTensor(name, header, source));
        continue;
      }
      const header = await npyHeaderOfDeflated(archive, entry);
      if (header.fortranOrder) {
        // Row-major order from a Fortran array needs random access: the entry is inflated once into a
        // temporary file on first read (memory stays at a read window).
        tensors.push(npyTensor(name, header, await archive.randomAccess(entry)));
      } else {
        tensors.push(streamedNpyTensor(name, header, archive, entry));
      }
    }
    const opened = archive;
    const close = async (): Promise<void> => {
      await opened.close();
      await reader.close();
    };
    return { file, format: 'npz', fileBytes: reader.size, tensors, warnings, close };
  } catch (error) {
    await archive?.close();
    await reader.close();
    throw error;
  }
}

export const npyParser: WeightFormatParser = {
  format: 'npy',
  sniff: (head) => isNpy(head),
  open: (file: string, _options?: OpenOptions) => openNpy(file),
};

export const npzParser: WeightFormatParser = {
  format: 'npz',
  sniff(head, fileName) {
    if (!isZip(head)) return false;
    const first = firstZipEntryName(head);
    if (first !== undefined && first.toLowerCase().endsWith('.npy')) return true;
    return /\.npz$/i.test(fileName);
  },
  open: (file: string, _options?: OpenOptions) => openNpz(file),
};

// ---------------------------------------------------------------------------------------------
// Writing and whole-array reading (for the convolution CLI and tests).
// ---------------------------------------------------------------------------------------------

function npyHeaderBytes(descr: string, fortranOrder: boolean, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  // numpy pads with spaces so that magic + length + header ends on a 64-byte boundary, then '\n'.
  const unpadded = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (dict.length > 0xffff) throw new RangeError(`npy header of ${dict.length} bytes does not fit a version 1.0 file`);
  const bytes = new Uint8Array(10 + dict.length);
  bytes.set(NPY_MAGIC);
  bytes[6] = 1;
  bytes[7] = 0;
  bytes[8] = dict.length & 0xff;
  bytes[9] = dict.length >> 8;
  bytes.set(new TextEncoder().encode(dict), 10);
  return bytes;
}

/**
 * Writes a little-endian float32 .npy. `data` holds the values in row-major order; with
 * `fortranOrder` they are written column-major and the header says so, as numpy would for an
 * F-contiguous array.
 */
export async function writeNpy(file: string, shape: number[], data: Float32Array, options: { fortranOrder?: boolean } = {}): Promise<void> {
  const counted = checkedNumel(shape);
  if ('error' in counted) throw new WeightFileError(file, counted.error);
  if (counted.numel !== data.length) throw new WeightFileError(file, `shape [${shape.join(', ')}] holds ${counted.numel} values but ${data.length} were given`);
  let ordered = data;
  if (options.fortranOrder && shape.length > 1) {
    ordered = new Float32Array(data.length);
    const strides = fortranStrides(shape);
    const index = new Array<number>(shape.length).fill(0);
    let position = 0;
    for (let i = 0; i < data.length; i++) {
      ordered[position] = data[i];
      for (let axis = shape.length - 1; axis >= 0; axis--) {
        if (++index[axis] < shape[axis]) {
          position += strides[axis];
          break;
        }
        position -= (shape[axis] - 1) * strides[axis];
        index[axis] = 0;
      }
    }
  }
  const header = npyHeaderBytes('<f4', options.fortranOrder === true, shape);
  const handle = await fs.open(file, 'w');
  try {
    await handle.write(header);
    await handle.write(encodeValues(ordered, 'float32'));
  } finally {
    await handle.close();
  }
}

/** Default cap of readNpyFloat32: 1 GiB of float32 values. */
export const DEFAULT_NPY_READ_LIMIT_BYTES = 1 << 30;

/** Reads a whole .npy of any supported dtype as row-major float32 values, refusing arrays above `maxBytes`. */
export async function readNpyFloat32(file: string, options: { maxBytes?: number } = {}): Promise<{ shape: number[]; data: Float32Array }> {
  const maxBytes = options.maxBytes ?? DEFAULT_NPY_READ_LIMIT_BYTES;
  const opened = await openNpy(file);
  try {
    const tensor = opened.tensors[0];
    if (tensor.numel * 4 > maxBytes) {
      throw new WeightFileError(file, `array of shape [${tensor.shape.join(', ')}] needs ${tensor.numel * 4} bytes as float32, over the ${maxBytes}-byte limit`);
    }
    const data = new Float32Array(tensor.numel);
    let filled = 0;
    for await (const chunk of tensor.chunks()) {
      data.set(chunk, filled);
      filled += chunk.length;
    }
    return { shape: tensor.shape, data };
  } finally {
    await opened.close();
  }
}
