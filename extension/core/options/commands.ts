/**
 * One option schema per command (see schema.ts). Adding an option is an entry here and the core
 * function that reads its request field: the CLI flag, --help, the cell key, completion, hover and
 * the `help` cell follow from the entry.
 */
import { BENCH_SUITES, CONV_ALGORITHMS, CONV_LAYOUTS, EXPORT_FORMATS } from '../../shared/payloads';
import { CONV_SHAPE_SYNTAX, SUITE_TABLES, parseConvShape } from '../bench/layers';
import { CHOSEN_LAYOUTS, parseLayoutOverride } from '../sparsity/layout';
import { parseNmPatterns } from '../sparsity/nmPattern';
import { DEFAULT_READ_TIMEOUT_SECONDS } from '../weightFiles';
import { DEFAULT_PERMUTE_SECONDS } from '../sparsity/scan';
import { type CommandSchema, OptionValueError, cellKeyOf, choice, flagOf, integer, list, number, pair, text } from './schema';

const PRECISIONS = ['fp32', 'fp16', 'bf16'] as const;
const MAX_DIMENSION = 1 << 20;

const json = { name: 'json', kind: 'switch', cellKey: false, toRequest: false, help: 'print the JSON payload instead of the table' } as const;

/**
 * The CLI's read time limit (cells run in the extension, under deepAccel.weights.timeoutSeconds). Only
 * HDF5 and .keras files need it: their parser runs a library in WebAssembly that a corrupt file can
 * make loop, so the CLI reads them in a worker it stops after this long without progress.
 */
const readTimeout = {
  name: 'timeout',
  kind: 'value',
  cellKey: false,
  toRequest: false,
  parse: number('be a number of seconds > 0', (value) => value > 0),
  placeholder: 'S',
  defaultText: String(DEFAULT_READ_TIMEOUT_SECONDS),
  help: 'HDF5 and .keras files are read in a worker that is stopped when it makes no progress for S seconds (a corrupt file can make the HDF5 library loop inside WebAssembly); the file is then reported as unreadable (exit 2)',
} as const;

/** C,K,H,W of a layer to cost. */
const parseLayer = text((value) => {
  const parts = value.split(',').map((part) => part.trim());
  const problem = { kind: 'expected', must: 'be four whole numbers >= 1 as C,K,H,W (e.g. 64,64,56,56)', cellMust: 'be C,K,H,W' } as const;
  if (parts.length !== 4 || parts.some((part) => !/^\d+$/.test(part))) throw new OptionValueError(problem, value);
  const [C, K, H, W] = parts.map((part, index) => {
    const n = Number(part);
    if (n < 1 || n > MAX_DIMENSION) throw new OptionValueError({ kind: 'range', value: n, min: 1, max: MAX_DIMENSION, part: 'CKHW'[index] }, value);
    return n;
  });
  return { C, K, H, W };
});

/** Padding top,left,bottom,right: four whole numbers >= 0. */
const parsePads = text((value) => {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.length !== 4 || parts.some((part) => !/^\d+$/.test(part))) {
    throw new OptionValueError({ kind: 'expected', must: 'be four non-negative integers top,left,bottom,right', cellMust: 'be t,l,b,r' }, value);
  }
  return parts.map(Number) as [number, number, number, number];
});

export const WINOGRAD_SCHEMA: CommandSchema = {
  name: 'winograd',
  summary: 'generate, verify, cost, measure and export Winograd/Toom-Cook transforms',
  cliSynopsis: '--m M --r R [options]',
  cellSynopsis: 'winograd F(m,r) | F(mxn,rxs) [points=0,1,-1,1/2,-1/2] [in=G|A|B] [precision=fp32|fp16|bf16] [layer=C,K,H,W] [search] [finite]',
  description:
    'Generate exact Winograd/Toom-Cook transforms AT, G, BT; verify them, count their cost and measure their error.',
  quote: '"',
  integerWording: 'bounds',
  options: [
    { name: 'm', kind: 'value', parse: integer({ min: 1 }), placeholder: 'M', cellKey: false, help: 'output tile size (1-D: F(M,R); 2-D nesting F(MxM, RxR))' },
    { name: 'r', kind: 'value', parse: integer({ min: 1 }), placeholder: 'R', cellKey: false, help: 'filter size' },
    { name: 'n', kind: 'value', parse: integer({ min: 1 }), placeholder: 'N', cellKey: false, help: 'second output dimension, for rectangular F(M x N, R x S)' },
    { name: 's', kind: 'value', parse: integer({ min: 1 }), placeholder: 'S', cellKey: false, help: 'second filter dimension' },
    {
      name: 'points',
      kind: 'value',
      parse: text((value) => (value.trim() === '' ? [] : value.split(',').map((point) => point.trim()))),
      placeholder: 'LIST',
      help: 'Finite interpolation points: integers and fractions, comma-separated (default: the best published set).',
    },
    { name: 'finite', kind: 'switch', default: false, toRequest: (finite) => (finite ? { infinity: false } : {}), help: 'Use only finite points (no point at infinity): needs m+r-1 points.' },
    { name: 'fractionsIn', kind: 'value', cellKey: 'in', parse: choice(['G', 'A', 'B'] as const), values: ['G', 'A', 'B'], placeholder: 'G|A|B', help: 'Which matrix absorbs the fractions (wincnn puts them in G).', defaultText: 'G' },
    { name: 'search', kind: 'switch', default: false, help: 'Search for interpolation points with a lower measured error in the precision of interest (under a minute).' },
    { name: 'precision', kind: 'value', parse: choice(PRECISIONS), values: PRECISIONS, placeholder: 'P', help: 'The precision of interest: the point search minimises its error and the error table marks its row (fp32, fp16 and bf16 are all measured).', defaultText: 'fp32' },
    { name: 'exports', kind: 'value', flag: '--export', cellKey: false, parse: list(choice(EXPORT_FORMATS)), values: EXPORT_FORMATS, placeholder: 'FORMAT', help: 'export formats, comma-separated' },
    { name: 'layer', kind: 'value', parse: parseLayer, placeholder: 'C,K,H,W', help: 'A layer C,K,H,W to cost: the arithmetic reduction with the filter transform amortised over the image and the input transform over K.' },
    {
      name: 'trials',
      kind: 'value',
      parse: integer({ min: 0, max: 1_000_000 }),
      toRequest: (trials) => ({ errorTrials: trials }),
      placeholder: 'N',
      help: 'Random tiles per precision for the error table: more for tighter figures, 0 skips the measurement (default: about 8000 outputs).',
    },
    { name: 'seed', kind: 'value', cellKey: false, parse: integer({ min: 0 }), placeholder: 'N', help: 'seed of the error measurement', defaultText: '1' },
    json,
  ],
};

/** One N:M pattern such as 2:4, as its name. */
const onePattern = text((value, label) => {
  let patterns;
  try {
    patterns = parseNmPatterns(value);
  } catch (error) {
    throw new Error(`${label}: ${(error as Error).message}`);
  }
  if (patterns.length !== 1) throw new Error(`${label} takes one pattern such as 2:4, got '${value}'`);
  return patterns[0]!.name;
});

export const SPARSITY_SCHEMA: CommandSchema = {
  name: 'sparsity',
  summary: 'per-tensor and structured sparsity of a weight file',
  cliSynopsis: 'FILE [options]',
  cellSynopsis: 'sparsity <file> [threshold=0] [nm=2:4,4:8] [layout=OIHW] [permute=2:4 [seconds=10]]',
  description:
    'Inspect a weight file (safetensors, ONNX, PyTorch, NumPy, HDF5, TFLite, GGUF, Darknet, TF.js): per-layer and structured sparsity. 2:4 counts groups of 4 input channels with at least 2 zeros (NVIDIA ASP); a last group short of 4 (or M) channels is padded with zeros, as ASP does.',
  notes:
    "The Layout column says how each tensor's axes were read, and in brackets what that rests on when\nthe format does not fix it: keras (the file's Keras attributes), name (weight: [O, I, H, W];\nkernel: [H, W, I, O]), shape (the small kernel dimensions at one end), assumed (no evidence: the\nformat's usual order) or override (--layout).\n\n" +
    "2:4 % is the share of groups of 4 consecutive input channels holding at least 2 zeros (NVIDIA\nASP's m4n2_1d pattern). When the input channels are not a multiple of 4 (or of M for --nm), the\nlast group is padded with zeros, as ASP pads it, so a short group needs fewer zeros of its own\nto comply.",
  options: [
    { name: 'threshold', kind: 'value', parse: number('be a number >= 0', (v) => v >= 0), default: 0, placeholder: 'T', help: 'A weight counts as zero when |w| <= threshold.', defaultText: '0' },
    { name: 'histogram', kind: 'switch', cellKey: false, help: 'add log10 magnitude histograms and the sparsity-against-threshold curve (cells always have them)' },
    { name: 'blockSize', kind: 'value', flag: '--block', cellKey: false, parse: pair('look like 4x4 (two positive integers)'), placeholder: 'RxC', help: 'block shape for block sparsity over the [O, I*R*S] view', defaultText: '4x4' },
    {
      name: 'threads',
      kind: 'value',
      cellKey: false,
      parse: integer({ min: 1, max: 256 }),
      placeholder: 'T',
      help: 'worker threads the tensors of a file of 128 MB or more are spread over (1: scan on the main thread)',
      defaultText: 'one per core, at most 8',
    },
    {
      name: 'winograd',
      kind: 'value',
      parse: integer({ min: 1, max: 8 }),
      placeholder: 'M',
      help: 'Also count zeros of 3x3 kernels after the F(m,3) filter transform G g Gᵀ (m from 1 to 8).',
    },
    {
      name: 'nm',
      kind: 'value',
      parse: text((value, label) => {
        try {
          return parseNmPatterns(value).map((pattern) => pattern.name);
        } catch (error) {
          throw new Error(`${label}: ${(error as Error).message}`);
        }
      }),
      placeholder: 'N:M,...',
      help: 'N:M patterns such as 1:4,2:4,4:8: per 2-D and 4-D weight, the share of groups of M input channels with at least M-N zeros and the share of Σ|w| that N:M pruning keeps.',
    },
    {
      name: 'layout',
      kind: 'value',
      parse: text((value, label) => {
        try {
          parseLayoutOverride(value);
        } catch (error) {
          throw new Error(`${label}: ${(error as Error).message}`);
        }
        return value;
      }),
      values: CHOSEN_LAYOUTS,
      placeholder: 'L',
      help: 'the axis order to read weights in, overriding what the file suggests: one layout for every tensor (a kernel order implies its matrix order: OIHW -> OI, HWIO -> IO), or NAME=L per tensor (* matches any run), e.g. conv1.weight=OIHW,fc.*=OI',
      cellHelp: `The axis order to read weights in, overriding what the file suggests (the Layout column says what each tensor was read as, and why): ${CHOSEN_LAYOUTS.join(', ')} for every tensor, or NAME=L per tensor, e.g. layout=conv1.weight=OIHW,fc.*=OI.`,
    },
    readTimeout,
    {
      name: 'permute',
      kind: 'value',
      parse: onePattern,
      placeholder: 'N:M',
      help: "Search an order of each conv/linear weight's input channels that maximises what this N:M pattern's pruning keeps (e.g. 2:4); the previous layer's output channels follow the same order.",
    },
    {
      name: 'permuteSeconds',
      kind: 'value',
      cellKey: 'seconds',
      parse: number('be a number of seconds in (0, 86400]', (v) => v > 0 && v <= 86400),
      placeholder: 'S',
      help: 'Time bound of the permutation search per weight, in seconds.',
      defaultText: String(DEFAULT_PERMUTE_SECONDS),
    },
    json,
  ],
};

export const PRUNE_SCHEMA: CommandSchema = {
  name: 'prune',
  summary: 'write a magnitude-, filter- or N:M-pruned copy of a weight file (safetensors)',
  cliSynopsis: 'FILE --sparsity S --out OUT [options]\n       deep-accel prune FILE --nm N:M [--masks] --out OUT [options]',
  cellSynopsis: 'prune <file> sparsity=0.5 [method=magnitude|filter-l1] [profile=uniform|sensitivity] [input=HxW] [out=pruned.safetensors] | nm=2:4 [masks] [out=...]',
  description:
    'Pruning what-if: what magnitude, filter (L1) or N:M pruning removes; given an output file, writes a pruned safetensors copy and checks it by reading it back. The original is never modified.',
  options: [
    { name: 'sparsity', kind: 'value', parse: number('be a number in [0, 1)', (v) => v >= 0 && v < 1, 'be a number with 0 <= s < 1'), placeholder: 'S', help: 'Target share of zeros in conv and linear weights, 0 <= s < 1.' },
    { name: 'method', kind: 'value', parse: choice(['magnitude', 'filter-l1'] as const), values: ['magnitude', 'filter-l1'], placeholder: 'M', help: 'Smallest |w| per tensor, or whole filters ranked by L1 norm.', defaultText: 'magnitude' },
    { name: 'profile', kind: 'value', parse: choice(['uniform', 'sensitivity'] as const), values: ['uniform', 'sensitivity'], placeholder: 'P', help: 'The same target everywhere, or early layers less and late layers more.', defaultText: 'uniform' },
    {
      name: 'inputSize',
      kind: 'value',
      cellKey: 'input',
      parse: text((value, label) => {
        const [height, width] = pair('look like 4x4 (two positive integers)', 'be HxW such as 56x56')(value, label);
        return { height, width };
      }),
      placeholder: 'HxW',
      help: 'Conv output size HxW for FLOP counts when the file has no graph (linear layers: per token).',
    },
    { name: 'tokens', kind: 'value', cellKey: false, parse: integer({ min: 1 }), placeholder: 'N', help: 'tokens per pass for linear-layer FLOPs with --input-size', defaultText: '1' },
    {
      name: 'nm',
      kind: 'value',
      parse: onePattern,
      placeholder: 'N:M',
      toRequest: (nm) => ({ nm, method: 'nm', sparsity: 0 }),
      help: 'N:M pruning instead of a target sparsity: keep the N largest |w| of every M consecutive input channels (e.g. 2:4) in every conv and linear weight with at least M input channels; the sparsity is then 1 - N/M.',
    },
    {
      name: 'masks',
      kind: 'switch',
      toRequest: (masks) => (masks ? { masks: true } : {}),
      help: 'With nm and out: write the weights unchanged and NVIDIA ASP masks beside them ("a.__weight_mma_mask", bool, 1 = kept) instead of pruned weights.',
    },
    { name: 'out', kind: 'value', placeholder: 'OUT', help: 'Write the pruned copy here (safetensors, never the input file).', cellHelp: 'Write the pruned copy here (safetensors), relative to the notebook.' },
    { name: 'dryRun', kind: 'switch', cellKey: false, toRequest: false, help: 'report what would be pruned; write nothing' },
    readTimeout,
    json,
  ],
};

export const BENCH_SCHEMA: CommandSchema = {
  name: 'bench',
  summary: 'benchmark convolution algorithms on the WebAssembly SIMD engine',
  cliSynopsis: `--suite NAME [--layers a,b] [options]\n       deep-accel bench --shape ${CONV_SHAPE_SYNTAX} [options]`,
  cellSynopsis: `bench <${BENCH_SUITES.join('|')}> | shape=${CONV_SHAPE_SYNTAX} [algos=a,b] [layout=nchw] [threads=T] [layers=name,...] [budget=ms]`,
  description: 'Benchmark convolution algorithms on the WebAssembly SIMD engine, each checked against an fp64 reference.',
  notes: [
    ...Object.values(SUITE_TABLES).map((table) => `${table.suite}: ${table.description}.`),
    ...Object.values(SUITE_TABLES).flatMap((table) => (table.omitted ? [`${table.suite} skips ${table.omitted.layers[0]}..${table.omitted.layers.at(-1)}: ${table.omitted.reason}; every run lists them under skipped.`] : [])),
  ].join('\n\n'),
  options: [
    { name: 'suite', kind: 'value', cellKey: false, parse: choice(BENCH_SUITES), values: BENCH_SUITES, placeholder: 'NAME', help: "a network's convolution layers (ImageNet 224x224, batch 1); in cells, the word after bench" },
    { name: 'layers', kind: 'value', parse: list(text()), placeholder: 'a,b', help: 'Only these layers of the suite, by name.' },
    { name: 'shape', kind: 'value', parse: text((value, label) => parseConvShape(value, label)), placeholder: CONV_SHAPE_SYNTAX, help: `A custom layer: ${CONV_SHAPE_SYNTAX} (stride 1, pad 0, groups 1 and dilation 1 by default; groups = C is depthwise).` },
    { name: 'algos', kind: 'value', flag: '--algo', parse: list(choice(CONV_ALGORITHMS, 'algorithm')), values: CONV_ALGORITHMS, placeholder: 'a,b', help: 'Algorithms to run (default: every one that applies).' },
    { name: 'layout', kind: 'value', parse: choice(CONV_LAYOUTS), values: CONV_LAYOUTS, placeholder: 'L', help: "Tensor layout (default: nchw, or the algorithm's own layout when it has no nchw kernel; conversions are timed apart)." },
    { name: 'threads', kind: 'value', parse: integer({ min: 1, max: 256 }), placeholder: 'T', help: 'Engine worker threads.', defaultText: '1 in the CLI, the number of cores in cells' },
    { name: 'budgetMs', kind: 'value', cellKey: 'budget', parse: number('be a non-negative number of milliseconds', (v) => v >= 0), placeholder: 'X', help: 'Time budget per layer and algorithm in milliseconds.', defaultText: '2000 in the CLI, the deepAccel.bench.budgetMs setting in cells' },
    { name: 'warmupMs', kind: 'value', cellKey: false, parse: number('be a non-negative number of milliseconds', (v) => v >= 0), placeholder: 'X', help: 'warm-up per layer and algorithm in milliseconds', defaultText: '500' },
    { name: 'peer', kind: 'switch', cellKey: false, default: false, help: 'also time onnxruntime-node (optional dependency) on each layer' },
    { name: 'noCheck', kind: 'switch', cellKey: false, default: false, toRequest: (noCheck) => ({ checkErrors: !noCheck }), help: 'skip the fp64 reference check (errors print as -)' },
    { name: 'seed', kind: 'value', cellKey: false, parse: integer({ min: 0 }), placeholder: 'S', help: 'seed of the random input and weights', defaultText: '1' },
    {
      name: 'maxErrorVsDirect',
      kind: 'value',
      cellKey: 'maxError',
      parse: number('be a positive number', (v) => v > 0),
      placeholder: 'X',
      help: "The accuracy budget: \"best\" per layer is the fastest algorithm whose max abs error is at most X times direct convolution's on the same data (F(6,3) measures 9-13x, F(7,3) 40-54x); the fastest of all is shown too.",
      defaultText: '16 in the CLI, the deepAccel.bench.maxErrorVsDirect setting in cells',
    },
    json,
  ],
};

export const CONV_SCHEMA: CommandSchema = {
  name: 'conv',
  summary: 'run one convolution algorithm on your own .npy tensors',
  cliSynopsis: '--input x.npy --weight w.npy [--bias b.npy] --algo A [--stride s] [--pad p | --pads t,l,b,r] [--groups G] [--dilation D] --out y.npy',
  cellSynopsis: '',
  description: 'Runs one convolution algorithm of the engine on your tensors and writes the result.',
  options: [
    { name: 'input', kind: 'value', cellKey: false, placeholder: 'x.npy', help: 'input, NCHW [N,C,H,W] (any numeric dtype, computed in float32)' },
    { name: 'weight', kind: 'value', cellKey: false, placeholder: 'w.npy', help: 'weights, OIHW [K,C/groups,R,S]' },
    { name: 'bias', kind: 'value', cellKey: false, placeholder: 'b.npy', help: 'optional bias [K]' },
    { name: 'algo', kind: 'value', cellKey: false, parse: choice(CONV_ALGORITHMS), values: CONV_ALGORITHMS, placeholder: 'A', help: 'the algorithm' },
    { name: 'stride', kind: 'value', cellKey: false, parse: integer({ min: 1 }), placeholder: 's', help: 'stride of both axes', defaultText: '1' },
    { name: 'pad', kind: 'value', cellKey: false, parse: integer({ min: 0 }), placeholder: 'p', help: 'zero padding on all four sides', defaultText: '0' },
    { name: 'pads', kind: 'value', cellKey: false, parse: parsePads, placeholder: 't,l,b,r', help: 'zero padding top, left, bottom, right (ONNX order), instead of --pad' },
    { name: 'groups', kind: 'value', cellKey: false, parse: integer({ min: 1 }), placeholder: 'G', help: 'channel groups; G = C with K = C x M is depthwise with multiplier M', defaultText: '1' },
    { name: 'dilation', kind: 'value', cellKey: false, parse: integer({ min: 1 }), placeholder: 'D', help: 'spacing between kernel taps on both axes', defaultText: '1' },
    { name: 'layout', kind: 'value', cellKey: false, parse: choice(CONV_LAYOUTS), values: CONV_LAYOUTS, placeholder: 'L', help: "engine layout (default: nchw where the algorithm has it, else its own); the files stay NCHW" },
    { name: 'threads', kind: 'value', cellKey: false, parse: integer({ min: 1, max: 256 }), placeholder: 'T', help: 'engine worker threads', defaultText: '1' },
    { name: 'check', kind: 'switch', cellKey: false, help: 'also compute the fp64 reference and print the error' },
    { ...json, help: 'print a JSON summary' },
    { name: 'out', kind: 'value', cellKey: false, placeholder: 'y.npy', help: 'where to write the output [N,K,P,Q] (float32 .npy, never an input file)' },
  ],
};

export const COMPARE_SCHEMA: CommandSchema = {
  name: 'compare',
  summary: 'compare two saved benchmark runs',
  cliSynopsis: '',
  cellSynopsis: 'compare <run-a.json> <run-b.json>',
  description: 'Compare two saved benchmark runs (.deep-accel/bench/*.json).',
  options: [],
};

export const HELP_SCHEMA: CommandSchema = {
  name: 'help',
  summary: 'list the commands',
  cliSynopsis: '',
  cellSynopsis: 'help',
  description: 'List the commands of this language.',
  options: [],
};

/** The commands of the notebook cell language, in the order `help` lists them. */
/** N,C,H,W (or the file's own order): 2 to 5 whole numbers of at least 1. */
const parseInputShape = text((value, label) => {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.length < 2 || parts.length > 5 || parts.some((part) => !/^\d+$/.test(part))) {
    throw new OptionValueError({ kind: 'expected', must: 'be 2 to 5 whole numbers, e.g. 1,3,224,224 (N,C,H,W)', cellMust: 'be N,C,H,W' }, value);
  }
  return parts.map((part) => {
    const n = Number(part);
    if (n < 1 || n > MAX_DIMENSION) throw new Error(`${label}: every size must be between 1 and ${MAX_DIMENSION}, got ${n}`);
    return n;
  });
});

export const MODEL_SCHEMA: CommandSchema = {
  name: 'model',
  summary: 'the layers of your model: shapes, parameters, FLOPs, weight sparsity and the Winograd kernels that fit',
  cliSynopsis: 'FILE [--input N,C,H,W] [--algos a,b] [--budget-ms T] [--threads T] [--max-error-vs-direct X] [--prune-target S] [--activations DIR] [--export-netron OUT] [--export-model-explorer OUT] [--peer] [--no-time] [--timeout S] [--json]',
  cellSynopsis: 'model <file> [input=N,C,H,W] [algos=a,b] [budget=ms] [threads=T] [maxError=X] [prune=S]',
  description:
    'Read a model layer by layer (ONNX, TFLite, Keras .h5/.keras and TF.js graphs; other weight files from their weights\' names and shapes): op, full shape, parameters, FLOPs, the sparsity of each weight and which of the engine\'s Winograd kernels fit. Layers are named as the file names them (as Netron shows them).',
  notes:
    "FLOPs count 2 per multiply-add: 2*N*K*(C/groups)*R*S*P*Q for a convolution, 2*N*I*O for a matrix product; the totals are the sums of the rows (the total best time: the sum of each layer's best time).\n\nEach applicable algorithm is timed per layer shape; times are cached in .deep-accel/model-timings.json by shape, algorithm, layout, threads and engine build. Its error is measured on the layer's real weights with random activations in [-1, 1) against an fp64 reference; errorVsDirect is that error over direct convolution's. Matrix products are timed as 1x1 convolutions over their rows.\n\nA layer whose sizes the file does not fix shows '?' (give --input). Without a graph, sizes follow --input through the layers in file order only while each layer takes the previous one's channels, with stride 1 and 'same' padding assumed (said in the notes).\n\nAn HDF5 or .keras model is read and timed in a worker of its own under --timeout: each layer's timing reports progress, so only a read that stalls reaches the limit.",
  options: [
    { name: 'input', kind: 'value', parse: parseInputShape, placeholder: 'N,C,H,W', help: "The first input's shape, in the file's own axis order (N,C,H,W for ONNX, N,H,W,C for Keras and TF.js); needed when the file leaves sizes open." },
    { name: 'algos', kind: 'value', parse: list(choice(CONV_ALGORITHMS, 'algorithm')), values: CONV_ALGORITHMS, placeholder: 'a,b', help: 'Algorithms to time per layer (direct always runs: errors are measured against it; default: every one that applies).' },
    { name: 'budgetMs', kind: 'value', cellKey: 'budget', parse: number('be a non-negative number of milliseconds', (v) => v >= 0), placeholder: 'T', help: 'Time budget per layer shape and algorithm in milliseconds.', defaultText: '200' },
    { name: 'threads', kind: 'value', parse: integer({ min: 1, max: 256 }), placeholder: 'T', help: 'Engine worker threads.', defaultText: '1' },
    { name: 'maxErrorVsDirect', kind: 'value', cellKey: 'maxError', parse: number('be a number >= 1', (v) => v >= 1), placeholder: 'X', help: "The accuracy budget: a layer's best algorithm is the fastest whose max error is at most X times direct convolution's on the same data.", defaultText: '16 (the F(6,3) class)' },
    {
      name: 'maxWorkspaceMib',
      kind: 'value',
      cellKey: false,
      parse: number('be a positive number of MiB', (v) => v > 0),
      placeholder: 'M',
      help: "Engine memory one algorithm may take beyond a layer's tensors (packed weights, buffers), in MiB; an algorithm that needs more is listed as skipped on that layer (the engine's memory never shrinks, so one such plan holds its size for the rest of the run). Direct convolution, the yardstick of the errors, always runs.",
      defaultText: '64',
    },
    { name: 'peer', kind: 'switch', cellKey: false, default: false, help: 'also time onnxruntime-node (optional dependency) on each layer, and on the whole model when it is ONNX' },
    { name: 'noTime', kind: 'switch', cellKey: false, default: false, toRequest: (noTime) => (noTime ? { time: false } : {}), help: 'only read the layers and their sparsity; time nothing' },
    {
      name: 'pruneTarget',
      kind: 'value',
      cellKey: 'prune',
      parse: number('be a share from 0 to 0.95 (0.5 removes half of each layer\'s filters; 0 shows no pruning)', (v) => v >= 0 && v <= 0.95),
      placeholder: 'S',
      defaultText: '0.5',
      help: "The pruning what-if: remove this share of each layer's filters, smallest L1 norm first (the next layers' input channels shrink where the graph feeds them straight in), and time the pruned shape with the layer's best algorithm.",
    },
    { name: 'activations', kind: 'value', cellKey: false, placeholder: 'DIR', help: "Measure the errors on your activations instead of random ones: a folder of <layer name>.npy files (each the layer's input, NCHW; [rows, features] for matrix products), or one .npy file for the model's input." },
    { name: 'exportNetron', kind: 'value', cellKey: false, placeholder: 'OUT.json', help: 'Also write the per-layer figures as a Netron attachment (open it in Netron beside the model; nodes by name).' },
    { name: 'exportModelExplorer', kind: 'value', cellKey: false, placeholder: 'OUT.json', help: "Also write Model Explorer node data (the best time per node, or FLOPs when untimed), to load beside the model in Model Explorer." },
    readTimeout,
    json,
  ],
};

export const CELL_SCHEMAS: readonly CommandSchema[] = [WINOGRAD_SCHEMA, SPARSITY_SCHEMA, PRUNE_SCHEMA, BENCH_SCHEMA, COMPARE_SCHEMA, MODEL_SCHEMA, HELP_SCHEMA];

/**
 * The request fields of the options given (or defaulted) in `values`, by each option's toRequest;
 * `surface` leaves out the options that surface does not have.
 */
export function requestFields(schema: CommandSchema, given: object, surface: 'cli' | 'cell'): Record<string, unknown> {
  const values = given as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const option of schema.options) {
    if ((surface === 'cli' ? flagOf(option) : cellKeyOf(option)) === undefined) continue;
    const value = values[option.name] ?? option.default;
    if (value === undefined || option.toRequest === false) continue;
    Object.assign(fields, option.toRequest ? option.toRequest(value as never) : { [option.name]: value });
  }
  return fields;
}

/** An option as a surface spells it in messages: `--nm N:M` on the CLI, `nm=N:M` (or `masks`, a switch) in cells. */
export function optionLabel(schema: CommandSchema, name: string, surface: 'cli' | 'cell'): string {
  const option = schema.options.find((o) => o.name === name);
  if (!option) return name;
  const value = option.kind === 'value' ? (option.placeholder ?? 'V') : '';
  if (surface === 'cli') return `${flagOf(option) ?? name}${value ? ` ${value}` : ''}`;
  const key = cellKeyOf(option) ?? name;
  return option.kind === 'value' ? `${key}=${value}` : key;
}

/**
 * What a command refuses in a combination of options given in `values` (by option name), on every
 * surface, worded with the surface's spelling of the options; undefined when it is fine.
 */
export function optionCombinationProblem(schema: CommandSchema, given: object, surface: 'cli' | 'cell'): string | undefined {
  const values = given as Record<string, unknown>;
  const label = (name: string): string => optionLabel(schema, name, surface);
  if (schema.name === 'sparsity') {
    if (values.permuteSeconds !== undefined && values.permute === undefined) return `${label('permuteSeconds')} goes with ${label('permute')}`;
    return undefined;
  }
  if (schema.name !== 'prune') return undefined;
  if (values.nm !== undefined) {
    for (const name of ['sparsity', 'method', 'profile']) {
      if (values[name] !== undefined) return `${label('nm')} sets the method and the sparsity (1 - N/M in every layer): drop ${label(name)}`;
    }
  } else {
    if (values.masks === true) return `${label('masks')} goes with ${label('nm')}`;
    if (values.sparsity === undefined) return `prune needs ${label('sparsity')}, a target share of zeros such as 0.5, or ${label('nm')}`;
  }
  if (values.masks === true && values.out === undefined) return `${label('masks')} describes the copy ${label('out')} writes: give ${label('out')}`;
  return undefined;
}
