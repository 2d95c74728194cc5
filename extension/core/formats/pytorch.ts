/**
 * PyTorch checkpoints (.pt/.pth/.bin/.ckpt) in the zip format torch.save has used since 1.6: a zip
 * holding `<root>/data.pkl` (the pickled object, tensors replaced by persistent ids naming their
 * storages) and one `<root>/data/<key>` entry per storage.
 *
 * The pickle is interpreted by the never-executing VM in pickle.ts with a whitelist of the
 * torch/collections functions state dicts need; anything else becomes a named placeholder reported
 * in `warnings`. Tensors found anywhere in the unpickled object are named by their path
 * ("model.layer1.0.conv1.weight").
 */
import * as path from 'node:path';
import { type DType, checkedNumel, itemSize } from './dtypes';
import { PickleError, type PickleCallable, PyDict, PyGlobal, PyOpaque, PyTuple, unpickle } from './pickle';
import { BoundedReader } from './reader';
import { looksLikeShardIndex, openShardedIndex, shardFormatOf } from './sharded';
import { isRowMajor, stridedTensor } from './source';
import { type OpenOptions, type OpenedWeightFile, type TensorSource, WeightFileError, type WeightFormatParser } from './types';
import { ZipArchive, isZip, zipEntryNamesInHead } from './zip';
import { ownValue } from './ownNames';

/**
 * data.pkl entries above this are refused before anything is inflated: real ones are kilobytes to a
 * few megabytes (the tensors live in entries of their own), while a deflated 256 MiB of zeros fits in
 * 256 KB and took seconds and 420 MB of memory to inflate and check.
 */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;
/** Object graphs nested deeper than this are refused when searching them for tensors. */
export const MAX_OBJECT_DEPTH = 200;

/** The 10-byte magic number (0x1950a86a20f9469cfc6c) pickled as a LONG1 at the start of legacy files. */
const LEGACY_MAGIC = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

export function isLegacyTorchFile(head: Uint8Array): boolean {
  return head.length >= 14 && head[0] === 0x80 && head[2] === 0x8a && head[3] === 0x0a && LEGACY_MAGIC.every((b, i) => head[4 + i] === b);
}

const STORAGE_DTYPES: Record<string, DType> = {
  DoubleStorage: 'float64',
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};

const TORCH_DTYPES: Record<string, DType> = {
  float64: 'float64',
  double: 'float64',
  float32: 'float32',
  float: 'float32',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  float8_e4m3fn: 'float8_e4m3fn',
  float8_e5m2: 'float8_e5m2',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  short: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

/** A storage class global (torch.FloatStorage...) resolved to its element type. */
class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: DType,
  ) {}
}

/** A torch dtype object (torch.float32) met as a global. */
class TorchDType {
  constructor(readonly dtype: DType) {}
}

class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
    readonly location: string,
  ) {}
}

class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {}
}

class MalformedPickle extends Error {}

function intList(value: unknown, what: string): number[] {
  const items = value instanceof PyTuple ? value.items : Array.isArray(value) ? value : undefined;
  if (!items || !items.every((v) => typeof v === 'number' && Number.isSafeInteger(v))) {
    throw new MalformedPickle(`${what} is not a tuple of integers`);
  }
  return items as number[];
}

function rebuildTensor(args: unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new MalformedPickle('_rebuild_tensor: first argument is not a storage');
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new MalformedPickle('_rebuild_tensor: bad storage offset');
  const shape = intList(size, '_rebuild_tensor size');
  const strides = intList(stride, '_rebuild_tensor stride');
  if (strides.length !== shape.length) throw new MalformedPickle(`_rebuild_tensor: ${shape.length} sizes but ${strides.length} strides`);
  return new TensorRef(storage, offset, shape, strides);
}

function buildWhitelist(): { callables: Record<string, PickleCallable>; values: Record<string, unknown> } {
  const values: Record<string, unknown> = {};
  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) {
    values[`torch.${name}`] = new StorageType(name, dtype);
    values[`torch.storage.${name}`] = new StorageType(name, dtype);
  }
  for (const [name, dtype] of Object.entries(TORCH_DTYPES)) values[`torch.${name}`] = new TorchDType(dtype);

  const callables: Record<string, PickleCallable> = {
    'torch._utils._rebuild_tensor_v2': rebuildTensor,
    'torch._utils._rebuild_tensor': rebuildTensor,
    'torch._utils._rebuild_parameter': (args) => args[0],
    'torch._utils._rebuild_parameter_with_state': (args) => args[0],
    'torch._tensor._rebuild_from_type_v2': (args) => {
      const [func, , inner] = args;
      const target = func instanceof PyGlobal ? ownValue(callables, func.qualifiedName) : undefined;
      if (!target || !(inner instanceof PyTuple)) return new PyOpaque('torch._tensor._rebuild_from_type_v2', args);
      return target(inner.items);
    },
    'collections.OrderedDict': (args) => {
      const dict = new PyDict();
      const pairs = args[0];
      if (Array.isArray(pairs)) {
        for (const pair of pairs) if (pair instanceof PyTuple && pair.items.length === 2) dict.map.set(pair.items[0], pair.items[1]);
      }
      return dict;
    },
    'torch.Size': (args) => (args[0] instanceof PyTuple ? args[0] : new PyTuple(Array.isArray(args[0]) ? args[0] : [])),
    'builtins.set': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
    'builtins.frozenset': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
    '_codecs.encode': (args) => {
      const [text, encoding] = args;
      if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) return new PyOpaque('_codecs.encode', args);
      return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
    },
  };
  return { callables, values };
}

function persistentLoad(pid: unknown): StorageRef {
  if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage') {
    throw new MalformedPickle(`unknown persistent id ${pid instanceof PyTuple ? String(pid.items[0]) : typeof pid}`);
  }
  const [, type, key, location, numel] = pid.items;
  let dtype: DType;
  if (type instanceof StorageType) dtype = type.dtype;
  else if (type instanceof TorchDType) dtype = type.dtype;
  else throw new MalformedPickle(`unsupported storage type ${type instanceof PyGlobal ? type.qualifiedName : String(type)}`);
  if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) throw new MalformedPickle(`bad storage key ${String(key)}`);
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new MalformedPickle(`bad storage size ${String(numel)}`);
  return new StorageRef(key, dtype, numel, typeof location === 'string' ? location : String(location));
}

/** Module containers whose names carry no information in a tensor's dotted name. */
const TRANSPARENT_KEYS = new Set(['_parameters', '_buffers', '_modules']);

interface FoundTensor {
  name: string;
  tensor: TensorRef;
}

interface FoundTensors {
  tensors: FoundTensor[];
  /** References met to an object already reached by another path (memo GETs of a shared object). */
  repeatedReferences: number;
  /** One such reference, as [its path, the name the object was first reached by]. */
  example?: [string, string];
}

/**
 * Every tensor reachable from `root`, each once, named by the first path that reaches it. Pickles
 * share objects through the memo, so the object graph is a DAG whose number of paths can grow
 * exponentially with its size (or a single tensor can be referenced a million times): each object is
 * walked once and later references are only counted, which keeps the walk linear in the pickle.
 */
function findTensors(root: unknown, file: string): FoundTensors {
  const result: FoundTensors = { tensors: [], repeatedReferences: 0 };
  const firstName = new Map<object, string>();
  const walk = (value: unknown, names: string[], depth: number): void => {
    if (value === null || typeof value !== 'object') return;
    if (depth > MAX_OBJECT_DEPTH) throw new WeightFileError(file, `the pickled object nests deeper than ${MAX_OBJECT_DEPTH} levels`);
    const name = names.length > 0 ? names.join('.') : 'tensor';
    const first = firstName.get(value);
    if (first !== undefined) {
      result.repeatedReferences++;
      result.example ??= [name, first];
      return;
    }
    firstName.set(value, name);
    if (value instanceof TensorRef) {
      result.tensors.push({ name, tensor: value });
      return;
    }
    const child = (key: unknown, item: unknown) => {
      if (item === null || typeof item !== 'object') return;
      const label = typeof key === 'string' || typeof key === 'number' || typeof key === 'bigint' ? String(key) : key instanceof PyTuple ? key.items.map(String).join('_') : '?';
      walk(item, TRANSPARENT_KEYS.has(label) ? names : [...names, label], depth + 1);
    };
    if (value instanceof PyDict) {
      for (const [key, item] of value.map) child(key, item);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => child(index, item));
    } else if (value instanceof PyTuple) {
      value.items.forEach((item, index) => child(index, item));
    } else if (value instanceof PyOpaque) {
      value.args.forEach((item) => walk(item, names, depth + 1));
      // BUILD state is usually the object's __dict__ (or a (dict, slots) pair): its keys name attributes.
      const states = value.state instanceof PyTuple ? value.state.items : [value.state];
      for (const state of states) walk(state, names, depth + 1);
      value.items.forEach((item, index) => child(index, item));
      for (const [key, item] of value.dictItems) child(key, item);
    }
  };
  walk(root, [], 0);
  return result;
}

async function openTorch(file: string): Promise<OpenedWeightFile> {
  const reader = await BoundedReader.open(file);
  let archive: ZipArchive | undefined;
  try {
    const head = await reader.head(64);
    if (isLegacyTorchFile(head)) {
      throw new WeightFileError(
        file,
        'this is the legacy (pre-1.6) PyTorch serialization format, which is not supported; re-save it with torch.save(obj, path, _use_new_zipfile_serialization=True)',
      );
    }
    if (!isZip(head)) throw new WeightFileError(file, 'not a PyTorch zip checkpoint (no zip header)');
    archive = await ZipArchive.open(reader);
    const pickleEntry = archive.entries.find((entry) => /^([^/]+\/)?data\.pkl$/.test(entry.name));
    if (!pickleEntry) throw new WeightFileError(file, 'zip archive has no data.pkl; not a PyTorch checkpoint');
    const root = pickleEntry.name.slice(0, -'data.pkl'.length);
    const warnings: string[] = [];
    if (archive.entries.some((entry) => entry.name.startsWith(`${root}code/`))) {
      warnings.push('TorchScript archive: only the tensors reachable from data.pkl are read (constants.pkl is not)');
    }
    const byteorderEntry = archive.entry(`${root}byteorder`);
    let littleEndian = true;
    if (byteorderEntry) {
      const order = new TextDecoder().decode(await archive.read(byteorderEntry, 16)).trim();
      if (order === 'big') littleEndian = false;
      else if (order !== 'little') throw new WeightFileError(file, `byteorder entry says "${order.slice(0, 20)}"`);
    }

    const pickleBytes = await archive.read(pickleEntry, MAX_PICKLE_BYTES);
    const { callables, values } = buildWhitelist();
    let value: unknown;
    let skippedGlobals: string[];
    try {
      ({ value, skippedGlobals } = unpickle(pickleBytes, { callables, values, persistentLoad }));
    } catch (error) {
      if (error instanceof PickleError || error instanceof MalformedPickle) {
        throw new WeightFileError(file, `${pickleEntry.name}: ${error.message}`);
      }
      throw error;
    }
    for (const global of skippedGlobals) warnings.push(`pickle global ${global} is not on the safe list; kept as an opaque placeholder, not executed`);

    const tensors: TensorSource[] = [];
    const names = new Map<string, number>();
    const found = findTensors(value, file);
    if (found.example) {
      const [again, first] = found.example;
      warnings.push(
        `${found.repeatedReferences} reference${found.repeatedReferences === 1 ? '' : 's'} in the pickle lead to an object already reached by another path (e.g. "${again}" is "${first}"); each tensor is counted once, under the first name`,
      );
    }
    for (const { name: baseName, tensor } of found.tensors) {
      const repeat = names.get(baseName) ?? 0;
      names.set(baseName, repeat + 1);
      const name = repeat === 0 ? baseName : `${baseName}#${repeat}`;
      const counted = checkedNumel(tensor.shape);
      if ('error' in counted) throw new WeightFileError(file, `tensor "${name}": ${counted.error}`);
      const entryName = `${root}data/${tensor.storage.key}`;
      const entry = archive.entry(entryName);
      if (!entry) throw new WeightFileError(file, `tensor "${name}": storage entry ${entryName} is missing`);
      const size = itemSize(tensor.storage.dtype);
      const storageBytes = tensor.storage.numel * size;
      if (entry.uncompressedSize !== storageBytes) {
        throw new WeightFileError(
          file,
          `tensor "${name}": storage ${entryName} holds ${entry.uncompressedSize} bytes but its header says ${tensor.storage.numel} ${tensor.storage.dtype} elements (${storageBytes} bytes)`,
        );
      }
      // A row-major tensor is read front to back: a deflated storage is inflated as it is read, once
      // per pass. Any other view needs random access: inflated once into a temporary file.
      const source = isRowMajor(tensor.shape, tensor.strides) ? await archive.streamingSource(entry) : await archive.randomAccess(entry);
      tensors.push(
        stridedTensor({
          name,
          dtype: tensor.storage.dtype,
          shape: tensor.shape,
          numel: counted.numel,
          source,
          storageByteOffset: 0,
          storageElements: tensor.storage.numel,
          elementOffset: tensor.offset,
          strides: tensor.strides,
          littleEndian,
        }),
      );
    }
    if (tensors.length === 0) warnings.push('no tensors found in the pickled object');
    const opened = archive;
    const close = async (): Promise<void> => {
      await opened.close();
      await reader.close();
    };
    return { file, format: 'pytorch', fileBytes: reader.size, tensors, warnings, close };
  } catch (error) {
    await archive?.close();
    await reader.close();
    throw error;
  }
}

const TORCH_EXTENSIONS = /\.(pt|pth|bin|ckpt|pkl|tar)$/i;

async function openTorchOrIndex(file: string): Promise<OpenedWeightFile> {
  const reader = await BoundedReader.open(file);
  let head: Uint8Array;
  try {
    head = await reader.head(4096);
  } finally {
    await reader.close();
  }
  if (looksLikeShardIndex(head)) return openShardedIndex(file, 'pytorch', openTorch);
  return openTorch(file);
}

export const pytorchParser: WeightFormatParser = {
  format: 'pytorch',
  sniff(head, fileName) {
    if (isLegacyTorchFile(head)) return true;
    // pytorch_model.bin.index.json: a weight_map whose shards are .bin files.
    if (looksLikeShardIndex(head)) return shardFormatOf(head) === 'pytorch' || /\.bin\.index\.json$/i.test(fileName);
    if (!isZip(head)) return false;
    if (zipEntryNamesInHead(head).some((name) => /^([^/]+\/)?data\.pkl$/.test(name))) return true;
    return TORCH_EXTENSIONS.test(path.basename(fileName));
  },
  open: (file: string, _options?: OpenOptions) => openTorchOrIndex(file),
};
