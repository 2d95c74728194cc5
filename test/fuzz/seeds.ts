/**
 * Seed models for the fuzzer, one list per target format. A seed is every file of one model (the
 * weights and their companions: shards, .cfg, external data) held in memory; a case writes a mutated
 * copy into its own folder. Seeds come from three places: files the tests write with the project's
 * writers and the test helpers (safetensors, sharded, npy, GGUF, Darknet, TF.js, PyTorch pickles),
 * the committed fixtures made by numpy/h5py/onnx scripts (test/fixtures), and real models shipped
 * by npm packages (.cache/test-models, fetched by scripts/fetchTestModels.mjs).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeNpy } from '../../extension/core/formats/npy';
import { writeSafetensors } from '../../extension/core/formats/safetensors';
import { FIXTURES_DIR, SAMPLES_DIR, TEST_MODELS_DIR } from '../paths';
import { Pickler, ascii, buildZip, concat, ggufHeader, ggufTensorInfo, le32 } from '../unit/core/formats/weightFileHelpers';

export const TARGETS = ['safetensors', 'sharded', 'npy', 'npz', 'pytorch', 'hdf5', 'keras', 'gguf', 'darknet', 'tfjs', 'onnx', 'tflite'] as const;
export type Target = (typeof TARGETS)[number];
/** HDF5 opens run twice in one process: a first open must not spoil the second. */
export const OPEN_TWICE: ReadonlySet<Target> = new Set<Target>(['hdf5', 'keras']);

export interface Seed {
  target: Target;
  name: string;
  /** Relative path -> content; the case folder gets exactly these files. */
  files: Record<string, Uint8Array>;
  /** The file the scan opens. */
  entry: string;
  /** Files a mutation may touch, the entry first (it is picked most often). */
  mutable: string[];
}

function seed(target: Target, name: string, files: Record<string, Uint8Array>, entry: string, mutable: string[] = [entry]): Seed {
  return { target, name, files, entry, mutable };
}

async function written(write: (file: string) => Promise<void>): Promise<Uint8Array> {
  const dir = mkdtempSync(path.join(tmpdir(), 'deep-accel-seed-'));
  try {
    const file = path.join(dir, 'seed');
    await write(file);
    return new Uint8Array(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ramp = (n: number, scale = 0.25, offset = 0): number[] => Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0 : (i - n / 2) * scale + offset));

function fixtureFiles(folder: string, pattern: RegExp): { name: string; bytes: Uint8Array }[] {
  const dir = path.join(FIXTURES_DIR, folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(path.join(dir, name))) }));
}

function testModel(name: string): Uint8Array | undefined {
  const file = path.join(TEST_MODELS_DIR, name);
  return existsSync(file) ? new Uint8Array(readFileSync(file)) : undefined;
}

async function safetensorsSeeds(): Promise<Seed[]> {
  const mixed = await written((file) =>
    writeSafetensors(
      file,
      [
        { name: 'conv.weight', dtype: 'F32', shape: [4, 2, 3, 3], data: Float32Array.from(ramp(72)) },
        { name: 'conv.bias', dtype: 'F16', shape: [4], data: [0.5, 0, -1, 2] },
        { name: 'fc.weight', dtype: 'BF16', shape: [3, 8], data: ramp(24, 0.5) },
        { name: 'fc.weight_orig', dtype: 'F32', shape: [2, 4], data: Float32Array.from(ramp(8)) },
        { name: 'fc.weight_mask', dtype: 'F32', shape: [2, 4], data: Float32Array.from([1, 0, 1, 0, 1, 1, 0, 0]) },
        { name: 'steps', dtype: 'I64', shape: [], data: [7] },
        { name: 'q', dtype: 'U8', shape: [2, 3], data: [0, 1, 2, 250, 0, 9] },
      ],
      { format: 'pt', note: 'fuzz seed' },
    ),
  );
  const seeds = [seed('safetensors', 'mixed', { 'model.safetensors': mixed }, 'model.safetensors')];
  const sample = path.join(SAMPLES_DIR, 'models', 'tiny-cnn.safetensors');
  if (existsSync(sample)) seeds.push(seed('safetensors', 'tiny-cnn', { 'tiny-cnn.safetensors': new Uint8Array(readFileSync(sample)) }, 'tiny-cnn.safetensors'));
  return seeds;
}

async function shardedSeeds(): Promise<Seed[]> {
  const first = await written((file) =>
    writeSafetensors(file, [
      { name: 'a.weight', dtype: 'F32', shape: [3, 4], data: Float32Array.from(ramp(12)) },
      { name: 'a.bias', dtype: 'F32', shape: [3], data: Float32Array.from([0, 1, 0]) },
    ]),
  );
  const second = await written((file) => writeSafetensors(file, [{ name: 'b.weight', dtype: 'F16', shape: [2, 2, 1, 1], data: [1, 0, -2, 0.5] }]));
  const index = ascii(
    JSON.stringify({
      metadata: { total_size: 64 },
      weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'a.bias': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors' },
    }),
  );
  const files = { 'model.safetensors.index.json': index, 'model-00001-of-00002.safetensors': first, 'model-00002-of-00002.safetensors': second };
  return [seed('sharded', 'two-shards', files, 'model.safetensors.index.json', Object.keys(files))];
}

async function npySeeds(): Promise<Seed[]> {
  const seeds = fixtureFiles('numpy', /\.npy$/).map(({ name, bytes }) => seed('npy', name, { [name]: bytes }, name));
  const fortran = await written((file) => writeNpy(file, [3, 4, 2], Float32Array.from(ramp(24)), { fortranOrder: true }));
  seeds.push(seed('npy', 'fortran', { 'fortran.npy': fortran }, 'fortran.npy'));
  return seeds;
}

async function npzSeeds(): Promise<Seed[]> {
  const seeds = fixtureFiles('numpy', /\.npz$/).map(({ name, bytes }) => seed('npz', name, { [name]: bytes }, name));
  const c = await written((file) => writeNpy(file, [4, 3], Float32Array.from(ramp(12))));
  const f = await written((file) => writeNpy(file, [2, 3, 4], Float32Array.from(ramp(24)), { fortranOrder: true }));
  const mixed = buildZip([
    { name: 'kernel.npy', data: c, deflate: true },
    { name: 'fortran.npy', data: f, deflate: true },
    { name: 'plain.npy', data: c },
  ]);
  seeds.push(seed('npz', 'mixed', { 'mixed.npz': mixed }, 'mixed.npz'));
  return seeds;
}

function pytorchSeeds(): Seed[] {
  const seeds = fixtureFiles('pytorch', /\.pt$/).map(({ name, bytes }) => seed('pytorch', name, { [name]: bytes }, name));
  // A torch.nn.utils.prune-style pair (weight_orig, weight_mask) in deflated storages, a tensor
  // shared through the memo under two names, and a non-contiguous view.
  const pickle = new Pickler().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().put().mark();
  pickle.str('conv.weight_orig').tensor('FloatStorage', '0', 16, 0, [2, 2, 2, 2], [8, 4, 2, 1]).put();
  pickle.str('conv.weight_mask').tensor('FloatStorage', '1', 16, 0, [2, 2, 2, 2], [8, 4, 2, 1]);
  pickle.str('fc.weight').tensor('HalfStorage', '2', 6, 0, [2, 3], [1, 2]);
  pickle.str('conv.tied').get(1);
  pickle.op(0x75);
  const mask = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 1];
  const half = new Uint8Array([0x00, 0x3c, 0x00, 0x40, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x38, 0x00, 0x42]);
  const zip = buildZip([
    { name: 'model/data.pkl', data: pickle.stop() },
    { name: 'model/data/0', data: le32(ramp(16)), deflate: true },
    { name: 'model/data/1', data: le32(mask), deflate: true },
    { name: 'model/data/2', data: half },
    { name: 'model/version', data: ascii('3\n') },
    { name: 'model/byteorder', data: ascii('little') },
  ]);
  seeds.push(seed('pytorch', 'pruned-deflated', { 'pruned.pt': zip }, 'pruned.pt'));
  return seeds;
}

function hdf5Seeds(): Seed[] {
  return fixtureFiles('hdf5', /\.h5$/).map(({ name, bytes }) => seed('hdf5', name, { [name]: bytes }, name));
}

function kerasSeeds(): Seed[] {
  return fixtureFiles('hdf5', /^model.*\.keras$/).map(({ name, bytes }) => seed('keras', name, { [name]: bytes }, name));
}

function ggufSeeds(): Seed[] {
  const w = ggufHeader(5, 3);
  w.str('general.architecture').u32(8).str('llama');
  w.str('general.alignment').u32(4).u32(32);
  // An array of three strings (array type 9, element type 8).
  w.str('tokenizer.ggml.tokens').u32(9).u32(8).u64(3).str('a').str('bc').str('<s>');
  ggufTensorInfo(w, 'f32', [4, 2], 0, 0);
  ggufTensorInfo(w, 'f16', [8], 1, 32);
  ggufTensorInfo(w, 'q8_0', [32, 2], 8, 64);
  ggufTensorInfo(w, 'q4_0', [32], 2, 160);
  ggufTensorInfo(w, 'q4_k', [256], 12, 192);
  w.pad(32);
  const data = new Uint8Array(192 + 144).map((_, i) => (i * 37 + 11) & 0xff);
  // Finite scales: every f16 block scale 0x3c00 (1.0).
  for (const at of [64, 64 + 34, 160, 192, 194]) {
    data[at] = 0x00;
    data[at + 1] = 0x3c;
  }
  data.set(le32([1, 0, -2, 0.5, 3, 0, 0, 8]), 0);
  return [seed('gguf', 'mixed-quant', { 'model.gguf': concat(w.bytes(), data) }, 'model.gguf')];
}

function darknetSeeds(): Seed[] {
  // 3x8x8 input: conv 3x3 4 filters + BN (4 + 12 + 108), maxpool 2/2, conv 1x1 2 filters groups 2
  // (2 + 4), route -1,-3 (6 ch), conv 1x1 2 (2 + 12), shortcut, upsample, connected 3 (3 + 384), yolo.
  const cfg = [
    '[net]', 'height=8', 'width=8', 'channels=3', '',
    '[convolutional]', 'batch_normalize=1', 'filters=4', 'size=3', 'stride=1', 'pad=1', 'activation=leaky', '',
    '[maxpool]', 'size=2', 'stride=2', '',
    '[convolutional]', 'filters=2', 'size=1', 'groups=2', '',
    '[route]', 'layers=-1, -3', '',
    '[convolutional]', 'filters=2', 'size=1', '',
    '[shortcut]', 'from=-3', '',
    '[upsample]', 'stride=2', '',
    '[connected]', 'output=3', '',
    '[yolo]', '',
  ].join('\n');
  const floats = 4 + 12 + 108 + 2 + 4 + 2 + 12 + 3 + 384;
  const header = new Uint8Array(20);
  header[4] = 2; // version 0.2.0: a 64-bit "seen" count
  const weights = concat(header, le32(ramp(floats, 0.01)));
  return [seed('darknet', 'yolo-like', { 'net.weights': weights, 'net.cfg': ascii(cfg) }, 'net.weights', ['net.weights', 'net.cfg'])];
}

function tfjsSeeds(): Seed[] {
  const group = concat(le32(ramp(8)), new Uint8Array([0, 4]), new Uint8Array([1, 0, 2, 0, 3, 0, 0xff, 0xff]), new Uint8Array([0x00, 0x3c, 0x00, 0xc0]));
  const manifest = [
    {
      paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'],
      weights: [
        { name: 'conv/kernel', shape: [2, 2, 1, 2], dtype: 'float32' },
        { name: 'conv/bias', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
        { name: 'dense/kernel', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 0 } },
        { name: 'dense/bias', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } },
      ],
    },
  ];
  const files = {
    'model.json': ascii(JSON.stringify({ format: 'layers-model', modelTopology: { class_name: 'Sequential' }, weightsManifest: manifest })),
    'group1-shard1of2.bin': group.subarray(0, 20),
    'group1-shard2of2.bin': group.subarray(20),
  };
  const seeds = [seed('tfjs', 'quantized-two-shards', files, 'model.json', Object.keys(files))];
  const faceManifest = testModel('tiny_face_detector_model-weights_manifest.json');
  const faceBin = testModel('tiny_face_detector_model.bin');
  if (faceManifest && faceBin) {
    const face = { 'tiny_face_detector_model-weights_manifest.json': faceManifest, 'tiny_face_detector_model.bin': faceBin };
    seeds.push(seed('tfjs', 'face-api', face, 'tiny_face_detector_model-weights_manifest.json', Object.keys(face)));
  }
  return seeds;
}

function onnxSeeds(): Seed[] {
  const seeds = fixtureFiles('onnx', /\.onnx$/).map(({ name, bytes }) => seed('onnx', name, { [name]: bytes }, name));
  const external = fixtureFiles('onnx/external', /./);
  if (external.length > 0) {
    const files = Object.fromEntries(external.map(({ name, bytes }) => [name, bytes]));
    seeds.push(seed('onnx', 'external-data', files, 'model.onnx', ['model.onnx', ...Object.keys(files).filter((n) => n !== 'model.onnx')]));
  }
  const face = testModel('face_detection_front_128x128_barracuda.onnx');
  if (face) seeds.push(seed('onnx', 'blazeface', { 'face.onnx': face }, 'face.onnx'));
  const vad = testModel('silero_vad_legacy.onnx');
  if (vad) seeds.push(seed('onnx', 'silero-vad-legacy', { 'vad.onnx': vad }, 'vad.onnx'));
  return seeds;
}

function tfliteSeeds(): Seed[] {
  const seeds: Seed[] = [];
  for (const name of ['face_detection_short_range.tflite', 'face_detection_full_range_sparse.tflite', 'selfie_segmentation.tflite']) {
    const bytes = testModel(name);
    if (bytes) seeds.push(seed('tflite', name, { [name]: bytes }, name));
  }
  return seeds;
}

/** Every seed of `target`; an empty list when its sources are missing (run scripts/fetchTestModels.mjs). */
export async function seedsFor(target: Target): Promise<Seed[]> {
  switch (target) {
    case 'safetensors':
      return safetensorsSeeds();
    case 'sharded':
      return shardedSeeds();
    case 'npy':
      return npySeeds();
    case 'npz':
      return npzSeeds();
    case 'pytorch':
      return pytorchSeeds();
    case 'hdf5':
      return hdf5Seeds();
    case 'keras':
      return kerasSeeds();
    case 'gguf':
      return ggufSeeds();
    case 'darknet':
      return darknetSeeds();
    case 'tfjs':
      return tfjsSeeds();
    case 'onnx':
      return onnxSeeds();
    case 'tflite':
      return tfliteSeeds();
  }
}
