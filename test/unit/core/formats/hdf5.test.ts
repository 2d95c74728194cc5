import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hdf5HeapLimitBytes, hdf5Parser, openHdf5Weights } from '../../../../extension/core/formats/hdf5';
import { trappedWithin } from '../../../../extension/core/wasmTrap';
import { WeightFileError, type OpenedWeightFile, type TensorSource } from '../../../../extension/core/formats/types';
import { scanOpenedWeightFile } from '../../../../extension/core/sparsity/scan';
import { fixture } from '../../../paths';

// Fixtures written by h5py: test/fixtures/hdf5/make_fixtures.py.
const FIXTURES = fixture('hdf5');

/** The fixture script's values: v(i) = (i - 36) / 8 over the row-major index. */
const ramp = (count: number): number[] => Array.from({ length: count }, (_, i) => (i - 36) / 8);

async function valuesOf(tensor: TensorSource, maxChunkElements?: number): Promise<number[]> {
  const values: number[] = [];
  for await (const chunk of tensor.chunks({ maxChunkElements })) {
    assert.ok(chunk.length <= (maxChunkElements ?? 1 << 20), 'chunk within the asked bound');
    values.push(...chunk);
  }
  return values;
}

function byName(model: OpenedWeightFile, name: string): TensorSource {
  const tensor = model.tensors.find((t) => t.name === name);
  assert.ok(tensor, `tensor ${name} is listed (have ${model.tensors.map((t) => t.name).join(', ')})`);
  return tensor;
}

const workDir = mkdtempSync(join(tmpdir(), 'deep-accel-hdf5-'));
process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));

test('Keras 2 model.save() file: layer weights, HWIO/HWOI layouts, optimizer state left out', async () => {
  const model = await hdf5Parser.open(join(FIXTURES, 'keras2_model.h5'));
  assert.equal(model.format, 'hdf5');
  assert.deepEqual(
    model.tensors.map((t) => [t.name, t.dtype, t.shape, t.layout, t.layoutBasis]),
    [
      ['model_weights/conv2d/conv2d/bias:0', 'float32', [4], undefined, undefined],
      ['model_weights/conv2d/conv2d/kernel:0', 'float32', [3, 3, 2, 4], 'HWIO', 'keras'],
      ['model_weights/conv2d_transpose/conv2d_transpose/kernel:0', 'float32', [2, 2, 3, 2], 'HWOI', 'keras'],
      ['model_weights/dense/dense/bias:0', 'float32', [3], undefined, undefined],
      ['model_weights/dense/dense/kernel:0', 'float16', [4, 3], 'IO', 'keras'],
    ],
  );
  // Output channel 0 (last axis) of the conv kernel was zeroed.
  const kernel = ramp(72).map((v, i) => (i % 4 === 0 ? 0 : v));
  assert.deepEqual(await valuesOf(byName(model, 'model_weights/conv2d/conv2d/kernel:0')), kernel);
  assert.deepEqual(await valuesOf(byName(model, 'model_weights/conv2d/conv2d/kernel:0'), 5), kernel);
  assert.deepEqual(await valuesOf(byName(model, 'model_weights/dense/dense/kernel:0')), ramp(12));
  assert.deepEqual(await valuesOf(byName(model, 'model_weights/dense/dense/bias:0')), [0.5, 0, -1]);
  assert.deepEqual(model.warnings, ['optimizer_weights (training state, not model weights) skipped']);
  assert.deepEqual(model.metadata, { keras_version: '2.13.1', backend: 'tensorflow' });
  await model.close();
});

test('plain HDF5: every numeric type, big-endian data, gzip+shuffle chunks, scalars, empty datasets', async () => {
  const model = await hdf5Parser.open(join(FIXTURES, 'generic.h5'));
  const expected: Record<string, [string, number[], number[]]> = {
    f16: ['float16', [5], [1, -2, 0.5, 65504, 0]],
    f32_big_endian: ['float32', [3], [1.5, -2, 0]],
    f64: ['float64', [2], [0.1, -1e300]],
    i8: ['int8', [3], [-128, 0, 127]],
    u16: ['uint16', [2], [0, 65535]],
    i64: ['int64', [2], [-9007199254740991, 9007199254740991]],
    u8_big_endian_i32: ['int32', [2], [-5, 7]],
    'nested/deeper/gzip': ['float32', [5, 7], ramp(35)],
    cube: ['float32', [3, 4, 5], ramp(60)],
    scalar: ['float32', [], [2.5]],
    empty: ['float32', [0, 3], []],
  };
  assert.deepEqual(model.tensors.map((t) => t.name).sort(), Object.keys(expected).sort());
  for (const [name, [dtype, shape, values]] of Object.entries(expected)) {
    const tensor = byName(model, name);
    assert.deepEqual([tensor.dtype, tensor.shape, tensor.numel], [dtype, shape, values.length], name);
    if (shape.length === 2) assert.deepEqual([tensor.layout, tensor.layoutBasis], ['IO', 'assumed'], `${name}: no evidence, the Keras order is assumed and said so`);
    else assert.equal(tensor.layout, undefined, `${name}: neither a matrix nor a kernel`);
    assert.deepEqual(await valuesOf(tensor), values, name);
    // Chunk bounds smaller than a row, than a plane, and odd sizes all give the same row-major values.
    for (const bound of [1, 3, 6, 21]) assert.deepEqual(await valuesOf(tensor, bound), values, `${name} in chunks of ${bound}`);
  }
  assert.deepEqual(model.warnings.sort(), [
    "'dangling' is a soft link to '/nowhere'; counted at its target only",
    "'elsewhere' is an external link to other.h5; not followed",
    "'link_to_f64' is a soft link to '/f64'; counted at its target only",
    "dataset 'flags' holds enum (h5py bool) values of 1 bytes, not plain numbers; skipped",
    "dataset 'text' holds variable-length values of 4 bytes, not plain numbers; skipped",
  ]);
  await model.close();
});

test('sniff: HDF5 signature by content, after a user block only with an HDF5 extension', () => {
  const head = readFileSync(join(FIXTURES, 'generic.h5')).subarray(0, 4096);
  assert.equal(hdf5Parser.sniff(head, ''), true);
  const shifted = new Uint8Array(4096);
  shifted.set(head.subarray(0, 8), 512);
  assert.equal(hdf5Parser.sniff(shifted, ''), false);
  assert.equal(hdf5Parser.sniff(shifted, 'weights.h5'), true);
  assert.equal(hdf5Parser.sniff(new Uint8Array([0x50, 0x4b, 3, 4]), 'weights.h5'), false);
});

test('bad input: not HDF5, truncated, missing, closed', async () => {
  const assertFails = async (path: string, pattern: RegExp): Promise<void> => {
    await assert.rejects(hdf5Parser.open(path), (error: unknown) => {
      assert.ok(error instanceof WeightFileError, `expected WeightFileError, got ${String(error)}`);
      assert.equal(error.file, path);
      assert.match(error.message, pattern);
      return true;
    });
  };
  const text = join(workDir, 'text.h5');
  writeFileSync(text, 'plain text, not HDF5');
  await assertFails(text, /not an HDF5 file: no HDF5 signature/);
  await assertFails(join(workDir, 'missing.h5'), /file not found/);
  const bytes = readFileSync(join(FIXTURES, 'keras2_model.h5'));
  // Cut inside the superblock / object headers: HDF5 itself refuses to open it.
  const truncated = join(workDir, 'truncated.h5');
  writeFileSync(truncated, bytes.subarray(0, 600));
  await assertFails(truncated, /truncated or corrupt/);
  // Cut after the metadata but inside the data: opening may work, reading must fail cleanly.
  const cut = join(workDir, 'cut.h5');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 64));
  let failure: unknown;
  try {
    const model = await hdf5Parser.open(cut);
    try {
      for (const tensor of model.tensors) await valuesOf(tensor);
    } finally {
      await model.close();
    }
  } catch (error) {
    failure = error;
  }
  assert.ok(failure instanceof WeightFileError, `a truncated file fails with a WeightFileError, got ${String(failure)}`);
  assert.equal(failure.file, cut);

  const model = await hdf5Parser.open(join(FIXTURES, 'generic.h5'));
  const f64 = byName(model, 'f64');
  await model.close();
  await assert.rejects(valuesOf(f64), /already closed/);
});

test('datasets never written hold their fill value: 10^12 elements are summarised in closed form, not read', { timeout: 60_000 }, async () => {
  // fill_values.h5 (4 KB, make_fixtures.py): stored [1, 0, -2]; small 40x30 of -2; huge_chunked
  // 10^6 x 10^6 float32 of 0 (default fill); huge_contiguous 10^6 x 10^6 float64 of 0.5.
  const file = join(FIXTURES, 'fill_values.h5');
  const model = await hdf5Parser.open(file);
  try {
    assert.deepEqual(model.tensors.map((t) => [t.name, t.numel, t.constant]), [
      ['huge_chunked', 1e12, 0],
      ['huge_contiguous', 1e12, 0.5],
      ['small', 1200, -2],
      ['stored', 3, undefined],
    ]);
    assert.deepEqual(await valuesOf(byName(model, 'small'), 500), new Array(1200).fill(-2));
    assert.deepEqual(await valuesOf(byName(model, 'stored')), [1, 0, -2]);
    assert.ok(model.warnings.includes("dataset 'huge_chunked' has no stored data: its 1000000000000 elements are all the fill value 0"), model.warnings.join('\n'));
    const report = await scanOpenedWeightFile(model, { histogram: true });
    const stats = (name: string) => report.tensors.find((t) => t.name === name)!;
    assert.deepEqual([stats('huge_chunked').zeros, stats('huge_chunked').sparsity, stats('huge_chunked').mean, stats('huge_chunked').std], [1e12, 1, 0, 0]);
    const contiguous = stats('huge_contiguous');
    assert.deepEqual([contiguous.zeros, contiguous.mean, contiguous.std, contiguous.min, contiguous.max, contiguous.absMean], [0, 0.5, 0, 0.5, 0.5, 0.5]);
    // 0.5 lies in the histogram bin (10^-0.4, 10^-0.3]: all 10^12 elements there.
    const bin = contiguous.histogram!.log10Edges.findIndex((edge, i, edges) => 10 ** edge < 0.5 && 0.5 <= 10 ** edges[i + 1]!);
    assert.equal(contiguous.histogram!.counts[bin], 1e12);
    assert.equal(contiguous.histogram!.counts.reduce((a, b) => a + b, 0), 1e12);
    // The small constant is streamed: its structured figures are there as for any tensor.
    assert.deepEqual([stats('small').mean, stats('small').zeros, stats('small').rows], [-2, 0, 0]);
    assert.deepEqual([report.total.numel, report.total.zeros], [2e12 + 1203, 1e12 + 1]);
    assert.ok(report.warnings.some((w) => /^"huge_contiguous" stores no values: all 1000000000000 elements are 0\.5/.test(w)), report.warnings.join('\n'));
  } finally {
    await model.close();
  }
  // Gzip chunks could hold some values, but not 10^12 of them in 1.4 KB: refused with the sizes.
  const gzip = join(FIXTURES, 'fill_gzip_huge.h5');
  await assert.rejects(hdf5Parser.open(gzip), (error: unknown) => {
    assert.ok(error instanceof WeightFileError, String(error));
    assert.equal(error.file, gzip);
    assert.match(error.message, /dataset 'w' declares 1000000000000 elements \(4000000000000 bytes\), more than 1032 times the file's 1400 bytes/);
    return true;
  });
});

test('a local-heap free list that points back at itself is refused before HDF5 reads it', { timeout: 120_000 }, async () => {
  // fill_values.h5's root group keeps its link names in a local heap ("HEAP" at 680: data segment at
  // 712, free list head at 56). The free block there ends the list with next = 1 (H5HL_FREE_NULL);
  // one changed byte (next = 56) makes the list a cycle, and HDF5 allocates a node per lap: with no
  // limit its heap grew to the 2 GiB WebAssembly maximum (2.1 GB resident, 13 s). The metadata walk
  // refuses the cycle before HDF5 opens the file, so its heap does not grow.
  const bytes = readFileSync(join(FIXTURES, 'fill_values.h5'));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(new TextDecoder().decode(bytes.subarray(680, 684)), 'HEAP');
  const [dataAt, freeHead] = [Number(view.getBigUint64(680 + 24, true)), Number(view.getBigUint64(680 + 16, true))];
  assert.deepEqual([dataAt, freeHead, view.getBigUint64(dataAt + freeHead, true)], [712, 56, 1n]);
  bytes[dataAt + freeHead] = freeHead;
  const file = join(workDir, 'free_list_cycle.h5');
  writeFileSync(file, bytes);
  await assert.rejects(hdf5Parser.open(file), (error: unknown) => {
    assert.ok(error instanceof WeightFileError, String(error));
    assert.equal(error.file, file);
    assert.match(error.message, /HDF5 structure refused before the HDF5 library reads it: object '\/': the local heap at byte 680: its free list comes back to the block at offset 56 \(a cycle/);
    return true;
  });
  const h5 = await import('h5wasm/node');
  const module = await h5.ready;
  assert.ok(module.HEAPU8.length <= hdf5HeapLimitBytes(bytes.length), `HDF5 heap ${module.HEAPU8.length} bytes`);
  // The same library instance still reads a good file afterwards.
  const good = await hdf5Parser.open(join(FIXTURES, 'generic.h5'));
  assert.ok(good.tensors.length > 0);
  await good.close();
});

test('a close that traps inside HDF5 is the file error, keeps the trap for the worker to retire, and still removes the extraction', async () => {
  // HDF5 aborting in H5Fclose (seen once in the fuzz campaign, after a corrupt global heap): the
  // close below releases the file, then throws the trap as h5wasm would.
  const h5 = await import('h5wasm/node');
  const prototype = h5.File.prototype;
  const close = prototype.close;
  const keys = prototype.keys;
  const trap = (): never => {
    throw new WebAssembly.RuntimeError('Aborted(native code called abort())');
  };
  prototype.close = function trappingClose(this: InstanceType<typeof h5.File>): number {
    close.call(this);
    return trap();
  };
  const file = join(FIXTURES, 'generic.h5');
  let cleanups = 0;
  const settings = { reportedFile: file, format: 'hdf5' as const, fileBytes: readFileSync(file).length, cleanup: async () => void cleanups++ };
  const fileError = (pattern: RegExp) => (error: unknown) => {
    assert.ok(error instanceof WeightFileError, `expected WeightFileError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.match(error.message, pattern);
    assert.ok(trappedWithin(error), 'the trap is in the cause chain');
    return true;
  };
  try {
    const model = await openHdf5Weights(file, settings);
    assert.equal(model.tensors.length, 11);
    await assert.rejects(model.close(), fileError(/: HDF5 could not close the file \(Aborted\(native code called abort\(\)\)\); it is corrupt$/));
    assert.equal(cleanups, 1);
    // A read that fails, then a close that traps: the read's error, with the close's trap behind it.
    prototype.keys = function failingKeys(): string[] {
      throw new Error('no group listing');
    };
    await assert.rejects(openHdf5Weights(file, settings), fileError(/: HDF5 structure could not be read \(no group listing\); the file is corrupt; closing it then trapped inside HDF5 too$/));
    assert.equal(cleanups, 2);
  } finally {
    prototype.close = close;
    prototype.keys = keys;
  }
  const model = await hdf5Parser.open(file);
  assert.equal(model.tensors.length, 11);
  await model.close();
});
