/**
 * TensorSource builders shared by the parsers: contiguous runs of raw elements, strided views
 * (Fortran-order arrays, non-contiguous PyTorch tensors) and custom block decoders (GGUF quants).
 */
import { type DType, decodeInto, itemSize, needsFloat64 } from './dtypes';
import { type ByteSource, MAX_SINGLE_READ_BYTES } from './reader';
import { type TensorLayout, type TensorSource, WeightFileError } from './types';

export const DEFAULT_MAX_CHUNK_ELEMENTS = 1 << 20;
/** Strided tensors whose stored span fits this are read in one go and permuted in memory. */
export const STRIDED_IN_MEMORY_LIMIT_BYTES = 64 * 1024 * 1024;

export function chunkLimit(file: string, options?: { maxChunkElements?: number }): number {
  const limit = options?.maxChunkElements ?? DEFAULT_MAX_CHUNK_ELEMENTS;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new WeightFileError(file, `maxChunkElements must be a positive integer, got ${String(limit)}`);
  }
  return limit;
}

interface TensorBase {
  name: string;
  /** Reported dtype (the canonical DType name, or the format's own name for quantised types). */
  dtypeLabel?: string;
  shape: number[];
  numel: number;
  layout?: TensorLayout;
}

export interface ContiguousTensorSpec extends TensorBase {
  dtype: DType;
  source: ByteSource;
  /** Byte offset of the first element inside `source`. */
  byteOffset: number;
  littleEndian?: boolean;
  /** Byte offset of the data inside the file on disk, when `source` is the file itself. */
  fileByteOffset?: number;
}

function headerOf(base: TensorBase, dtype: string, layout?: TensorLayout): Omit<TensorSource, 'chunks'> {
  const header: Omit<TensorSource, 'chunks'> = { name: base.name, dtype, shape: base.shape, numel: base.numel };
  if (layout) header.layout = layout;
  return header;
}

/** A tensor whose elements lie back to back in `source`. */
export function contiguousTensor(spec: ContiguousTensorSpec): TensorSource {
  const size = itemSize(spec.dtype);
  const byteLength = spec.numel * size;
  if (spec.byteOffset + byteLength > spec.source.size) {
    throw new WeightFileError(
      spec.source.file,
      `tensor "${spec.name}": ${byteLength} bytes of data at offset ${spec.byteOffset} run past the end (${spec.source.size} bytes)`,
    );
  }
  const littleEndian = spec.littleEndian ?? true;
  const tensor: TensorSource = {
    ...headerOf(spec, spec.dtypeLabel ?? spec.dtype, spec.layout),
    async *chunks(options) {
      const limit = chunkLimit(spec.source.file, options);
      const elementsPerRead = Math.max(1, Math.min(limit, Math.floor(MAX_SINGLE_READ_BYTES / size)));
      const out = needsFloat64(spec.dtype)
        ? new Float64Array(Math.min(elementsPerRead, spec.numel))
        : new Float32Array(Math.min(elementsPerRead, spec.numel));
      for (let done = 0; done < spec.numel; ) {
        options?.signal?.throwIfAborted();
        const count = Math.min(elementsPerRead, spec.numel - done);
        const bytes = await spec.source.read(spec.byteOffset + done * size, count * size, `tensor "${spec.name}"`);
        decodeInto(bytes, spec.dtype, out, littleEndian);
        yield out.subarray(0, count);
        done += count;
      }
    },
  };
  if (spec.fileByteOffset !== undefined) {
    tensor.byteOffset = spec.fileByteOffset;
    tensor.byteLength = byteLength;
  }
  return tensor;
}

export interface StridedTensorSpec extends TensorBase {
  dtype: DType;
  source: ByteSource;
  /** Byte offset inside `source` of element 0 of the storage the strides index into. */
  storageByteOffset: number;
  /** Elements the storage holds (for bounds checks). */
  storageElements: number;
  /** Offset of the tensor's first element, in elements, inside the storage. */
  elementOffset: number;
  /** Strides in elements; non-negative. */
  strides: number[];
  littleEndian?: boolean;
  /** Spans up to this many bytes are read whole; larger ones go through a page cache. */
  inMemoryLimitBytes?: number;
  /** Page size of that cache (rounded down to whole elements). */
  pageBytes?: number;
}

/**
 * Whether shape/strides describe a plain row-major run (dimensions of size 1 may carry any stride).
 */
export function isRowMajor(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    if (shape[axis] !== 1 && strides[axis] !== expected) return false;
    expected *= shape[axis];
  }
  return true;
}

/**
 * A tensor whose element (i0..in-1) lies at storage position elementOffset + sum(i_k * strides_k).
 * Values are gathered in row-major order through a bounded page cache, so memory stays bounded
 * whatever the strides; row-major strides fall through to the contiguous fast path.
 */
export function stridedTensor(spec: StridedTensorSpec): TensorSource {
  const { file } = spec.source;
  if (spec.strides.length !== spec.shape.length) {
    throw new WeightFileError(file, `tensor "${spec.name}": ${spec.strides.length} strides for ${spec.shape.length} dimensions`);
  }
  for (const stride of spec.strides) {
    if (!Number.isSafeInteger(stride) || stride < 0) {
      throw new WeightFileError(file, `tensor "${spec.name}": invalid stride ${String(stride)}`);
    }
  }
  if (!Number.isSafeInteger(spec.elementOffset) || spec.elementOffset < 0) {
    throw new WeightFileError(file, `tensor "${spec.name}": invalid storage offset ${String(spec.elementOffset)}`);
  }
  const size = itemSize(spec.dtype);
  let lastPosition = spec.elementOffset;
  if (spec.numel > 0) {
    for (let axis = 0; axis < spec.shape.length; axis++) lastPosition += (spec.shape[axis] - 1) * spec.strides[axis];
  }
  const spanElements = spec.numel === 0 ? 0 : lastPosition - spec.elementOffset + 1;
  if (!Number.isSafeInteger(lastPosition) || (spec.numel > 0 && lastPosition >= spec.storageElements)) {
    throw new WeightFileError(
      file,
      `tensor "${spec.name}": shape [${spec.shape.join(', ')}] with strides [${spec.strides.join(', ')}] at offset ${spec.elementOffset} reaches element ${lastPosition} but its storage holds ${spec.storageElements}`,
    );
  }
  if (spec.storageByteOffset + spec.storageElements * size > spec.source.size) {
    throw new WeightFileError(file, `tensor "${spec.name}": storage of ${spec.storageElements} elements runs past the end of the data`);
  }

  if (isRowMajor(spec.shape, spec.strides)) {
    return contiguousTensor({
      ...spec,
      byteOffset: spec.storageByteOffset + spec.elementOffset * size,
    });
  }

  const littleEndian = spec.littleEndian ?? true;
  const spanStartByte = spec.storageByteOffset + spec.elementOffset * size;
  const spanBytes = spanElements * size;
  // A small span is one page; a large one is cached in 64 KiB pages, at most 16 MiB of them.
  const whole = spanBytes <= (spec.inMemoryLimitBytes ?? STRIDED_IN_MEMORY_LIMIT_BYTES);
  const pageElements = whole ? Math.max(1, spanElements) : Math.max(1, Math.floor((spec.pageBytes ?? 65536) / size));
  const maxPages = whole ? 1 : 256;

  return {
    ...headerOf(spec, spec.dtypeLabel ?? spec.dtype, spec.layout),
    async *chunks(options) {
      const limit = chunkLimit(file, options);
      // Pages hold decoded values, so gathering is a plain array lookup per element.
      const pages = new Map<number, Float32Array | Float64Array>();
      const loadPage = async (page: number): Promise<Float32Array | Float64Array> => {
        const first = page * pageElements;
        const count = Math.min(pageElements, spanElements - first);
        const bytes = await spec.source.read(spanStartByte + first * size, count * size, `tensor "${spec.name}"`);
        const values = needsFloat64(spec.dtype) ? new Float64Array(count) : new Float32Array(count);
        decodeInto(bytes, spec.dtype, values, littleEndian);
        if (pages.size >= maxPages) pages.delete(pages.keys().next().value as number);
        pages.set(page, values);
        return values;
      };
      const rank = spec.shape.length;
      const shape = spec.shape;
      const strides = spec.strides;
      const index = new Array<number>(rank).fill(0);
      let relative = 0;
      let current: Float32Array | Float64Array = new Float32Array(0);
      let currentStart = 0;
      let currentEnd = 0;
      const chunkElements = Math.min(limit, spec.numel);
      const out = needsFloat64(spec.dtype) ? new Float64Array(chunkElements) : new Float32Array(chunkElements);
      for (let done = 0; done < spec.numel; ) {
        options?.signal?.throwIfAborted();
        const count = Math.min(chunkElements, spec.numel - done);
        for (let k = 0; k < count; k++) {
          if (relative < currentStart || relative >= currentEnd) {
            const page = Math.floor(relative / pageElements);
            current = pages.get(page) ?? (await loadPage(page));
            currentStart = page * pageElements;
            currentEnd = currentStart + current.length;
          }
          out[k] = current[relative - currentStart];
          // Advance the row-major multi-index and the storage position together.
          for (let axis = rank - 1; axis >= 0; axis--) {
            if (++index[axis] < shape[axis]) {
              relative += strides[axis];
              break;
            }
            relative -= (shape[axis] - 1) * strides[axis];
            index[axis] = 0;
          }
        }
        yield out.subarray(0, count);
        done += count;
      }
    },
  };
}

/** Collects every value of a tensor into one array (tests, small tensors); refuses above `maxElements`. */
export async function readAllValues(tensor: TensorSource, maxElements = 1 << 26): Promise<Float64Array> {
  if (tensor.numel > maxElements) {
    throw new RangeError(`tensor "${tensor.name}" has ${tensor.numel} elements, more than the ${maxElements} allowed here`);
  }
  const all = new Float64Array(tensor.numel);
  let filled = 0;
  for await (const chunk of tensor.chunks()) {
    if (filled + chunk.length > all.length) throw new RangeError(`tensor "${tensor.name}" yielded more than ${tensor.numel} values`);
    all.set(chunk, filled);
    filled += chunk.length;
  }
  if (filled !== tensor.numel) throw new RangeError(`tensor "${tensor.name}" yielded ${filled} of ${tensor.numel} values`);
  return all;
}
