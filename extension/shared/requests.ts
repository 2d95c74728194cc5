/**
 * Requests: the typed input of each request kind's function in core/ (see core/requests/). The CLI
 * builds them from flags, notebook cells from their options, palette commands from quick picks,
 * and the workers receive them unchanged.
 */
import type { ConvAlgorithm, ConvLayout, ConvShape, ExportFormat, FractionsIn, Precision, PruneMethod, PruneProfile, BenchSuite } from './payloads';

export interface BenchRequest {
  suite?: BenchSuite;
  layers?: string[];
  shape?: ConvShape;
  /** Algorithms to run; default: every algorithm that applies (the others are listed as skipped). */
  algos?: string[];
  /** Default: nchw for the algorithms that support it, each other algorithm in its own layout. */
  layout?: ConvLayout;
  /** Engine threads, 1..cores (default 1). */
  threads?: number;
  /** Timed budget per (layer, algorithm) after the warm-up (default 2000 ms). */
  budgetMs?: number;
  /** Warm-up per (layer, algorithm) (default 500 ms). */
  warmupMs?: number;
  /** Time onnxruntime-node on each layer too, when installed (default false). */
  peer?: boolean;
  /** Check every output against the fp64 reference (default true). */
  checkErrors?: boolean;
  /** Seed of the random input and weights (default 1). */
  seed?: number;
  /** The accuracy budget of "best": the largest errorVsDirect allowed (default 16). */
  maxErrorVsDirect?: number;
  /** Force the plain SIMD128 engine even where relaxed SIMD is available. */
  variant?: 'auto' | 'simd' | 'relaxed';
}

export interface WinogradRequest {
  m: number;
  r: number;
  /** Also measure F(2..8, r) with their default points, for the chart of error against tile size. */
  compareTileSizes?: boolean;
  /** Second dimension for F(m x n, r x s). */
  n?: number;
  s?: number;
  points?: string[];
  infinity?: boolean;
  fractionsIn?: FractionsIn;
  precision?: Precision;
  search?: boolean;
  exports?: ExportFormat[];
  layer?: { C: number; K: number; H: number; W: number };
  /** Random tiles per precision for the error measurement; 0 skips it (default: about 8000 outputs' worth). */
  errorTrials?: number;
  /** Seed of the error measurement's PRNG (default 1). */
  seed?: number;
}

export interface SparsityRequest {
  file: string;
  threshold?: number;
  histogram?: boolean;
  /** Block shape for the block-sparsity statistic, [rows, cols] of the [O, I*R*S] view; default [4, 4]. */
  blockSize?: [number, number];
  /** Also report the zeros of 3x3 kernels in the F(winograd, 3) transform domain (G g G^T). */
  winograd?: number;
  /** N:M patterns ("2:4") whose compliance and retained magnitude each 2-D and 4-D weight reports. */
  nm?: string[];
  /** The user's tensor layouts, as `--layout` takes them ("OIHW", "conv1.weight=OIHW,fc.*=OI"). */
  layout?: string;
  /** Search an input-channel order per conv/linear weight for this N:M pattern ("2:4"). */
  permute?: string;
  /** Time bound of that search per weight, in seconds (default 10). */
  permuteSeconds?: number;
  /** Worker threads the CLI spreads a large file's tensors over (default: one per core, at most 8). */
  threads?: number;
}

/** A pruning what-if, or with `out`, a pruned safetensors copy that is read back and checked. */
export interface PruneRequest {
  file: string;
  sparsity: number;
  method?: PruneMethod;
  profile?: PruneProfile;
  /** Conv output size assumed for FLOPs when the file has no graph. */
  inputSize?: { height: number; width: number };
  /** Tokens per pass for linear-layer FLOPs with inputSize (default 1). */
  tokens?: number;
  out?: string;
  /** method nm: the N:M pattern ("2:4"); sparsity is then 1 - N/M. */
  nm?: string;
  /** method nm with out: write ASP masks beside the unchanged weights instead of pruned weights. */
  masks?: boolean;
}

/** One convolution on the user's float32 .npy tensors: input NCHW, weight OIHW, bias [K]; output NCHW .npy. */
export interface ConvRequest {
  input: string;
  weight: string;
  bias?: string;
  algo: ConvAlgorithm;
  stride?: number;
  pad?: number;
  /** Padding top, left, bottom, right (ONNX order), instead of pad. */
  pads?: [number, number, number, number];
  /** Channel groups (default 1): the weight is [K, C/groups, R, S]. */
  groups?: number;
  /** Spacing between kernel taps (default 1). */
  dilation?: number;
  /** Engine layout (default: nchw where the algorithm has it, else its own); the files stay NCHW. */
  layout?: ConvLayout;
  threads?: number;
  /** Also compute the fp64 reference and report the error. */
  check?: boolean;
  out: string;
}

/** Two saved benchmark runs, A and B. */
export interface CompareRequest {
  a: string;
  b: string;
}

export interface ModelRequest {
  file: string;
  /** The first input's shape in the file's own axis order (N,C,H,W for ONNX, N,H,W,C for Keras). */
  input?: number[];
  /** Time every layer on the engine (default true where an engine is given). */
  time?: boolean;
  /** Algorithms to time (direct always runs: errors are measured against it); default all. */
  algos?: string[];
  /** Timed budget per (shape, algorithm) after the warm-up (default 200 ms). */
  budgetMs?: number;
  /** Warm-up per (shape, algorithm) (default: a fifth of the budget, at most 100 ms). */
  warmupMs?: number;
  threads?: number;
  /** The accuracy budget of `best`: max abs error at most this multiple of direct's (default 16). */
  maxErrorVsDirect?: number;
  /** Engine memory (MiB) one algorithm may take beyond a layer's tensors; more is not timed (default 64). */
  maxWorkspaceMib?: number;
  /** Time onnxruntime-node on each layer, and on the whole model when it is ONNX (default false). */
  peer?: boolean;
  /** The folder whose .deep-accel/ keeps the timing cache (the workspace; the CLI's working folder). */
  workspace?: string;
  /** The share of each layer's filters the pruning what-if removes, by L1 norm (default 0.5; 0: no what-if). */
  pruneTarget?: number;
  /** The user's activations for the errors: a folder of <layer>.npy files, or one .npy for the model's input. */
  activations?: string;
  /** Write the per-layer figures as a Netron attachment (.json) here. */
  exportNetron?: string;
  /** Write the per-layer figures as Model Explorer node data (.json) here. */
  exportModelExplorer?: string;
}
