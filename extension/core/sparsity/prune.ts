/**
 * Pruning what-ifs and prune-and-export.
 *
 * Which tensors: conv and linear weights (see isPrunable); biases, norms and embeddings stay.
 *
 * magnitude: each prunable tensor loses exactly round(s_i * numel) of its smallest |w| (ties broken in
 *   stored order), found with the exact two-pass selection of select.ts. Elements already zero are
 *   among the smallest, so the tensor ends with max(round(s_i * numel), zeros before) zeros.
 * filter-l1: each prunable tensor loses round(s_i * K) whole output filters (rows of a matrix), those
 *   with the smallest L1 norm (ties: lower index first), as torch.nn.utils.prune.ln_structured(n=1,
 *   dim=0) ranks them.
 * nm: each prunable tensor with at least M input channels keeps the N largest |w| of every group of
 *   M consecutive input channels (see nmPrune.ts); the target is 1 - N/M, the profile uniform. The
 *   copy holds either the pruned weights or, with `masks`, the weights unchanged beside ASP-style
 *   masks ("a.__weight_mma_mask", bool, 1 = kept) that the scan reads back as orig * mask.
 *
 * Profiles, over the prunable tensors in file order (i = 0 .. L-1):
 *   uniform:     s_i = s for every tensor.
 *   sensitivity: early layers are the most sensitive to pruning and late layers the least, so the
 *                shares ramp linearly: s_i = min(0.95, a * (0.5 + i / (L-1))), 0.5x to 1.5x of a
 *                common scale a, which is solved (bisection) so that the parameter-weighted mean of
 *                s_i equals s. Targets the cap makes unreachable are clamped, with a warning.
 *
 * FLOPs (2 per multiply-add): from the graph when the parser provides flopsByTensor (ONNX); otherwise
 * from a user-given input size: a conv [K,C,R,S] is assumed to produce an H x W output (stride 1,
 * 'same' padding), 2*K*C*R*S*H*W; a linear [O,I] costs 2*O*I per token. Removed FLOPs assume a kernel
 * that skips every pruned weight: flops * paramsRemoved / numel for magnitude, flops * removed / K
 * for whole filters.
 */
import * as os from 'node:os';
import type { PruneExportCheck, PruneMethod, PruneProfile, PruneReport, PrunedTensorPlan } from '../../shared/payloads';
import { type DType, encodeValues, isDType } from '../formats/dtypes';
import { openWeightFile } from '../formats/index';
import { type SafetensorsDType, type SafetensorsTensorInput, SAFETENSORS_DTYPES, writeSafetensors } from '../formats/safetensors';
import type { OpenedWeightFile, TensorSource } from '../formats/types';
import type { FloatChunk } from '../formats/types';
import { OptionError } from '../optionError';
import { checkOutputPath, writeOutputFile } from '../outputFile';
import { type WeightView, isPrunable, layerTypeOf, weightViewOf } from './layout';
import { effectiveMaskedTensor, zipChunks } from './masks';
import { retainedShare } from './nmGroups';
import { NmPruner } from './nmPrune';
import { type NmPattern, parseNmPatterns } from './nmPattern';
import { type MagnitudeCut, MagnitudePruner, magnitudeCut } from './select';
import { ownValue } from '../formats/ownNames';

export const SENSITIVITY_MAX_SPARSITY = 0.95;
const CHUNK_ELEMENTS = 1 << 20;

export interface PruneOptions {
  /** Target share of zeros, 0 <= s < 1. */
  sparsity: number;
  method?: PruneMethod;
  profile?: PruneProfile;
  /** Output size assumed for every conv (stride 1, same padding) when the file has no graph FLOPs. */
  inputSize?: { height: number; width: number };
  /** Tokens per forward pass for linear layers when FLOPs come from inputSize; default 1. */
  tokens?: number;
  /** method nm: the pattern, "2:4". */
  nm?: string;
  /** method nm with an output: write the weights unchanged and ASP masks beside them. */
  masks?: boolean;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
}

/** What a plan needs beyond the report: the cut or the filters of each tensor. */
interface TensorAction {
  plan: PrunedTensorPlan;
  cut?: MagnitudeCut;
  /** Sorted indices of the filters to zero. */
  removedFilters?: Uint8Array;
  nm?: { view: WeightView; pattern: NmPattern; kept: number; magnitude: number };
}

export interface PrunePlan {
  report: PruneReport;
  actions: Map<string, TensorAction>;
}

export function checkPruneOptions(options: PruneOptions): Required<Pick<PruneOptions, 'sparsity' | 'method' | 'profile'>> & { pattern?: NmPattern } {
  const method = options.method ?? 'magnitude';
  if (method !== 'magnitude' && method !== 'filter-l1' && method !== 'nm') throw new OptionError(`method must be magnitude, filter-l1 or nm, got ${String(method)}`);
  let pattern: NmPattern | undefined;
  if (method === 'nm') {
    const patterns = parseNmPatterns(options.nm ?? '');
    if (patterns.length !== 1) throw new OptionError(`N:M pruning needs one pattern such as 2:4, got '${options.nm ?? ''}'`);
    pattern = patterns[0]!;
  } else if (options.nm !== undefined || options.masks) {
    throw new OptionError('an N:M pattern and masks go with method nm');
  }
  const sparsity = pattern ? 1 - pattern.n / pattern.m : options.sparsity;
  if (typeof sparsity !== 'number' || !Number.isFinite(sparsity) || sparsity < 0 || sparsity >= 1) {
    throw new OptionError(`sparsity must be a number in [0, 1), got ${String(sparsity)}`);
  }
  const profile = options.profile ?? 'uniform';
  if (profile !== 'uniform' && profile !== 'sensitivity') throw new OptionError(`profile must be uniform or sensitivity, got ${String(profile)}`);
  if (pattern && profile !== 'uniform') throw new OptionError('N:M pruning keeps N of every M in every layer: the profile is uniform');
  if (options.inputSize) {
    const { height, width } = options.inputSize;
    if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
      throw new OptionError(`input size must be two positive integers, got ${height}x${width}`);
    }
  }
  if (options.tokens !== undefined && !(Number.isInteger(options.tokens) && options.tokens > 0)) {
    throw new OptionError(`tokens must be a positive integer, got ${options.tokens}`);
  }
  return pattern ? { sparsity, method, profile, pattern } : { sparsity, method, profile };
}

/**
 * Per-tensor target shares for a profile (see the module comment). Returns the shares and whether
 * the target had to be clamped.
 */
export function profileSparsities(numels: readonly number[], target: number, profile: PruneProfile): { shares: number[]; clamped: boolean } {
  const L = numels.length;
  if (profile === 'uniform' || L === 0) return { shares: numels.map(() => target), clamped: false };
  const factors = numels.map((_, i) => (L === 1 ? 1 : 0.5 + i / (L - 1)));
  const total = numels.reduce((a, b) => a + b, 0);
  const meanAt = (scale: number) => numels.reduce((sum, n, i) => sum + n * Math.min(SENSITIVITY_MAX_SPARSITY, scale * factors[i]!), 0) / total;
  const reachable = meanAt(1 / Math.min(...factors));
  if (target >= reachable) return { shares: factors.map(() => SENSITIVITY_MAX_SPARSITY), clamped: target > reachable };
  let lo = 0;
  let hi = 2;
  while (meanAt(hi) < target) hi *= 2;
  for (let iteration = 0; iteration < 100; iteration++) {
    const mid = (lo + hi) / 2;
    if (meanAt(mid) < target) lo = mid;
    else hi = mid;
  }
  return { shares: factors.map((f) => Math.min(SENSITIVITY_MAX_SPARSITY, hi * f)), clamped: false };
}

function flopsOf(tensor: TensorSource, opened: OpenedWeightFile, options: PruneOptions): number | undefined {
  const fromGraph = ownValue(opened.flopsByTensor, tensor.name);
  if (fromGraph !== undefined) return fromGraph;
  if (!options.inputSize) return undefined;
  const view = weightViewOf(tensor, opened.format);
  if (!view) return undefined;
  const macs = view.K * view.C * view.P;
  if (layerTypeOf(tensor) === 'conv') return 2 * macs * options.inputSize.height * options.inputSize.width;
  return 2 * macs * (options.tokens ?? 1);
}

/** Per-filter L1 norms and zero counts along the output axis of a 2-D/4-D weight. */
async function filterNorms(tensor: TensorSource, opened: OpenedWeightFile, signal?: AbortSignal): Promise<{ l1: Float64Array; zeros: Float64Array; perFilter: number }> {
  const view = weightViewOf(tensor, opened.format);
  if (!view) throw new RangeError(`"${tensor.name}" has no output-filter axis (shape [${tensor.shape.join(', ')}])`);
  const K = view.K;
  const l1 = new Float64Array(K);
  const zeros = new Float64Array(K);
  const perFilter = tensor.numel / K;
  const kInnermost = view.order === 'PCK' || view.order === 'CK';
  let position = 0;
  for await (const chunk of tensor.chunks(signal ? { maxChunkElements: CHUNK_ELEMENTS, signal } : { maxChunkElements: CHUNK_ELEMENTS })) {
    for (let i = 0; i < chunk.length; i++, position++) {
      const k = kInnermost ? position % K : Math.floor(position / perFilter);
      const a = Math.abs(chunk[i]!);
      l1[k]! += a;
      zeros[k]! += a === 0 ? 1 : 0;
    }
  }
  return { l1, zeros, perFilter };
}

/** Where NVIDIA ASP keeps the mask of a parameter: "a.weight" -> "a.__weight_mma_mask". */
export function aspMaskName(parameter: string): string {
  const cut = parameter.lastIndexOf('.');
  return `${parameter.slice(0, cut + 1)}__${parameter.slice(cut + 1)}_mma_mask`;
}

/** Zeros before and after N:M pruning, and the magnitude kept of the total. */
async function nmPruneCounts(tensor: TensorSource, view: WeightView, pattern: NmPattern, signal?: AbortSignal) {
  const pruner = new NmPruner(view, pattern);
  let zerosBefore = 0;
  let zerosAfter = 0;
  let kept = 0;
  let magnitude = 0;
  for await (const chunk of tensor.chunks(signal ? { maxChunkElements: CHUNK_ELEMENTS, signal } : { maxChunkElements: CHUNK_ELEMENTS })) {
    for (let i = 0; i < chunk.length; i++) zerosBefore += chunk[i] === 0 ? 1 : 0;
    const { values } = pruner.push(chunk);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      zerosAfter += v === 0 ? 1 : 0;
      if (v === v) kept += Math.abs(v);
    }
    for (let i = 0; i < chunk.length; i++) {
      const a = Math.abs(chunk[i]!);
      if (a === a) magnitude += a;
    }
  }
  if (pruner.pending !== 0) throw new Error(`tensor "${tensor.name}": the parser streamed an incomplete group of input channels`);
  return { zerosBefore, zerosAfter, kept, magnitude };
}

async function countZeros(tensor: TensorSource, signal?: AbortSignal): Promise<number> {
  let zeros = 0;
  for await (const chunk of tensor.chunks(signal ? { maxChunkElements: CHUNK_ELEMENTS, signal } : { maxChunkElements: CHUNK_ELEMENTS })) {
    for (let i = 0; i < chunk.length; i++) zeros += chunk[i] === 0 ? 1 : 0;
  }
  return zeros;
}

/** Plans pruning of an opened file: what each tensor would lose, and the savings. Reads each prunable tensor two or three times. */
export async function planPruning(opened: OpenedWeightFile, options: PruneOptions): Promise<PrunePlan> {
  const { sparsity, method, profile, pattern } = checkPruneOptions(options);
  const warnings: string[] = [];
  const fits = (t: TensorSource): boolean => {
    if (method === 'magnitude') return true;
    const view = weightViewOf(t, opened.format);
    return view !== undefined && (!pattern || view.C >= pattern.m);
  };
  const prunable = opened.tensors.filter((t) => isPrunable(t) && fits(t));
  if (pattern) {
    const narrow = opened.tensors.filter((t) => isPrunable(t) && !fits(t));
    if (narrow.length > 0) {
      warnings.push(`${narrow.length} conv/linear weight${narrow.length === 1 ? '' : 's'} with fewer than ${pattern.m} input channels (or no channel axis) left dense: ${narrow.map((t) => t.name).join(', ')}`);
    }
  }
  const { shares, clamped } = profileSparsities(
    prunable.map((t) => t.numel),
    sparsity,
    profile,
  );
  if (clamped) warnings.push(`the sensitivity profile caps each layer at ${SENSITIVITY_MAX_SPARSITY}; the target ${sparsity} cannot be reached`);
  if (prunable.length === 0) warnings.push('no conv or linear weights to prune');
  const flopsSource: PruneReport['flopsSource'] = opened.flopsByTensor ? 'graph' : options.inputSize ? 'input-size' : 'none';
  const actions = new Map<string, TensorAction>();
  const tensors: PrunedTensorPlan[] = [];
  const totalWork = prunable.reduce((sum, t) => sum + t.numel, 0);
  let done = 0;
  for (let index = 0; index < prunable.length; index++) {
    const tensor = prunable[index]!;
    options.signal?.throwIfAborted();
    options.onProgress?.(totalWork === 0 ? 1 : done / totalWork, `planning ${tensor.name}`);
    const share = shares[index]!;
    const plan: PrunedTensorPlan = {
      name: tensor.name,
      layerType: layerTypeOf(tensor),
      shape: tensor.shape.slice(),
      numel: tensor.numel,
      targetSparsity: share,
      zerosBefore: 0,
      zerosAfter: 0,
      sparsityAfter: 0,
      paramsRemoved: 0,
    };
    const action: TensorAction = { plan };
    const flops = flopsOf(tensor, opened, options);
    if (pattern) {
      const view = weightViewOf(tensor, opened.format)!;
      const counts = await nmPruneCounts(tensor, view, pattern, options.signal);
      action.nm = { view, pattern, kept: counts.kept, magnitude: counts.magnitude };
      if (options.masks) {
        plan.mask = aspMaskName(tensor.name);
        if (opened.tensors.some((t) => t.name === plan.mask)) throw new RangeError(`"${tensor.name}" already has a tensor "${plan.mask}" beside it; write pruned weights instead of masks`);
      }
      plan.zerosBefore = counts.zerosBefore;
      plan.zerosAfter = counts.zerosAfter;
      plan.retained = retainedShare(counts.kept, counts.magnitude);
    } else if (method === 'magnitude') {
      const k = Math.round(share * tensor.numel);
      plan.zerosBefore = await countZeros(tensor, options.signal);
      action.cut = await magnitudeCut(tensor, k, options.signal ? { maxChunkElements: CHUNK_ELEMENTS, signal: options.signal } : { maxChunkElements: CHUNK_ELEMENTS });
      plan.threshold = action.cut.threshold;
      plan.zerosAfter = Math.max(k, plan.zerosBefore);
    } else {
      const { l1, zeros, perFilter } = await filterNorms(tensor, opened, options.signal);
      const K = l1.length;
      const removeCount = Math.round(share * K);
      const order = Array.from({ length: K }, (_, k) => k).sort((a, b) => l1[a]! - l1[b]! || a - b);
      const removed = new Uint8Array(K);
      for (let i = 0; i < removeCount; i++) removed[order[i]!] = 1;
      action.removedFilters = removed;
      plan.zerosBefore = zeros.reduce((a, b) => a + b, 0);
      plan.zerosAfter = zeros.reduce((sum, z, k) => sum + (removed[k] ? perFilter : z), 0);
      plan.filters = K;
      plan.filtersRemoved = removeCount;
    }
    plan.sparsityAfter = plan.zerosAfter / tensor.numel;
    plan.paramsRemoved = plan.zerosAfter - plan.zerosBefore;
    if (flops !== undefined) {
      plan.flops = flops;
      plan.flopsRemoved = method === 'filter-l1' ? (flops * plan.filtersRemoved!) / plan.filters! : (flops * plan.paramsRemoved) / tensor.numel;
    }
    tensors.push(plan);
    actions.set(tensor.name, action);
    done += tensor.numel;
  }
  const parameters = opened.tensors.reduce((sum, t) => sum + t.numel, 0);
  const prunableParameters = prunable.reduce((sum, t) => sum + t.numel, 0);
  const paramsRemoved = tensors.reduce((sum, p) => sum + p.paramsRemoved, 0);
  const prunableZerosAfter = tensors.reduce((sum, p) => sum + p.zerosAfter, 0);
  let otherZeros = 0;
  for (const tensor of opened.tensors) {
    if (!actions.has(tensor.name)) otherZeros += await countZeros(tensor, options.signal);
  }
  const report: PruneReport = {
    file: opened.file,
    format: opened.format,
    method,
    profile,
    targetSparsity: sparsity,
    ...(pattern ? { pattern: pattern.name, masks: options.masks === true } : {}),
    tensors,
    total: {
      parameters,
      prunableParameters,
      paramsRemoved,
      prunableSparsityAfter: prunableParameters === 0 ? 0 : prunableZerosAfter / prunableParameters,
      modelSparsityAfter: parameters === 0 ? 0 : (prunableZerosAfter + otherZeros) / parameters,
    },
    flopsSource,
    ...(flopsSource === 'input-size' ? { inputSize: options.inputSize } : {}),
    warnings,
  };
  if (pattern) {
    const nmActions = [...actions.values()].flatMap((a) => (a.nm ? [a.nm] : []));
    report.total.retained = retainedShare(
      nmActions.reduce((sum, a) => sum + a.kept, 0),
      nmActions.reduce((sum, a) => sum + a.magnitude, 0),
    );
  }
  const withFlops = tensors.filter((p) => p.flops !== undefined);
  if (withFlops.length > 0) {
    report.total.flops = withFlops.reduce((sum, p) => sum + p.flops!, 0);
    report.total.flopsRemoved = withFlops.reduce((sum, p) => sum + p.flopsRemoved!, 0);
  }
  options.onProgress?.(1, 'planned');
  return { report, actions };
}

/** What-if only: the plan's report for a file, nothing written. */
export async function pruneWhatIf(file: string, options: PruneOptions): Promise<PruneReport> {
  const opened = await openWeightFile(file, { signal: options.signal, graphFlops: true });
  try {
    return (await planPruning(opened, options)).report;
  } finally {
    await opened.close();
  }
}

/** Zeroes filters in stored order, knowing which output index each position belongs to. */
class FilterPruner {
  private position = 0;
  constructor(
    private readonly removed: Uint8Array,
    private readonly perFilter: number,
    private readonly kInnermost: boolean,
  ) {}

  apply(chunk: FloatChunk): void {
    const K = this.removed.length;
    for (let i = 0; i < chunk.length; i++, this.position++) {
      const k = this.kInnermost ? this.position % K : Math.floor(this.position / this.perFilter);
      if (this.removed[k]) chunk[i] = 0;
    }
  }
}

const SAFETENSORS_BY_DTYPE = new Map<string, SafetensorsDType>(
  (Object.entries(SAFETENSORS_DTYPES) as [SafetensorsDType, DType][]).map(([name, dtype]) => [dtype, name]),
);

/** The dtype a tensor keeps in the copy: its own where safetensors can hold and we can encode it, else F32. */
function outputDType(tensor: TensorSource): { name: SafetensorsDType; dtype: DType } {
  const name = SAFETENSORS_BY_DTYPE.get(tensor.dtype);
  if (name && isDType(tensor.dtype) && !tensor.dtype.startsWith('float8')) return { name, dtype: tensor.dtype };
  return { name: 'F32', dtype: 'float32' };
}

const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

function encodeChunk(values: FloatChunk, dtype: DType): Uint8Array {
  if (LITTLE_ENDIAN_HOST && dtype === 'float32' && values instanceof Float32Array) return new Uint8Array(values.slice().buffer);
  if (LITTLE_ENDIAN_HOST && dtype === 'float64' && values instanceof Float64Array) return new Uint8Array(values.slice().buffer);
  if (LITTLE_ENDIAN_HOST && dtype === 'float32') return new Uint8Array(Float32Array.from(values).buffer);
  return encodeValues(values, dtype);
}

/**
 * Writes a pruned copy of `input` to `out` (safetensors), then reads `out` back and checks it:
 * pruned tensors have the planned zero count, all others equal the input value for value. The
 * input is never opened for writing; OUT is refused when it is the input or any other file the
 * model is read from (shards, a TF.js .bin, a Darknet .cfg), by path after resolving links or as
 * the same file through a hard link, and when it does not end in .safetensors. The copy is
 * written beside OUT under a temporary name and renamed into place once complete.
 */
export async function pruneToSafetensors(input: string, out: string, options: PruneOptions): Promise<PruneReport> {
  checkPruneOptions(options);

  const opened = await openWeightFile(input, { signal: options.signal, graphFlops: true });
  let outResolved: string;
  try {
    outResolved = await checkOutputPath(out, { inputs: [{ role: 'FILE', file: input }], readFrom: opened.companions, format: { name: 'safetensors', extensions: ['.safetensors'] } });
  } catch (error) {
    await opened.close();
    throw error;
  }
  let report: PruneReport;
  try {
    const plan = await planPruning(opened, { ...options, onProgress: (f, m) => options.onProgress?.(f * 0.4, m) });
    report = plan.report;
    const totalElements = opened.tensors.reduce((sum, t) => sum + t.numel, 0);
    let written = 0;
    const inputs: SafetensorsTensorInput[] = opened.tensors.flatMap((tensor) => {
      const { name, dtype } = outputDType(tensor);
      const action = plan.actions.get(tensor.name);
      const onElements = (n: number) => {
        written += n;
        options.onProgress?.(0.4 + (0.4 * written) / Math.max(1, totalElements), `writing ${tensor.name}`);
      };
      const maskName = action?.plan.mask;
      if (action?.nm && maskName) {
        // The weight unchanged, its mask right after it.
        return [
          { name: tensor.name, dtype: name, shape: tensor.shape.slice(), data: () => prunedBytes(tensor, dtype, undefined, opened, options.signal, onElements) },
          { name: maskName, dtype: 'BOOL', shape: tensor.shape.slice(), data: () => nmMaskBytes(tensor, action.nm!, options.signal) },
        ];
      }
      return [{ name: tensor.name, dtype: name, shape: tensor.shape.slice(), data: () => prunedBytes(tensor, dtype, action, opened, options.signal, onElements) }];
    });
    const metadata = { ...(opened.metadata ?? {}), pruned_by: 'deep-accel', prune_method: report.method, prune_sparsity: String(report.targetSparsity), ...(report.pattern ? { prune_pattern: report.pattern } : {}) };
    await writeOutputFile(outResolved, (temporary) => writeSafetensors(temporary, inputs, metadata));
  } finally {
    await opened.close();
  }
  report.export = await verifyPrunedCopy(input, outResolved, report, options);
  options.onProgress?.(1, 'verified');
  return report;
}

async function* prunedBytes(
  tensor: TensorSource,
  dtype: DType,
  action: TensorAction | undefined,
  opened: OpenedWeightFile,
  signal: AbortSignal | undefined,
  onElements: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  const magnitude = action?.cut ? new MagnitudePruner(action.cut) : undefined;
  let filters: FilterPruner | undefined;
  if (action?.removedFilters) {
    const view = weightViewOf(tensor, opened.format)!;
    filters = new FilterPruner(action.removedFilters, tensor.numel / view.K, view.order === 'PCK' || view.order === 'CK');
  }
  const nm = action?.nm ? new NmPruner(action.nm.view, action.nm.pattern) : undefined;
  for await (const chunk of tensor.chunks(signal ? { maxChunkElements: CHUNK_ELEMENTS, signal } : { maxChunkElements: CHUNK_ELEMENTS })) {
    if (nm) {
      // The pruner copies: whole groups of input channels leave it, pruned.
      const { values } = nm.push(chunk);
      onElements(chunk.length);
      if (values.length > 0) yield encodeChunk(values, dtype);
      continue;
    }
    // A copy: the parser may hand out views of data it keeps, and the input must stay as it is.
    const values = action ? chunk.slice() : chunk;
    magnitude?.apply(values);
    filters?.apply(values);
    onElements(values.length);
    yield encodeChunk(values, dtype);
  }
}

/** The keep mask of N:M pruning as safetensors BOOL bytes (1 = kept). */
async function* nmMaskBytes(tensor: TensorSource, nm: NonNullable<TensorAction['nm']>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const pruner = new NmPruner(nm.view, nm.pattern);
  for await (const chunk of tensor.chunks(signal ? { maxChunkElements: CHUNK_ELEMENTS, signal } : { maxChunkElements: CHUNK_ELEMENTS })) {
    const { keep } = pruner.push(chunk);
    if (keep.length > 0) yield keep;
  }
}

/** Whether two tensors hold the same decoded values (Object.is: NaN equals NaN, -0 stays -0). */
async function identicalValues(a: TensorSource, b: TensorSource): Promise<boolean> {
  for await (const [x, y] of zipChunks(a, b, { maxChunkElements: CHUNK_ELEMENTS })) {
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  }
  return true;
}

async function verifyPrunedCopy(input: string, out: string, report: PruneReport, options: PruneOptions): Promise<PruneExportCheck> {
  const [original, copy] = await Promise.all([openWeightFile(input), openWeightFile(out)]);
  try {
    const byName = new Map(copy.tensors.map((t) => [t.name, t]));
    const planned = new Map(report.tensors.map((p) => [p.name, p]));
    const check: PruneExportCheck = { out, bytes: copy.fileBytes, verified: true, pruned: [], untouchedIdentical: 0, untouchedDiffering: [] };
    const total = original.tensors.reduce((sum, t) => sum + t.numel, 0);
    let done = 0;
    for (const tensor of original.tensors) {
      options.signal?.throwIfAborted();
      options.onProgress?.(0.8 + (0.2 * done) / Math.max(1, total), `verifying ${tensor.name}`);
      const written = byName.get(tensor.name);
      const plan = planned.get(tensor.name);
      if (!written || written.numel !== tensor.numel) {
        check.verified = false;
        if (plan) check.pruned.push({ name: tensor.name, expectedZeros: plan.zerosAfter, zerosReadBack: -1 });
        else check.untouchedDiffering.push(tensor.name);
        continue;
      }
      const mask = plan?.mask === undefined ? undefined : byName.get(plan.mask);
      if (plan && plan.mask !== undefined) {
        // Masks beside unchanged weights: the weight must be the input's, orig * mask the plan's.
        const zeros = mask && mask.numel === written.numel && (await identicalValues(tensor, written))
          ? await countZeros(effectiveMaskedTensor({ parameter: tensor.name, kind: 'asp', orig: written, mask }), options.signal)
          : -1;
        check.pruned.push({ name: tensor.name, expectedZeros: plan.zerosAfter, zerosReadBack: zeros });
        if (zeros !== plan.zerosAfter) check.verified = false;
      } else if (plan) {
        const zeros = await countZeros(written, options.signal);
        check.pruned.push({ name: tensor.name, expectedZeros: plan.zerosAfter, zerosReadBack: zeros });
        if (zeros !== plan.zerosAfter) check.verified = false;
      } else {
        const identical = await identicalValues(tensor, written);
        if (identical) check.untouchedIdentical++;
        else {
          check.untouchedDiffering.push(tensor.name);
          check.verified = false;
        }
      }
      done += tensor.numel;
    }
    return check;
  } finally {
    await Promise.all([original.close(), copy.close()]);
  }
}
