/**
 * Sharded checkpoints as Hugging Face writes them: `model.safetensors.index.json` or
 * `pytorch_model.bin.index.json`, whose `weight_map` names the shard file of every tensor. Each
 * shard is opened with the format's own parser; the index decides which tensors are reported.
 */
import * as path from 'node:path';
import type { WeightFormat } from '../../shared/payloads';
import { BoundedReader } from './reader';
import { type OpenedWeightFile, type TensorSource, WeightFileError } from './types';
import { setOwn } from './ownNames';

const MAX_INDEX_BYTES = 64 * 1024 * 1024;
const MAX_SHARDS = 10_000;

/** True when `head` is the start of a JSON object with a "weight_map" key. */
export function looksLikeShardIndex(head: Uint8Array): boolean {
  let start = 0;
  while (start < head.length && (head[start] === 0x20 || head[start] === 0x0a || head[start] === 0x0d || head[start] === 0x09)) start++;
  if (head[start] !== 0x7b) return false;
  return /"weight_map"\s*:/.test(new TextDecoder().decode(head));
}

/** Which format the shards of an index hold, judged from the shard names visible in `head`. */
export function shardFormatOf(head: Uint8Array): 'safetensors' | 'pytorch' | undefined {
  const text = new TextDecoder().decode(head);
  if (/\.safetensors"/.test(text)) return 'safetensors';
  if (/\.(bin|pt|pth)"/.test(text)) return 'pytorch';
  return undefined;
}

export async function openShardedIndex(
  indexFile: string,
  format: WeightFormat,
  openShard: (file: string) => Promise<OpenedWeightFile>,
): Promise<OpenedWeightFile> {
  const indexReader = await BoundedReader.open(indexFile);
  let index: unknown;
  try {
    if (indexReader.size > MAX_INDEX_BYTES) throw new WeightFileError(indexFile, `index of ${indexReader.size} bytes exceeds the ${MAX_INDEX_BYTES}-byte limit`);
    const text = new TextDecoder().decode(await indexReader.read(0, indexReader.size, 'index JSON'));
    try {
      index = JSON.parse(text);
    } catch (error) {
      throw new WeightFileError(indexFile, `not valid JSON (${(error as Error).message})`);
    }
  } finally {
    await indexReader.close();
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new WeightFileError(indexFile, 'a sharded checkpoint index needs a "weight_map" object');
  }
  const directory = path.dirname(path.resolve(indexFile));
  const tensorsByShard = new Map<string, Set<string>>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard.length === 0) throw new WeightFileError(indexFile, `weight_map["${tensor}"] is not a file name`);
    const resolved = path.resolve(directory, shard);
    if (path.isAbsolute(shard) || path.relative(directory, resolved).startsWith('..')) {
      throw new WeightFileError(indexFile, `weight_map["${tensor}"] = "${shard}" points outside the index's folder`);
    }
    const names = tensorsByShard.get(resolved) ?? new Set<string>();
    names.add(tensor);
    tensorsByShard.set(resolved, names);
  }
  if (tensorsByShard.size > MAX_SHARDS) throw new WeightFileError(indexFile, `${tensorsByShard.size} shards exceed the limit of ${MAX_SHARDS}`);

  const opened: OpenedWeightFile[] = [];
  const closeAll = async () => {
    await Promise.all(opened.map((shard) => shard.close()));
  };
  const tensors: TensorSource[] = [];
  const warnings: string[] = [];
  const metadata: Record<string, string> = {};
  const indexMetadata = (index as { metadata?: unknown }).metadata;
  if (typeof indexMetadata === 'object' && indexMetadata !== null) {
    for (const [key, value] of Object.entries(indexMetadata)) setOwn(metadata, key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  let fileBytes = 0;
  try {
    for (const [shardFile, wanted] of tensorsByShard) {
      const shard = await openShard(shardFile);
      opened.push(shard);
      fileBytes += shard.fileBytes;
      warnings.push(...shard.warnings);
      Object.assign(metadata, shard.metadata ?? {});
      const found = new Set<string>();
      for (const tensor of shard.tensors) {
        if (wanted.has(tensor.name)) {
          tensors.push(tensor);
          found.add(tensor.name);
        } else {
          warnings.push(`${path.basename(shardFile)} holds "${tensor.name}", which the index does not list; ignored`);
        }
      }
      for (const name of wanted) {
        // A tensor the shard's parser skipped (with a warning naming it) is not an inconsistency.
        const skipped = shard.warnings.some((w) => w.includes(`"${name}"`));
        if (!found.has(name) && !skipped) {
          throw new WeightFileError(indexFile, `weight_map puts "${name}" in ${path.basename(shardFile)}, which does not contain it`);
        }
      }
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  const companions = opened.flatMap((shard) => [shard.file, ...(shard.companions ?? [])]);
  return { file: indexFile, format, fileBytes, tensors, warnings, metadata, companions, close: closeAll };
}
