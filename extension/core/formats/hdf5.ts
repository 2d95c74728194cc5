/**
 * HDF5 (.h5, .hdf5) weight reader, with Keras conventions: Keras 2 `model.save('x.h5')` /
 * `save_weights` files (model_weights/<layer>/<layer>/kernel:0, ...) and the model.weights.h5 inside
 * a Keras 3 `.keras` archive (layers/<layer>/vars/0, ...).
 *
 * HDF5 is read with h5wasm (the HDF5 C library compiled to WebAssembly). Its Node build mounts the
 * host file system directly (Emscripten NODERAWFS), so HDF5 opens the file in place and reads only
 * the blocks it needs: nothing is copied into memory up front and there is no file-size limit.
 * Datasets are read as row-major hyperslabs of at most `maxChunkElements` elements, decompressed
 * (gzip/shuffle) by HDF5 and converted to native little-endian order on the way.
 *
 * Two things h5wasm brings along: the HDF5 library prints its error stack ("HDF5-DIAG: ...") to
 * stderr itself when it meets a corrupt file (the caller still gets a WeightFileError), and its Node
 * build reads `import.meta.url`, so a CommonJS bundle must define it (esbuild:
 * `define: { 'import.meta.url': '__importMetaUrl' }` with a banner setting
 * `const __importMetaUrl = require('url').pathToFileURL(__filename).href`).
 *
 * Every numeric dataset (integer or float, 1 to 8 bytes) is a tensor named by its path. Keras 2
 * optimizer state (optimizer_weights/) is left out with a warning. In Keras files, 4-D kernels are
 * stored as [H, W, in, out] (HWIO); Conv2DTranspose keeps [H, W, out, in] (HWOI).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { checkedNumel, type DType, decodeInto, needsFloat64 } from './dtypes';
import { chunkLimit } from './source';
import { attachKerasLayers } from './kerasTopology';
import { checkHdf5Structure, type Hdf5Structure } from './hdf5Structure';
import type { LayoutBasis, OpenedWeightFile, OpenOptions, TensorLayout, TensorSource, WeightFormatParser } from './types';
import { WeightFileError } from './types';
import { trappedWithin } from '../wasmTrap';

type H5Wasm = typeof import('h5wasm/node');
type H5Module = Awaited<H5Wasm['ready']>;
type H5File = InstanceType<H5Wasm['File']>;

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
/** The superblock may sit after a user block: at 0, 512, 1024, 2048, ... */
const SIGNATURE_OFFSETS = [0, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];
const MAX_GROUP_DEPTH = 32;
const MAX_DATASETS = 1_000_000;
/** Group entries visited at most (datasets, groups and links alike). */
const MAX_LINKS = 4 * MAX_DATASETS;
/** H5T classes reported in h5wasm metadata. */
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_CLASS_NAMES = ['integer', 'float', 'time', 'string', 'bitfield', 'opaque', 'compound', 'reference', 'enum (h5py bool)', 'variable-length', 'array'];

let h5wasmLoading: Promise<{ h5: H5Wasm; module: H5Module }> | undefined;

/** Loads h5wasm's Node build once (an ES module with top-level await, so a dynamic import). */
async function loadH5wasm(): Promise<{ h5: H5Wasm; module: H5Module }> {
  h5wasmLoading ??= (async () => {
    const h5 = await import('h5wasm/node');
    const module = await h5.ready;
    return { h5, module };
  })();
  return h5wasmLoading;
}

/** Whether the HDF5 superblock signature starts at `offset` of `bytes`. */
export function hasSignatureAt(bytes: Uint8Array, offset: number): boolean {
  if (offset + HDF5_SIGNATURE.length > bytes.length) return false;
  return HDF5_SIGNATURE.every((b, i) => bytes[offset + i] === b);
}

/** Where the HDF5 superblock signature lies in `file`, or undefined when it is not an HDF5 file. */
export function findHdf5Signature(file: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new WeightFileError(file, `cannot open: ${code === 'ENOENT' ? 'file not found' : String(error)}`);
  }
  try {
    const probe = new Uint8Array(HDF5_SIGNATURE.length);
    for (const offset of SIGNATURE_OFFSETS) {
      const n = readSync(fd, probe, 0, probe.length, offset);
      if (n < probe.length) return undefined;
      if (hasSignatureAt(probe, 0)) return offset;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function dtypeOf(cls: number, size: number, signed: boolean): DType | undefined {
  if (cls === H5T_FLOAT) return size === 2 ? 'float16' : size === 4 ? 'float32' : size === 8 ? 'float64' : undefined;
  if (cls !== H5T_INTEGER) return undefined;
  const bits = size * 8;
  if (![8, 16, 32, 64].includes(bits)) return undefined;
  return `${signed ? 'int' : 'uint'}${bits}` as DType;
}

interface DatasetInfo {
  path: string;
  dtype: DType;
  shape: number[];
  numel: number;
  elementBytes: number;
  /** Set when no value of the dataset can be stored in the file: each element is this fill value. */
  fill?: number;
  /** See hdf5HeapLimitBytes. */
  heapLimitBytes: number;
}

/** DEFLATE's best ratio (a 258-byte match in about two bits): no gzip filter packs data tighter. */
const MAX_DEFLATE_RATIO = 1032;

/** Least room HDF5's WebAssembly heap is given, whatever the file's size. */
export const HDF5_HEAP_FLOOR_BYTES = 128 * 1024 * 1024;
/** Heap room per byte of the file, above the floor. */
const HDF5_HEAP_PER_FILE_BYTE = 4;
/** WebAssembly's 32-bit memory cannot grow past this; h5wasm is built with it as its maximum. */
const WASM_MEMORY_MAX_BYTES = 2 ** 31;
const WASM_PAGE_BYTES = 65536;

/**
 * How far HDF5's heap may grow while it reads a file of `hdf5Bytes`: a corrupt structure can make the
 * library allocate in a loop (a local-heap free list that points back at itself grows the heap to
 * 2 GiB in about 13 s before malloc fails), and that memory belongs to the whole process, the
 * extension host's included. Real files need a chunk, its compressed copy and a read window (at
 * most 8 MiB): far less than this.
 */
export function hdf5HeapLimitBytes(hdf5Bytes: number): number {
  return Math.min(WASM_MEMORY_MAX_BYTES, HDF5_HEAP_FLOOR_BYTES + HDF5_HEAP_PER_FILE_BYTE * hdf5Bytes);
}

class HeapLimitReached extends Error {
  constructor(limitBytes: number) {
    super(`the HDF5 library needed more than its ${limitBytes}-byte heap limit (128 MiB plus 4 bytes per byte of the file): a corrupt structure makes it allocate in a loop`);
  }
}

/**
 * Runs `work` (synchronous calls into h5wasm) with HDF5's WebAssembly memory unable to grow past
 * `limitBytes`: a refused grow makes HDF5's malloc fail, which the library reports as an error
 * instead of taking the process's memory. h5wasm keeps its Memory object to itself, so the grow of
 * the one memory whose buffer is its heap is refused, for the duration of the call only (other
 * WebAssembly memories, such as the engine's, grow as before).
 */
function withHeapLimit<T>(module: H5Module, limitBytes: number, work: () => T, discard?: (value: T) => void): T {
  const prototype = WebAssembly.Memory.prototype;
  const grow = prototype.grow;
  let refused = false;
  prototype.grow = function limitedGrow(this: WebAssembly.Memory, pages: number): number {
    if (this.buffer === module.HEAPU8.buffer && this.buffer.byteLength + pages * WASM_PAGE_BYTES > limitBytes) {
      refused = true;
      throw new RangeError(`HDF5 heap limit of ${limitBytes} bytes reached`);
    }
    return grow.call(this, pages);
  };
  let result: T;
  try {
    result = work();
  } finally {
    prototype.grow = grow;
  }
  // HDF5 may swallow a failed allocation and carry on with less (a group read as empty): whatever it
  // returned is not the file's content.
  if (refused) {
    discard?.(result);
    throw new HeapLimitReached(limitBytes);
  }
  return result;
}

type StorageVerdict = { fill: true } | { fill: false } | { refuse: string };

/**
 * Whether the file can hold a dataset's values at all. HDF5 stores nothing for a dataset that was
 * never written (its reads return the fill value), so a few hundred bytes can declare 10^12
 * elements. h5wasm does not expose the allocated storage size, so it is bounded from the file's
 * size: contiguous data that would not fit in the file, or chunks without filters of which not
 * even one fits, cannot be stored, and every element is the fill value. A dataset larger than the
 * file could hold even at DEFLATE's limit but possibly partly stored is refused: reading it would
 * generate more values than any file of this size backs.
 */
function storageVerdict(metadata: { chunks: number[] | null }, filters: unknown[], numel: number, elementBytes: number, hdf5Bytes: number): StorageVerdict {
  const declared = numel * elementBytes;
  if (declared <= hdf5Bytes) return { fill: false };
  if (metadata.chunks === null) return { fill: true };
  const chunkBytes = metadata.chunks.reduce((a, b) => a * b, elementBytes);
  if (filters.length === 0 && chunkBytes > hdf5Bytes) return { fill: true };
  if (declared > hdf5Bytes * MAX_DEFLATE_RATIO) {
    return {
      refuse: `declares ${numel} elements (${declared} bytes), more than ${MAX_DEFLATE_RATIO} times the file's ${hdf5Bytes} bytes (the most DEFLATE can compress); its unwritten chunks would be fill values that no stored data backs`,
    };
  }
  return { fill: false };
}

/**
 * Reads the hyperslab [offset, offset + count) of a dataset as native little-endian bytes. h5wasm's
 * own `slice()` refuses float16, so this calls the same wasm export it uses, with the dataset's
 * native type (HDF5 converts byte order on the way).
 */
function readHyperslab(module: H5Module, fileId: bigint, info: DatasetInfo, offset: number[], count: number[]): Uint8Array {
  const elements = count.reduce((a, b) => a * b, 1);
  const bytes = elements * info.elementBytes;
  const pointer = module._malloc(Math.max(bytes, 1));
  if (!pointer) throw new Error(`cannot allocate ${bytes} bytes in the HDF5 heap`);
  try {
    // A scalar dataspace takes no hyperslab: null selects the whole (single) element.
    const scalar = info.shape.length === 0;
    module.get_dataset_data(
      fileId,
      info.path,
      scalar ? null : count.map((c) => BigInt(c)),
      scalar ? null : offset.map((o) => BigInt(o)),
      scalar ? null : count.map(() => 1n),
      BigInt(pointer),
    );
    return module.HEAPU8.slice(pointer, pointer + bytes);
  } finally {
    module._free(pointer);
  }
}

/** Kernel heights and widths: a 4-D shape with two of these at one end and not the other says where they are. */
const KERNEL_EXTENT_LIMIT = 11;

/**
 * The stored axis order of a 2-D or 4-D dataset, and what it rests on. HDF5 itself says nothing:
 * Keras files (their root attributes) and `kernel` names are channels-last ([H, W, I, O] / [I, O],
 * transposed convolutions [H, W, O, I]); `weight` names are PyTorch's [O, I, H, W] / [O, I]; a
 * 4-D shape whose last two dimensions are the small kernel and whose first two are not is OIHW,
 * and the reverse HWIO. Without any of these, the Keras order is assumed (and said so).
 */
export function hdf5LayoutOf(path: string, shape: readonly number[], isKeras: boolean): { layout: TensorLayout; basis: LayoutBasis } | undefined {
  const rank = shape.length;
  if (rank !== 2 && rank !== 4) return undefined;
  const channelsLast = (basis: LayoutBasis) => ({ layout: rank === 2 ? ('IO' as const) : /transpose/i.test(path) ? ('HWOI' as const) : ('HWIO' as const), basis });
  if (isKeras) return channelsLast('keras');
  const leaf = (path.split(/[/.]/).pop() ?? '').replace(/:\d+$/, '');
  if (/kernel$/i.test(leaf)) return channelsLast('name');
  if (/^weights?$/i.test(leaf)) return { layout: rank === 2 ? 'OI' : 'OIHW', basis: 'name' };
  if (rank === 4) {
    const small = (a: number, b: number) => a <= KERNEL_EXTENT_LIMIT && b <= KERNEL_EXTENT_LIMIT;
    const [a, b, c, d] = shape as [number, number, number, number];
    if (small(c, d) && !small(a, b)) return { layout: 'OIHW', basis: 'shape' };
    if (small(a, b) && !small(c, d)) return { layout: /transpose/i.test(path) ? 'HWOI' : 'HWIO', basis: 'shape' };
  }
  return channelsLast('assumed');
}

function datasetSource(
  module: H5Module,
  h5file: H5File,
  reportedFile: string,
  info: DatasetInfo,
  name: string,
  layout: { layout: TensorLayout; basis: LayoutBasis } | undefined,
  isOpen: () => boolean,
): TensorSource {
  const { shape, numel } = info;
  const source: TensorSource = {
    name,
    dtype: info.dtype,
    shape,
    numel,
    async *chunks(options) {
      const limit = chunkLimit(reportedFile, options);
      if (numel === 0) return;
      if (info.fill !== undefined) {
        const out = (needsFloat64(info.dtype) ? new Float64Array(Math.min(limit, numel)) : new Float32Array(Math.min(limit, numel))).fill(info.fill);
        for (let start = 0; start < numel; start += out.length) {
          options?.signal?.throwIfAborted();
          yield out.subarray(0, Math.min(out.length, numel - start));
        }
        return;
      }
      const rank = shape.length;
      // Split at the first axis whose trailing block fits the chunk: pieces are row-major runs.
      const inner = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
      // inner[rank - 1] is 1, so some axis always fits.
      const axis = inner.findIndex((size) => size <= limit);
      const perPiece = rank === 0 ? 1 : Math.max(1, Math.floor(limit / inner[axis]!));
      const out = needsFloat64(info.dtype) ? new Float64Array(Math.min(limit, numel)) : new Float32Array(Math.min(limit, numel));
      if (rank === 0) {
        if (!isOpen()) throw new WeightFileError(reportedFile, `dataset '${info.path}': the file was already closed`);
        decodeInto(readChunkBytes(module, h5file, reportedFile, info, [], []), info.dtype, out);
        yield out.subarray(0, 1);
        return;
      }
      const index = new Array<number>(axis).fill(0);
      for (;;) {
        for (let start = 0; start < shape[axis]!; start += perPiece) {
          options?.signal?.throwIfAborted();
          if (!isOpen()) throw new WeightFileError(reportedFile, `dataset '${info.path}': the file was already closed`);
          const along = Math.min(perPiece, shape[axis]! - start);
          const offset = [...index, start, ...shape.slice(axis + 1).map(() => 0)];
          const count = [...index.map(() => 1), along, ...shape.slice(axis + 1)];
          const bytes = readChunkBytes(module, h5file, reportedFile, info, offset, count);
          const n = decodeInto(bytes, info.dtype, out);
          yield out.subarray(0, n);
        }
        // Advance the multi-index over the axes before the split axis.
        let k = axis - 1;
        for (; k >= 0; k--) {
          if (++index[k]! < shape[k]!) break;
          index[k] = 0;
        }
        if (k < 0) return;
      }
    },
  };
  if (layout) {
    source.layout = layout.layout;
    source.layoutBasis = layout.basis;
  }
  if (info.fill !== undefined) source.constant = info.fill;
  return source;
}

function readChunkBytes(module: H5Module, h5file: H5File, reportedFile: string, info: DatasetInfo, offset: number[], count: number[]): Uint8Array {
  try {
    return withHeapLimit(module, info.heapLimitBytes, () => readHyperslab(module, h5file.file_id, info, offset, count));
  } catch (error) {
    throw new WeightFileError(reportedFile, `dataset '${info.path}': HDF5 could not read its data (${(error as Error).message}); the file is truncated or corrupt`, { cause: error });
  }
}

export interface Hdf5OpenSettings {
  /** The path reported in results and errors (the .keras archive for an extracted weights file). */
  reportedFile: string;
  format: 'hdf5' | 'keras';
  fileBytes: number;
  /** Runs after the HDF5 file is closed (removes a temporary extraction). */
  cleanup?: () => Promise<void>;
  signal?: AbortSignal;
  /** The model config of a Keras 2 file is read for the graph's layers (`OpenOptions.graphLayers`). */
  options?: OpenOptions;
}

/** Opens the HDF5 file at `fsPath` and lists its numeric datasets as tensors. */
export async function openHdf5Weights(fsPath: string, settings: Hdf5OpenSettings): Promise<OpenedWeightFile> {
  const { reportedFile } = settings;
  const signatureAt = findHdf5Signature(fsPath);
  if (signatureAt === undefined) {
    await settings.cleanup?.();
    throw new WeightFileError(reportedFile, 'not an HDF5 file: no HDF5 signature (\\x89HDF\\r\\n\\x1a\\n) at offset 0 or after a user block');
  }
  let layout: Hdf5Structure;
  try {
    // HDF5 never returns from some corrupt structures: they are refused before it reads the file.
    layout = await checkHdf5Structure(fsPath, signatureAt, reportedFile);
  } catch (error) {
    await settings.cleanup?.();
    throw error;
  }
  const hdf5Bytes = statSync(fsPath).size;
  const heapLimitBytes = hdf5HeapLimitBytes(hdf5Bytes);
  const { h5, module } = await loadH5wasm();
  let h5file: H5File | undefined;
  let failure = 'it returned no file';
  let cause: unknown;
  try {
    h5file = withHeapLimit(
      module,
      heapLimitBytes,
      () => new h5.File(fsPath, 'r'),
      (file) => file.close(),
    );
  } catch (error) {
    failure = (error as Error).message;
    cause = error;
  }
  // h5wasm reports a failed H5Fopen as a negative file id rather than an exception.
  if (!h5file || !(h5file.file_id > 0n)) {
    await settings.cleanup?.();
    throw new WeightFileError(reportedFile, `HDF5 could not open the file (${failure}); it is truncated or corrupt`, { cause });
  }
  const openFile: H5File = h5file;
  let open = true;
  // H5Fclose can trap too (after an earlier abort, or on metadata it only now writes back): that is
  // the file's error like any other read, with the trap kept in its cause so the worker retires,
  // and the temporary extraction is removed all the same.
  const closeAll = async (): Promise<void> => {
    if (!open) return;
    open = false;
    try {
      openFile.close();
    } catch (error) {
      throw new WeightFileError(reportedFile, `HDF5 could not close the file (${(error as Error).message}); it is corrupt`, { cause: error });
    } finally {
      await settings.cleanup?.();
    }
  };
  try {
    const structure = withHeapLimit(module, heapLimitBytes, () => {
      const warnings: string[] = [];
      const rootAttributes = Object.keys(openFile.attrs);
      const rootKeys = openFile.keys();
      const isKeras =
        settings.format === 'keras' ||
        rootAttributes.includes('keras_version') ||
        rootAttributes.includes('layer_names') ||
        rootKeys.includes('model_weights');
      const tensors: TensorSource[] = [];
      // Hard links give one object several paths, and a group may link to itself or an ancestor:
      // each object is read once, at the first path found (the rest would count its weights again,
      // and a group with two links to itself has 2^depth paths).
      const firstPathOf = new Map<number, string>();
      const rootAt = layout.objectAt('/');
      if (rootAt !== undefined) firstPathOf.set(rootAt, '/');
      let links = 0;
      const visit = (groupPath: string, depth: number): void => {
        if (depth > MAX_GROUP_DEPTH) {
          warnings.push(`group '${groupPath}' is nested more than ${MAX_GROUP_DEPTH} deep (a link cycle?); not descended`);
          return;
        }
        const group = groupPath === '/' ? openFile : openFile.get(groupPath);
        if (!(group instanceof h5.Group)) return;
        for (const key of group.keys()) {
          settings.signal?.throwIfAborted();
          const path = groupPath === '/' ? `/${key}` : `${groupPath}/${key}`;
          if (++links > MAX_LINKS) throw new WeightFileError(reportedFile, `more than ${MAX_LINKS} links in its groups (hard links that form cycles?)`);
          if (isKeras && path === '/optimizer_weights') {
            warnings.push('optimizer_weights (training state, not model weights) skipped');
            continue;
          }
          // Soft links name objects found under their own path too: following them would count the
          // same weights twice (and could loop).
          const softTarget = openFile.get_link(path);
          if (softTarget) {
            warnings.push(`'${path.slice(1)}' is a soft link to '${softTarget}'; counted at its target only`);
            continue;
          }
          const objectAt = layout.objectAt(path);
          const firstPath = objectAt === undefined ? undefined : firstPathOf.get(objectAt);
          if (firstPath !== undefined) {
            warnings.push(`'${path.slice(1)}' is a hard link to ${firstPath === '/' ? 'the root group' : `'${firstPath.slice(1)}'`}; counted there only`);
            continue;
          }
          if (objectAt !== undefined) firstPathOf.set(objectAt, path);
          const entity = openFile.get(path);
          if (entity instanceof h5.Group) visit(path, depth + 1);
          else if (entity instanceof h5.Dataset) {
            if (tensors.length >= MAX_DATASETS) throw new WeightFileError(reportedFile, `more than ${MAX_DATASETS} datasets`);
            const metadata = entity.metadata;
            const name = path.slice(1);
            if (metadata.virtual_sources?.length) {
              warnings.push(`dataset '${name}' is a virtual dataset mapped from other files; skipped`);
              continue;
            }
            const dtype = dtypeOf(metadata.type, metadata.size, metadata.signed);
            if (!dtype || metadata.vlen) {
              const kind = metadata.vlen ? 'variable-length' : (H5T_CLASS_NAMES[metadata.type] ?? `class ${metadata.type}`);
              warnings.push(`dataset '${name}' holds ${kind} values of ${metadata.size} bytes, not plain numbers; skipped`);
              continue;
            }
            if (!metadata.shape) {
              warnings.push(`dataset '${name}' has no dataspace (H5S_NULL); skipped`);
              continue;
            }
            const counted = checkedNumel(metadata.shape);
            if ('error' in counted) throw new WeightFileError(reportedFile, `dataset '${name}': ${counted.error}`);
            const info: DatasetInfo = { path, dtype, shape: metadata.shape.slice(), numel: counted.numel, elementBytes: metadata.size, heapLimitBytes };
            const verdict = storageVerdict(metadata, entity.filters, info.numel, info.elementBytes, hdf5Bytes);
            if ('refuse' in verdict) throw new WeightFileError(reportedFile, `dataset '${name}' ${verdict.refuse}`);
            if (verdict.fill) {
              // Any element reads back as the fill value; the first one is enough.
              const first = new Float64Array(1);
              decodeInto(readChunkBytes(module, openFile, reportedFile, info, info.shape.map(() => 0), info.shape.map(() => 1)), dtype, first);
              info.fill = first[0]!;
              warnings.push(`dataset '${name}' has no stored data: its ${info.numel} elements are all the fill value ${info.fill}`);
            }
            tensors.push(datasetSource(module, openFile, reportedFile, info, name, hdf5LayoutOf(path, info.shape, isKeras), () => open));
          } else if (entity instanceof h5.ExternalLink) {
            warnings.push(`'${path.slice(1)}' is an external link to ${entity.filename}; not followed`);
          }
        }
      };
      visit('/', 0);
      const metadata: Record<string, string> = {};
      for (const key of ['keras_version', 'backend']) {
        const attribute = openFile.attrs[key];
        const value = attribute?.value;
        if (typeof value === 'string') metadata[key] = value;
      }
      const modelConfig = openFile.attrs.model_config?.value;
      return { tensors, warnings, metadata, modelConfig };
    });
    const { modelConfig, ...read } = structure;
    const opened: OpenedWeightFile = {
      file: reportedFile,
      format: settings.format,
      fileBytes: settings.fileBytes,
      ...read,
      close: closeAll,
    };
    if (typeof modelConfig === 'string') attachKerasLayers(opened, modelConfig, settings.options, 'the model_config attribute');
    return opened;
  } catch (error) {
    const failure = error instanceof WeightFileError ? error : new WeightFileError(reportedFile, `HDF5 structure could not be read (${(error as Error).message}); the file is corrupt`, { cause: error });
    // The read's error says what is wrong with the file; a close that fails after it adds only
    // whether HDF5 trapped, which the worker must know to retire.
    const closeFailure = await closeAll().then(
      () => undefined,
      (closeError: unknown) => closeError,
    );
    if (closeFailure !== undefined && trappedWithin(closeFailure) && !trappedWithin(failure)) {
      throw new WeightFileError(reportedFile, `${failure.problem}; closing it then trapped inside HDF5 too`, { cause: closeFailure });
    }
    throw failure;
  }
}

export const hdf5Parser: WeightFormatParser = {
  format: 'hdf5',
  sniff(head: Uint8Array, fileName: string): boolean {
    if (hasSignatureAt(head, 0)) return true;
    // A user block moves the signature to 512, 1024, ...; the extension says to look there.
    return /\.(h5|hdf5|hdf)$/i.test(fileName) && SIGNATURE_OFFSETS.some((offset) => hasSignatureAt(head, offset));
  },
  async open(file: string, options?: OpenOptions): Promise<OpenedWeightFile> {
    options?.signal?.throwIfAborted();
    let fileBytes: number;
    try {
      fileBytes = statSync(file).size;
    } catch {
      throw new WeightFileError(file, 'cannot open: file not found');
    }
    return openHdf5Weights(file, { reportedFile: file, format: 'hdf5', fileBytes, signal: options?.signal, options });
  },
};
