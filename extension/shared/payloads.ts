/**
 * Output payloads: what `deep-accel <kind> --json` prints, what notebook cells emit as
 * application/vnd.deep-accel.<kind>+json, and what the renderer and the webviews draw. Types and
 * plain constants only, importing nothing, so browser bundles, workers, the CLI and the host all
 * share one definition.
 */

// ---------------------------------------------------------------------------------------------
// MIME types: application/vnd.deep-accel.<kind>+json. The payload of each MIME type is exactly the
// JSON that `deep-accel <kind> --json` prints, so a Jupyter kernel can display CLI output as-is.
// ---------------------------------------------------------------------------------------------

export const PAYLOAD_KINDS = ['winograd', 'sparsity', 'prune', 'bench', 'benchCompare', 'model', 'help'] as const;
export type PayloadKind = (typeof PAYLOAD_KINDS)[number];

export function mimeTypeOf(kind: PayloadKind): string {
  return `application/vnd.deep-accel.${kind}+json`;
}

export function payloadKindOfMime(mime: string): PayloadKind | undefined {
  const match = /^application\/vnd\.deep-accel\.([A-Za-z]+)\+json$/.exec(mime);
  const kind = match?.[1];
  return (PAYLOAD_KINDS as readonly string[]).includes(kind ?? '') ? (kind as PayloadKind) : undefined;
}

export interface PayloadByKind {
  winograd: WinogradResult;
  sparsity: SparsityReport;
  prune: PruneReport;
  bench: BenchReport;
  benchCompare: BenchComparison;
  model: ModelReport;
  help: HelpPayload;
}

/** A payload tagged with its kind, the unit that webviews and tests pass around. */
export type TaggedPayload = { [K in PayloadKind]: { kind: K; data: PayloadByKind[K] } }[PayloadKind];

// ---------------------------------------------------------------------------------------------
// Winograd / Toom-Cook
// ---------------------------------------------------------------------------------------------

export type Precision = 'fp64' | 'fp32' | 'fp16' | 'bf16';
export const SIMULATED_PRECISIONS: readonly Precision[] = ['fp32', 'fp16', 'bf16'];

/** Which matrix absorbs the fractions of the Lagrange denominators (wincnn's choice is G). */
export type FractionsIn = 'G' | 'A' | 'B';

export interface TransformOps {
  /** Additions and subtractions. */
  adds: number;
  /** Multiplications by constants other than 0 and +-1. */
  muls: number;
}

export interface WinogradErrorMeasurement {
  precision: Precision;
  /** Mean and max absolute error of the 2-D Winograd tile against fp64 direct correlation. */
  meanAbs: number;
  maxAbs: number;
  /** The same for direct correlation computed in `precision`. */
  directMeanAbs: number;
  directMaxAbs: number;
  /** meanAbs / directMeanAbs and maxAbs / directMaxAbs: the error as a multiple of direct's. */
  meanMultiple: number;
  maxMultiple: number;
  /** Largest |value| met in the transform domain (fp16 overflows above 65504). */
  maxTransformMagnitude: number;
  trials: number;
  seed: number;
  /** Outputs that overflowed to +-Infinity or NaN (fp16, large alpha); left out of the statistics. */
  nonFiniteOutputs?: number;
}

export interface WinogradCost {
  /** Element-wise multiplications per 2-D output tile: alpha^2 (or alphaM*alphaN). */
  winogradMultiplications: number;
  /** Multiplications of direct correlation for the same tile: m^2 r^2 (or m n r s). */
  directMultiplications: number;
  /** directMultiplications / winogradMultiplications (Lavin & Gray: 2.25, 4, 5.06 for m=2,4,6, r=3). */
  saving: number;
  /** Operation counts of each 2-D transform per tile, counted from the exact matrices. */
  transformOps: { input: TransformOps; filter: TransformOps; output: TransformOps };
  /** Present when a layer was given: the reduction once transforms are amortised. */
  layer?: WinogradLayerCost;
}

export interface WinogradLayerCost {
  C: number;
  K: number;
  H: number;
  W: number;
  tiles: number;
  directFlops: number;
  winogradFlops: number;
  /** directFlops / winogradFlops including all transform work. */
  effectiveReduction: number;
}

export interface WinogradVerification {
  verified: boolean;
  /** Human-readable steps of the exact symbolic check. */
  steps: string[];
}

export interface WinogradSearchSummary {
  precision: Precision;
  candidatesEvaluated: number;
  elapsedMs: number;
  baselinePoints: string[];
  baselineError: number;
  bestError: number;
  /** 1 - bestError / baselineError. */
  improvement: number;
  /** True when the time budget stopped the search early (then the result depends on machine speed). */
  budgetExhausted?: boolean;
}

export interface WinogradResult {
  m: number;
  r: number;
  alpha: number;
  /** Second dimension for rectangular F(m x n, r x s); absent for square nesting F(m x m, r x r). */
  n?: number;
  s?: number;
  /** Finite interpolation points, as exact strings such as "-1/2". */
  points: string[];
  /** True when the point at infinity is used (modified Toom-Cook, the default). */
  infinity: boolean;
  fractionsIn: FractionsIn;
  AT: string[][];
  G: string[][];
  BT: string[][];
  /** For rectangular algorithms: the matrices of the second dimension. */
  second?: { AT: string[][]; G: string[][]; BT: string[][]; points: string[] };
  verified: boolean;
  verification: WinogradVerification;
  /** alpha^2 element-wise products versus m^2 r^2 (see WinogradCost). */
  multiplications: { winograd: number; direct: number; saving: number };
  transformOps: WinogradCost['transformOps'];
  cost: WinogradCost;
  error: WinogradErrorMeasurement[];
  /**
   * The precision of interest (the request's, fp32 by default): the one whose error a point search
   * minimises and whose row the error table highlights. The table measures every precision.
   */
  precision: Precision;
  search?: WinogradSearchSummary;
  /** The same error measurement for neighbouring tile sizes F(m', r), when asked for (compareTileSizes). */
  errorByTile?: WinogradTileError[];
  /** Export texts keyed by format, when asked for. */
  exports?: Partial<Record<ExportFormat, string>>;
}

export interface WinogradTileError {
  m: number;
  r: number;
  points: string[];
  error: WinogradErrorMeasurement[];
}

export type ExportFormat = 'c' | 'numpy' | 'ts' | 'latex' | 'markdown' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['c', 'numpy', 'ts', 'latex', 'markdown', 'json'];

// ---------------------------------------------------------------------------------------------
// Sparsity
// ---------------------------------------------------------------------------------------------

export type WeightFormat =
  | 'safetensors'
  | 'onnx'
  | 'pytorch'
  | 'npy'
  | 'npz'
  | 'hdf5'
  | 'keras'
  | 'tflite'
  | 'gguf'
  | 'darknet'
  | 'tfjs';

export interface TensorHeader {
  name: string;
  dtype: string;
  shape: number[];
  numel: number;
}

export interface Histogram {
  /** Bin edges in log10(|w|); counts.length === edges.length - 1. */
  log10Edges: number[];
  counts: number[];
  /** Elements with |w| <= threshold, kept out of the log bins. */
  zeros: number;
  /**
   * Bins are half-open on the left, (10^e[i], 10^e[i+1]], so that the count of |w| <= 10^e is exact
   * at every edge. Nonzero elements at or below 10^e[0] and above 10^e[last] are counted here.
   */
  below?: number;
  above?: number;
  /** NaN elements: in no bin, never zero. */
  nan?: number;
}

export interface TensorStats extends TensorHeader {
  zeros: number;
  sparsity: number;
  /** 4-D [K,C,R,S]: share of all-zero filters, input channels, and (k,c) kernels. */
  filters?: number;
  channels?: number;
  kernels?: number;
  /** 2-D [O,I]: share of all-zero rows and columns. */
  rows?: number;
  cols?: number;
  /** Share of groups of 4 along the input-channel axis holding at least 2 zeros (NVIDIA ASP 2:4). */
  nm24?: number;
  /** True when every group complies, i.e. the tensor is fully 2:4 sparse. */
  nm24Full?: boolean;
  /**
   * Per N:M pattern asked for ("2:4"), the share of groups of M consecutive input channels holding
   * at least M-N zeros (ASP's axis, short last group zero-padded); absent where C < M.
   */
  nm?: Record<string, number>;
  /** Per N:M pattern, the share of sum |w| that N:M magnitude pruning would keep. */
  retained?: Record<string, number>;
  /** conv / linear / norm / bias / embedding / other, inferred from name and shape. */
  layerType?: LayerType;
  /** Axis order the structured statistics assumed for this tensor (e.g. 'OIHW', 'HWIO', 'OI', 'IO'). */
  layout?: string;
  /**
   * What the layout rests on: 'format' (the format fixes it), 'keras' (the file's Keras attributes),
   * 'name' (a `weight` or `kernel` name), 'shape' (the small kernel dimensions at one end),
   * 'assumed' (no evidence: the format's usual order) or 'override' (the user's --layout / layout=).
   */
  layoutBasis?: LayoutBasis;
  /** Share of all-zero blocks for the block size given. */
  block?: { size: [number, number]; sparsity: number };
  /** With a permutation search: the input-channel order found and what N:M pruning keeps before and after it. */
  permutation?: ChannelPermutation;
  /**
   * Quantised storage: how stored integers map to values and which stored value counts as zero
   * (the zero point, which decodes to exactly 0).
   */
  quantization?: string;
  mean: number;
  std: number;
  min: number;
  max: number;
  absMean: number;
  histogram?: Histogram;
}

/** What the 2:4 share counts, and the padding it assumes: the footnote of every sparsity table. */
export type LayoutBasis = 'format' | 'keras' | 'name' | 'shape' | 'assumed' | 'override';

/** A tensor's layout as the tables show it: 'OIHW', or 'OIHW (name)' when the format did not fix it. */
export function layoutLabel(t: Pick<TensorStats, 'layout' | 'layoutBasis'>): string | undefined {
  if (!t.layout) return undefined;
  return t.layoutBasis && t.layoutBasis !== 'format' ? `${t.layout} (${t.layoutBasis})` : t.layout;
}

/** How the totals of a checkpoint with pruning masks are counted, for the note under its totals. */
export function maskedTotalsNote(total: Pick<SparsityTotals, 'maskedParameters'>): string | undefined {
  const n = total.maskedParameters;
  if (!n) return undefined;
  return `Total = the effective model: ${n} masked parameter${n === 1 ? '' : 's'} counted once each as orig × mask (what the pruned model computes with); their stored orig and mask tensors, listed above, are not counted again.`;
}

/** What the totals leave out (undecodable tensors), for the line under them. */
export function leftOutNote(report: Pick<SparsityReport, 'leftOut' | 'total'>): string | undefined {
  const leftOut = report.leftOut;
  if (!leftOut || leftOut.length === 0) return undefined;
  const numel = leftOut.reduce((sum, t) => sum + t.numel, 0);
  const reasons = [...new Set(leftOut.map((t) => t.reason))].join('; ');
  return `Left out: ${leftOut.length} tensor${leftOut.length === 1 ? '' : 's'} of ${numel} elements (${reasons}); the totals cover ${report.total.numel} of ${report.total.numel + numel} elements.`;
}

/** What the Layout column says and how to change it: the footnote under every sparsity table. */
export const LAYOUT_NOTE =
  'Layout = the axis order filters, channels, kernels, rows, cols, 2:4 and blocks read each tensor in; in brackets what it rests on when the format does not fix it (keras attributes, name, shape, assumed = no evidence, override); change it with --layout / layout= (e.g. OIHW, or conv1.weight=OIHW,fc.weight=OI).';

export const NM24_NOTE =
  '2:4 = share of groups of 4 consecutive input channels with at least 2 zeros (NVIDIA ASP, m4n2_1d); when the input channels are not a multiple of 4, the last group is padded with zeros, as ASP pads it, and the padding counts towards its 2 zeros.';

/**
 * An order of a weight's input channels for N:M pruning. Applying it (and the same order to the
 * output channels of the layer that feeds this one) leaves the network's function unchanged.
 */
export interface ChannelPermutation {
  /** The N:M pattern ("2:4"). */
  pattern: string;
  /** Share of sum |w| that N:M magnitude pruning keeps in the stored order and in `order`. */
  retainedBefore: number;
  retainedAfter: number;
  /** order[i] is the stored input channel that goes to position i. */
  order: number[];
  /** Every value pruning removes in `order` is 0: the weight is exactly N:M once permuted. */
  perfect: boolean;
  /** Every order was tried (at most 3 groups of M channels): none keeps more. */
  exhaustive: boolean;
  /** The time bound stopped the search: another machine (or budget) may find a better order. */
  budgetExhausted: boolean;
  /** Time the search took, in milliseconds. */
  ms: number;
}

export interface SparsityTotals {
  numel: number;
  zeros: number;
  sparsity: number;
  /** Over the tensors with N:M statistics: compliant groups over all groups, per pattern. */
  nm?: Record<string, number>;
  /** Over the same tensors: sum |w| N:M pruning keeps over sum |w|, per pattern. */
  retained?: Record<string, number>;
  /**
   * In the model totals of a checkpoint with pruning masks: how many masked parameters were counted
   * once each, as orig * mask (the model's effective weights), their orig and mask tensors not.
   */
  maskedParameters?: number;
  /** Weight tensors the file holds that could not be decoded, so these totals leave them out. */
  leftOut?: { tensors: number; numel: number };
  /** Over the permuted tensors: sum |w| kept before and after their permutations. */
  permutation?: { pattern: string; tensors: number; retainedBefore: number; retainedAfter: number };
}

/** A weight tensor of the file that no statistic covers, and why. */
export interface LeftOutTensor {
  name: string;
  shape: number[];
  numel: number;
  reason: string;
}

export interface SparsityReport {
  file: string;
  format: WeightFormat;
  fileBytes: number;
  threshold: number;
  /** The N:M patterns asked for, in order ("2:4", "4:8"); each tensor's nm and retained use them. */
  nmPatterns?: string[];
  /** The user's layouts the scan read tensors in (`--layout`, `layout=`, the inspector's picker). */
  layoutOverride?: string;
  /** The channel permutation search asked for: its pattern and time bound per weight. */
  permute?: { pattern: string; secondsPerTensor: number };
  tensors: TensorStats[];
  /** Weight tensors of the file left out of every figure (not decodable), with the reason. */
  leftOut?: LeftOutTensor[];
  total: SparsityTotals;
  byLayerType?: Record<string, SparsityTotals>;
  /** Share of elements that would be zero at each threshold (curve of sparsity against threshold). */
  thresholdCurve?: { thresholds: number[]; sparsity: number[] };
  /** Things worth knowing that did not stop the scan (skipped globals, masks found, ...). */
  warnings: string[];
  /** Pruning masks found in the checkpoint, with the effective sparsity of orig * mask. */
  masks?: PruningMaskInfo[];
  /** With `sparsity --winograd M`: zeros of the 3x3 kernels before and after G g G^T. */
  winogradDomain?: WinogradSparsityReport;
}

export const LAYER_TYPES = ['conv', 'linear', 'norm', 'bias', 'embedding', 'other'] as const;
export type LayerType = (typeof LAYER_TYPES)[number];

export interface PruningMaskInfo {
  /** The parameter the mask applies to, e.g. "conv1.weight". */
  parameter: string;
  /** 'torch-prune': <p>_orig + <p>_mask (torch.nn.utils.prune); 'asp': <p> + <p>_mma_mask (NVIDIA ASP). */
  kind: 'torch-prune' | 'asp';
  orig: string;
  mask: string;
  numel: number;
  /** Share of zeros in the mask itself. */
  maskSparsity: number;
  /** Share of zeros in orig * mask: what the pruned model really computes with. */
  effectiveSparsity: number;
  /** Share of 2:4-compliant groups of orig * mask (for 2-D and 4-D parameters). */
  effectiveNm24?: number;
}

/** magnitude: smallest |w| per tensor; filter-l1: whole filters by L1 norm; nm: the N largest |w| of every M input channels. */
export type PruneMethod = 'magnitude' | 'filter-l1' | 'nm';
export type PruneProfile = 'uniform' | 'sensitivity';

export interface PrunedTensorPlan {
  name: string;
  layerType: LayerType;
  shape: number[];
  numel: number;
  /** Sparsity this tensor is asked to reach (after the profile). */
  targetSparsity: number;
  zerosBefore: number;
  zerosAfter: number;
  sparsityAfter: number;
  /** magnitude: elements with |w| below this are pruned, and ties at it in stored order until the count is met. */
  threshold?: number;
  /** filter-l1: output filters (rows for linear) zeroed, and how many there are. */
  filtersRemoved?: number;
  filters?: number;
  /** Parameters that become zero and were not zero before. */
  paramsRemoved: number;
  /** nm: the share of sum |w| the pruned tensor keeps. */
  retained?: number;
  /** nm with masks: the name of the mask tensor written beside the unchanged weight. */
  mask?: string;
  /** Dense multiply-add FLOPs (2 per MAC) of the layer, when known, and those a sparse kernel would skip. */
  flops?: number;
  flopsRemoved?: number;
}

export interface PruneReport {
  file: string;
  format: WeightFormat;
  method: PruneMethod;
  profile: PruneProfile;
  targetSparsity: number;
  /** method nm: the pattern ("2:4"), and whether the copy holds masks beside unchanged weights. */
  pattern?: string;
  masks?: boolean;
  tensors: PrunedTensorPlan[];
  total: {
    parameters: number;
    prunableParameters: number;
    paramsRemoved: number;
    /** Zeros over the prunable tensors after pruning, divided by their size. */
    prunableSparsityAfter: number;
    /** Zeros over the whole model after pruning, divided by its size. */
    modelSparsityAfter: number;
    /** nm: sum |w| kept over sum |w| of the pruned tensors. */
    retained?: number;
    flops?: number;
    flopsRemoved?: number;
  };
  /** Where the FLOPs came from: the graph (ONNX), a user-given input size, or unknown. */
  flopsSource: 'graph' | 'input-size' | 'none';
  /** The input size the FLOPs assume (flopsSource 'input-size'): every conv output is taken to be this size. */
  inputSize?: { height: number; width: number };
  /** Present after prune-and-export: the file written and what reading it back showed. */
  export?: PruneExportCheck;
  warnings: string[];
}

export interface PruneExportCheck {
  out: string;
  bytes: number;
  verified: boolean;
  /** Per pruned tensor: sparsity read back from OUT against the plan's. */
  pruned: { name: string; expectedZeros: number; zerosReadBack: number }[];
  /** Tensors left untouched that compared bit-identical (as decoded values) with the input. */
  untouchedIdentical: number;
  untouchedDiffering: string[];
}

/** Share of zeros of 3x3 kernels before and after the Winograd filter transform G g G^T. */
export interface WinogradSparsityReport {
  m: number;
  r: number;
  alpha: number;
  tensors: {
    name: string;
    kernels: number;
    spatialSparsity: number;
    winogradSparsity: number;
    /** Kernels with at least one spatial zero, and those of them with at least one transform-domain zero. */
    kernelsWithSpatialZeros: number;
    kernelsWithWinogradZeros: number;
  }[];
  total: { kernels: number; spatialSparsity: number; winogradSparsity: number };
}

/** What the header alone tells, available before any statistics are computed. */
export interface WeightFileSummary {
  file: string;
  format: WeightFormat;
  fileBytes: number;
  tensors: TensorHeader[];
  parameters: number;
}

/** Which part of a conv or linear weight a heat-map shows: one kernel tap, a window of rows and columns. */
export interface TensorSliceRequest {
  /** Kernel position y * kernelWidth + x (0 for a matrix). */
  tap: number;
  rowOffset: number;
  colOffset: number;
  rows: number;
  cols: number;
}

/**
 * A 2-D slice of a weight on its canonical view ([O, I, kh, kw] or [O, I], whatever the stored
 * layout): w[rowOffset + i, colOffset + j, tap] for the output channel (row) and input channel
 * (column), row-major, clipped to the tensor.
 */
export interface TensorSlice extends TensorSliceRequest {
  name: string;
  /** Output channels (rows) and input channels (columns) of the whole weight. */
  outputs: number;
  inputs: number;
  /** Kernel height and width (1 x 1 for a matrix). */
  kernel: [number, number];
  /** The stored layout the values were mapped from, e.g. 'OIHW', 'HWIO', 'OI'. */
  layout: string;
  values: number[];
}

// ---------------------------------------------------------------------------------------------
// Convolution benchmarks
// ---------------------------------------------------------------------------------------------

export const CONV_ALGORITHMS = [
  'direct',
  'im2col',
  'winograd-2x3',
  'winograd-4x3',
  'winograd-5x3',
  'winograd-6x3',
  'winograd-7x3',
  'winograd-4x3s2',
  'winograd-7x3s2',
  'fft',
  'strassen',
] as const;
export type ConvAlgorithm = (typeof CONV_ALGORITHMS)[number];

export const CONV_LAYOUTS = ['nchw', 'nhwc', 'nchw4c', 'nchw8c', 'nchw16c'] as const;
export type ConvLayout = (typeof CONV_LAYOUTS)[number];

export const BENCH_SUITES = ['resnet18', 'resnet50', 'vgg16', 'mobilenet-v1', 'mobilenet-v2', 'resnext50', 'dilated'] as const;
export type BenchSuite = (typeof BENCH_SUITES)[number];

export interface ConvShape {
  N: number;
  C: number;
  H: number;
  W: number;
  K: number;
  R: number;
  S: number;
  stride: number;
  /** Zero padding on all four sides; `pads`, when given, replaces it. */
  pad: number;
  /** Channel groups (default 1): weights are [K, C/groups, R, S]; groups = C is depthwise. */
  groups?: number;
  /** Spacing between kernel taps (default 1), on both axes. */
  dilation?: number;
  /** Asymmetric zero padding as ONNX orders it: top, left, bottom, right (default `pad` on all sides). */
  pads?: [number, number, number, number];
}

/** The padding of a shape as top, left, bottom, right. */
export function convPads(shape: ConvShape): [number, number, number, number] {
  return shape.pads ?? [shape.pad, shape.pad, shape.pad, shape.pad];
}

/** Whether a shape uses only what every algorithm runs: one group, no dilation, equal pads. */
export function isPlainConv(shape: ConvShape): boolean {
  const [top, left, bottom, right] = convPads(shape);
  return (shape.groups ?? 1) === 1 && (shape.dilation ?? 1) === 1 && top === left && left === bottom && bottom === right;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  simd: 'simd128' | 'relaxed-simd';
  node: string;
  platform: string;
}

export interface BenchResult {
  layer: string;
  shape: ConvShape;
  algo: ConvAlgorithm | string;
  layout: ConvLayout | string;
  threads: number;
  /** Workers the run really used, when fewer than `threads`: the planner keeps a layer too small to split on fewer. */
  threadsUsed?: number;
  msMin: number;
  msMedian: number;
  msP90: number;
  /** Effective GFLOP/s: 2*N*K*(C/groups)*R*S*P*Q / t, the direct count, for every algorithm. */
  gflops: number;
  /** Floating-point operations the algorithm really performs. */
  realFlops?: number;
  /** Time spent converting layouts, reported apart from the kernel. */
  layoutMs?: number;
  maxAbsErr: number;
  maxRelErr: number;
  /**
   * maxAbsErr over direct convolution's max abs error on the same data (direct's error floored at
   * one fp32 rounding of the reference's largest magnitude); absent when errors were not checked.
   */
  errorVsDirect?: number;
  workspaceBytes: number;
  iterations?: number;
  /**
   * A peer (onnxruntime-node) timed on the same layer and data, when installed; maxAbsErr is its
   * output's max abs error against the same fp64 reference (absent when errors were not checked).
   */
  peer?: { name: string; msMedian: number; msMin?: number; gflops: number; maxAbsErr?: number };
}

export interface BenchSkip {
  layer: string;
  algo: string;
  reason: string;
}

/** Per layer (and thread count): the fastest result, and the fastest whose errorVsDirect is within the budget. */
export interface BenchBest {
  layer: string;
  threads: number;
  fastest: { algo: string; layout: string; msMedian: number; errorVsDirect?: number };
  /** Absent when no result of the layer is within the budget (or errors were not checked). */
  withinBudget?: { algo: string; layout: string; msMedian: number; errorVsDirect?: number };
}

export interface BenchReport {
  machine: MachineInfo;
  startedAt?: string;
  suite?: string;
  results: BenchResult[];
  skipped?: BenchSkip[];
  /** The accuracy budget "best" is chosen within: the largest errorVsDirect allowed. */
  maxErrorVsDirect?: number;
  best?: BenchBest[];
  /** Why the requested peer was not timed on any layer (not installed), and how to install it: said once per run. */
  peerUnavailable?: string;
}

/** What `deep-accel conv --json` prints: the convolution run on the user's tensors, and where it went. */
export interface ConvResult {
  out: string;
  algo: ConvAlgorithm;
  /** The engine layout it ran in; the files stay NCHW, converted around the kernel. */
  layout: ConvLayout;
  threads: number;
  shape: ConvShape;
  outputShape: [number, number, number, number];
  ms: number;
  /** Against the fp64 reference, when checked. */
  maxAbsErr?: number;
  maxRelErr?: number;
}

export interface BenchComparison {
  a: { label: string; report: BenchReport };
  b: { label: string; report: BenchReport };
}

// ---------------------------------------------------------------------------------------------
// The user's model, layer by layer
// ---------------------------------------------------------------------------------------------

/** conv: one group; depthwise: one group per input channel (any multiplier); grouped: in between. */
export const MODEL_LAYER_OPS = ['conv', 'depthwise', 'grouped', 'linear', 'convTranspose'] as const;
export type ModelLayerOp = (typeof MODEL_LAYER_OPS)[number];

/** A convolution in NCHW terms; sizes the file does not fix (and no --input gave) are null. */
export interface ModelConvShape {
  N: number | null;
  C: number;
  H: number | null;
  W: number | null;
  K: number;
  R: number;
  S: number;
  /** Output rows and columns. */
  P: number | null;
  Q: number | null;
  strides: [number, number];
  /** Top, left, bottom, right; null when automatic padding needs the unknown input size. */
  pads: [number, number, number, number] | null;
  groups: number;
  dilations: [number, number];
}

/** A matrix product: N rows (batch x tokens) of I features in, O out. */
export interface ModelLinearShape {
  N: number | null;
  I: number;
  O: number;
}

export interface ModelWinogradTile {
  /** The engine's algorithm for it, e.g. winograd-4x3 or winograd-7x3s2. */
  algo: string;
  /** F(m,r) as papers write it; stride-2 tiles say so: "F(4,3) stride 2". */
  tile: string;
  m: number;
  r: number;
  /** Output tiles per image: ceil(P/m) x ceil(Q/m); null without output sizes. */
  tiles: number | null;
  /** Element-wise products per input/output channel pair: tiles x alpha^2 (alpha = stride*(m-1)+r). */
  products: number | null;
  /** Direct's multiplications over the tile's: P*Q*R*S / products, ragged tiles included. */
  reduction: number | null;
  /** Why this tile is not the default pick although it fits (its error is outside the default budget). */
  outsideBudget?: string;
}

export interface ModelWinograd {
  applicable: boolean;
  /** Why no engine Winograd kernel fits the layer. */
  reason?: string;
  /** Every engine Winograd kernel for the layer's stride, with its arithmetic on this layer. */
  tiles: ModelWinogradTile[];
  /**
   * The pick: the fewest products within the default accuracy budget (by arithmetic); once timed,
   * with its max error on this layer's real weights and that error over direct convolution's.
   */
  chosen?: { algo: string; tile: string; maxAbsErr?: number; errorVsDirect?: number };
}

export interface ModelLayer {
  /** As the file names it (ONNX node, TFLite output tensor, weight tensor without a graph). */
  name: string;
  /**
   * The graph's node (ONNX, TFLite): its own name, '' when it has none (an unnamed ONNX node, every
   * TFLite operator; the layer is then named by `output`), and its first output tensor.
   */
  graphNode?: { name: string; output: string };
  /** The operator as the file spells it (Conv, CONV_2D, ...), or 'weights' when read from weight shapes alone. */
  opType: string;
  op: ModelLayerOp;
  weight: string;
  /** The axis order the weight is read in: OIHW, OHWI, HWIO, IHWO (TFLite depthwise) for kernels, OI or IO for matrices. */
  weightLayout: string;
  /**
   * The file stores the weight as a pruning mask pair, not as `weight`: the layer's weight is
   * orig * mask (what the pruned model computes with), for its figures and its timings alike.
   */
  weightFrom?: { orig: string; mask: string; kind: PruningMaskInfo['kind'] };
  bias?: string;
  shape: ModelConvShape | ModelLinearShape;
  /** Weight and bias elements. */
  params: number;
  /** 2*N*K*(C/groups)*R*S*P*Q (transposed: 2*N*C*H*W*(K/groups)*R*S); 2*N*I*O for linear; null without sizes. */
  flops: number | null;
  /** What the figures that are null need: "input size". */
  needs?: string;
  winograd: ModelWinograd;
  /** The weight's sparsity, from the sparsity scan (absent when the scan was not run). */
  sparsity?: ModelLayerSparsity;
  /** Every algorithm timed on the engine on this layer's shape, its error measured on this layer's weights. */
  results?: ModelAlgorithmResult[];
  /** The fastest result within the accuracy budget (--max-error-vs-direct). */
  best?: ModelBest;
  /** The fastest result of all, when it is outside the budget (so not `best`). */
  fastest?: ModelBest;
  /** Why the layer was not timed (the engine cannot run it, its sizes are unknown). */
  notTimed?: string;
  /**
   * Algorithms that do not apply to the layer, each with the reason; `workspaceMib` is the engine
   * memory an algorithm would have needed when the memory bound (--max-workspace-mib) skipped it.
   */
  skipped?: { algo: string; reason: string; workspaceMib?: number }[];
  /** onnxruntime-node's median time for the same layer (the bench peer: Conv with these weights), with --peer. */
  peerMs?: number;
  /** What filter pruning at the report's target would buy on this layer (absent without a target or a shape). */
  pruned?: ModelLayerPruned;
  /** The user's .npy activations the errors were measured on, when given (otherwise random ones). */
  activations?: string;
}

/**
 * The layer with the report's target share of its filters (output channels, or a matrix's rows)
 * removed, the smallest by L1 norm first (as Distiller's and torch.nn.utils.prune's ln_structured
 * rank them), and its input channels shrunk where the layer before it was pruned and the graph
 * feeds that layer's output straight in (through per-channel ops only).
 */
export interface ModelLayerPruned {
  /** The share of filters removed that was asked for (--prune-target). */
  target: number;
  /** Filters kept of the layer's own; equal when its filters are not pruned (filtersReason). */
  filtersKept: number;
  filters: number;
  /** Input channels (all groups) kept of the layer's; fewer when `inputFrom` was pruned. */
  inputChannelsKept: number;
  inputChannels: number;
  /** The pruned layer whose output channels are this layer's input channels. */
  inputFrom?: string;
  /** Why the layer's own filters are kept (its output feeds an Add, is the model's output, a depthwise layer follows its input). */
  filtersReason?: string;
  /** Share of the weight's sum |w| in the removed filters and input channels (what the ranking gives up). */
  l1Removed?: number;
  shape: ModelConvShape | ModelLinearShape;
  flops: number | null;
  flopsRemoved: number | null;
  /** The best algorithm of the layer, timed on the pruned shape with the kept weights (same cache). */
  algo?: string;
  layout?: string;
  /** Why another algorithm than the layer's best timed the pruned shape. */
  algoReason?: string;
  msMedian?: number;
  /** best.msMedian / msMedian. */
  speedup?: number;
  /** The time came from the timing cache. */
  cached?: boolean;
  /** Why the pruned shape was not timed. */
  notTimed?: string;
}

/** How the report's note on the pruning what-if begins (views that state the rule themselves leave it out). */
export const PRUNE_NOTE_PREFIX = 'pruned: ';

export interface ModelAlgorithmResult {
  algo: string;
  layout: string;
  msMedian: number;
  msMin: number;
  /** Effective GFLOP/s: the layer's FLOPs over msMedian. */
  gflops: number;
  /** Max |output - fp64 reference| on this layer's real weights and random activations in [-1, 1). */
  maxAbsErr: number;
  /** maxAbsErr over direct convolution's on the same data. */
  errorVsDirect: number;
  /** The time came from the timing cache (same shape, algorithm, layout, threads and engine build). */
  cached: boolean;
}

export interface ModelBest {
  algo: string;
  layout: string;
  msMedian: number;
  errorVsDirect: number;
}

/** How the layers were timed. */
export interface ModelTimingInfo {
  budgetMs: number;
  warmupMs: number;
  threads: number;
  maxErrorVsDirect: number;
  /**
   * The most engine memory one algorithm may take beyond a layer's tensors (packed weights,
   * buffers, scratch), in MiB; an algorithm that needs more is not timed on that layer (`skipped`).
   * Absent when the engine cannot tell a plan's memory before making it (no bound was applied).
   */
  maxWorkspaceMib?: number;
  /** The engine build the times belong to (a digest of its WebAssembly), part of the cache key. */
  engineBuild: string;
  /** (shape, algorithm) pairs timed in this run, and those whose time came from the cache. */
  measured: number;
  cacheHits: number;
  /** Where the timing cache lives; absent when none was used. */
  cacheFile?: string;
  /** Wall time of the timing phase. */
  elapsedMs: number;
  /** The peer timed beside the engine (--peer), or why none was. */
  peer?: string;
  peerUnavailable?: string;
  /**
   * The activations the errors were measured on: random uniform in [-1, 1), or the user's .npy
   * files (--activations), how many layers took one and from where.
   */
  activations?: { source: 'random' } | { source: 'npy'; from: string; layers: number };
}

/** Zeros of a layer's weight: the share of zero elements, the structured shares and 2:4 compliance of its TensorStats. */
export type ModelLayerSparsity = { element: number } & Pick<TensorStats, 'filters' | 'channels' | 'kernels' | 'rows' | 'cols' | 'nm24'> & {
  /** The share of the weight's sum |w| that 2:4 magnitude pruning keeps (what the 2:4 what-if gives up: 1 - this). */
  retained24?: number;
};

export interface ModelReport {
  file: string;
  format: WeightFormat;
  /** Where layers come from: the file's graph, or the weight tensors' names and shapes alone. */
  source: 'graph' | 'weights';
  input: {
    /** The graph input's name and dims as stored (symbolic ones by name). */
    name?: string;
    dims?: (number | string)[];
    /** The shape used, N,C,H,W (or what the graph fixes); null when none is known. */
    shape: number[] | null;
    /** 'file' when the file fixes it, 'option' when given with --input. */
    from: 'file' | 'option' | 'none';
  };
  layers: ModelLayer[];
  total: {
    layers: number;
    /** Sums over the rows. */
    params: number;
    flops: number;
    /** Layers whose FLOPs are unknown (left out of the sum). */
    flopsUnknown: number;
    /** With timings: the sum of the layers' best.msMedian, and how many layers were timed. */
    bestMs?: number;
    timedLayers?: number;
    /** The share of bestMs per op (conv, depthwise, grouped, linear). */
    bestMsByOp?: Record<string, number>;
    /** With --peer: onnxruntime-node's times summed over the layers it ran, and for the whole ONNX model end to end. */
    peerMs?: number;
    peerModelMs?: number;
    /**
     * With a prune target: FLOPs of the pruned layers (sum of pruned.flops over the layers with
     * FLOPs) and what they remove; with timings, the sum of pruned.msMedian over the layers timed
     * both ways, the sum of their best.msMedian and the ratio.
     */
    pruned?: {
      target: number;
      flops: number;
      flopsRemoved: number;
      msMedian?: number;
      bestMs?: number;
      speedup?: number;
      timedLayers?: number;
      /** True when the file's graph was followed (input channels shrink after a pruned layer); false when each layer was pruned alone. */
      followsGraph?: boolean;
    };
  };
  /** Present when the layers were timed. */
  machine?: MachineInfo;
  timing?: ModelTimingInfo;
  /** What was assumed or left out, said once each. */
  notes: string[];
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------
// Notebook help output
// ---------------------------------------------------------------------------------------------

export interface HelpPayload {
  commands: { name: string; usage: string; description: string }[];
}
