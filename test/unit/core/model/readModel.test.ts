import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors } from '../../../../extension/core/formats/safetensors';
import { inspectTflite } from '../../../../extension/core/formats/tflite';
import { onnxParser } from '../../../../extension/core/formats/onnx';
import { convOutputSize, isConvShape } from '../../../../extension/core/model/layers';
import { checkInputShape, readModel } from '../../../../extension/core/model/readModel';
import type { ModelConvShape, ModelLayer, ModelLinearShape, ModelReport } from '../../../../extension/shared/payloads';
import { TEST_MODELS_DIR, fixture } from '../../../paths';

const PYTHON = '/usr/bin/python3';
const hasOnnx = spawnSync(PYTHON, ['-c', 'import onnx']).status === 0;
const needsOnnx = hasOnnx ? false : `${PYTHON} with onnx (Debian python3-onnx) is not installed`;
let nets = '';

before(() => {
  if (!hasOnnx) return;
  nets = mkdtempSync(join(tmpdir(), 'deep-accel-model-nets-'));
  const run = spawnSync(PYTHON, [fixture('onnx', 'make_model_nets.py'), nets], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
});
after(() => {
  if (nets) rmSync(nets, { recursive: true, force: true });
});

interface ExpectedLayer {
  name: string;
  opType: string;
  weight: string;
  weightShape: number[];
  input: number[] | null;
  output: number[] | null;
  params: number;
  group?: number;
  strides?: number[];
  dilations?: number[];
  flops: number | null;
}

function expected(name: string): { input: (number | string)[]; layers: ExpectedLayer[] } {
  return JSON.parse(readFileSync(join(nets, `${name}.expected.json`), 'utf8'));
}

/** Every layer against onnx.shape_inference's shapes and the FLOPs the Python script counted from them. */
function assertMatchesOnnx(report: ModelReport, reference: ExpectedLayer[]): void {
  assert.equal(report.layers.length, reference.length);
  for (const [i, want] of reference.entries()) {
    const got = report.layers[i]!;
    assert.equal(got.name, want.name);
    assert.equal(got.opType, want.opType, want.name);
    assert.equal(got.weight, want.weight, want.name);
    assert.equal(got.params, want.params, want.name);
    assert.equal(got.flops, want.flops, want.name);
    if (isConvShape(got.shape)) {
      const s = got.shape;
      if (want.opType === 'Conv') {
        assert.deepEqual([s.N, s.C, s.H, s.W], want.input, `${want.name} input`);
        assert.deepEqual([s.N, s.K, s.P, s.Q], want.output, `${want.name} output`);
        assert.deepEqual([s.K, s.C / s.groups, s.R, s.S], want.weightShape, `${want.name} weight`);
        assert.equal(s.groups, want.group);
        assert.deepEqual(s.strides, want.strides);
        assert.deepEqual(s.dilations, want.dilations);
      }
    } else {
      const s = got.shape as ModelLinearShape;
      assert.deepEqual([s.N, s.I], want.input, `${want.name} input`);
      assert.deepEqual([s.N, s.O], want.output, `${want.name} output`);
    }
  }
}

const sum = (layers: ModelLayer[], f: (l: ModelLayer) => number): number => layers.reduce((a, l) => a + f(l), 0);

test('ResNet-18 (224x224): 20 convolutions and the classifier, 1.81 G multiply-adds, 11.68 M weights', { skip: needsOnnx }, async () => {
  const report = await readModel(join(nets, 'resnet18.onnx'));
  assertMatchesOnnx(report, expected('resnet18').layers);
  assert.equal(report.source, 'graph');
  assert.deepEqual(report.input, { name: 'input', dims: [1, 3, 224, 224], shape: [1, 3, 224, 224], from: 'file' });
  assert.deepEqual(report.layers.map((l) => l.op).filter((op) => op === 'conv').length, 20);
  assert.equal(report.layers.at(-1)!.op, 'linear');
  // He et al. (table 1) give 1.8e9 FLOPs (multiply-adds); torchvision counts 1.814 G, 11.69 M parameters
  // (of which 9,600 are BatchNorm's, not in any layer's row).
  assert.equal(report.total.flops, 2 * 1_814_073_344);
  assert.ok(Math.abs(report.total.flops / 2 / 1.8e9 - 1) < 0.01);
  assert.equal(report.total.params, 11_689_512 - 9_600);
  // Totals are the sums of the rows.
  assert.equal(report.total.flops, sum(report.layers, (l) => l.flops!));
  assert.equal(report.total.params, sum(report.layers, (l) => l.params));
  assert.equal(report.total.flopsUnknown, 0);
  assert.deepEqual(report.notes, []);
});

test('MobileNet-v1 1.0/224: 13 depthwise, 14 full convolutions and the classifier, 569 M multiply-adds', { skip: needsOnnx }, async () => {
  const report = await readModel(join(nets, 'mobilenet_v1.onnx'));
  assertMatchesOnnx(report, expected('mobilenet_v1').layers);
  const ops = report.layers.map((l) => l.op);
  assert.equal(ops.filter((op) => op === 'depthwise').length, 13);
  assert.equal(ops.filter((op) => op === 'conv').length, 14);
  // Howard et al. (table 1 and 8): 569 million mult-adds, 4.2 million parameters (BatchNorm left out).
  assert.ok(Math.abs(report.total.flops / 2 / 569e6 - 1) < 0.001, `${report.total.flops / 2}`);
  assert.ok(Math.abs(report.total.params / 4.2e6 - 1) < 0.01, `${report.total.params}`);
  const dw2 = report.layers.find((l) => l.name === 'dw2')!;
  assert.deepEqual(dw2.shape, { N: 1, C: 64, H: 112, W: 112, K: 64, R: 3, S: 3, P: 56, Q: 56, strides: [2, 2], pads: [1, 1, 1, 1], groups: 64, dilations: [1, 1] });
  assert.equal(dw2.winograd.applicable, false);
  assert.match(dw2.winograd.reason!, /depthwise/);
});

test('a dynamic input leaves sizes unknown and asks for --input; with it, every layer matches shape inference', { skip: needsOnnx }, async () => {
  const file = join(nets, 'mixed.onnx');
  const open = await readModel(file);
  assert.equal(open.layers.length, 6);
  assert.ok(open.layers.every((l) => l.flops === null && l.needs === 'input size'));
  assert.deepEqual(open.input, { name: 'input', dims: ['N', 3, 'H', 'W'], shape: null, from: 'none' });
  assert.ok(open.notes.some((n) => /dynamic dimensions \[N, 3, H, W\]: give --input/.test(n)), open.notes.join('\n'));
  assert.equal(open.total.flops, 0);
  assert.equal(open.total.flopsUnknown, 6);

  const sized = await readModel(file, { input: [1, 3, 64, 64] });
  assertMatchesOnnx(sized, expected('mixed').layers);
  assert.deepEqual(sized.layers.map((l) => l.op), ['conv', 'grouped', 'conv', 'conv', 'convTranspose', 'linear']);
  const [stem, , dilated, same, up] = sized.layers.map((l) => l.shape as ModelConvShape);
  assert.deepEqual(stem!.pads, [0, 0, 1, 1]);
  assert.deepEqual(dilated!.dilations, [2, 2]);
  // SAME_UPPER, 5x5 stride 2 on 32: 16 outputs need 3 rows of padding, the odd one after.
  assert.deepEqual(same!.pads, [1, 1, 2, 2]);
  assert.deepEqual([up!.C, up!.K, up!.H, up!.P], [32, 8, 16, 32]);
  assert.equal(sized.layers[4]!.winograd.reason, 'a transposed convolution; the engine does not run it');
  assert.ok(sized.notes.some((n) => /'proj'.*computed by node 'proj_weight_t' \(Transpose\)/.test(n)), sized.notes.join('\n'));
  assert.equal(sized.total.flops, sum(sized.layers, (l) => l.flops!));

  await assert.rejects(readModel(file, { input: [1, 3, 64] }), /mixed\.onnx: input 'input' has 4 dimensions \[N, 3, H, W\], but the given input shape \[1, 3, 64\] has 3/);
});

test('input shapes must be whole positive numbers', () => {
  assert.equal(checkInputShape([1, 3, 224, 224]), undefined);
  assert.match(checkInputShape([1, 0, 2, 2])!, /at least 1, got 0/);
  assert.match(checkInputShape([3])!, /2 to 5 dimensions/);
});

test('Winograd fit on ResNet-18: F(6,3) on 56x56 and 28x28, F(5,3) on 14x14, F(4,3) on 7x7, stride 2 by F(7,3) stride 2', { skip: needsOnnx }, async () => {
  const report = await readModel(join(nets, 'resnet18.onnx'));
  const layer = (name: string): ModelLayer => report.layers.find((l) => l.name === name)!;
  const conv2 = layer('layer1.0.conv1').winograd;
  // 56x56 outputs: F(2,3) 28^2 tiles x 16, F(4,3) 14^2 x 36, F(5,3) 12^2 x 49, F(6,3) 10^2 x 64, F(7,3) 8^2 x 81
  // products; direct 56^2 x 9.
  assert.deepEqual(conv2.tiles.map((t) => [t.algo, t.tiles, t.products]), [
    ['winograd-2x3', 784, 12544],
    ['winograd-4x3', 196, 7056],
    ['winograd-5x3', 144, 7056],
    ['winograd-6x3', 100, 6400],
    ['winograd-7x3', 64, 5184],
  ]);
  assert.equal(conv2.tiles[3]!.reduction, (56 * 56 * 9) / 6400);
  assert.match(conv2.tiles[4]!.outsideBudget!, /40-54x/);
  assert.deepEqual(conv2.chosen, { algo: 'winograd-6x3', tile: 'F(6,3)' });
  // 14x14: F(5,3) 3^2 tiles x 49 = 441 products, F(4,3) and F(6,3) 576, F(7,3) 2^2 x 81 = 324 (outside the budget).
  const conv4 = layer('layer3.1.conv1').winograd;
  assert.deepEqual(conv4.tiles.filter((t) => t.algo !== 'winograd-2x3').map((t) => [t.algo, t.products]), [
    ['winograd-4x3', 576], ['winograd-5x3', 441], ['winograd-6x3', 576], ['winograd-7x3', 324],
  ]);
  assert.deepEqual(conv4.chosen, { algo: 'winograd-5x3', tile: 'F(5,3)' });
  // 7x7: F(4,3) covers it with 4 tiles (3.06x fewer products), F(6,3) with 4 tiles of 64.
  const conv5 = layer('layer4.1.conv1').winograd;
  assert.equal(conv5.tiles.find((t) => t.algo === 'winograd-4x3')!.reduction, 441 / 144);
  assert.deepEqual(conv5.chosen, { algo: 'winograd-4x3', tile: 'F(4,3)' });
  // 3x3 stride 2 to 28x28: alpha = 2(m-1)+3: 9^2 per 4x4 tile (49 tiles), 15^2 per 7x7 tile (16 tiles).
  const down = layer('layer2.0.conv1').winograd;
  assert.deepEqual(down.tiles.map((t) => [t.tile, t.products]), [['F(4,3) stride 2', 49 * 81], ['F(7,3) stride 2', 16 * 225]]);
  assert.deepEqual(down.chosen, { algo: 'winograd-7x3s2', tile: 'F(7,3) stride 2' });
  assert.match(layer('conv1').winograd.reason!, /7x7/);
  assert.match(layer('fc').winograd.reason!, /matrix product/);
});

test('TFLite BlazeFace: every CONV_2D and DEPTHWISE_CONV_2D, sizes as stored, SAME padding consistent with them', async () => {
  const file = join(TEST_MODELS_DIR, 'face_detection_short_range.tflite');
  const report = await readModel(file);
  const info = await inspectTflite(file);
  // The parser's FLOPs per kernel come from the stored output sizes; the layers' from their geometry.
  const byWeight = new Map<string, number>();
  for (const l of report.layers) byWeight.set(l.weight, (byWeight.get(l.weight) ?? 0) + l.flops!);
  assert.deepEqual(Object.fromEntries(byWeight), info.flopsByTensor);
  assert.ok(report.layers.length > 30);
  assert.deepEqual(report.input, { name: 'input', dims: [1, 128, 128, 3], shape: [1, 128, 128, 3], from: 'file' });
  for (const l of report.layers) {
    if (!isConvShape(l.shape)) continue;
    const s = l.shape;
    assert.equal(convOutputSize(s.H!, s.R, s.strides[0], s.dilations[0], s.pads![0], s.pads![2]), s.P, l.name);
    assert.equal(convOutputSize(s.W!, s.S, s.strides[1], s.dilations[1], s.pads![1], s.pads![3]), s.Q, l.name);
  }
  const first = report.layers[0]!;
  assert.equal(first.name, 'conv2d');
  assert.equal(first.opType, 'CONV_2D');
  // 5x5 stride 2 SAME on 128: 64 outputs, 3 rows of padding, the odd one after (TensorFlow's rule).
  assert.deepEqual(first.shape, { N: 1, C: 3, H: 128, W: 128, K: 24, R: 5, S: 5, P: 64, Q: 64, strides: [2, 2], pads: [1, 1, 2, 2], groups: 1, dilations: [1, 1] });
  assert.equal(first.params, 24 * 5 * 5 * 3 + 24);
  const dw = report.layers[1]!;
  assert.deepEqual([dw.op, dw.opType, (dw.shape as ModelConvShape).groups], ['depthwise', 'DEPTHWISE_CONV_2D', 24]);
  assert.equal(report.total.flops, sum(report.layers, (l) => l.flops!));
});

test('ONNX BlazeFace (tf2onnx): the 37 layers carry the FLOPs the graph counter gives their weights', async () => {
  const file = join(TEST_MODELS_DIR, 'face_detection_front_128x128_barracuda.onnx');
  const report = await readModel(file);
  const model = await onnxParser.open(file, { graphFlops: true });
  await model.close();
  assert.equal(report.layers.length, 37);
  assert.deepEqual(Object.fromEntries(report.layers.map((l) => [l.weight, l.flops])), model.flopsByTensor);
  assert.equal(report.total.flops, 61521920);
});

test('weights without a graph: layers from names and shapes, sizes only from --input along a sequential chain', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'deep-accel-model-'));
  try {
    const file = join(folder, 'net.safetensors');
    const zeros = (n: number): number[] => new Array<number>(n).fill(0.5);
    await writeSafetensors(file, [
      { name: 'features.0.weight', dtype: 'F32', shape: [16, 3, 3, 3], data: zeros(432) },
      { name: 'features.0.bias', dtype: 'F32', shape: [16], data: zeros(16) },
      { name: 'features.1.weight', dtype: 'F32', shape: [16, 1, 3, 3], data: zeros(144) },
      { name: 'features.2.weight', dtype: 'F32', shape: [32, 16, 1, 1], data: zeros(512) },
      { name: 'features.2.bn.running_mean', dtype: 'F32', shape: [32], data: zeros(32) },
      { name: 'classifier.weight', dtype: 'F32', shape: [10, 32], data: zeros(320) },
      { name: 'classifier.bias', dtype: 'F32', shape: [10], data: zeros(10) },
    ]);
    const bare = await readModel(file);
    assert.equal(bare.source, 'weights');
    assert.deepEqual(bare.layers.map((l) => [l.name, l.op, l.params, l.flops, l.needs]), [
      ['features.0', 'conv', 448, null, 'input size'],
      ['features.1', 'depthwise', 144, null, 'input size'],
      ['features.2', 'conv', 512, null, 'input size'],
      ['classifier', 'linear', 330, null, 'input size'],
    ]);
    assert.ok(bare.notes.some((n) => /1 kernel of shape \[K, 1, R, S\] taken as depthwise/.test(n)), bare.notes.join('\n'));
    assert.ok(bare.notes.some((n) => /need the input size/.test(n)));

    const sized = await readModel(file, { input: [2, 3, 32, 32] });
    // Stride 1, same padding: 32x32 throughout, then global pooling before the classifier.
    assert.deepEqual(sized.layers.map((l) => l.flops), [
      2 * 2 * 16 * 3 * 9 * 32 * 32,
      2 * 2 * 16 * 1 * 9 * 32 * 32,
      2 * 2 * 32 * 16 * 32 * 32,
      2 * 2 * 32 * 10,
    ]);
    assert.equal((sized.layers[1]!.shape as ModelConvShape).groups, 16);
    assert.ok(sized.notes.some((n) => /strides 1 and "same" padding assumed/.test(n)));
    assert.ok(sized.notes.some((n) => /global pooling assumed before it/.test(n)));

    // An input whose channels do not match the first layer breaks the chain there.
    const broken = await readModel(file, { input: [1, 4, 8, 8] });
    assert.ok(broken.layers.every((l) => l.flops === null));
    assert.ok(broken.notes.some((n) => /sizes stop at 'features.0': it takes 3 input channels per group, the layer before gives 4/.test(n)), broken.notes.join('\n'));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('TF.js tiny face detector (no topology in the manifest): depthwise [R, S, C, 1] kernels are depthwise over C', async () => {
  const report = await readModel(join(TEST_MODELS_DIR, 'tiny_face_detector_model-weights_manifest.json'), { input: [1, 3, 416, 416] });
  assert.equal(report.source, 'weights');
  assert.deepEqual(report.layers.map((l) => l.op), ['conv', ...Array.from({ length: 5 }, () => ['depthwise', 'conv']).flat(), 'conv']);
  const dw = report.layers.find((l) => l.name === 'conv3/depthwise_filter')!;
  assert.deepEqual([dw.shape, dw.params], [{ N: 1, C: 64, H: 416, W: 416, K: 64, R: 3, S: 3, P: 416, Q: 416, strides: [1, 1], pads: [1, 1, 1, 1], groups: 64, dilations: [1, 1] }, 576]);
  assert.equal(dw.flops, 2 * 64 * 9 * 416 * 416);
});

test('a torch.save state_dict (pickled in torch\'s zip layout, no graph): layers from its weights, sizes from --input, totals the sum of the rows', async () => {
  // conv.weight [2, 1, 2, 2] over the 2 channels given: depthwise; fc.weight [3, 2] after global pooling.
  const report = await readModel(fixture('pytorch', 'state_dict_p4.pt'), { input: [1, 2, 5, 5] });
  assert.equal(report.source, 'weights');
  assert.deepEqual(report.layers.map((l) => [l.name, l.op, l.weight, l.params]), [
    ['conv', 'depthwise', 'conv.weight', 8 + 2],
    ['fc', 'linear', 'fc.weight', 6],
  ]);
  // 2x2 "same": one row and column of padding after; 5x5 out. 2*N*K*(C/groups)*R*S*P*Q and 2*N*I*O.
  assert.deepEqual(report.layers[0]!.shape, { N: 1, C: 2, H: 5, W: 5, K: 2, R: 2, S: 2, P: 5, Q: 5, strides: [1, 1], pads: [0, 0, 1, 1], groups: 2, dilations: [1, 1] });
  assert.deepEqual(report.layers.map((l) => l.flops), [2 * 1 * 2 * 1 * 2 * 2 * 5 * 5, 2 * 1 * 2 * 3]);
  assert.deepEqual(report.total, { layers: 2, params: 16, flops: 412, flopsUnknown: 0 });
});
