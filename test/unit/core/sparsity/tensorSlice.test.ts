import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { writeSafetensors } from '../../../../extension/core/formats/safetensors';
import { parseLayoutOverride } from '../../../../extension/core/sparsity/layout';
import { previewTensor } from '../../../../extension/core/sparsity/scan';
import { tensorSlice } from '../../../../extension/core/sparsity/tensorSlice';
import { FIXTURES_DIR } from '../../../paths';
import { tempDir } from '../formats/weightFileHelpers';

const dir = tempDir('deep-accel-slice-');
/** Stored value i of the written tensors: every 7th is zero, the rest i - 30. */
const stored = (i: number): number => (i % 7 === 0 ? 0 : i - 30);

async function model(): Promise<string> {
  const file = path.join(dir, 'slice.safetensors');
  await writeSafetensors(file, [
    { name: 'conv.weight', dtype: 'F32', shape: [5, 3, 2, 2], data: Array.from({ length: 60 }, (_, i) => stored(i)) },
    { name: 'fc.weight', dtype: 'F32', shape: [4, 6], data: Array.from({ length: 24 }, (_, i) => stored(i)) },
    { name: 'fc.bias', dtype: 'F32', shape: [4], data: [1, 2, 3, 4] },
  ]);
  return file;
}

test('an OIHW conv slice is w[o, i, y, x] for one kernel tap over a window of output x input channels, clipped to the tensor', async () => {
  const file = await model();
  // Tap (1, 0) of the 2x2 kernel: p = 2; w[o, c, 1, 0] is stored at ((o * 3 + c) * 2 + 1) * 2 + 0.
  const slice = await tensorSlice(file, 'conv.weight', { tap: 2, rowOffset: 3, colOffset: 1, rows: 128, cols: 128 });
  assert.deepEqual({ ...slice, values: undefined }, { name: 'conv.weight', tap: 2, rowOffset: 3, colOffset: 1, rows: 2, cols: 2, outputs: 5, inputs: 3, kernel: [2, 2], layout: 'OIHW', values: undefined });
  const expected: number[] = [];
  for (let o = 3; o < 5; o++) for (let c = 1; c < 3; c++) expected.push(stored(((o * 3 + c) * 2 + 1) * 2));
  assert.deepEqual(slice.values, expected);
  assert.deepEqual(slice.values, [0, 16, 24, 28]);
});

test('a linear weight is its [O, I] matrix; a 1-D tensor and a tap outside the kernel are refused with the reason', async () => {
  const file = await model();
  const slice = await tensorSlice(file, 'fc.weight', { tap: 0, rowOffset: 0, colOffset: 0, rows: 2, cols: 6 });
  assert.deepEqual(slice.kernel, [1, 1]);
  assert.deepEqual(slice.values, [0, -29, -28, -27, -26, -25, -24, 0, -22, -21, -20, -19]);
  await assert.rejects(tensorSlice(file, 'fc.bias', { tap: 0, rowOffset: 0, colOffset: 0, rows: 4, cols: 4 }), /fc\.bias \[4\] is not a conv or linear weight/);
  await assert.rejects(tensorSlice(file, 'conv.weight', { tap: 4, rowOffset: 0, colOffset: 0, rows: 4, cols: 4 }), /tap must be below 4 \(the 2x2 kernel\)/);
  await assert.rejects(tensorSlice(file, 'conv.weight', { tap: 0, rowOffset: -1, colOffset: 0, rows: 4, cols: 4 }), /rowOffset must be a non-negative integer/);
});

test('a Keras HWIO kernel is mapped to w[o, i, y, x]: the same slice whatever the stored layout', async () => {
  // make_fixtures.py: kernel[y, x, i, o] = (index - 36) / 8 over the row-major [3, 3, 2, 4] index, output channel 0 zeroed.
  const file = path.join(FIXTURES_DIR, 'hdf5', 'keras2_model.h5');
  const slice = await tensorSlice(file, 'model_weights/conv2d/conv2d/kernel:0', { tap: 4, rowOffset: 0, colOffset: 0, rows: 128, cols: 128 });
  assert.equal(slice.layout, 'HWIO');
  assert.deepEqual([slice.outputs, slice.inputs, slice.kernel], [4, 2, [3, 3]]);
  const expected: number[] = [];
  for (let o = 0; o < 4; o++) for (let i = 0; i < 2; i++) expected.push(o === 0 ? 0 : ((4 * 2 + i) * 4 + o - 36) / 8);
  assert.deepEqual(slice.values, expected);
});

test("the user's layout choice is how the slice reads the kernel, as the statistics read it", async () => {
  const file = await model();
  // conv.weight [5, 3, 2, 2] read as HWIO: a 5x3 kernel, 2 inputs, 2 outputs; w[o, i, y, x] is stored at
  // ((y * 3 + x) * 2 + i) * 2 + o. Tap 4 is (y, x) = (1, 1).
  const slice = await tensorSlice(file, 'conv.weight', { tap: 4, rowOffset: 0, colOffset: 0, rows: 128, cols: 128 }, { layout: parseLayoutOverride('HWIO') });
  assert.deepEqual([slice.layout, slice.outputs, slice.inputs, slice.kernel], ['HWIO', 2, 2, [5, 3]]);
  const expected: number[] = [];
  for (let o = 0; o < 2; o++) for (let i = 0; i < 2; i++) expected.push(stored((4 * 2 + i) * 2 + o));
  assert.deepEqual(slice.values, expected);
  assert.deepEqual(slice.values, [-14, -12, -13, -11]);
  await assert.rejects(tensorSlice(file, 'conv.weight', { tap: 0, rowOffset: 0, colOffset: 0, rows: 1, cols: 1 }, { layout: parseLayoutOverride('nothing.here=OIHW') }), /no 2-D or 4-D tensor named "nothing\.here"/);
});

test('a preview pages through the whole tensor from an offset', async () => {
  const file = await model();
  assert.deepEqual(await previewTensor(file, 'conv.weight', 4, { offset: 55 }), [25, 0, 27, 28]);
  assert.deepEqual(await previewTensor(file, 'conv.weight', 10, { offset: 58 }), [28, 29]);
  assert.deepEqual(await previewTensor(file, 'conv.weight', 3, { offset: 60 }), []);
  await assert.rejects(previewTensor(file, 'conv.weight', 3, { offset: 1.5 }), /offset must be a non-negative integer/);
});
