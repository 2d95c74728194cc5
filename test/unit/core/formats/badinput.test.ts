/**
 * Robustness across formats: every truncation and many single-byte corruptions of valid files must
 * either open and stream correctly-sized tensors or fail with a WeightFileError naming the file;
 * never a TypeError/RangeError, a hang or an unbounded allocation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { openWeightFile } from '../../../../extension/core/formats/index';
import { writeNpy } from '../../../../extension/core/formats/npy';
import { writeSafetensors } from '../../../../extension/core/formats/safetensors';
import { WeightFileError } from '../../../../extension/core/formats/types';
import { Pickler, ascii, buildZip, concat, ggufHeader, ggufTensorInfo, le32, tempDir } from './weightFileHelpers';
import { fixture } from '../../../paths';

const dir = tempDir('badinput');
const NUMPY_FIXTURES = fixture('numpy');

/** A deterministic xorshift generator, so failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

async function openAndDrain(file: string): Promise<'ok' | 'rejected'> {
  try {
    const opened = await openWeightFile(file);
    try {
      for (const tensor of opened.tensors) {
        let count = 0;
        for await (const chunk of tensor.chunks({ maxChunkElements: 64 })) {
          assert.ok(chunk.length <= 64);
          count += chunk.length;
        }
        assert.equal(count, tensor.numel, `${file}: ${tensor.name} yielded ${count} of ${tensor.numel}`);
      }
    } finally {
      await opened.close();
    }
    return 'ok';
  } catch (error) {
    if (error instanceof WeightFileError) {
      assert.equal(error.file.length > 0, true);
      return 'rejected';
    }
    throw new Error(`${path.basename(file)}: expected a WeightFileError, got ${(error as Error)?.stack ?? String(error)}`);
  }
}

async function samples(): Promise<Record<string, Uint8Array>> {
  const safetensors = path.join(dir, 'sample.safetensors');
  await writeSafetensors(safetensors, [
    { name: 'a', dtype: 'F32', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i) },
    { name: 'b', dtype: 'BF16', shape: [5], data: [1, 2, 3, 4, 5] },
  ], { format: 'pt' });
  const npy = path.join(dir, 'sample.npy');
  await writeNpy(npy, [4, 5], Float32Array.from({ length: 20 }, (_, i) => i), { fortranOrder: true });
  const pickle = new Pickler().proto(2).op(0x7d).mark();
  pickle.str('w').tensor('FloatStorage', '0', 6, 0, [3, 2], [1, 3]);
  pickle.str('h').tensor('HalfStorage', '1', 4, 1, [3], [1]);
  pickle.op(0x75);
  const torch = buildZip([
    { name: 'archive/data.pkl', data: pickle.stop() },
    { name: 'archive/data/0', data: le32([0, 1, 2, 3, 4, 5]) },
    { name: 'archive/data/1', data: new Uint8Array([0, 0x3c, 0, 0x40, 0, 0x42, 0, 0x44]) },
    { name: 'archive/version', data: ascii('3\n') },
  ]);
  const gguf = ggufHeader(3, 1);
  gguf.str('general.architecture').u32(8).str('test');
  ggufTensorInfo(gguf, 'f', [4, 2], 0, 0);
  ggufTensorInfo(gguf, 'q8', [32], 8, 32);
  ggufTensorInfo(gguf, 'q4', [32], 2, 96);
  gguf.pad(32);
  const ggufData = new Uint8Array(114).map((_, i) => (i * 37) & 0xff);
  // Darknet: every cut-/flip- copy finds its cfg by basename. TF.js: model.json refers to a shard beside it.
  const cfg = '[net]\nheight=4\nwidth=4\nchannels=2\n[convolutional]\nbatch_normalize=1\nfilters=3\nsize=3\npad=1\n[connected]\noutput=2\n';
  for (const prefix of ['cut-', 'flip-']) writeFileSync(path.join(dir, `${prefix}sample.cfg`), cfg);
  const darknetHeader = new Uint8Array(20);
  darknetHeader[4] = 2; // version 0.2.0, 64-bit seen
  const darknetFloats = 3 + 9 + 3 * 2 * 9 + 2 + 2 * 48;
  writeFileSync(path.join(dir, 'shard.bin'), le32([1, 2, 3, 4, 5, 6]));
  const modelJson = ascii(JSON.stringify({
    modelTopology: {},
    weightsManifest: [{ paths: ['shard.bin'], weights: [
      { name: 'k', shape: [1, 1, 1, 2], dtype: 'float32' },
      { name: 'q', shape: [8], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
      { name: 'h', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
    ] }],
  }));
  return {
    'sample.weights': concat(darknetHeader, le32(Array.from({ length: darknetFloats }, (_, i) => i))),
    'sample.json': modelJson,
    'sample.pt': torch,
    'sample.gguf': concat(gguf.bytes(), ggufData),
    'sample.safetensors': readFileSync(safetensors),
    'sample.npy': readFileSync(npy),
    'stored.npz': readFileSync(path.join(NUMPY_FIXTURES, 'stored.npz')),
    'deflated.npz': readFileSync(path.join(NUMPY_FIXTURES, 'deflated.npz')),
    'nested.npz': buildZip([{ name: 'x.npy', data: readFileSync(npy), deflate: true }]),
  };
}

test('every truncation of each sample is read correctly or refused with a WeightFileError', async () => {
  for (const [name, bytes] of Object.entries(await samples())) {
    const file = path.join(dir, `cut-${name}`);
    writeFileSync(file, bytes);
    assert.equal(await openAndDrain(file), 'ok', `intact ${name}`);
    for (let length = 0; length < bytes.length; length += Math.max(1, Math.floor(bytes.length / 80))) {
      writeFileSync(file, bytes.subarray(0, length));
      await openAndDrain(file);
    }
  }
});

test('single-byte corruptions of each sample are read or refused, never crash', async () => {
  const next = random(20261128);
  let rejected = 0;
  for (const [name, bytes] of Object.entries(await samples())) {
    const file = path.join(dir, `flip-${name}`);
    for (let trial = 0; trial < 80; trial++) {
      const copy = Uint8Array.from(bytes);
      const at = Math.floor(next() * copy.length);
      copy[at] = Math.floor(next() * 256);
      writeFileSync(file, copy);
      if ((await openAndDrain(file)) === 'rejected') rejected++;
    }
  }
  assert.ok(rejected > 0);
});
