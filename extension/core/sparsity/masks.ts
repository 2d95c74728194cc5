/**
 * Pruning masks stored in checkpoints:
 *   - torch.nn.utils.prune replaces parameter `p` by `p_orig` and a buffer `p_mask` (the model
 *     computes with p_orig * p_mask);
 *   - NVIDIA ASP (apex.contrib.sparsity) keeps `p` and registers a buffer `__p_mma_mask` on the same
 *     module (so "layer.__weight_mma_mask" for "layer.weight"); "layer.weight_mma_mask" is accepted too.
 * The effective tensor orig * mask is streamed by zipping both tensors' chunks, whatever their chunk
 * boundaries, so it costs no more memory than one chunk.
 */
import type { PruningMaskInfo } from '../../shared/payloads';
import type { TensorSource } from '../formats/types';
import type { FloatChunk } from '../formats/types';

export interface PruningMaskPair {
  parameter: string;
  kind: PruningMaskInfo['kind'];
  orig: TensorSource;
  mask: TensorSource;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The parameter name an ASP mask buffer belongs to: "a.__weight_mma_mask" -> "a.weight". */
function aspParameterName(maskName: string): string {
  const base = maskName.slice(0, -'_mma_mask'.length);
  const cut = base.lastIndexOf('.');
  const leaf = base.slice(cut + 1);
  return leaf.startsWith('__') ? base.slice(0, cut + 1) + leaf.slice(2) : base;
}

export function findPruningMasks(tensors: readonly TensorSource[]): { pairs: PruningMaskPair[]; problems: string[] } {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const pairs: PruningMaskPair[] = [];
  const problems: string[] = [];
  const add = (parameter: string, kind: PruningMaskPair['kind'], orig: TensorSource | undefined, mask: TensorSource) => {
    if (!orig) {
      problems.push(`mask "${mask.name}" has no parameter "${kind === 'torch-prune' ? `${parameter}_orig` : parameter}" beside it`);
    } else if (!sameShape(orig.shape, mask.shape)) {
      problems.push(`mask "${mask.name}" has shape [${mask.shape.join(', ')}] but "${orig.name}" has [${orig.shape.join(', ')}]`);
    } else {
      pairs.push({ parameter, kind, orig, mask });
    }
  };
  for (const tensor of tensors) {
    const name = tensor.name;
    if (name.endsWith('_mma_mask')) {
      const parameter = aspParameterName(name);
      add(parameter, 'asp', byName.get(parameter), tensor);
    } else if (name.endsWith('_mask')) {
      // Other buffers end in _mask too (attention masks): only a sibling <p>_orig makes it a prune mask.
      const parameter = name.slice(0, -'_mask'.length);
      const orig = byName.get(`${parameter}_orig`);
      if (orig) add(parameter, 'torch-prune', orig, tensor);
    }
  }
  return { pairs, problems };
}

/**
 * Replaces each masked parameter of `tensors` by orig * mask under the parameter's own name (for a
 * torch.nn.utils.prune pair, where the file has no tensor of that name) and drops the masks, so a
 * reader of layers sees the weights the pruned model computes with.
 */
export function withMasksApplied(tensors: readonly TensorSource[]): { tensors: TensorSource[]; combined: PruningMaskPair[]; problems: string[] } {
  const { pairs, problems } = findPruningMasks(tensors);
  if (pairs.length === 0) return { tensors: tensors.slice(), combined: [], problems };
  const byOrig = new Map(pairs.map((pair) => [pair.orig.name, pair]));
  const masks = new Set(pairs.map((pair) => pair.mask.name));
  const out = tensors.flatMap((t) => {
    if (masks.has(t.name)) return [];
    const pair = byOrig.get(t.name);
    return [pair ? effectiveMaskedTensor(pair) : t];
  });
  return { tensors: out, combined: pairs, problems };
}

/** Streams equal-length aligned segments of two tensors' chunks, whatever each producer's chunking. */
export async function* zipChunks(
  a: TensorSource,
  b: TensorSource,
  options: { maxChunkElements?: number; signal?: AbortSignal } = {},
): AsyncGenerator<[FloatChunk, FloatChunk]> {
  const ia = a.chunks(options)[Symbol.asyncIterator]();
  const ib = b.chunks(options)[Symbol.asyncIterator]();
  let ca: FloatChunk | undefined;
  let cb: FloatChunk | undefined;
  let oa = 0;
  let ob = 0;
  try {
    for (;;) {
      if (!ca || oa === ca.length) {
        const next = await ia.next();
        if (next.done) break;
        ca = next.value;
        oa = 0;
        continue;
      }
      if (!cb || ob === cb.length) {
        const next = await ib.next();
        if (next.done) throw new Error(`"${b.name}" ended before "${a.name}"`);
        cb = next.value;
        ob = 0;
        continue;
      }
      const take = Math.min(ca.length - oa, cb.length - ob);
      // Both segments stay valid until the next call to next() on their own iterator.
      yield [ca.subarray(oa, oa + take), cb.subarray(ob, ob + take)];
      oa += take;
      ob += take;
    }
    if (cb && ob < cb.length) throw new Error(`"${a.name}" ended before "${b.name}"`);
    if (!(await ib.next()).done) throw new Error(`"${a.name}" ended before "${b.name}"`);
  } finally {
    await ia.return?.();
    await ib.return?.();
  }
}

/** orig * mask as a TensorSource named after the parameter it stands for. */
export function effectiveMaskedTensor(pair: PruningMaskPair): TensorSource {
  const { orig, mask } = pair;
  return {
    name: pair.parameter,
    dtype: orig.dtype,
    shape: orig.shape.slice(),
    numel: orig.numel,
    ...(orig.layout ? { layout: orig.layout, ...(orig.layoutBasis ? { layoutBasis: orig.layoutBasis } : {}) } : {}),
    maskedFrom: { orig: orig.name, mask: mask.name, kind: pair.kind },
    async *chunks(options) {
      const limit = options?.maxChunkElements ?? 1 << 20;
      // float32 * float32 is exact in float64, so the product never rounds.
      const out = new Float64Array(Math.max(1, Math.min(limit, orig.numel)));
      let filled = 0;
      for await (const [x, m] of zipChunks(orig, mask, options)) {
        for (let i = 0; i < x.length; ) {
          const take = Math.min(x.length - i, out.length - filled);
          for (let j = 0; j < take; j++) out[filled + j] = x[i + j]! * m[i + j]!;
          filled += take;
          i += take;
          if (filled === out.length) {
            yield out;
            filled = 0;
          }
        }
      }
      if (filled > 0) yield out.subarray(0, filled);
    },
  };
}
