import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
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
      const extent = (layer.shape.dilation ?? 1) * (layer.shape.R - 1) + 1;
      assert.equal(P, Math.floor((layer.shape.H + 2 * layer.shape.pad - extent) / layer.shape.stride) + 1);
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

/** Convolution shapes torchvision's models run (forward hooks; test/fixtures/bench/make_suite_shapes.py). */
interface TorchConv { C: number; H: number; W: number; K: number; R: number; S: number; stride: number; pad: number; groups: number; dilation: number; P: number; Q: number }
const torchvision = JSON.parse(readFileSync(path.join(__dirname, '../../../fixtures/bench/torchvisionConvShapes.json'), 'utf8')) as Record<'mobilenet_v2' | 'resnext50_32x4d' | 'aspp_6_12_18', TorchConv[]>;

const torchKey = (c: TorchConv): string => [c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad, c.groups, c.dilation, c.P, c.Q].join(',');

/** Each layer of the table repeated by its count, keyed like the torchvision shapes, sorted. */
function tableKeys(layers: readonly { shape: Parameters<typeof convOutputSize>[0]; count: number }[]): string[] {
  return layers
    .flatMap(({ shape, count }) => {
      const { P, Q } = convOutputSize(shape);
      const key = [shape.C, shape.H, shape.W, shape.K, shape.R, shape.S, shape.stride, shape.pad, shape.groups ?? 1, shape.dilation ?? 1, P, Q].join(',');
      return Array.from({ length: count }, () => key);
    })
    .sort();
}

const macs = (layers: readonly { shape: Parameters<typeof convOutputSize>[0]; count: number }[]): number =>
  layers.reduce((sum, layer) => sum + (layer.count * convDirectFlops(layer.shape)) / 2, 0);

test('MobileNet v2: the paper\'s Table 2 walked row by row gives the table\'s layers and 300 M mult-adds; torchvision runs the same 52 convolutions', () => {
  const layers = SUITE_TABLES['mobilenet-v2'].layers;
  // Table 2's rows (t, c, n, s) after the 3x3 stride-2 conv to 32 channels at 112x112.
  const rows = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  let channels = 32;
  let side = 112;
  let expected = 3 * 32 * 9 * 112 * 112;
  let convs = 1;
  for (const [t, c, n, s] of rows) {
    for (let block = 0; block < n; block++) {
      const stride = block === 0 ? s : 1;
      const hidden = channels * t;
      const out = side / stride;
      if (t !== 1) expected += channels * hidden * side * side;
      expected += hidden * 9 * out * out + hidden * c * out * out;
      convs += t === 1 ? 2 : 3;
      channels = c;
      side = out;
    }
  }
  expected += 320 * 1280 * 7 * 7;
  convs += 1;
  assert.equal(macs(layers), expected);
  assert.equal(macs(layers), 299_494_272);
  assert.equal(layers.reduce((sum, layer) => sum + layer.count, 0), convs);
  assert.equal(convs, 52);
  // With the 1280x1000 classifier, 300.8 M: the paper's "300M" (Table 4).
  assert.equal(Math.round((299_494_272 + 1280 * 1000) / 1e7) * 10, 300);
  assert.deepEqual(tableKeys(layers), torchvision.mobilenet_v2.map(torchKey).sort());
  assert.deepEqual(convOutputSize(suiteLayers('mobilenet-v2', ['bn6_1_dw'])[0].shape), { P: 7, Q: 7 });
  assert.equal(suiteLayers('mobilenet-v2', ['bn6_1_dw'])[0].shape.groups, 576);
  assert.match(SUITE_TABLES['mobilenet-v2'].description, /Sandler et al\. 2018, Table 2/);
});

test('ResNeXt-50 32x4d: 53 convolutions with 32-group 3x3s, 4.2 G mult-adds (Xie et al. Table 1), the shapes torchvision runs', () => {
  const layers = SUITE_TABLES.resnext50.layers;
  assert.equal(layers.reduce((sum, layer) => sum + layer.count, 0), 53);
  // Per stage (blocks, width of the grouped 3x3, output channels, input side): Table 1's conv2..conv5.
  let expected = 3 * 64 * 49 * 112 * 112;
  let channels = 64;
  for (const [blocks, width, out, side] of [[3, 128, 256, 56], [4, 256, 512, 56], [6, 512, 1024, 28], [3, 1024, 2048, 14]]) {
    const stride = side === 56 && out === 256 ? 1 : 2;
    const after = side / stride;
    expected += channels * out * after * after; // projection shortcut
    for (let block = 0; block < blocks; block++) {
      const inSide = block === 0 ? side : after;
      expected += channels * width * inSide * inSide + (width / 32) * width * 9 * after * after + width * out * after * after;
      channels = out;
    }
  }
  assert.equal(macs(layers), expected);
  assert.equal(macs(layers), 4_228_431_872);
  assert.equal(Math.round((4_228_431_872 + 2048 * 1000) / 1e8) / 10, 4.2);
  for (const layer of layers.filter((l) => l.shape.R === 3)) assert.equal(layer.shape.groups, 32, layer.name);
  assert.deepEqual(tableKeys(layers), torchvision.resnext50_32x4d.map(torchKey).sort());
  assert.match(SUITE_TABLES.resnext50.description, /Xie et al\. 2017, Table 1/);
});

test('dilated (DeepLab-v3): ASPP at rates 6, 12, 18 on 2048->256 at 33x33 as torchvision builds it, block4 at rates 2, 4, 8; sizes kept, flops by hand', () => {
  const layers = SUITE_TABLES.dilated.layers;
  const aspp = layers.filter((layer) => layer.name.startsWith('aspp_'));
  assert.deepEqual(tableKeys(aspp), torchvision.aspp_6_12_18.map(torchKey).sort());
  assert.deepEqual(layers.filter((l) => l.name.startsWith('block4')).map((l) => l.shape.dilation), [2, 4, 8]);
  for (const layer of layers) {
    assert.deepEqual(convOutputSize(layer.shape), layer.name === 'aspp_pool' ? { P: 1, Q: 1 } : { P: 33, Q: 33 }, layer.name);
  }
  // 512*512*9*33*33 per block4 3x3; 2048*256*9*33*33 per ASPP 3x3; 2048*256*33*33; 2048*256; 1280*256*33*33.
  assert.equal(macs(layers), 3 * 2_569_273_344 + 3 * 5_138_546_688 + 570_949_632 + 524_288 + 356_843_520);
  assert.match(SUITE_TABLES.dilated.description, /Chen et al\. 2017/);
});
