import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { BoundedReader, ByteCursor, ByteSlice, MAX_SINGLE_READ_BYTES, readChunks } from '../../../../extension/core/formats/reader';
import { stridedTensor } from '../../../../extension/core/formats/source';
import { WeightFileError } from '../../../../extension/core/formats/types';
import { le32, tempDir } from './weightFileHelpers';
import { readAllValues } from '../../../../extension/core/formats/source';

const dir = tempDir('reader');
const file = path.join(dir, 'bytes.bin');
writeFileSync(file, Uint8Array.from({ length: 100 }, (_, i) => i));

test('BoundedReader reads checked ranges and refuses ranges past the end', async () => {
  const reader = await BoundedReader.open(file);
  try {
    assert.equal(reader.size, 100);
    assert.deepEqual(Array.from(await reader.read(10, 3)), [10, 11, 12]);
    assert.deepEqual(Array.from(await reader.read(100, 0)), []);
    await assert.rejects(reader.read(98, 3, 'tensor x'), (e: unknown) => e instanceof WeightFileError && /tensor x: bytes 98\.\.101 run past the end/.test(e.message));
    await assert.rejects(reader.read(-1, 2), /invalid byte range/);
    await assert.rejects(reader.read(0.5, 2), /invalid byte range/);
    const chunks = [];
    for await (const chunk of readChunks(reader, 5, 10, 4)) chunks.push(Array.from(chunk));
    assert.deepEqual(chunks, [[5, 6, 7, 8], [9, 10, 11, 12], [13, 14]]);
    const slice = new ByteSlice(reader, 90, 10);
    assert.deepEqual(Array.from(await slice.read(8, 2)), [98, 99]);
    await assert.rejects(slice.read(8, 3), /run past the end/);
    const cursor = new ByteCursor(reader, 96, 2);
    assert.equal(await cursor.u16(), 96 | (97 << 8));
    await assert.rejects(cursor.u32(), /needs 4 more bytes/);
  } finally {
    await reader.close();
  }
  await assert.rejects(BoundedReader.open(path.join(dir, 'absent.bin')), /file not found/);
  await assert.rejects(BoundedReader.open(dir), /not a regular file/);
  assert.ok(MAX_SINGLE_READ_BYTES >= 1 << 20);
});

test('strided tensors stream in row-major order through the page cache', async () => {
  const values = Array.from({ length: 24 }, (_, i) => i);
  const dataFile = path.join(dir, 'strided.bin');
  writeFileSync(dataFile, le32(values));
  const reader = await BoundedReader.open(dataFile);
  try {
    // Storage 0..23 viewed as a transposed [4, 3] slice of a [3, 8] matrix starting at column 1:
    // element (i, j) = storage[1 + i + 8 j].
    const tensor = stridedTensor({
      name: 't', dtype: 'float32', shape: [4, 3], numel: 12, source: reader,
      storageByteOffset: 0, storageElements: 24, elementOffset: 1, strides: [1, 8],
    });
    assert.deepEqual(Array.from(await readAllValues(tensor)), [1, 9, 17, 2, 10, 18, 3, 11, 19, 4, 12, 20]);
    const chunks = [];
    for await (const chunk of tensor.chunks({ maxChunkElements: 5 })) chunks.push(chunk.length);
    assert.deepEqual(chunks, [5, 5, 2]);
    // The same view through the large-span path (sorted runs of at most 2 elements, 5-element chunks).
    const runs = stridedTensor({
      name: 't', dtype: 'float32', shape: [4, 3], numel: 12, source: reader,
      storageByteOffset: 0, storageElements: 24, elementOffset: 1, strides: [1, 8], inMemoryLimitBytes: 16, maxRunElements: 2,
    });
    assert.deepEqual(Array.from(await readAllValues(runs)), [1, 9, 17, 2, 10, 18, 3, 11, 19, 4, 12, 20]);
    const runChunks: number[][] = [];
    for await (const chunk of runs.chunks({ maxChunkElements: 5 })) runChunks.push(Array.from(chunk));
    assert.deepEqual(runChunks, [[1, 9, 17, 2, 10], [18, 3, 11, 19, 4], [12, 20]]);
    const broadcastRuns = stridedTensor({
      name: 'b', dtype: 'float32', shape: [2, 3], numel: 6, source: reader,
      storageByteOffset: 0, storageElements: 24, elementOffset: 5, strides: [0, 1], inMemoryLimitBytes: 4,
    });
    assert.deepEqual(Array.from(await readAllValues(broadcastRuns)), [5, 6, 7, 5, 6, 7]);
    // A broadcast (stride 0) axis repeats values.
    const broadcast = stridedTensor({
      name: 'b', dtype: 'float32', shape: [2, 3], numel: 6, source: reader,
      storageByteOffset: 0, storageElements: 24, elementOffset: 5, strides: [0, 1],
    });
    assert.deepEqual(Array.from(await readAllValues(broadcast)), [5, 6, 7, 5, 6, 7]);
    assert.throws(
      () => stridedTensor({ name: 'o', dtype: 'float32', shape: [4, 4], numel: 16, source: reader, storageByteOffset: 0, storageElements: 24, elementOffset: 0, strides: [8, 1] }),
      /reaches element 27 but its storage holds 24/,
    );
  } finally {
    await reader.close();
  }
});

test('every axis permutation of a 3-D storage gathers the same values on both strided paths', async () => {
  const dims = [5, 7, 3];
  const dataFile = path.join(dir, 'cube.bin');
  writeFileSync(dataFile, le32(Array.from({ length: 105 }, (_, i) => i * 1.5)));
  const reader = await BoundedReader.open(dataFile);
  try {
    const cStrides = [21, 3, 1];
    for (const perm of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) {
      const shape = perm.map((a) => dims[a]);
      const strides = perm.map((a) => cStrides[a]);
      const expected: number[] = [];
      for (let i = 0; i < shape[0]; i++) for (let j = 0; j < shape[1]; j++) for (let k = 0; k < shape[2]; k++) {
        expected.push((i * strides[0] + j * strides[1] + k * strides[2]) * 1.5);
      }
      for (const inMemoryLimitBytes of [1 << 20, 0]) {
        const tensor = stridedTensor({
          name: 'p', dtype: 'float32', shape, numel: 105, source: reader, storageByteOffset: 0, storageElements: 105,
          elementOffset: 0, strides, inMemoryLimitBytes, maxRunElements: 4,
        });
        const got: number[] = [];
        for await (const chunk of tensor.chunks({ maxChunkElements: 11 })) got.push(...chunk);
        assert.deepEqual(got, expected, `perm ${perm} limit ${inMemoryLimitBytes}`);
      }
    }
  } finally {
    await reader.close();
  }
});
