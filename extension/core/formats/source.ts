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

/**
 * A sparse tensor is streamed densified, implicit zeros included, so its declared dense size is work
 * and memory the statistics spend (per-kernel and per-channel flags are sized by the dense shape).
 * A header may declare any shape over a few stored values; the dense size is allowed up to this many
 * elements per stored value (a tensor 98% sparse and beyond what real models store), and any size
 * up to DENSE_ELEMENTS_ALWAYS_ALLOWED.
 */
export const MAX_DENSE_ELEMENTS_PER_STORED_VALUE = 64;
export const DENSE_ELEMENTS_ALWAYS_ALLOWED = 1 << 20;

/** Refuses a sparse tensor whose dense shape is out of proportion to the values the file stores for it. */
export function checkDensifiedSize(file: string, what: string, shape: readonly number[], numel: number, storedValues: number): void {
  const allowed = Math.max(DENSE_ELEMENTS_ALWAYS_ALLOWED, MAX_DENSE_ELEMENTS_PER_STORED_VALUE * storedValues);
  if (numel > allowed) {
    throw new WeightFileError(
      file,
      `${what}: its dense shape [${shape.join(', ')}] has ${numel} elements but the file stores ${storedValues} value(s) for it; ` +
        `more than ${MAX_DENSE_ELEMENTS_PER_STORED_VALUE} implicit elements per stored value (beyond ${DENSE_ELEMENTS_ALWAYS_ALLOWED}) are not densified`,
    );
  }
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
  /** Spans up to this many bytes are read whole; larger ones are read as sorted runs per chunk. */
  inMemoryLimitBytes?: number;
  /** Longest single run read in the large-span path, in elements. */
  maxRunElements?: number;
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
 * Values are gathered in row-major order with bounded memory whatever the strides; row-major
 * strides fall through to the contiguous fast path.
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
  const whole = spanBytes <= (spec.inMemoryLimitBytes ?? STRIDED_IN_MEMORY_LIMIT_BYTES);
  const maxRunElements = Math.max(1, spec.maxRunElements ?? 1 << 20);
  const allocate = (length: number) => (needsFloat64(spec.dtype) ? new Float64Array(length) : new Float32Array(length));

  return {
    ...headerOf(spec, spec.dtypeLabel ?? spec.dtype, spec.layout),
    async *chunks(options) {
      const limit = chunkLimit(file, options);
      const rank = spec.shape.length;
      const shape = spec.shape;
      const strides = spec.strides;
      const index = new Array<number>(rank).fill(0);
      let relative = 0;
      /** Storage position (relative to the span) of the next element in row-major order. */
      const advance = (): void => {
        for (let axis = rank - 1; axis >= 0; axis--) {
          if (++index[axis] < shape[axis]) {
            relative += strides[axis];
            return;
          }
          relative -= (shape[axis] - 1) * strides[axis];
          index[axis] = 0;
        }
      };
      const chunkElements = Math.min(limit, spec.numel);
      const out = allocate(chunkElements);

      if (whole) {
        // The whole span fits the in-memory limit: decode it once, then gather by index.
        const bytes = await spec.source.read(spanStartByte, spanBytes, `tensor "${spec.name}"`);
        const span = allocate(spanElements);
        decodeInto(bytes, spec.dtype, span, littleEndian);
        for (let done = 0; done < spec.numel; ) {
          options?.signal?.throwIfAborted();
          const count = Math.min(chunkElements, spec.numel - done);
          for (let k = 0; k < count; k++) {
            out[k] = span[relative];
            advance();
          }
          yield out.subarray(0, count);
          done += count;
        }
        return;
      }

      // A large span: for each output chunk, visit the storage positions it needs in ascending
      // order and read them as runs (nearby positions share a read), so each byte range is read
      // once per chunk and memory stays at a chunk plus one run.
      const positions = new Float64Array(chunkElements);
      const order = new Uint32Array(chunkElements);
      const sortKeys = new Float64Array(chunkElements);
      const run = allocate(maxRunElements);
      const gap = Math.max(1, Math.floor(4096 / size));
      for (let done = 0; done < spec.numel; ) {
        options?.signal?.throwIfAborted();
        const count = Math.min(chunkElements, spec.numel - done);
        let ascending = true;
        for (let k = 0; k < count; k++) {
          positions[k] = relative;
          if (k > 0 && relative < positions[k - 1]) ascending = false;
          order[k] = k;
          advance();
        }
        const sorted = order.subarray(0, count);
        if (!ascending) {
          if (spanElements * count < Number.MAX_SAFE_INTEGER) {
            // Pack (position, k) into one exact double and use the native numeric sort: far faster than a comparator.
            const keys = sortKeys.subarray(0, count);
            for (let k = 0; k < count; k++) keys[k] = positions[k] * count + k;
            keys.sort();
            for (let k = 0; k < count; k++) sorted[k] = keys[k] % count;
          } else {
            sorted.sort((a, b) => positions[a] - positions[b]);
          }
        }
        for (let k = 0; k < count; ) {
          const start = positions[sorted[k]];
          let end = start + 1;
          let j = k + 1;
          for (; j < count; j++) {
            const position = positions[sorted[j]];
            if (position - end > gap || position + 1 - start > maxRunElements) break;
            if (position + 1 > end) end = position + 1;
          }
          const bytes = await spec.source.read(spanStartByte + start * size, (end - start) * size, `tensor "${spec.name}"`);
          decodeInto(bytes, spec.dtype, run, littleEndian);
          for (let m = k; m < j; m++) out[sorted[m]] = run[positions[sorted[m]] - start];
          k = j;
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
