import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kerasParser } from '../../../../extension/core/formats/keras';
import { WeightFileError, type TensorSource } from '../../../../extension/core/formats/types';
import { fixture } from '../../../paths';
import { ascii, buildZip, deflatedZeros } from './weightFileHelpers';

// Fixtures written by h5py + zipfile: test/fixtures/hdf5/make_fixtures.py.
const FIXTURES = fixture('hdf5');
const ramp = (count: number): number[] => Array.from({ length: count }, (_, i) => (i - 36) / 8);

async function valuesOf(tensor: TensorSource, maxChunkElements?: number): Promise<number[]> {
  const values: number[] = [];
  for await (const chunk of tensor.chunks({ maxChunkElements })) values.push(...chunk);
  return values;
}

const workDir = mkdtempSync(join(tmpdir(), 'deep-accel-kerastest-'));
process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));

// The parser extracts into os.tmpdir(), which other test files and other runs on the machine use at
// the same time: this file's process gets a temporary folder of its own (tmpdir() reads TMPDIR on
// each call), so the counts below see only this file's extractions.
const extractDir = join(workDir, 'tmp');
mkdirSync(extractDir);
process.env.TMPDIR = extractDir;
const kerasTempFolders = (): string[] => readdirSync(extractDir).filter((name) => name.startsWith('deep-accel-keras-'));

test('.keras archives (stored and deflated): weights from model.weights.h5, temp copy removed on close', async () => {
  for (const name of ['model.keras', 'model_deflated.keras']) {
    const before = kerasTempFolders();
    const path = join(FIXTURES, name);
    const model = await kerasParser.open(path);
    assert.equal(model.file, path);
    assert.equal(model.format, 'keras');
    assert.equal(model.fileBytes, readFileSync(path).length);
    assert.deepEqual(
      model.tensors.map((t) => [t.name, t.shape, t.layout]),
      [
        ['layers/conv2d/vars/0', [3, 3, 1, 2], 'HWIO'],
        ['layers/conv2d/vars/1', [2], undefined],
        ['layers/dense/vars/0', [2, 2], 'IO'],
      ],
    );
    assert.deepEqual(await valuesOf(model.tensors[0]!), ramp(18));
    assert.deepEqual(await valuesOf(model.tensors[0]!, 4), ramp(18));
    assert.deepEqual(await valuesOf(model.tensors[1]!), [0, 1]);
    assert.deepEqual(await valuesOf(model.tensors[2]!), ramp(4));
    assert.equal(kerasTempFolders().length, before.length + 1, 'one private extraction while open');
    await model.close();
    assert.deepEqual(kerasTempFolders(), before, 'extraction removed on close');
  }
});

test('sniff: Keras entry names in the zip head, .keras by name', () => {
  assert.equal(kerasParser.sniff(readFileSync(join(FIXTURES, 'model.keras')).subarray(0, 4096), ''), true);
  assert.equal(kerasParser.sniff(readFileSync(join(FIXTURES, 'no_weights.keras')).subarray(0, 4096), ''), true);
  assert.equal(kerasParser.sniff(readFileSync(join(FIXTURES, 'generic.h5')).subarray(0, 4096), 'x.keras'), false);
});

test('bad input: archive without weights, truncated archive, corrupt weights entry', async () => {
  const before = kerasTempFolders();
  const assertFails = async (path: string, pattern: RegExp): Promise<void> => {
    await assert.rejects(kerasParser.open(path), (error: unknown) => {
      assert.ok(error instanceof WeightFileError, `expected WeightFileError, got ${String(error)}`);
      assert.equal(error.file, path);
      assert.match(error.message, pattern);
      return true;
    });
  };
  await assertFails(join(FIXTURES, 'no_weights.keras'), /no model.weights.h5 among its 2 entries/);
  const bytes = readFileSync(join(FIXTURES, 'model.keras'));
  const truncated = join(workDir, 'truncated.keras');
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 200));
  await assertFails(truncated, /zip|truncated/);
  // Overwrite the HDF5 signature inside the stored entry: the archive is fine, its weights are not.
  const corrupt = Uint8Array.from(bytes);
  const signature = Buffer.from([0x89, 0x48, 0x44, 0x46]);
  const at = Buffer.from(corrupt).indexOf(signature);
  assert.ok(at > 0);
  corrupt.fill(0x20, at, at + 8);
  const corruptPath = join(workDir, 'corrupt.keras');
  writeFileSync(corruptPath, corrupt);
  await assertFails(corruptPath, /model.weights.h5: not an HDF5 file/);
  assert.deepEqual(kerasTempFolders(), before, 'no extraction left behind after failures');
});

test('a .keras bomb (300 MiB of zeros in a 300 KB archive) is refused before anything is written to temp', async () => {
  const bomb = deflatedZeros(300);
  const path = join(workDir, 'bomb.keras');
  writeFileSync(path, buildZip([{ name: 'metadata.json', data: ascii('{}') }, { name: 'model.weights.h5', data: new Uint8Array(0), deflated: bomb }]));
  assert.ok(readFileSync(path).length < 400_000);
  const before = kerasTempFolders();
  await assert.rejects(kerasParser.open(path), (error: unknown) => {
    assert.ok(error instanceof WeightFileError, String(error));
    assert.equal(error.file, path);
    assert.match(error.message, new RegExp(`model\\.weights\\.h5 inflates from ${bomb.body.length} to 314572800 bytes, more than the 268435456 bytes allowed in the temporary folder`));
    return true;
  });
  assert.deepEqual(kerasTempFolders(), before, 'no temporary folder left behind');
});

test('a weights entry within the temporary folder\'s limit that is not HDF5 (256 MiB of zeros) is refused at its first bytes', async () => {
  // The fuzzer's case: a 256 KB archive whose model.weights.h5 honestly inflates to 256 MiB of zeros
  // took 22 s (load 35) to be written out in full before HDF5 found no signature in it.
  const zeros = deflatedZeros(256);
  const path = join(workDir, 'zeros.keras');
  writeFileSync(path, buildZip([{ name: 'metadata.json', data: ascii('{}') }, { name: 'model.weights.h5', data: new Uint8Array(0), deflated: zeros }]));
  const before = kerasTempFolders();
  const started = performance.now();
  await assert.rejects(kerasParser.open(path), (error: unknown) => {
    assert.ok(error instanceof WeightFileError, String(error));
    assert.equal(error.file, path);
    assert.match(error.message, /model\.weights\.h5: not an HDF5 file: it does not start with the HDF5 signature \(\\x89HDF\\r\\n\\x1a\\n; Keras writes it without a user block\), so the rest of it was not inflated/);
    return true;
  });
  assert.deepEqual(kerasTempFolders(), before, 'no temporary folder left behind');
  // Not a timing assertion of speed, only that the rest was skipped: inflating 256 MiB takes seconds.
  assert.ok(performance.now() - started < 60_000);
});
