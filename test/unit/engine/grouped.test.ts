import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConvLayout, ConvShape } from '../../../extension/shared/payloads';
import { Engine, applies, convolve } from '../../../extension/engine/engine';
import { convDirectFlops, convOutputSize, referenceConv2d, validateConvShape } from '../../../extension/core/conv/reference';
import { REPO_ROOT } from '../../paths';
import { FP32_UNIT_ROUNDOFF, ensureEngineBuilt, errorInRoundoffUnits, makeCase, shapeName } from './helpers';

ensureEngineBuilt();

/** Cases computed by PyTorch in float64 (test/fixtures/conv/make_fixtures.py). */
interface TorchCase {
  name: string;
  shape: ConvShape;
  outputShape: number[];
  input: number[];
  weight: number[];
  bias: number[];
  output: number[];
  magnitude: number[];
}
const fixture = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'conv', 'grouped.json'), 'utf8')) as {
  cases: TorchCase[];
};

const RUNS: { algo: 'im2col' | 'direct'; layout: ConvLayout }[] = [
  { algo: 'im2col', layout: 'nchw' },
  { algo: 'im2col', layout: 'nhwc' },
  { algo: 'direct', layout: 'nchw4c' },
  { algo: 'direct', layout: 'nchw8c' },
  { algo: 'direct', layout: 'nchw16c' },
];

/** Largest |actual - torch| in units of fp32 roundoff times the output's magnitude (sum |x||w| + |b|). */
function roundoffUnits(actual: ArrayLike<number>, c: TorchCase): number {
  let worst = 0;
  for (let i = 0; i < c.output.length; i++) {
    const units = Math.abs(actual[i] - c.output[i]) / (FP32_UNIT_ROUNDOFF * c.magnitude[i]);
    if (!(units <= worst)) worst = units;
  }
  return worst;
}

describe('grouped, depthwise, dilated and asymmetrically padded convolution against PyTorch float64', () => {
  test('the fixture covers every shape class', () => {
    const shapes = fixture.cases.map((c) => c.shape);
    for (const groups of [2, 4]) assert.ok(shapes.some((s) => s.groups === groups), `groups ${groups}`);
    assert.ok(shapes.some((s) => s.groups === s.C && s.K === s.C), 'depthwise');
    assert.ok(shapes.some((s) => s.groups === s.C && s.K === 2 * s.C), 'multiplier 2');
    for (const dilation of [2, 3]) assert.ok(shapes.some((s) => s.dilation === dilation), `dilation ${dilation}`);
    for (const stride of [3, 4]) assert.ok(shapes.some((s) => s.stride === stride), `stride ${stride}`);
    assert.ok(shapes.some((s) => s.groups === 32 && s.stride === 2), 'groups 32 at stride 2');
    assert.ok(shapes.some((s) => (s.groups ?? 1) > 1 && s.K / (s.groups ?? 1) === 4 && (s.groups ?? 1) % 2 === 1), 'an odd number of groups of 4 outputs');
    assert.ok(shapes.some((s) => (s.dilation ?? 1) >= 6 && (s.dilation ?? 1) * 2 >= s.H), 'taps past the image on both sides');
    assert.ok(shapes.some((s) => s.pads !== undefined && new Set(s.pads).size > 1), 'asymmetric pads');
    assert.ok(shapes.some((s) => s.N === 2), 'batch 2');
    const depthwise3x3 = shapes.filter((s) => s.groups === s.C && s.K === s.C && s.R === 3 && s.S === 3 && (s.dilation ?? 1) === 1);
    for (const stride of [1, 2]) {
      assert.ok(depthwise3x3.some((s) => s.stride === stride && s.W >= 33), `depthwise 3x3 stride ${stride} over several register tiles`);
      assert.ok(depthwise3x3.some((s) => s.stride === stride && s.W <= 14), `depthwise 3x3 stride ${stride} on rows narrower than a tile and its edges`);
    }
  });

  for (const c of fixture.cases) {
    test(`${c.name}: output size, FLOPs and the fp64 reference agree with torch`, () => {
      const { P, Q } = convOutputSize(c.shape);
      assert.deepEqual([c.shape.N, c.shape.K, P, Q], c.outputShape);
      const groups = c.shape.groups ?? 1;
      assert.equal(convDirectFlops(c.shape), 2 * c.shape.N * c.shape.K * (c.shape.C / groups) * c.shape.R * c.shape.S * P * Q);
      const ours = referenceConv2d(Float64Array.from(c.input), Float64Array.from(c.weight), Float64Array.from(c.bias), c.shape);
      for (let i = 0; i < ours.length; i++) {
        assert.ok(Math.abs(ours[i] - c.output[i]) <= 1e-12 * c.magnitude[i], `${c.name}[${i}]: ${ours[i]} vs ${c.output[i]}`);
      }
    });

    for (const { algo, layout } of RUNS) {
      test(`${c.name}: ${algo} ${layout} within fp32 summation error`, () => {
        const engine = Engine.create();
        const out = convolve(engine, algo, layout, c.shape, Float32Array.from(c.input), Float32Array.from(c.weight), Float32Array.from(c.bias));
        const depth = (c.shape.C / (c.shape.groups ?? 1)) * c.shape.R * c.shape.S;
        const units = roundoffUnits(out, c);
        // Recursive summation of `depth` products: at most ~depth roundoff units, + 2 for bias and rounding.
        assert.ok(units <= depth + 2, `${c.name} ${algo} ${layout}: ${units.toFixed(2)} roundoff units (bound ${depth + 2})`);
      });
    }
  }

  test('a grouped plan split in two halves (as two threads run it) gives the whole result', () => {
    const c = fixture.cases.find((candidate) => candidate.name === 'dilation3Depthwise')!;
    const engine = Engine.create();
    for (const { algo, layout } of RUNS) {
      const plan = engine.plan(c.shape, algo, layout, { threads: 2 });
      plan.setWeights(Float32Array.from(c.weight), Float32Array.from(c.bias));
      plan.setInput(Float32Array.from(c.input));
      const [first, second] = plan.allocateScratch(2);
      const units = plan.descriptor.phases[0].units;
      assert.ok(units >= 4, `${algo} ${layout}: ${units} units`);
      plan.runPart(0, Math.floor(units / 2), units, second);
      plan.runPart(0, 0, Math.floor(units / 2), first);
      const units32 = roundoffUnits(plan.readOutput(), c);
      assert.ok(units32 <= 3 * 3 + 2, `${algo} ${layout}: ${units32} roundoff units`);
      plan.release();
    }
  });
});

test('depthwise 3x3 (multiplier 1, stride 1 or 2) runs the depthwise kernel; other grouped shapes the grouped one', () => {
  const engine = Engine.create();
  const kernelOf = (shape: ConvShape): string => {
    const plan = engine.plan(shape, 'direct', 'nchw4c');
    const { kernel } = plan.descriptor.phases[0];
    plan.release();
    return kernel;
  };
  const depthwise: ConvShape = { N: 1, C: 8, H: 9, W: 9, K: 8, R: 3, S: 3, stride: 1, pad: 1, groups: 8 };
  assert.equal(kernelOf(depthwise), 'convDepthwise3x3');
  assert.equal(kernelOf({ ...depthwise, stride: 2 }), 'convDepthwise3x3');
  assert.equal(kernelOf({ ...depthwise, stride: 3 }), 'convDirectGrouped');
  assert.equal(kernelOf({ ...depthwise, K: 16 }), 'convDirectGrouped');
  assert.equal(kernelOf({ ...depthwise, dilation: 2, pad: 2 }), 'convDirectGrouped');
  assert.equal(kernelOf({ ...depthwise, groups: 1 }), 'convDirectBlocked');
  // The register-blocked kernel: dilated dense layers, and groups of 8k outputs or pairs of groups of 4.
  assert.equal(kernelOf({ ...depthwise, groups: 1, dilation: 3, pad: 3 }), 'convDirectBlocked');
  const resnext: ConvShape = { N: 1, C: 128, H: 8, W: 8, K: 128, R: 3, S: 3, stride: 1, pad: 1, groups: 32 };
  for (const C of [128, 256, 512, 1024]) assert.equal(kernelOf({ ...resnext, C, K: C }), 'convDirectBlocked', `ResNeXt ${C} channels`);
  assert.equal(kernelOf({ ...resnext, stride: 2, dilation: 2, pad: 2 }), 'convDirectBlocked');
  // Two groups of 2 input channels fill a block of 4; two groups of 1 do not; groups of 12 outputs are not
  // whole kernel calls: the grouped kernel.
  assert.equal(kernelOf({ ...resnext, C: 64, K: 128 }), 'convDirectBlocked');
  assert.equal(kernelOf({ ...resnext, C: 32, K: 128 }), 'convDirectGrouped');
  assert.equal(kernelOf({ ...resnext, K: 384 }), 'convDirectGrouped');
});

describe('ResNeXt-50 grouped 3x3 shapes (32 groups) on the register-blocked kernel against the fp64 reference', () => {
  // 4, 8, 16 and 32 channels per group as in conv2..conv5, ragged sizes, stride 2, batch 2, two threads' halves.
  const shapes: ConvShape[] = [
    { N: 2, C: 128, H: 11, W: 13, K: 128, R: 3, S: 3, stride: 1, pad: 1, groups: 32 },
    { N: 1, C: 64, H: 6, W: 9, K: 128, R: 3, S: 3, stride: 1, pad: 1, groups: 32 },
    { N: 1, C: 256, H: 15, W: 10, K: 256, R: 3, S: 3, stride: 2, pad: 1, groups: 32 },
    { N: 1, C: 512, H: 14, W: 14, K: 512, R: 3, S: 3, stride: 1, pad: 1, groups: 32 },
    { N: 2, C: 1024, H: 7, W: 7, K: 1024, R: 3, S: 3, stride: 1, pad: 1, groups: 32 },
    { N: 1, C: 1024, H: 9, W: 9, K: 1024, R: 3, S: 3, stride: 2, pad: 1, groups: 32 },
  ];
  for (const shape of shapes) {
    test(`${shapeName(shape)} groups ${shape.groups}`, () => {
      const c = makeCase(shape, 7);
      const engine = Engine.create();
      const depth = (shape.C / (shape.groups ?? 1)) * shape.R * shape.S;
      for (const layout of ['nchw4c', 'nchw8c', 'nchw16c'] as const) {
        const plan = engine.plan(shape, 'direct', layout, { threads: 2 });
        assert.equal(plan.descriptor.phases[0].kernel, 'convDirectBlocked');
        plan.setWeights(c.weights, c.bias);
        plan.setInput(c.input);
        const [first, second] = plan.allocateScratch(2);
        const units = plan.descriptor.phases[0].units;
        plan.runPart(0, Math.floor(units / 2), units, second);
        plan.runPart(0, 0, Math.floor(units / 2), first);
        const units32 = errorInRoundoffUnits(plan.readOutput(), c);
        assert.ok(units32 <= depth + 2, `${layout}: ${units32.toFixed(2)} roundoff units (bound ${depth + 2})`);
        plan.release();
      }
    });
  }
});

describe('shapes the other algorithms do not run are refused with the reason', () => {
  const base: ConvShape = { N: 1, C: 8, H: 14, W: 14, K: 8, R: 3, S: 3, stride: 1, pad: 1 };
  const cases: [string, ConvShape, RegExp][] = [
    ['winograd-4x3', { ...base, groups: 8 }, /winograd-4x3 runs only one group \(got groups 8\); direct and im2col run every shape/],
    ['fft', { ...base, groups: 2 }, /fft runs only one group \(got groups 2\)/],
    ['strassen', { ...base, pads: [0, 0, 1, 1] }, /strassen runs only .*\(got pads 0,0,1,1 \(top, left, bottom, right\)\)/],
  ];
  for (const [algo, shape, reason] of cases) {
    test(algo, () => {
      const verdict = applies(algo as 'fft', shape, 'nchw');
      assert.equal(verdict.ok, false);
      assert.match((verdict as { reason: string }).reason, reason);
      assert.throws(() => Engine.create().plan(shape, algo as 'fft', 'nchw'), reason);
    });
  }

  test('invalid geometry names the problem', () => {
    assert.throws(() => validateConvShape({ ...base, groups: 3 }), /groups 3 must divide both C = 8 and K = 8/);
    assert.throws(() => validateConvShape({ ...base, groups: 0 }), /shape\.groups must be a positive integer, got 0/);
    assert.throws(() => validateConvShape({ ...base, H: 4, pad: 0, dilation: 3 }), /kernel 3x3 dilated by 3 \(7x7\) is larger than the padded input 4x14/);
    assert.throws(() => validateConvShape({ ...base, pads: [1, 1, -1, 1] }), /shape\.pads must be four non-negative integers/);
  });

  test('weights of the wrong length name the grouped dimensions', () => {
    const shape = { ...base, groups: 4 };
    assert.throws(
      () => convolve(Engine.create(), 'im2col', 'nchw', shape, new Float32Array(8 * 14 * 14), new Float32Array(8 * 8 * 9)),
      /weights have 576 elements, expected K\*\(C\/groups\)\*R\*S = 8\*2\*3\*3 = 144/,
    );
  });
});
