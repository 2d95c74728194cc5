import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { detectFormat, openWeightFile, pickParser, PARSERS } from '../../../../extension/core/formats/index';
import { writeSafetensors } from '../../../../extension/core/formats/safetensors';
import { WeightFileError } from '../../../../extension/core/formats/types';
import { tempDir } from './weightFileHelpers';

const dir = tempDir('detect');

test('content wins over a misleading extension', async () => {
  const file = path.join(dir, 'really-safetensors.npy');
  await writeSafetensors(file, [{ name: 'x', dtype: 'F32', shape: [1], data: [1] }]);
  assert.equal(await detectFormat(file), 'safetensors');
});

test('unrecognised and empty files get a WeightFileError naming the file', async () => {
  const junk = path.join(dir, 'junk.bin');
  writeFileSync(junk, 'hello, not weights');
  await assert.rejects(openWeightFile(junk), (e: unknown) => e instanceof WeightFileError && e.file === junk && /not a recognised weight file \(first bytes 68 65 6c/.test(e.message));
  const empty = path.join(dir, 'empty.safetensors');
  writeFileSync(empty, '');
  await assert.rejects(detectFormat(empty), /the file is empty/);
  await assert.rejects(detectFormat(path.join(dir, 'nope')), /file not found/);
});

test('every parser sniffs on content alone when given no file name', () => {
  const nothing = new Uint8Array(16);
  for (const parser of PARSERS) assert.equal(parser.sniff(nothing, ''), false, parser.format);
  assert.equal(pickParser(nothing, 'x.safetensors')?.format, 'safetensors');
});

test('zip-based and JSON formats are told apart by content, whatever the extension', async () => {
  const { buildZip, ascii, Pickler } = await import('./weightFileHelpers');
  const npy = new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const cases: [string, Uint8Array, string][] = [
    ['arrays.pt', buildZip([{ name: 'x.npy', data: npy }]), 'npz'],
    ['model.npz', buildZip([{ name: 'archive/data.pkl', data: new Pickler().proto(2).op(0x7d).stop() }]), 'pytorch'],
    ['named.bin', buildZip([{ name: 'mymodel/version', data: ascii('3') }, { name: 'mymodel/data.pkl', data: new Uint8Array([0x7d, 0x2e]) }]), 'pytorch'],
    ['index.json', ascii('{"metadata": {}, "weight_map": {"a": "x.safetensors"}}'), 'safetensors'],
    ['x.json', ascii('{"format": "graph-model", "modelTopology": {}, "weightsManifest": []}'), 'tfjs'],
    ['manifest.json', ascii('[{"paths": ["a.bin"], "weights": [{"name": "w", "shape": [1], "dtype": "float32"}]}]'), 'tfjs'],
    ['m.dat', ascii('GGUF\x03\0\0\0'), 'gguf'],
    ['yolo.weights', new Uint8Array([0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 'darknet'],
  ];
  for (const [name, bytes, format] of cases) {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    assert.equal(await detectFormat(file), format, name);
  }
  // Darknet has no magic number: without the extension the same bytes are not recognised.
  const anonymous = path.join(dir, 'yolo.dat');
  writeFileSync(anonymous, new Uint8Array(20));
  await assert.rejects(detectFormat(anonymous), /not a recognised weight file/);
});

test('summaries come from headers; aborted reads stop with an AbortError', async () => {
  const { summarizeWeightFile } = await import('../../../../extension/core/formats/index');
  const file = path.join(dir, 'summary.safetensors');
  await writeSafetensors(file, [
    { name: 'w', dtype: 'F16', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
    { name: 'b', dtype: 'I64', shape: [3], data: [1, 2, 3] },
  ]);
  const opened = await openWeightFile(file);
  assert.deepEqual(summarizeWeightFile(opened), {
    file,
    format: 'safetensors',
    fileBytes: opened.fileBytes,
    tensors: [
      { name: 'w', dtype: 'float16', shape: [2, 3], numel: 6 },
      { name: 'b', dtype: 'int64', shape: [3], numel: 3 },
    ],
    parameters: 9,
  });
  const controller = new AbortController();
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const chunk of opened.tensors[0].chunks({ maxChunkElements: 2, signal: controller.signal })) {
      seen.push(...chunk);
      controller.abort();
    }
  }, { name: 'AbortError' });
  assert.deepEqual(seen, [1, 2]);
  await assert.rejects(async () => {
    for await (const chunk of opened.tensors[0].chunks({ maxChunkElements: 0 })) void chunk;
  }, /maxChunkElements must be a positive integer, got 0/);
  await opened.close();
  await assert.rejects(openWeightFile(file, { signal: AbortSignal.abort() }), { name: 'AbortError' });
});
