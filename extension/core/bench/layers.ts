/**
 * Layer tables of the benchmark suites: the distinct convolution shapes of each network at its
 * ImageNet input (224x224, batch 1), with how often each shape occurs, and the parser of custom
 * `--shape` strings.
 */
import type { BenchSuite, ConvShape } from '../../shared/payloads';
import { convShapeLabel } from '../../shared/format';
import { BENCH_SUITES } from '../../shared/payloads';
import { convDirectFlops, convOutputSize, validateConvShape } from '../conv/reference';

export interface BenchLayer {
  /** Name as in the paper / torchvision (conv3_x: every 3x3 of stage 3 after the first). */
  name: string;
  shape: ConvShape;
  /** How many layers of the network have exactly this shape (for whole-network estimates). */
  count: number;
}

export interface SuiteTable {
  suite: BenchSuite;
  description: string;
  layers: BenchLayer[];
  /** Layers of the network that no algorithm of the engine can run, and why: every run reports them as skipped. */
  omitted?: { layers: string[]; reason: string };
}

function conv(
  name: string,
  C: number,
  HW: number,
  K: number,
  RS: number,
  stride: number,
  pad: number,
  count = 1,
): BenchLayer {
  return { name, shape: { N: 1, C, H: HW, W: HW, K, R: RS, S: RS, stride, pad }, count };
}

const RESNET18: SuiteTable = {
  suite: 'resnet18',
  description: 'ResNet-18 (He et al. 2016), 224x224, batch 1; downsample shortcuts are 1x1 stride 2',
  layers: [
    conv('conv1', 3, 224, 64, 7, 2, 3),
    conv('conv2_x', 64, 56, 64, 3, 1, 1, 4),
    conv('conv3_1', 64, 56, 128, 3, 2, 1),
    conv('conv3_ds', 64, 56, 128, 1, 2, 0),
    conv('conv3_x', 128, 28, 128, 3, 1, 1, 3),
    conv('conv4_1', 128, 28, 256, 3, 2, 1),
    conv('conv4_ds', 128, 28, 256, 1, 2, 0),
    conv('conv4_x', 256, 14, 256, 3, 1, 1, 3),
    conv('conv5_1', 256, 14, 512, 3, 2, 1),
    conv('conv5_ds', 256, 14, 512, 1, 2, 0),
    conv('conv5_x', 512, 7, 512, 3, 1, 1, 3),
  ],
};

const RESNET50: SuiteTable = {
  suite: 'resnet50',
  description:
    'ResNet-50 v1.5 (torchvision: the stride sits on the 3x3 of each bottleneck), 224x224, batch 1',
  layers: [
    conv('conv1', 3, 224, 64, 7, 2, 3),
    conv('conv2_1a', 64, 56, 64, 1, 1, 0),
    conv('conv2_xa', 256, 56, 64, 1, 1, 0, 2),
    conv('conv2_xb', 64, 56, 64, 3, 1, 1, 3),
    // The stage-2 shortcut (1x1 64->256, stride 1) has the shape of conv2_xc, hence count 4.
    conv('conv2_xc', 64, 56, 256, 1, 1, 0, 4),
    conv('conv3_1a', 256, 56, 128, 1, 1, 0),
    conv('conv3_1b', 128, 56, 128, 3, 2, 1),
    conv('conv3_ds', 256, 56, 512, 1, 2, 0),
    conv('conv3_xa', 512, 28, 128, 1, 1, 0, 3),
    conv('conv3_xb', 128, 28, 128, 3, 1, 1, 3),
    conv('conv3_xc', 128, 28, 512, 1, 1, 0, 4),
    conv('conv4_1a', 512, 28, 256, 1, 1, 0),
    conv('conv4_1b', 256, 28, 256, 3, 2, 1),
    conv('conv4_ds', 512, 28, 1024, 1, 2, 0),
    conv('conv4_xa', 1024, 14, 256, 1, 1, 0, 5),
    conv('conv4_xb', 256, 14, 256, 3, 1, 1, 5),
    conv('conv4_xc', 256, 14, 1024, 1, 1, 0, 6),
    conv('conv5_1a', 1024, 14, 512, 1, 1, 0),
    conv('conv5_1b', 512, 14, 512, 3, 2, 1),
    conv('conv5_ds', 1024, 14, 2048, 1, 2, 0),
    conv('conv5_xa', 2048, 7, 512, 1, 1, 0, 2),
    conv('conv5_xb', 512, 7, 512, 3, 1, 1, 2),
    conv('conv5_xc', 512, 7, 2048, 1, 1, 0, 3),
  ],
};

const VGG16: SuiteTable = {
  suite: 'vgg16',
  description: 'VGG-16 (Simonyan & Zisserman 2015, configuration D), 224x224, batch 1; all 3x3 stride 1 pad 1',
  layers: [
    conv('conv1_1', 3, 224, 64, 3, 1, 1),
    conv('conv1_2', 64, 224, 64, 3, 1, 1),
    conv('conv2_1', 64, 112, 128, 3, 1, 1),
    conv('conv2_2', 128, 112, 128, 3, 1, 1),
    conv('conv3_1', 128, 56, 256, 3, 1, 1),
    conv('conv3_2', 256, 56, 256, 3, 1, 1, 2),
    conv('conv4_1', 256, 28, 512, 3, 1, 1),
    conv('conv4_2', 512, 28, 512, 3, 1, 1, 2),
    conv('conv5_x', 512, 14, 512, 3, 1, 1, 3),
  ],
};

/** A depthwise 3x3 convolution (groups = C, channel multiplier 1) with padding 1. */
function depthwise3x3(name: string, C: number, HW: number, stride: number, count = 1): BenchLayer {
  return { name, shape: { N: 1, C, H: HW, W: HW, K: C, R: 3, S: 3, stride, pad: 1, groups: C }, count };
}

const MOBILENET_V1: SuiteTable = {
  suite: 'mobilenet-v1',
  description:
    'MobileNet v1 1.0 (Howard et al. 2017, Table 1), 224x224, batch 1: the full first conv, the 13 depthwise 3x3 convs (groups = C, pad 1) and the 13 pointwise 1x1 convs in network order',
  layers: [
    conv('conv1', 3, 224, 32, 3, 2, 1),
    depthwise3x3('dw1', 32, 112, 1),
    conv('pw1', 32, 112, 64, 1, 1, 0),
    depthwise3x3('dw2', 64, 112, 2),
    conv('pw2', 64, 56, 128, 1, 1, 0),
    depthwise3x3('dw3', 128, 56, 1),
    conv('pw3', 128, 56, 128, 1, 1, 0),
    depthwise3x3('dw4', 128, 56, 2),
    conv('pw4', 128, 28, 256, 1, 1, 0),
    depthwise3x3('dw5', 256, 28, 1),
    conv('pw5', 256, 28, 256, 1, 1, 0),
    depthwise3x3('dw6', 256, 28, 2),
    conv('pw6', 256, 14, 512, 1, 1, 0),
    depthwise3x3('dw7_11', 512, 14, 1, 5),
    conv('pw7_11', 512, 14, 512, 1, 1, 0, 5),
    depthwise3x3('dw12', 512, 14, 2),
    conv('pw12', 512, 7, 1024, 1, 1, 0),
    depthwise3x3('dw13', 1024, 7, 1),
    conv('pw13', 1024, 7, 1024, 1, 1, 0),
  ],
};

/** The three convolutions of an inverted-residual block: expansion 1x1 (left out at t = 1), depthwise 3x3, projection 1x1. */
function invertedResidual(name: string, C: number, HW: number, expansion: number, K: number, stride: number, count = 1): BenchLayer[] {
  const hidden = C * expansion;
  const out = Math.floor((HW + 2 - 3) / stride) + 1;
  return [
    ...(expansion === 1 ? [] : [conv(`${name}_expand`, C, HW, hidden, 1, 1, 0, count)]),
    depthwise3x3(`${name}_dw`, hidden, HW, stride, count),
    conv(`${name}_project`, hidden, out, K, 1, 1, 0, count),
  ];
}

const MOBILENET_V2: SuiteTable = {
  suite: 'mobilenet-v2',
  description:
    'MobileNet v2 1.0 (Sandler et al. 2018, Table 2), 224x224, batch 1: the first conv, then per bottleneck the expansion 1x1 (none at t = 1), the depthwise 3x3 (pad 1, stride on the first block of a row) and the projection 1x1, the last 1x1 to 1280; bnI_1 is the first block of row I, bnI_x its repeats',
  layers: [
    conv('conv1', 3, 224, 32, 3, 2, 1),
    ...invertedResidual('bn1', 32, 112, 1, 16, 1),
    ...invertedResidual('bn2_1', 16, 112, 6, 24, 2),
    ...invertedResidual('bn2_x', 24, 56, 6, 24, 1),
    ...invertedResidual('bn3_1', 24, 56, 6, 32, 2),
    ...invertedResidual('bn3_x', 32, 28, 6, 32, 1, 2),
    ...invertedResidual('bn4_1', 32, 28, 6, 64, 2),
    ...invertedResidual('bn4_x', 64, 14, 6, 64, 1, 3),
    ...invertedResidual('bn5_1', 64, 14, 6, 96, 1),
    ...invertedResidual('bn5_x', 96, 14, 6, 96, 1, 2),
    ...invertedResidual('bn6_1', 96, 14, 6, 160, 2),
    ...invertedResidual('bn6_x', 160, 7, 6, 160, 1, 2),
    ...invertedResidual('bn7', 160, 7, 6, 320, 1),
    conv('conv_last', 320, 7, 1280, 1, 1, 0),
  ],
};

/** A grouped 3x3 convolution with padding 1 (ResNeXt's cardinality 32). */
function grouped3x3(name: string, C: number, HW: number, stride: number, groups: number, count = 1): BenchLayer {
  return { name, shape: { N: 1, C, H: HW, W: HW, K: C, R: 3, S: 3, stride, pad: 1, groups }, count };
}

const RESNEXT50: SuiteTable = {
  suite: 'resnext50',
  description:
    'ResNeXt-50 32x4d (Xie et al. 2017, Table 1), 224x224, batch 1: bottlenecks of 1x1, grouped 3x3 (32 groups, the stride on the first block of a stage) and 1x1, and the 1x1 projection shortcuts',
  layers: [
    conv('conv1', 3, 224, 64, 7, 2, 3),
    conv('conv2_1a', 64, 56, 128, 1, 1, 0),
    conv('conv2_ds', 64, 56, 256, 1, 1, 0),
    conv('conv2_xa', 256, 56, 128, 1, 1, 0, 2),
    grouped3x3('conv2_xb', 128, 56, 1, 32, 3),
    conv('conv2_xc', 128, 56, 256, 1, 1, 0, 3),
    conv('conv3_1a', 256, 56, 256, 1, 1, 0),
    grouped3x3('conv3_1b', 256, 56, 2, 32),
    conv('conv3_ds', 256, 56, 512, 1, 2, 0),
    conv('conv3_xa', 512, 28, 256, 1, 1, 0, 3),
    grouped3x3('conv3_xb', 256, 28, 1, 32, 3),
    conv('conv3_xc', 256, 28, 512, 1, 1, 0, 4),
    conv('conv4_1a', 512, 28, 512, 1, 1, 0),
    grouped3x3('conv4_1b', 512, 28, 2, 32),
    conv('conv4_ds', 512, 28, 1024, 1, 2, 0),
    conv('conv4_xa', 1024, 14, 512, 1, 1, 0, 5),
    grouped3x3('conv4_xb', 512, 14, 1, 32, 5),
    conv('conv4_xc', 512, 14, 1024, 1, 1, 0, 6),
    conv('conv5_1a', 1024, 14, 1024, 1, 1, 0),
    grouped3x3('conv5_1b', 1024, 14, 2, 32),
    conv('conv5_ds', 1024, 14, 2048, 1, 2, 0),
    conv('conv5_xa', 2048, 7, 1024, 1, 1, 0, 2),
    grouped3x3('conv5_xb', 1024, 7, 1, 32, 2),
    conv('conv5_xc', 1024, 7, 2048, 1, 1, 0, 3),
  ],
};

/** A 3x3 convolution with dilation (atrous rate) d and padding d, which keeps the feature map's size. */
function dilated3x3(name: string, C: number, HW: number, K: number, dilation: number): BenchLayer {
  return { name, shape: { N: 1, C, H: HW, W: HW, K, R: 3, S: 3, stride: 1, pad: dilation, dilation }, count: 1 };
}

const DILATED: SuiteTable = {
  suite: 'dilated',
  description:
    "DeepLab-v3 on ResNet-101 (Chen et al. 2017, 'Rethinking Atrous Convolution'), output stride 16 on a 513x513 crop (33x33 features), batch 1: block4's three atrous 3x3 at multi-grid rates 2*(1, 2, 4) (its 1x1 layers are ResNet's and left out), then ASPP: 1x1, 3x3 at rates 6, 12 and 18 on 2048->256, the image-pooling 1x1 and the 1x1 projection of the five concatenated branches",
  layers: [
    dilated3x3('block4_1_r2', 512, 33, 512, 2),
    dilated3x3('block4_2_r4', 512, 33, 512, 4),
    dilated3x3('block4_3_r8', 512, 33, 512, 8),
    conv('aspp_1x1', 2048, 33, 256, 1, 1, 0),
    dilated3x3('aspp_r6', 2048, 33, 256, 6),
    dilated3x3('aspp_r12', 2048, 33, 256, 12),
    dilated3x3('aspp_r18', 2048, 33, 256, 18),
    conv('aspp_pool', 2048, 1, 256, 1, 1, 0),
    conv('aspp_project', 1280, 33, 256, 1, 1, 0),
  ],
};

export const SUITE_TABLES: Readonly<Record<BenchSuite, SuiteTable>> = {
  resnet18: RESNET18,
  resnet50: RESNET50,
  vgg16: VGG16,
  'mobilenet-v1': MOBILENET_V1,
  'mobilenet-v2': MOBILENET_V2,
  resnext50: RESNEXT50,
  dilated: DILATED,
};

export function isBenchSuite(name: string): name is BenchSuite {
  return (BENCH_SUITES as readonly string[]).includes(name);
}

/** The suite's layers, or only those named in `names` (an unknown name is an error that lists the known ones). */
export function suiteLayers(suite: BenchSuite, names?: readonly string[]): BenchLayer[] {
  const table = SUITE_TABLES[suite];
  if (!names || names.length === 0) return table.layers.slice();
  return names.flatMap((name) => {
    const layer = table.layers.find((candidate) => candidate.name === name);
    if (layer) return [layer];
    if (table.omitted?.layers.includes(name)) return [];
    throw new Error(`${suite} has no layer '${name}'; its layers are ${[...table.layers.map((l) => l.name), ...(table.omitted?.layers ?? [])].join(', ')}`);
  });
}

/** The suite's layers (of those named, if any) that no algorithm can run, as skipped entries. */
export function omittedSuiteLayers(suite: BenchSuite, names?: readonly string[]): { layer: string; algo: string; reason: string }[] {
  const omitted = SUITE_TABLES[suite].omitted;
  if (!omitted) return [];
  return omitted.layers.filter((layer) => !names?.length || names.includes(layer)).map((layer) => ({ layer, algo: 'every algorithm', reason: omitted.reason }));
}

/** The custom-layer syntax of every surface (CLI --shape, notebook cell, palette). */
export const CONV_SHAPE_SYNTAX = 'N,C,H,W,K,R,S[,stride,pad[,groups[,dilation]]]';

/**
 * Parses `N,C,H,W,K,R,S[,stride,pad[,groups[,dilation]]]` (stride defaults to 1, pad to 0, groups
 * and dilation to 1). `what` names the source (e.g. "--shape") in error messages.
 */
export function parseConvShape(text: string, what = 'shape'): ConvShape {
  const parts = text.split(',').map((part) => part.trim());
  if (![7, 9, 10, 11].includes(parts.length)) {
    throw new Error(`${what} must be ${CONV_SHAPE_SYNTAX} (7, 9, 10 or 11 integers), got '${text}'`);
  }
  const values = parts.map((part, index) => {
    if (!/^\d+$/.test(part)) throw new Error(`${what}: item ${index + 1} ('${part}') of '${text}' is not a non-negative integer`);
    return Number(part);
  });
  const [N, C, H, W, K, R, S, stride = 1, pad = 0, groups = 1, dilation = 1] = values;
  const shape: ConvShape = {
    N, C, H, W, K, R, S, stride, pad, ...(groups !== 1 ? { groups } : {}), ...(dilation !== 1 ? { dilation } : {}),
  };
  validateConvShape(shape, what);
  return shape;
}

/** Name of a custom layer: its shape, e.g. "1x64x56x56-k64-3x3-s1p1". */
export const shapeLabel = convShapeLabel;

/** Direct flops of a whole suite, each shape weighted by its count. */
export function suiteDirectFlops(suite: BenchSuite): number {
  return SUITE_TABLES[suite].layers.reduce((sum, layer) => sum + layer.count * convDirectFlops(layer.shape), 0);
}

export { convDirectFlops, convOutputSize };
