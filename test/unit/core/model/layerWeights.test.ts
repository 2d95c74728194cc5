import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TensorSource } from '../../../../extension/core/formats/types';
import { readLayerWeight } from '../../../../extension/core/model/layerWeights';
import { modelLayer } from '../../../../extension/core/model/layers';
import type { ModelConvShape, ModelLayer } from '../../../../extension/shared/payloads';

/** A tensor of `shape` whose element at stored index (a, b, c, d) is code(a, b, c, d), streamed in chunks of 7. */
function stored(shape: number[], layout: string, code: (index: number[]) => number): TensorSource {
  const values: number[] = [];
  const walk = (prefix: number[]): void => {
    if (prefix.length === shape.length) values.push(code(prefix));
    else for (let i = 0; i < shape[prefix.length]!; i++) walk([...prefix, i]);
  };
  walk([]);
  return {
    name: 'w',
    dtype: 'float32',
    shape,
    numel: values.length,
    layout: layout as TensorSource['layout'],
    async *chunks() {
      for (let i = 0; i < values.length; i += 7) yield Float32Array.from(values.slice(i, i + 7));
    },
  };
}

function convLayer(shape: Partial<ModelConvShape>, weightLayout: string): ModelLayer {
  const full: ModelConvShape = { N: 1, C: 2, H: 4, W: 4, K: 3, R: 2, S: 3, P: 4, Q: 4, strides: [1, 1], pads: [0, 0, 1, 1], groups: 1, dilations: [1, 1], ...shape };
  return modelLayer({ name: 'l', opType: 'Conv', op: 'conv', weight: 'w', weightLayout, params: 0, shape: full });
}

/** k, c, r, s as one number, so every OIHW position says which element it holds. */
const code = (k: number, c: number, r: number, s: number): number => k * 1000 + c * 100 + r * 10 + s;

function expectedOihw(K: number, Cg: number, R: number, S: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < K; k++) for (let c = 0; c < Cg; c++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) out.push(code(k, c, r, s));
  return out;
}

test('kernels stored as OIHW, OHWI and HWIO land at their OIHW index', async () => {
  const want = expectedOihw(3, 2, 2, 3);
  const cases: [string, number[], (i: number[]) => number][] = [
    ['OIHW', [3, 2, 2, 3], ([k, c, r, s]) => code(k!, c!, r!, s!)],
    ['OHWI', [3, 2, 3, 2], ([k, r, s, c]) => code(k!, c!, r!, s!)],
    ['HWIO', [2, 3, 2, 3], ([r, s, c, k]) => code(k!, c!, r!, s!)],
  ];
  for (const [layout, shape, fn] of cases) {
    const got = await readLayerWeight(convLayer({}, layout), stored(shape, layout, fn), new Float32Array(36));
    assert.deepEqual(Array.from(got), want, layout);
  }
});

test('depthwise kernels: TFLite [1, R, S, K] and TensorFlow [R, S, C, M] (output channel c*M + m)', async () => {
  const dw = convLayer({ C: 2, K: 4, groups: 2 }, 'IHWO');
  const tflite = await readLayerWeight(dw, stored([1, 2, 3, 4], 'IHWO', ([, r, s, k]) => code(k!, 0, r!, s!)), new Float32Array(24));
  assert.deepEqual(Array.from(tflite), expectedOihw(4, 1, 2, 3));
  const tf = await readLayerWeight({ ...dw, weightLayout: 'HWIO' }, stored([2, 3, 2, 2], 'HWIO', ([r, s, c, m]) => code(c! * 2 + m!, 0, r!, s!)), new Float32Array(24));
  assert.deepEqual(Array.from(tf), expectedOihw(4, 1, 2, 3));
});

test('matrices stored [I, O] are transposed to [O, I]; [O, I] kept', async () => {
  const linear = modelLayer({ name: 'fc', opType: 'MatMul', op: 'linear', weight: 'w', weightLayout: 'IO', params: 6, shape: { N: 1, I: 2, O: 3 } });
  const io = await readLayerWeight(linear, stored([2, 3], 'IO', ([i, o]) => o! * 10 + i!), new Float32Array(6));
  assert.deepEqual(Array.from(io), [0, 1, 10, 11, 20, 21]);
  const oi = await readLayerWeight({ ...linear, weightLayout: 'OI' }, stored([3, 2], 'OI', ([o, i]) => o! * 10 + i!), new Float32Array(6));
  assert.deepEqual(Array.from(oi), [0, 1, 10, 11, 20, 21]);
  await assert.rejects(readLayerWeight(linear, stored([2, 3], 'IO', () => 0), new Float32Array(5)), /has 6 values, not 5/);
});
