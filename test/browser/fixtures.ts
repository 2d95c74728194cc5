/**
 * Payloads for the browser tests. The Winograd payload comes from the real generator; the sparsity and
 * benchmark payloads are written by hand with round numbers, so the tests can check that each number
 * reaches the page unchanged.
 */
import type { BenchComparison, BenchReport, ModelConvShape, ModelLayer, ModelReport, PruneReport, SparsityReport, TensorStats } from '../../extension/shared/payloads';

const conv = (name: string, sparsity: number, numel: number): TensorStats => ({
  name,
  dtype: 'F32',
  shape: [16, 8, 3, 3],
  numel,
  zeros: Math.round(sparsity * numel),
  sparsity,
  filters: 0.25,
  channels: 0,
  kernels: 0.5,
  nm24: 0.75,
  mean: 0.01,
  std: 0.5,
  min: -2,
  max: 2,
  absMean: 0.4,
  histogram: { log10Edges: [-3, -2, -1, 0, 1], counts: [10, 40, 300, 800], zeros: Math.round(sparsity * numel) },
});

export const SPARSITY_REPORT: SparsityReport = {
  file: '/models/tiny.safetensors',
  format: 'safetensors',
  fileBytes: 3 * 1152 * 4 + 200,
  threshold: 0,
  tensors: [conv('conv1.weight', 0.5, 1152), conv('conv2.weight', 0.25, 1152), { ...conv('fc.weight', 0.125, 1152), shape: [32, 36], filters: undefined, channels: undefined, kernels: undefined, rows: 0.0625, cols: 0 }],
  total: { numel: 3456, zeros: 1008, sparsity: 1008 / 3456 },
  byLayerType: { conv: { numel: 2304, zeros: 864, sparsity: 0.375 }, linear: { numel: 1152, zeros: 144, sparsity: 0.125 } },
  thresholdCurve: { thresholds: [0, 0.001, 0.01, 0.1], sparsity: [0.2917, 0.3, 0.35, 0.6] },
  warnings: ['found pruning mask conv1.weight_mask'],
};

/** The same file scanned with --nm 2:4,4:8 --permute 2:4: N:M columns and the permutation's before and after. */
export const SPARSITY_NM_REPORT: SparsityReport = {
  ...SPARSITY_REPORT,
  nmPatterns: ['2:4', '4:8'],
  permute: { pattern: '2:4', secondsPerTensor: 10 },
  tensors: SPARSITY_REPORT.tensors.map((t, i) => ({
    ...t,
    nm: { '2:4': [0.75, 0.5, 0.25][i]!, '4:8': [0.625, 0.375, 0.125][i]! },
    retained: { '2:4': [0.9, 0.8, 0.7][i]!, '4:8': [0.95, 0.85, 0.75][i]! },
    permutation: { pattern: '2:4', retainedBefore: [0.9, 0.8, 0.7][i]!, retainedAfter: [1, 0.875, 0.75][i]!, order: [], perfect: i === 0, exhaustive: false, budgetExhausted: i === 2, ms: 1250 },
  })),
  total: { ...SPARSITY_REPORT.total, permutation: { pattern: '2:4', tensors: 3, retainedBefore: 0.8, retainedAfter: 0.875 } },
};

const machine = { cpu: 'Test CPU', cores: 2, simd: 'simd128' as const, node: 'v20', platform: 'linux x64' };
const shape = { N: 1, C: 64, H: 56, W: 56, K: 64, R: 3, S: 3, stride: 1, pad: 1 };
const result = (algo: string, gflops: number, peer?: number) => ({
  layer: 'conv2_x',
  shape,
  algo,
  layout: 'nchw',
  threads: 1,
  msMin: 1,
  msMedian: 2,
  msP90: 3,
  gflops,
  maxAbsErr: 1e-5,
  maxRelErr: 2e-6,
  workspaceBytes: 4096,
  peer: peer === undefined ? undefined : { name: 'onnxruntime-node', msMedian: 1.5, gflops: peer },
});

export const BENCH_REPORT: BenchReport = {
  machine,
  suite: 'resnet18',
  startedAt: '2026-11-28T00:00:00Z',
  results: [result('im2col', 40, 190), result('winograd-4x3', 120, 190), { ...result('im2col', 42), layer: 'conv3_x' }],
  skipped: [{ layer: 'conv3_x', algo: 'winograd-4x3', reason: 'winograd needs stride 1' }],
};

export const BENCH_COMPARISON: BenchComparison = {
  a: { label: 'before', report: BENCH_REPORT },
  b: { label: 'after', report: { ...BENCH_REPORT, results: BENCH_REPORT.results.map((r) => ({ ...r, gflops: r.gflops * 2 })) } },
};

export const PRUNE_REPORT: PruneReport = {
  file: '/models/tiny.safetensors',
  format: 'safetensors',
  method: 'magnitude',
  profile: 'uniform',
  targetSparsity: 0.5,
  tensors: [
    { name: 'conv1.weight', layerType: 'conv', shape: [16, 8, 3, 3], numel: 1152, targetSparsity: 0.5, zerosBefore: 576, zerosAfter: 576, sparsityAfter: 0.5, threshold: 0, paramsRemoved: 0 },
    { name: 'fc.weight', layerType: 'linear', shape: [32, 36], numel: 1152, targetSparsity: 0.5, zerosBefore: 144, zerosAfter: 576, sparsityAfter: 0.5, threshold: 0.25, paramsRemoved: 432 },
  ],
  total: { parameters: 2336, prunableParameters: 2304, paramsRemoved: 432, prunableSparsityAfter: 0.5, modelSparsityAfter: 1152 / 2336, flops: 1000000, flopsRemoved: 250000 },
  flopsSource: 'input-size',
  export: { out: '/models/tiny.pruned.safetensors', bytes: 9500, verified: true, pruned: [{ name: 'fc.weight', expectedZeros: 576, zerosReadBack: 576 }], untouchedIdentical: 1, untouchedDiffering: [] },
  warnings: [],
};

const convLayer = (name: string, fields: Partial<ModelLayer> & Pick<ModelLayer, 'params' | 'flops'>): ModelLayer => ({
  name,
  opType: 'Conv',
  op: 'conv',
  weight: `${name}.weight`,
  weightLayout: 'OIHW',
  shape: { N: 1, C: 64, H: 56, W: 56, K: 64, R: 3, S: 3, P: 56, Q: 56, strides: [1, 1], pads: [1, 1, 1, 1], groups: 1, dilations: [1, 1] },
  winograd: { applicable: true, tiles: [{ algo: 'winograd-4x3', tile: 'F(4,3)', m: 4, r: 3, tiles: 196, products: 7056, reduction: 4 }], chosen: { algo: 'winograd-4x3', tile: 'F(4,3)', maxAbsErr: 2e-5, errorVsDirect: 2 } },
  sparsity: { element: 0.5, filters: 0.25, channels: 0, kernels: 0.125, nm24: 0.75 },
  ...fields,
});

const pruneShape = (C: number, K: number, groups = 1): ModelConvShape => ({ N: 1, C, H: 56, W: 56, K, R: 3, S: 3, P: 56, Q: 56, strides: [1, 1], pads: [1, 1, 1, 1], groups, dilations: [1, 1] });

const modelResult = (algo: string, msMedian: number, errorVsDirect: number) => ({ algo, layout: 'nchw', msMedian, msMin: msMedian * 0.9, gflops: 1, maxAbsErr: errorVsDirect * 1e-5, errorVsDirect, cached: false });

/**
 * A model report with round numbers: a conv whose best is F(4,3), one whose fastest (F(7,3)) is over
 * the budget, a depthwise, a linear and a transposed conv the engine cannot run (not timed); the
 * pruning what-if at 50% halves the first three layers' filters (the second and third lose half their
 * input channels too) and keeps the linear layer's (the model's output).
 */
export const MODEL_REPORT: ModelReport = {
  file: '/models/net.onnx',
  format: 'onnx',
  source: 'graph',
  input: { name: 'x', dims: ['N', 64, 56, 56], shape: [1, 64, 56, 56], from: 'file' },
  layers: [
    convLayer('stem/conv', { params: 36864, flops: 231211008, results: [modelResult('direct', 8, 1), modelResult('im2col', 4, 1), modelResult('winograd-4x3', 2, 2)], best: { algo: 'winograd-4x3', layout: 'nchw', msMedian: 2, errorVsDirect: 2 }, peerMs: 1.5,
      pruned: { target: 0.5, filtersKept: 32, filters: 64, inputChannelsKept: 64, inputChannels: 64, l1Removed: 0.25, shape: pruneShape(64, 32), flops: 115605504, flopsRemoved: 115605504, algo: 'winograd-4x3', layout: 'nchw', msMedian: 1, speedup: 2 } }),
    convLayer('block1/conv', {
      params: 36864,
      flops: 231211008,
      results: [modelResult('direct', 8, 1), modelResult('winograd-6x3', 1.5, 12), modelResult('winograd-7x3', 1.25, 48)],
      best: { algo: 'winograd-6x3', layout: 'nchw', msMedian: 1.5, errorVsDirect: 12 },
      fastest: { algo: 'winograd-7x3', layout: 'nchw', msMedian: 1.25, errorVsDirect: 48 },
      peerMs: 1.25,
      pruned: { target: 0.5, filtersKept: 32, filters: 64, inputChannelsKept: 32, inputChannels: 64, inputFrom: 'stem/conv', shape: pruneShape(32, 32), flops: 57802752, flopsRemoved: 173408256, algo: 'winograd-6x3', layout: 'nchw', msMedian: 0.5, speedup: 3 },
    }),
    convLayer('block1/dw', {
      op: 'depthwise',
      params: 576,
      flops: 3612672,
      shape: { N: 1, C: 64, H: 56, W: 56, K: 64, R: 3, S: 3, P: 56, Q: 56, strides: [1, 1], pads: [1, 1, 1, 1], groups: 64, dilations: [1, 1] },
      winograd: { applicable: false, reason: 'the engine runs Winograd on one group only', tiles: [] },
      results: [modelResult('direct', 0.5, 1)],
      best: { algo: 'direct', layout: 'nchw', msMedian: 0.5, errorVsDirect: 1 },
      peerMs: 0.25,
      pruned: { target: 0.5, filtersKept: 32, filters: 64, inputChannelsKept: 32, inputChannels: 64, inputFrom: 'block1/conv', filtersReason: "depthwise: its channels follow 'block1/conv'", shape: pruneShape(32, 32, 32), flops: 1806336, flopsRemoved: 1806336, algo: 'direct', layout: 'nchw', msMedian: 0.25, speedup: 2 },
    }),
    {
      name: 'fc',
      opType: 'Gemm',
      op: 'linear',
      weight: 'fc.weight',
      weightLayout: 'OI',
      shape: { N: 1, I: 512, O: 1000 },
      params: 513000,
      flops: 1024000,
      winograd: { applicable: false, reason: 'a matrix product', tiles: [] },
      sparsity: { element: 0.1, rows: 0, cols: 0, nm24: 0 },
      results: [modelResult('direct', 0.25, 1), modelResult('im2col', 0.125, 1)],
      best: { algo: 'im2col', layout: 'nchw', msMedian: 0.125, errorVsDirect: 1 },
      pruned: { target: 0.5, filtersKept: 1000, filters: 1000, inputChannelsKept: 512, inputChannels: 512, filtersReason: "its output is the model's output", shape: { N: 1, I: 512, O: 1000 }, flops: 1024000, flopsRemoved: 0, algo: 'im2col', layout: 'nchw', msMedian: 0.125, speedup: 1, cached: true },
    },
    convLayer('up/convT', {
      opType: 'ConvTranspose',
      op: 'convTranspose',
      params: 36864,
      flops: 924844032,
      winograd: { applicable: false, reason: 'a transposed convolution', tiles: [] },
      notTimed: 'the engine has no transposed convolution',
    }),
  ],
  total: { layers: 5, params: 624168, flops: 1391902720, flopsUnknown: 0, bestMs: 4.125, timedLayers: 4, bestMsByOp: { conv: 3.5, depthwise: 0.5, linear: 0.125 }, peerMs: 3, peerModelMs: 2.5,
    // The pruned rows' sums: 115605504 + 57802752 + 1806336 + 1024000 FLOPs of 467058688; 1 + 0.5 + 0.25 + 0.125 ms against 4.125.
    pruned: { target: 0.5, followsGraph: true, flops: 176238592, flopsRemoved: 290820096, msMedian: 1.875, bestMs: 4.125, speedup: 2.2, timedLayers: 4 } },
  machine: { cpu: 'Test CPU', cores: 2, simd: 'relaxed-simd', node: 'v20', platform: 'linux x64' },
  timing: { budgetMs: 40, warmupMs: 8, threads: 1, maxErrorVsDirect: 16, engineBuild: 'relaxed-0123456789abcdef', measured: 9, cacheHits: 2, cacheFile: '/work/.deep-accel/model-timings.json', elapsedMs: 1500, peer: 'onnxruntime-node 1.30.0 (1 thread)', activations: { source: 'random' } },
  notes: ["batch size 1 assumed for the symbolic dimension 'N' of 'x'", "pruned: 50% of each layer's filters by L1 norm, the next layers' input channels shrinking where the graph feeds them straight in"],
  warnings: [],
};
