import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { detectFormat, openWeightFile } from '../../../../extension/core/formats/index';
import { WeightFileError } from '../../../../extension/core/formats/types';
import { ascii, concat, le32, tempDir, valuesByName } from './weightFileHelpers';
import { TEST_MODELS_DIR } from '../../../paths';
import { scanWeightFile } from '../../../../extension/core/sparsity/scan';
import { formatSparsityReport } from '../../../../extension/core/sparsity/format';

const root = tempDir('tfjs');

const kernel = [1, 2, 3, 4, 5, 6, 7, 8];
const int32 = new Uint8Array(12);
[1, -1, 7].forEach((v, i) => new DataView(int32.buffer).setInt32(i * 4, v, true));
// Group 0, back to back: kernel f32 (32 B) | bias uint8 (2 B) | dense uint16 (8 B) | dense bias f16 (4 B)
// | ids int32 (12 B) | names string (4 + 2 + 4 + 0 B) | flag bool (1 B) = 69 bytes, split 20 | 49 over two shards.
const group0 = concat(
  le32(kernel),
  new Uint8Array([0, 4]),
  new Uint8Array([1, 0, 2, 0, 3, 0, 0xff, 0xff]),
  new Uint8Array([0x00, 0x3c, 0x00, 0xc0]),
  int32,
  new Uint8Array([2, 0, 0, 0]), ascii('ab'), new Uint8Array([0, 0, 0, 0]),
  new Uint8Array([1]),
);

function model(dir: string, manifestOverride?: unknown): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'group1-shard1of2.bin'), group0.subarray(0, 20));
  writeFileSync(path.join(dir, 'group1-shard2of2.bin'), group0.subarray(20));
  writeFileSync(path.join(dir, 'group2-shard1of1.bin'), le32([0.5, -0.5, 9]));
  const manifest = manifestOverride ?? [
    {
      paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'],
      weights: [
        { name: 'conv/kernel', shape: [2, 2, 1, 2], dtype: 'float32' },
        { name: 'conv/bias', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
        { name: 'dense/kernel', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 0 } },
        { name: 'dense/bias', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } },
        { name: 'ids', shape: [3], dtype: 'int32' },
        { name: 'names', shape: [2], dtype: 'string' },
        { name: 'flag', shape: [], dtype: 'bool' },
      ],
    },
    { paths: ['group2-shard1of1.bin'], weights: [{ name: 'w', shape: [3], dtype: 'float32' }] },
  ];
  const file = path.join(dir, 'model.json');
  writeFileSync(file, JSON.stringify({ format: 'layers-model', generatedBy: 'test', modelTopology: { class_name: 'Sequential' }, weightsManifest: manifest }));
  return file;
}

test('model.json with sharded, quantised and mixed-dtype weights', async () => {
  const file = model(path.join(root, 'ok'));
  assert.equal(await detectFormat(file), 'tfjs');
  const opened = await openWeightFile(file);
  assert.equal(opened.format, 'tfjs');
  assert.equal(opened.fileBytes, 69 + 12);
  assert.deepEqual(opened.tensors.map((t) => [t.name, t.shape, t.layout]), [
    ['conv/kernel', [2, 2, 1, 2], 'HWIO'],
    ['conv/bias', [2], undefined],
    ['dense/kernel', [2, 2], undefined],
    ['dense/bias', [2], undefined],
    ['ids', [3], undefined],
    ['flag', [], undefined],
    ['w', [3], undefined],
  ]);
  assert.deepEqual(await valuesByName(opened), {
    'conv/kernel': kernel, // straddles the two shards (20 | 12 bytes)
    'conv/bias': [0 * 0.5 - 1, 4 * 0.5 - 1],
    'dense/kernel': [0.25, 0.5, 0.75, 65535 * 0.25],
    'dense/bias': [1, -2],
    ids: [1, -1, 7],
    flag: [1],
    w: [0.5, -0.5, 9],
  });
  assert.deepEqual(opened.warnings, ['weightsManifest[0] weight "names": string tensor skipped']);
  await opened.close();
});

test('missing, truncated and escaping shards and bad manifests are named errors', async () => {
  const check = async (file: string, pattern: RegExp) => {
    await assert.rejects(openWeightFile(file), (e: unknown) => {
      assert.ok(e instanceof WeightFileError, String(e));
      assert.equal(e.file, file);
      assert.match(e.message, pattern);
      return true;
    });
  };
  const w = (weights: unknown[], paths = ['group2-shard1of1.bin']) => [{ paths, weights }];
  await check(model(path.join(root, 'missing'), w([], ['nope.bin'])), /weight shard nope\.bin cannot be read \(ENOENT\)/);
  await check(model(path.join(root, 'escape'), w([], ['../ok/group2-shard1of1.bin'])), /points outside the model's folder/);
  await check(model(path.join(root, 'url'), w([], ['https://example.com/x.bin'])), /must be relative to model\.json/);
  await check(model(path.join(root, 'short'), w([{ name: 'big', shape: [4], dtype: 'float32' }])), /weight "big": needs bytes 0\.\.16 of the group but its shards \(group2-shard1of1\.bin\) hold 12/);
  await check(model(path.join(root, 'dtype'), w([{ name: 'c', shape: [1], dtype: 'float64' }])), /unknown dtype "float64"/);
  await check(model(path.join(root, 'quant'), w([{ name: 'q', shape: [1], dtype: 'float32', quantization: { dtype: 'int4' } }])), /unknown quantization dtype "int4"/);
  await check(model(path.join(root, 'scale'), w([{ name: 'q', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8' } }])), /needs numeric scale and min/);
  await check(model(path.join(root, 'neg'), w([{ name: 'n', shape: [-3], dtype: 'float32' }])), /negative dimension/);
  await check(model(path.join(root, 'nomanifest'), {}), /no "weightsManifest" list/);
  // Names of Object.prototype's properties are no dtypes.
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    await check(model(path.join(root, `proto-${name}`), w([{ name: 'p', shape: [1], dtype: name }])), new RegExp(`unknown dtype "${name}"`));
    await check(model(path.join(root, `protoq-${name}`), w([{ name: 'q', shape: [1], dtype: 'float32', quantization: { dtype: name, scale: 1, min: 0 } }])), new RegExp(`unknown quantization dtype "${name}"`));
  }
  await check(model(path.join(root, 'strings'), w([{ name: 's', shape: [1000], dtype: 'string' }])), /shards \(group2-shard1of1\.bin\): cannot skip \d+ bytes; only 8 remain/);
});

const MODELS_DIR = TEST_MODELS_DIR;

test('a real TF.js model (face-api tiny face detector, uint8-quantised) matches numpy', async () => {
  const manifest = path.join(MODELS_DIR, 'tiny_face_detector_model-weights_manifest.json');
  if (!existsSync(manifest)) assert.fail(`${manifest} is missing: run \`node scripts/fetchTestModels.mjs\` first to fetch the real test models`);
  assert.equal(await detectFormat(manifest), 'tfjs');
  const opened = await openWeightFile(manifest);
  assert.equal(opened.tensors.length, 19);
  assert.equal(opened.fileBytes, 193321);
  assert.deepEqual(opened.warnings, []);
  const values = await valuesByName(opened);
  // Expected values from numpy: (uint8 bytes as float64 * scale + min).astype(float32), read straight from the .bin.
  const expected: Record<string, { shape: number[]; sum: number; first: number[]; zeros: number }> = {
    'conv0/filters': { shape: [3, 3, 3, 16], sum: -5.152029775083065, first: [0.2882254123687744, 0.0090070441365242, 0.2161690592765808], zeros: 2 },
    'conv8/filters': { shape: [1, 1, 512, 25], sum: -194.30083987861872, first: [0.17001678049564362, 0.6517309546470642, -0.02833613008260727], zeros: 2865 },
    'conv8/bias': { shape: [25], sum: -1.626252087764442, first: [0.16557379066944122, 0.11567483842372894, 0.08618909120559692], zeros: 0 },
  };
  for (const [name, want] of Object.entries(expected)) {
    const tensor = opened.tensors.find((t) => t.name === name);
    assert.deepEqual(tensor?.shape, want.shape, name);
    const got = values[name];
    assert.deepEqual(got.slice(0, 3), want.first, name);
    assert.equal(got.filter((v) => v === 0).length, want.zeros, name);
    const sum = got.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - want.sum) < 1e-9 * Math.max(1, Math.abs(want.sum)), `${name}: sum ${sum} vs ${want.sum}`);
  }
  assert.equal(opened.tensors.find((t) => t.name === 'conv0/filters')?.layout, 'HWIO');
  await opened.close();
});

test('int32 weights stored uint8/uint16-quantised are rounded as tfjs-core decodeWeights rounds them; pairings tfjs refuses are refused', async () => {
  // tfjs-core's own decoder is the reference; its tensors need a backend (the dev dependency's wasm one).
  const tf = await import('@tensorflow/tfjs-core');
  const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
  setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), path.sep));
  await tf.setBackend('wasm');
  await tf.ready();
  // min -3.0196 with scale 0.0987: q * scale + min is never an integer for these q.
  const q8 = new Uint8Array([0, 1, 5, 30, 31, 128, 255, 7]);
  const q16 = new Uint8Array(new Uint16Array([0, 3, 1000, 65535]).buffer);
  const specs = [
    { name: 'int8q', shape: [2, 4], dtype: 'int32' as const, quantization: { dtype: 'uint8' as const, scale: 0.0987, min: -3.0196 } },
    { name: 'int16q', shape: [4], dtype: 'int32' as const, quantization: { dtype: 'uint16' as const, scale: 0.0123, min: -3.0196 } },
    { name: 'float8q', shape: [8], dtype: 'float32' as const, quantization: { dtype: 'uint8' as const, scale: 0.0987, min: -3.0196 } },
  ];
  const dir = path.join(root, 'int-quantised');
  mkdirSync(dir, { recursive: true });
  const shard = concat(q8, q16, q8);
  writeFileSync(path.join(dir, 'group1-shard1of1.bin'), shard);
  const file = path.join(dir, 'model.json');
  writeFileSync(file, JSON.stringify({ format: 'graph-model', modelTopology: {}, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }] }));
  const reference = tf.io.decodeWeights(shard.slice().buffer, specs);
  const opened = await openWeightFile(file);
  try {
    const values = await valuesByName(opened);
    for (const spec of specs) assert.deepEqual(values[spec.name], Array.from(await reference[spec.name]!.data()), spec.name);
    assert.equal(Math.min(...values.int8q!), -3, 'tfjs gives -3 where the unrounded value is -3.0196');
    assert.deepEqual(opened.tensors.map((t) => t.dtype), ['int32 (uint8-quantized)', 'int32 (uint16-quantized)', 'uint8 (quantized)']);
  } finally {
    await opened.close();
  }
  for (const [dtype, stored] of [['int32', 'float16'], ['bool', 'uint8']]) {
    const bad = model(path.join(root, `refused-${dtype}`), [{ paths: ['group2-shard1of1.bin'], weights: [{ name: 'x', shape: [1], dtype, quantization: { dtype: stored, scale: 1, min: 0 } }] }]);
    await assert.rejects(openWeightFile(bad), new RegExp(`"${dtype}" weights cannot be ${stored}-quantized`));
  }
});

test('affine uint8: the zero point decodes to exactly 0 where q * scale + min misses it, and says so', async () => {
  // scale 0.1, min -0.3: level 3 is zero, but 3 * 0.1 + -0.3 is 5.55e-17 in floating point.
  const dir = path.join(root, 'zero-point');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'q.bin'), new Uint8Array([3, 4, 0, 3, 255]));
  writeFileSync(path.join(dir, 'none.bin'), new Uint8Array([0, 1]));
  const manifest = [
    { paths: ['q.bin'], weights: [{ name: 'q', shape: [5], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.1, min: -0.3 } }] },
    { paths: ['none.bin'], weights: [{ name: 'positive', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: 1 } }] },
  ];
  const file = path.join(dir, 'model.json');
  writeFileSync(file, JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: manifest }));
  const opened = await openWeightFile(file);
  try {
    const values = await valuesByName(opened);
    assert.deepEqual(values.q, [0, Math.fround(4 * 0.1 - 0.3), Math.fround(-0.3), 0, Math.fround(255 * 0.1 - 0.3)]);
    assert.deepEqual(values.positive, [1, 1.5]);
    assert.equal(opened.tensors[0]!.quantization, 'uint8 affine (q * 0.1 + -0.3): zero point 3, a stored 3 counts as zero');
    assert.match(opened.tensors[1]!.quantization!, /no level is 0, so no stored value counts as zero/);
  } finally {
    await opened.close();
  }
  const report = await scanWeightFile(file);
  assert.deepEqual(report.tensors.map((t) => [t.name, t.zeros]), [['q', 2], ['positive', 0]]);
  assert.match(report.tensors[0]!.quantization!, /zero point 3/);
  assert.match(formatSparsityReport(report), /Quantised tensors \(2\): the stored value that decodes to exactly 0 \(the zero point\) counts as zero:\n {2}q: uint8 affine \(q \* 0\.1 \+ -0\.3\): zero point 3/);
});
