/**
 * TensorFlow.js models: `model.json` (topology plus a weightsManifest) and binary weight shards.
 *
 * Each manifest group lists shard paths and the weights stored in them back to back, so a weight's
 * bytes may straddle two shards: a group's shards are presented as one concatenated ByteSource,
 * opened lazily on first read. Quantised weights (uint8/uint16 with scale and min, or float16) are
 * dequantised as tf.io.decodeWeights does. 4-D kernels keep TF's HWIO order, declared in `layout`.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type DType, checkedNumel, decodeInto, itemSize } from './dtypes';
import { type ByteSource, BoundedReader, ByteCursor, checkRange } from './reader';
import { chunkLimit, contiguousTensor } from './source';
import { attachKerasLayers } from './kerasTopology';
import { type OpenOptions, type OpenedWeightFile, type TensorLayout, type TensorSource, WeightFileError, type WeightFormatParser } from './types';

const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
const MAX_SHARDS = 100_000;

/** The shards of one manifest group, read as if concatenated; each file is opened on first use. */
class ConcatenatedShards implements ByteSource {
  private readers = new Map<number, Promise<BoundedReader>>();
  readonly size: number;
  private readonly starts: number[] = [];

  constructor(
    readonly file: string,
    private readonly shards: { file: string; size: number }[],
  ) {
    let total = 0;
    for (const shard of shards) {
      this.starts.push(total);
      total += shard.size;
    }
    this.size = total;
  }

  private reader(index: number): Promise<BoundedReader> {
    let reader = this.readers.get(index);
    if (!reader) {
      reader = BoundedReader.open(this.shards[index].file);
      this.readers.set(index, reader);
    }
    return reader;
  }

  async read(offset: number, length: number, what = 'read'): Promise<Uint8Array> {
    checkRange(this, offset, length, what);
    const out = new Uint8Array(length);
    let filled = 0;
    for (let index = 0; index < this.shards.length && filled < length; index++) {
      const start = this.starts[index];
      const end = start + this.shards[index].size;
      const position = offset + filled;
      if (position >= end) continue;
      const take = Math.min(end - position, length - filled);
      const reader = await this.reader(index);
      if (reader.size !== this.shards[index].size) {
        throw new WeightFileError(this.shards[index].file, `changed size while open (${this.shards[index].size} -> ${reader.size} bytes)`);
      }
      out.set(await reader.read(position - start, take, what), filled);
      filled += take;
    }
    return out;
  }

  async close(): Promise<void> {
    const readers = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(readers.map(async (pending) => (await pending.catch(() => undefined))?.close()));
  }
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

/** Names looked up from the manifest: maps without a prototype, so "constructor" or "toString" find nothing. */
function nameTable(entries: Record<string, DType>): Readonly<Record<string, DType | undefined>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, DType | undefined>, entries));
}
const PLAIN_DTYPES = nameTable({ float32: 'float32', int32: 'int32', bool: 'bool', uint8: 'uint8' });
const QUANTISED_DTYPES = nameTable({ uint8: 'uint8', uint16: 'uint16', float16: 'float16' });

function layoutOf(name: string, shape: number[]): TensorLayout | undefined {
  if (shape.length !== 4) return undefined;
  // Conv2DTranspose kernels are [h, w, out, in]; every other 4-D TF kernel is [h, w, in, out].
  return /transpose/i.test(name) ? 'HWOI' : 'HWIO';
}

/**
/**
 * The stored level that stands for 0. tfjs-converter nudges min and scale so that zero is one of the
 * levels when the range spans it, so -min / scale is an integer up to rounding; undefined when no
 * level is zero.
 */
export function affineZeroLevel(stored: DType, scale: number, min: number): number | undefined {
  const top = stored === 'uint8' ? 255 : 65535;
  if (!(scale > 0)) return undefined;
  const level = Math.round(-min / scale);
  return level >= 0 && level <= top && Math.abs(level * scale + min) <= scale * 1e-3 ? level : undefined;
}

/**
 * An affine-dequantised tensor: value = q * scale + min, as tf.io.decodeWeights computes it, which
 * rounds the result to the nearest integer (Math.round, stored in an Int32Array) when the weight's
 * own dtype is int32, except that the zero level decodes to exactly 0 (in floating point
 * q * scale + min may miss it by an ulp).
 */
function affineTensor(
  name: string,
  shape: number[],
  numel: number,
  source: ByteSource,
  byteOffset: number,
  stored: DType,
  quantization: { scale: number; min: number; original: 'float32' | 'int32' },
): TensorSource {
  const size = itemSize(stored);
  const { scale, min } = quantization;
  const integer = quantization.original === 'int32';
  const zero = affineZeroLevel(stored, scale, min);
  const tensor: TensorSource = {
    name,
    dtype: integer ? `int32 (${stored}-quantized)` : `${stored} (quantized)`,
    shape,
    numel,
    quantization:
      zero === undefined
        ? `${stored} affine (q * ${scale} + ${min}): no level is 0, so no stored value counts as zero`
        : `${stored} affine (q * ${scale} + ${min}): zero point ${zero}, a stored ${zero} counts as zero`,
    async *chunks(options) {
      const limit = chunkLimit(source.file, options);
      // Integers keep all 32 bits in float64; float32 weights round as tfjs's Float32Array does.
      const out = integer ? new Float64Array(Math.min(limit, numel)) : new Float32Array(Math.min(limit, numel));
      for (let done = 0; done < numel; ) {
        options?.signal?.throwIfAborted();
        const count = Math.min(limit, numel - done);
        const bytes = await source.read(byteOffset + done * size, count * size, `tensor "${name}"`);
        decodeInto(bytes, stored, out, true);
        // `| 0` is the ToInt32 of tfjs's Int32Array store: -0 becomes 0, out-of-range values wrap.
        if (integer) for (let i = 0; i < count; i++) out[i] = Math.round(out[i] * scale + min) | 0;
        else for (let i = 0; i < count; i++) out[i] = out[i] === zero ? 0 : out[i] * scale + min;
        yield out.subarray(0, count);
        done += count;
      }
    },
  };
  const layout = layoutOf(name, shape);
  if (layout) tensor.layout = layout;
  return tensor;
}

async function openTfjs(file: string, options?: OpenOptions): Promise<OpenedWeightFile> {
  const jsonReader = await BoundedReader.open(file);
  let model: unknown;
  try {
    if (jsonReader.size > MAX_MODEL_JSON_BYTES) throw new WeightFileError(file, `model.json of ${jsonReader.size} bytes exceeds the ${MAX_MODEL_JSON_BYTES}-byte limit`);
    const text = new TextDecoder().decode(await jsonReader.read(0, jsonReader.size, 'model.json'));
    try {
      model = JSON.parse(text);
    } catch (error) {
      throw new WeightFileError(file, `not valid JSON (${(error as Error).message})`);
    }
  } finally {
    await jsonReader.close();
  }
  // A bare weights manifest (the *-weights_manifest.json files of face-api and older converters) is the list itself.
  const manifest = Array.isArray(model) ? model : (model as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) throw new WeightFileError(file, 'no "weightsManifest" list; not a TensorFlow.js model.json');

  const directory = path.dirname(path.resolve(file));
  const groups: ConcatenatedShards[] = [];
  const tensors: TensorSource[] = [];
  const warnings: string[] = [];
  let fileBytes = 0;
  let shardCount = 0;
  const companions: string[] = [];
  const closeAll = async () => {
    await Promise.all(groups.map((group) => group.close()));
  };
  try {
    for (const [groupIndex, group] of manifest.entries()) {
      const where = `weightsManifest[${groupIndex}]`;
      const { paths, weights } = (group ?? {}) as { paths?: unknown; weights?: unknown };
      if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) throw new WeightFileError(file, `${where}.paths must be a list of file names`);
      if (!Array.isArray(weights)) throw new WeightFileError(file, `${where}.weights must be a list`);
      shardCount += paths.length;
      if (shardCount > MAX_SHARDS) throw new WeightFileError(file, `more than ${MAX_SHARDS} weight shards`);
      const shards: { file: string; size: number }[] = [];
      for (const shardPath of paths as string[]) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(shardPath) || path.isAbsolute(shardPath)) {
          throw new WeightFileError(file, `${where}: shard path "${shardPath}" must be relative to model.json`);
        }
        const resolved = path.resolve(directory, shardPath);
        if (path.relative(directory, resolved).startsWith('..')) throw new WeightFileError(file, `${where}: shard path "${shardPath}" points outside the model's folder`);
        let size: number;
        try {
          const stat = await fs.stat(resolved);
          if (!stat.isFile()) throw new Error('not a regular file');
          size = stat.size;
        } catch (error) {
          throw new WeightFileError(file, `${where}: weight shard ${shardPath} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
        }
        companions.push(resolved);
        shards.push({ file: resolved, size });
      }
      const source = new ConcatenatedShards(file, shards);
      groups.push(source);
      fileBytes += source.size;
      const cursor = new ByteCursor(source, 0, 1 << 16, `${where} shards (${(paths as string[]).join(', ')})`);
      let offset = 0;
      for (const weight of weights as ManifestWeight[]) {
        const name = typeof weight?.name === 'string' ? weight.name : '';
        const label = `${where} weight "${name}"`;
        if (!name) throw new WeightFileError(file, `${where}: a weight has no name`);
        if (!Array.isArray(weight.shape)) throw new WeightFileError(file, `${label}: shape is not a list`);
        const counted = checkedNumel(weight.shape);
        if ('error' in counted) throw new WeightFileError(file, `${label}: ${counted.error}`);
        const numel = counted.numel;
        const shape = weight.shape;
        const checkFits = (byteLength: number) => {
          if (offset + byteLength > source.size) {
            throw new WeightFileError(
              file,
              `${label}: needs bytes ${offset}..${offset + byteLength} of the group but its shards (${(paths as string[]).join(', ')}) hold ${source.size}; a shard is truncated or missing`,
            );
          }
        };
        if (weight.dtype === 'string') {
          // Each string is a uint32 byte length then the bytes: walk them to find the next weight.
          cursor.position = offset;
          for (let i = 0; i < numel; i++) await cursor.skip(await cursor.u32());
          offset = cursor.position;
          warnings.push(`${label}: string tensor skipped`);
          continue;
        }
        const quantization = weight.quantization;
        let byteLength: number;
        if (quantization) {
          const stored = QUANTISED_DTYPES[quantization.dtype];
          if (!stored) throw new WeightFileError(file, `${label}: unknown quantization dtype ${JSON.stringify(quantization.dtype)}`);
          // tf.io.decodeWeights dequantises float32 weights (uint8, uint16 or float16) and int32 ones
          // (uint8 or uint16) and refuses every other pairing, so a model holding one does not load.
          const original = weight.dtype;
          if (original !== 'float32' && !(original === 'int32' && stored !== 'float16')) {
            throw new WeightFileError(file, `${label}: ${JSON.stringify(original)} weights cannot be ${stored}-quantized (TensorFlow.js dequantizes float32 weights, and int32 ones stored as uint8 or uint16)`);
          }
          byteLength = numel * itemSize(stored);
          checkFits(byteLength);
          if (stored === 'float16') {
            const tensor = contiguousTensor({ name, dtype: 'float16', shape, numel, source, byteOffset: offset, layout: layoutOf(name, shape) });
            tensors.push(tensor);
          } else {
            const { scale, min } = quantization;
            if (typeof scale !== 'number' || typeof min !== 'number' || !Number.isFinite(scale) || !Number.isFinite(min)) {
              throw new WeightFileError(file, `${label}: ${stored} quantization needs numeric scale and min`);
            }
            tensors.push(affineTensor(name, shape, numel, source, offset, stored, { scale, min, original }));
          }
        } else if (weight.dtype === 'complex64') {
          byteLength = numel * 8;
          checkFits(byteLength);
          warnings.push(`${label}: complex64 tensor skipped`);
        } else {
          const dtype = PLAIN_DTYPES[weight.dtype];
          if (!dtype) throw new WeightFileError(file, `${label}: unknown dtype ${JSON.stringify(weight.dtype)}`);
          byteLength = numel * itemSize(dtype);
          checkFits(byteLength);
          tensors.push(contiguousTensor({ name, dtype, shape, numel, source, byteOffset: offset, layout: layoutOf(name, shape) }));
        }
        offset += byteLength;
      }
      if (offset < source.size) warnings.push(`${where}: shards hold ${source.size - offset} bytes more than the manifest's weights use`);
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  const opened: OpenedWeightFile = { file, format: 'tfjs', fileBytes, tensors, warnings, companions, close: closeAll };
  attachKerasLayers(opened, Array.isArray(model) ? undefined : (model as { modelTopology?: unknown } | null)?.modelTopology, options, 'modelTopology');
  return opened;
}

export const tfjsParser: WeightFormatParser = {
  format: 'tfjs',
  sniff(head, fileName) {
    let start = 0;
    while (start < head.length && (head[start] === 0x20 || head[start] === 0x0a || head[start] === 0x0d || head[start] === 0x09)) start++;
    const text = new TextDecoder().decode(head);
    if (head[start] === 0x5b) return /"weights"\s*:/.test(text) && /"(paths|name)"\s*:/.test(text);
    if (head[start] !== 0x7b) return false;
    if (/"(weightsManifest|modelTopology)"\s*:/.test(text)) return true;
    return /^model\.json$/i.test(fileName);
  },
  open: (file: string, options?: OpenOptions) => openTfjs(file, options),
};
