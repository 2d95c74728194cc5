import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readModel } from '../../../../extension/core/model/readModel';
import type { ModelConvShape } from '../../../../extension/shared/payloads';
import { fixture } from '../../../paths';

const conv = (N: number, C: number, H: number, K: number, R: number, P: number, extra: Partial<ModelConvShape> = {}): ModelConvShape => ({
  N, C, H, W: H, K, R, S: R, P, Q: P, strides: [1, 1], pads: [0, 0, 0, 0], groups: 1, dilations: [1, 1], ...extra,
});

test('Keras 2 .h5 Sequential model_config: shapes followed through BatchNorm, pooling and a SeparableConv2D', async () => {
  const report = await readModel(fixture('keras', 'keras2_sequential.h5'));
  assert.equal(report.source, 'graph');
  assert.deepEqual(report.input, { name: 'stem', dims: ['?', 32, 32, 3], shape: [1, 32, 32, 3], from: 'file' });
  assert.deepEqual(report.layers.map((l) => [l.name, l.op, l.weight, l.params]), [
    ['stem', 'conv', 'model_weights/stem/stem/kernel:0', 3 * 3 * 3 * 8 + 8],
    ['dw', 'depthwise', 'model_weights/dw/dw/depthwise_kernel:0', 3 * 3 * 8 + 8],
    ['pw', 'conv', 'model_weights/pw/pw/kernel:0', 8 * 16],
    ['sep (depthwise)', 'depthwise', 'model_weights/sep/sep/depthwise_kernel:0', 3 * 3 * 16 * 2],
    ['sep (pointwise)', 'conv', 'model_weights/sep/sep/pointwise_kernel:0', 32 * 16 + 16],
    ['fc', 'linear', 'model_weights/fc/fc/kernel:0', 16 * 10 + 10],
  ]);
  // 3x3 stride 2 SAME on 32: 16 outputs, one row of padding, after (TensorFlow's rule).
  assert.deepEqual(report.layers[0]!.shape, conv(1, 3, 32, 8, 3, 16, { strides: [2, 2], pads: [0, 0, 1, 1] }));
  assert.deepEqual(report.layers[1]!.shape, conv(1, 8, 16, 8, 3, 16, { pads: [1, 1, 1, 1], groups: 8 }));
  // Max pooling 2x2 halves 16 to 8; the separable 3x3 VALID gives 6, with depth multiplier 2: 32 channels.
  assert.deepEqual(report.layers[3]!.shape, conv(1, 16, 8, 32, 3, 6, { groups: 16 }));
  assert.deepEqual(report.layers[4]!.shape, conv(1, 32, 6, 16, 1, 6));
  assert.deepEqual(report.layers[5]!.shape, { N: 1, I: 16, O: 10 });
  assert.deepEqual(report.layers.map((l) => l.flops), [
    2 * 8 * 3 * 9 * 16 * 16,
    2 * 8 * 1 * 9 * 16 * 16,
    2 * 16 * 8 * 16 * 16,
    2 * 32 * 1 * 9 * 6 * 6,
    2 * 16 * 32 * 6 * 6,
    2 * 16 * 10,
  ]);
  assert.equal(report.total.flops, report.layers.reduce((a, l) => a + l.flops!, 0));
});

test('Keras 3 .keras Functional config.json: inbound keras_history, Concatenate, dilation, Conv2DTranspose; --input resizes', async () => {
  const file = fixture('keras', 'keras3_functional.keras');
  const report = await readModel(file);
  assert.deepEqual(report.layers.map((l) => [l.name, l.op, l.weight]), [
    ['a', 'conv', 'layers/a/vars/0'],
    ['b', 'conv', 'layers/b/vars/0'],
    ['up', 'convTranspose', 'layers/up/vars/0'],
    ['head', 'linear', 'layers/head/vars/0'],
  ]);
  assert.deepEqual(report.layers[1]!.shape, conv(1, 4, 16, 8, 3, 16, { pads: [2, 2, 2, 2], dilations: [2, 2] }));
  // The concatenation of a and b has 16 channels; the 2x2 stride-2 transpose doubles 16 to 32.
  assert.deepEqual(report.layers[2]!.shape, conv(1, 16, 16, 4, 2, 32, { strides: [2, 2] }));
  assert.equal(report.layers[2]!.flops, 2 * 16 * 16 * 16 * 4 * 4);
  assert.deepEqual(report.layers[3]!.shape, { N: 1, I: 32 * 32 * 4, O: 5 });

  const bigger = await readModel(file, { input: [2, 32, 32, 4] });
  assert.deepEqual([bigger.layers[0]!.shape as ModelConvShape].map((s) => [s.N, s.H, s.P]), [[2, 32, 32]]);
  // The Dense kernel is [4096, 5]: a 32x32 input gives 16384 features, which it does not take.
  assert.ok(bigger.notes.some((n) => /Dense 'head': its kernel \[4096, 5\] does not take the 16384 features/.test(n)), bigger.notes.join('\n'));
  await assert.rejects(readModel(file, { input: [1, 16, 16] }), /keras3_functional\.keras: input 'image' has 4 dimensions/);
});

test('TF.js layers model.json: modelTopology with Keras 2 inbound nodes', async () => {
  const report = await readModel(fixture('keras', 'tfjs_layers.json'));
  assert.deepEqual(report.layers.map((l) => [l.name, l.op, l.weight, l.bias, l.params, l.flops]), [
    ['conv', 'conv', 'conv/kernel', 'conv/bias', 5 * 5 * 3 * 6 + 6, 2 * 6 * 3 * 25 * 20 * 20],
    // 24 - 5 + 1 = 20, pooled to 10: 10 x 10 x 6 = 600 features.
    ['dense', 'linear', 'dense/kernel', 'dense/bias', 600 * 4 + 4, 2 * 600 * 4],
  ]);
});

test('Keras 2 nested model: a Functional base model inside a Sequential is read as its layers, named base/layer as its weights are stored', async () => {
  const report = await readModel(fixture('keras', 'keras2_nested.h5'));
  assert.deepEqual(report.layers.map((l) => [l.name, l.op, l.weight, l.params]), [
    ['mobilenet_mini/conv1', 'conv', 'model_weights/mobilenet_mini/conv1/kernel:0', 3 * 3 * 3 * 8],
    ['mobilenet_mini/conv_dw_1', 'depthwise', 'model_weights/mobilenet_mini/conv_dw_1/depthwise_kernel:0', 3 * 3 * 8],
    ['mobilenet_mini/conv_pw_1', 'conv', 'model_weights/mobilenet_mini/conv_pw_1/kernel:0', 8 * 16],
    ['predictions', 'linear', 'model_weights/predictions/predictions/kernel:0', 16 * 4 + 4],
  ]);
  // The base model's input takes the outer input: 3x3 stride 2 SAME on 32 gives 16; the head reads the pooled 16 channels.
  assert.deepEqual(report.layers[0]!.shape, conv(1, 3, 32, 8, 3, 16, { strides: [2, 2], pads: [0, 0, 1, 1] }));
  assert.deepEqual(report.layers[1]!.shape, conv(1, 8, 16, 8, 3, 16, { pads: [1, 1, 1, 1], groups: 8 }));
  assert.deepEqual(report.layers[2]!.shape, conv(1, 8, 16, 16, 1, 16));
  assert.deepEqual(report.layers[3]!.shape, { N: 1, I: 16, O: 4 });
  assert.deepEqual(report.layers.map((l) => l.flops), [2 * 8 * 3 * 9 * 16 * 16, 2 * 8 * 9 * 16 * 16, 2 * 16 * 8 * 16 * 16, 2 * 16 * 4]);
  assert.equal(report.total.flops, report.layers.reduce((a, l) => a + l.flops!, 0));
  assert.deepEqual(report.notes, []);
  // A given input flows into the base model too.
  const bigger = await readModel(fixture('keras', 'keras2_nested.h5'), { input: [1, 64, 64, 3] });
  assert.deepEqual(bigger.layers.map((l) => (l.shape as ModelConvShape).P ?? null), [32, 32, 32, null]);
});
