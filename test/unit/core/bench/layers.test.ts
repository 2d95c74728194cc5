import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SUITE_TABLES,
  convDirectFlops,
  convOutputSize,
  parseConvShape,
  shapeLabel,
  suiteLayers,
} from '../../../../extension/core/bench/layers';

test('ResNet-18 conv1: 112x112 output and 118,013,952 multiply-adds', () => {
  const [conv1] = suiteLayers('resnet18', ['conv1']);
  assert.deepEqual(convOutputSize(conv1.shape), { P: 112, Q: 112 });
  // 64 filters * 3*7*7 taps * 112*112 outputs = 118,013,952 MACs (the figure usually quoted).
  assert.equal(convDirectFlops(conv1.shape), 2 * 118_013_952);
});

test('VGG-16 conv3_2 (256x56x56, 3x3): 2*256*256*9*56*56 flops', () => {
  const [layer] = suiteLayers('vgg16', ['conv3_2']);
  assert.deepEqual(layer.shape, { N: 1, C: 256, H: 56, W: 56, K: 256, R: 3, S: 3, stride: 1, pad: 1 });
  assert.equal(convDirectFlops(layer.shape), 3_699_376_128);
});

test('whole networks: layer counts and total multiply-adds match the published figures', () => {
  const count = (suite: keyof typeof SUITE_TABLES): number =>
    SUITE_TABLES[suite].layers.reduce((sum, layer) => sum + layer.count, 0);
  assert.equal(count('resnet18'), 20); // 17 convs on the main path + 3 downsample shortcuts
  assert.equal(count('resnet50'), 53); // 49 + 4 shortcuts
  assert.equal(count('vgg16'), 13);
  assert.equal(count('mobilenet-v1'), 27); // conv1 + 13 depthwise + 13 pointwise
  const macs = (suite: keyof typeof SUITE_TABLES): number =>
    SUITE_TABLES[suite].layers.reduce((sum, layer) => sum + (layer.count * convDirectFlops(layer.shape)) / 2, 0);
  // VGG-16's 13 convs: 15.35 GMACs (the 15.5 G usually quoted adds the FC layers' 0.12 G).
  assert.equal(macs('vgg16'), 15_346_630_656);
  // ResNet-18 convs: 1.814 GMACs (1.82 G quoted, with the FC layer's 0.5 M).
  assert.equal(macs('resnet18'), 1_813_561_344);
  // MobileNet v1: conv1 10,838,016 + depthwise 17,385,984 + pointwise 539,492,352 (hand sums of
  // C*9*P*Q and C*K*P*Q); with the FC layer's 1,024,000 that is the paper's 569 M mult-adds, and
  // depthwise is its 3.06% (Howard et al. 2017, Table 2).
  assert.equal(macs('mobilenet-v1'), 567_716_352);
  const depthwise = SUITE_TABLES['mobilenet-v1'].layers.filter((layer) => layer.name.startsWith('dw'));
  assert.equal(depthwise.reduce((sum, layer) => sum + (layer.count * convDirectFlops(layer.shape)) / 2, 0), 17_385_984);
  assert.ok(Math.abs((17_385_984 / (567_716_352 + 1_024_000)) * 100 - 3.06) < 0.01);
});

test('every suite layer has a valid shape with integer output size', () => {
  for (const table of Object.values(SUITE_TABLES)) {
    for (const layer of table.layers) {
      const { P, Q } = convOutputSize(layer.shape);
      assert.ok(P >= 1 && Q >= 1, `${table.suite}/${layer.name}`);
      // Every table layer divides evenly: (H + 2 pad - R) is a multiple of the stride, or the
      // stride-2 layers keep the classic floor (224 + 6 - 7) / 2.
      assert.equal(P, Math.floor((layer.shape.H + 2 * layer.shape.pad - layer.shape.R) / layer.shape.stride) + 1);
    }
  }
});

test('MobileNet v1 depthwise layers: output sizes of the paper\'s Table 1, one group per channel', () => {
  const outputs: Record<string, [number, number]> = {
    dw1: [32, 112], dw2: [64, 56], dw3: [128, 56], dw4: [128, 28], dw5: [256, 28], dw6: [256, 14],
    dw7_11: [512, 14], dw12: [512, 7], dw13: [1024, 7],
  };
  const layers = suiteLayers('mobilenet-v1', Object.keys(outputs));
  for (const layer of layers) {
    const [channels, side] = outputs[layer.name];
    assert.equal(layer.shape.K, channels, layer.name);
    assert.equal(layer.shape.groups, layer.shape.C, layer.name);
    assert.deepEqual(convOutputSize(layer.shape), { P: side, Q: side }, layer.name);
  }
  assert.equal(SUITE_TABLES['mobilenet-v1'].omitted, undefined);
});

test('parseConvShape: defaults, full form and errors naming the argument', () => {
  assert.deepEqual(parseConvShape('1,64,56,56,64,3,3'), { N: 1, C: 64, H: 56, W: 56, K: 64, R: 3, S: 3, stride: 1, pad: 0 });
  assert.deepEqual(parseConvShape('2, 3,10,12,4,5,5,2,2'), { N: 2, C: 3, H: 10, W: 12, K: 4, R: 5, S: 5, stride: 2, pad: 2 });
  assert.throws(() => parseConvShape('1,2,3', '--shape'), /--shape must be N,C,H,W,K,R,S.*got '1,2,3'/);
  assert.throws(() => parseConvShape('1,2,3,4,5,x,3', '--shape'), /--shape: item 6 \('x'\)/);
  assert.throws(() => parseConvShape('1,0,3,4,5,3,3', '--shape'), /--shape\.C must be a positive integer, got 0/);
  assert.throws(() => parseConvShape('1,1,2,2,1,3,3', '--shape'), /kernel 3x3 is larger than the padded input 2x2/);
  assert.equal(shapeLabel(parseConvShape('1,64,56,56,128,3,3,2,1')), '1x64x56x56-k128-3x3-s2p1');
});

test('suiteLayers: unknown layer names list the known ones', () => {
  assert.deepEqual(suiteLayers('vgg16', ['conv5_x', 'conv1_1']).map((l) => l.name), ['conv5_x', 'conv1_1']);
  assert.throws(() => suiteLayers('resnet18', ['conv9']), /resnet18 has no layer 'conv9'; its layers are conv1, conv2_x/);
});
