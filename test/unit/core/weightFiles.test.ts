import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isWeightFileName, weightFileLiteralAt } from '../../../extension/core/weightFiles';

test('weight-file names by extension; .bin only as a PyTorch checkpoint name', () => {
  for (const name of ['a.safetensors', 'm.onnx', 'x.PT', 'y.pth', 'z.npy', 'w.npz', 'k.h5', 'k.keras', 'f.tflite', 'l.gguf', 'yolo.weights', 'model.safetensors.index.json', 'dir/pytorch_model-00001-of-00002.bin']) {
    assert.ok(isWeightFileName(name), name);
  }
  for (const name of ['readme.md', 'data.bin', 'x.json', 'weights.txt']) assert.ok(!isWeightFileName(name), name);
});

test('a string literal naming a weight file is found around the cursor', () => {
  const line = `w = load_file("models/tiny.safetensors") + open('notes.txt')`;
  assert.deepEqual(weightFileLiteralAt(line, 20), { path: 'models/tiny.safetensors', start: 14, end: 39 });
  assert.equal(weightFileLiteralAt(line, 50), undefined, 'a non-weight string');
  assert.equal(weightFileLiteralAt(line, 2), undefined, 'outside any string');
});
