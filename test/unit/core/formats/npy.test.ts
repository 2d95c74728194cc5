import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { detectFormat, openWeightFile } from '../../../../extension/core/formats/index';
import { readNpyFloat32, writeNpy } from '../../../../extension/core/formats/npy';
import { WeightFileError } from '../../../../extension/core/formats/types';
import { ascii, buildZip, concat, deflatedZeros, le32, tempDir, valuesByName } from './weightFileHelpers';
import { fixture } from '../../../paths';

const dir = tempDir('npy');

/** A version 1.0 (or 2.0) .npy built by hand from a header dict literal and data bytes. */
function npyBytes(dict: string, data: Uint8Array, version = 1): Uint8Array {
  const text = ascii(dict + '\n');
  const prefix = new Uint8Array(version === 1 ? 10 : 12);
  prefix.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  if (version === 1) new DataView(prefix.buffer).setUint16(8, text.length, true);
  else new DataView(prefix.buffer).setUint32(8, text.length, true);
  return concat(prefix, text, data);
}

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

test('writeNpy writes the exact header numpy writes for a (2, 3) float32 array', async () => {
  const file = path.join(dir, 'w.npy');
  await writeNpy(file, [2, 3], new Float32Array([0, 1, 2, 3, 4, 5]));
  const bytes = new Uint8Array(readFileSync(file));
  // numpy: magic, 1.0, header length 118 ('v'), dict padded so data starts at byte 128.
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const expectedHeader = concat(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]), ascii(dict.padEnd(117, ' ') + '\n'));
  assert.deepEqual(bytes.subarray(0, 128), expectedHeader);
  assert.deepEqual(bytes.subarray(128), le32([0, 1, 2, 3, 4, 5]));
  assert.deepEqual(await readNpyFloat32(file), { shape: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) });
  await assert.rejects(readNpyFloat32(file, { maxBytes: 20 }), /over the 20-byte limit/);
  const one = path.join(dir, 'one.npy');
  await writeNpy(one, [3], new Float32Array([1, 2, 3]));
  assert.match(readFileSync(one, 'latin1'), /'shape': \(3,\), }/);
});

test('every dtype and both byte orders decode to the values written', async () => {
  const cases: [string, Uint8Array, number[]][] = [];
  const be = new Uint8Array(8);
  new DataView(be.buffer).setInt32(0, -7, false);
  new DataView(be.buffer).setInt32(4, 65536, false);
  cases.push(['>i4', be, [-7, 65536]]);
  const f8 = new Uint8Array(16);
  new DataView(f8.buffer).setFloat64(0, 0.1, false);
  new DataView(f8.buffer).setFloat64(8, -1e300, false);
  cases.push(['>f8', f8, [0.1, -1e300]]);
  cases.push(['<f2', new Uint8Array([0x00, 0x3c, 0x00, 0xc0]), [1, -2]]);
  cases.push(['>f2', new Uint8Array([0x3c, 0x00, 0xc0, 0x00]), [1, -2]]);
  cases.push(['|b1', new Uint8Array([1, 0]), [1, 0]]);
  cases.push(['|i1', new Uint8Array([0xff, 0x7f]), [-1, 127]]);
  cases.push(['|u1', new Uint8Array([0xff, 0x00]), [255, 0]]);
  cases.push(['<u2', new Uint8Array([0xff, 0xff, 0x01, 0x00]), [65535, 1]]);
  const u8 = new Uint8Array(16);
  new DataView(u8.buffer).setBigUint64(0, 2n ** 60n, true);
  new DataView(u8.buffer).setBigUint64(8, 3n, true);
  cases.push(['<u8', u8, [2 ** 60, 3]]);
  for (const [descr, data, values] of cases) {
    const file = write(`d${descr.replace(/[<>|]/g, (c) => ({ '<': 'le', '>': 'be', '|': 'na' })[c] ?? '')}.npy`, npyBytes(`{'descr': '${descr}', 'fortran_order': False, 'shape': (2,), }`, data));
    const opened = await openWeightFile(file);
    assert.equal(opened.format, 'npy');
    assert.deepEqual(Object.values(await valuesByName(opened))[0], values, descr);
    await opened.close();
  }
  const v2 = write('v2.npy', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", le32([5, 6]), 2));
  const opened = await openWeightFile(v2);
  assert.deepEqual(opened.tensors[0].shape, [1, 2]);
  assert.deepEqual(await valuesByName(opened), { v2: [5, 6] });
  await opened.close();
});

test('Fortran-order arrays stream back in row-major order', async () => {
  // [[0, 1, 2], [3, 4, 5]] stored column by column: 0 3 1 4 2 5.
  const file = write('f.npy', npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", le32([0, 3, 1, 4, 2, 5])));
  const opened = await openWeightFile(file);
  assert.deepEqual(await valuesByName(opened), { f: [0, 1, 2, 3, 4, 5] });
  await opened.close();
  // A 3-D array written by writeNpy in Fortran order: storage index of (i, j, k) is i + 2 j + 6 k.
  const cube = path.join(dir, 'cube.npy');
  const values = Float32Array.from({ length: 24 }, (_, i) => i * 0.5);
  await writeNpy(cube, [2, 3, 4], values, { fortranOrder: true });
  const stored = new Float32Array(new Uint8Array(readFileSync(cube)).slice(128).buffer);
  assert.equal(stored[1], values[12]); // (1,0,0) row-major 12
  assert.equal(stored[2], values[4]); // (0,1,0) row-major 4
  assert.equal(stored[6], values[1]); // (0,0,1) row-major 1
  assert.deepEqual(await readNpyFloat32(cube), { shape: [2, 3, 4], data: values });
});

test('npz archives: stored and deflated entries, C and Fortran order', async () => {
  const a = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", le32([1, 2, 3, 4]));
  const b = npyBytes("{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }", new Uint8Array([1, 0, 0xfe, 0xff, 0, 1]));
  const c = npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", le32([0, 3, 1, 4, 2, 5]));
  const big = Float32Array.from({ length: 5000 }, (_, i) => (i % 7) - 3);
  const d = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (5000,), }", new Uint8Array(big.buffer));
  const file = write('arch.npz', buildZip([
    { name: 'a.npy', data: a },
    { name: 'b.npy', data: b, deflate: true },
    { name: 'c.npy', data: c, deflate: true },
    { name: 'd.npy', data: d, deflate: true },
    { name: 'readme.txt', data: ascii('hi') },
  ]));
  assert.equal(await detectFormat(file), 'npz');
  const opened = await openWeightFile(file);
  const values = await valuesByName(opened);
  assert.deepEqual(values.a, [1, 2, 3, 4]);
  assert.deepEqual(values.b, [1, -2, 256]);
  assert.deepEqual(values.c, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(values.d, Array.from(big));
  assert.deepEqual(opened.warnings, ['npz entry "readme.txt" is not a .npy array; ignored']);
  const sizes: number[] = [];
  for await (const chunk of opened.tensors[3].chunks({ maxChunkElements: 1500 })) sizes.push(chunk.length);
  assert.deepEqual(sizes, [1500, 1500, 1500, 500]);
  await opened.close();
});

async function rejects(file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(async () => {
    const opened = await openWeightFile(file);
    try {
      await valuesByName(opened);
    } finally {
      await opened.close();
    }
  }, (error: unknown) => {
    assert.ok(error instanceof WeightFileError, String(error));
    assert.equal(error.file, file);
    assert.match(error.message, pattern);
    return true;
  });
}

test('bad .npy and .npz input gets named errors', async () => {
  const header = (shape: string, descr = '<f4') => `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  await rejects(write('trunc.npy', npyBytes(header('(4,)'), le32([1, 2]))), /needs 16 data bytes but only 8 follow the header; truncated/);
  await rejects(write('extra.npy', npyBytes(header('(1,)'), le32([1, 2]))), /needs 4 data bytes but 8 follow/);
  const runaway = npyBytes(header('(1,)'), le32([1]));
  new DataView(runaway.buffer).setUint16(8, 60000, true);
  await rejects(write('runaway.npy', runaway), /header length 60000 runs past the end/);
  const huge = npyBytes(header('(1,)'), le32([1]), 2);
  new DataView(huge.buffer).setUint32(8, 0xfffffff0, true);
  await rejects(write('huge.npy', huge), /exceeds the 1048576-byte limit/);
  await rejects(write('neg.npy', npyBytes(header('(-1, 2)'), le32([1]))), /negative dimension/);
  await rejects(write('overflow.npy', npyBytes(header('(4294967296, 4294967296)'), le32([1]))), /2\^53/);
  await rejects(write('complex.npy', npyBytes(header('(1,)', '<c8'), le32([1, 2]))), /unsupported dtype '<c8'/);
  await rejects(write('struct.npy', npyBytes("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }", le32([1]))), /structured dtype/);
  await rejects(write('garbage.npy', npyBytes("{'descr': '<f4', oops}", le32([1]))), /header/);
  // Keys are the dict's own: a '__proto__' entry is an ordinary (unknown) key, never the source of
  // 'descr' or 'shape'.
  await rejects(write('proto.npy', npyBytes("{'__proto__': {'descr': '<f4', 'fortran_order': False, 'shape': (1,)}}", le32([1]))), /the header dict has no 'descr'/);

  const entry = npyBytes(header('(2,)'), le32([1, 2]));
  const archive = buildZip([{ name: 'x.npy', data: entry }]);
  await rejects(write('cut.npz', archive.subarray(0, archive.length - 10)), /no end-of-central-directory record|truncated/);
  // A deflated entry whose real content is larger than declared: inflation stops at the declared size.
  const zeros = new Uint8Array(200000);
  const liar = npyBytes(header('(20,)'), new Uint8Array(80));
  await rejects(
    write('liar.npz', buildZip([{ name: 'x.npy', data: concat(liar, zeros), deflate: true, declaredSize: liar.length }])),
    /inflates past its declared \d+ bytes/,
  );
  // A tiny compressed entry that claims to expand to 3 GB.
  await rejects(
    write('bomb.npz', buildZip([{ name: 'x.npy', data: new Uint8Array(1000), deflate: true, declaredSize: 3_000_000_000 }])),
    /beyond what deflate can produce \(zip bomb\?\)/,
  );
  // Two central records pointing at the same local data.
  const twice = buildZip([{ name: 'x.npy', data: entry }, { name: 'y.npy', data: entry }]);
  const view = new DataView(twice.buffer);
  const secondCentral = twice.length - 22 - (46 + 5);
  view.setUint32(secondCentral + 42, 0, true);
  await rejects(write('overlap.npz', twice), /overlap \(zip bomb\?\)/);
});

const FIXTURES = fixture('numpy');

/** The closed-form values make_fixtures.py wrote with real numpy (row-major order). */
const NUMPY_EXPECTED: Record<string, { shape: number[]; values: number[] }> = {
  c_f4: { shape: [3, 4], values: Array.from({ length: 12 }, (_, i) => i / 8) },
  f_f8be: { shape: [2, 3, 4], values: Array.from({ length: 24 }, (_, i) => (i - 10) * 0.5) },
  i2: { shape: [2, 3], values: [-3, -2, -1, 0, 1, 2] },
  b1: { shape: [5], values: [0, 1, 0, 1, 0] },
  f2: { shape: [4], values: [1, -2, 65504, 2 ** -24] },
  u8be: { shape: [4], values: [0, 1, 2 ** 40, 2 ** 53] },
};

test('files written by real numpy (np.save, np.savez, np.savez_compressed) read back exactly', async () => {
  for (const [name, want] of Object.entries(NUMPY_EXPECTED)) {
    const opened = await openWeightFile(path.join(FIXTURES, `${name}.npy`));
    assert.deepEqual(opened.tensors[0].shape, want.shape, name);
    assert.deepEqual((await valuesByName(opened))[name], want.values, name);
    await opened.close();
  }
  for (const archive of ['stored.npz', 'deflated.npz']) {
    const file = path.join(FIXTURES, archive);
    assert.equal(await detectFormat(file), 'npz');
    const opened = await openWeightFile(file);
    assert.deepEqual(opened.warnings, []);
    const values = await valuesByName(opened);
    assert.deepEqual(Object.keys(values).sort(), Object.keys(NUMPY_EXPECTED).sort());
    for (const [name, want] of Object.entries(NUMPY_EXPECTED)) assert.deepEqual(values[name], want.values, `${archive} ${name}`);
    await opened.close();
  }
  const { shape, data } = await readNpyFloat32(path.join(FIXTURES, 'f_f8be.npy'));
  assert.deepEqual(shape, [2, 3, 4]);
  assert.deepEqual(Array.from(data), NUMPY_EXPECTED.f_f8be.values);
});

test('a deflated Fortran-order npz entry is inflated once into a temporary file, not into memory, and deleted on close', { timeout: 300_000 }, async () => {
  // 250 MiB of float32 zeros in Fortran order (a 250 KB archive): row-major reading needs random
  // access, which held the whole entry in memory (459 MB resident for 224 MiB).
  const [rows, cols] = [1024, (250 << 20) / 4 / 1024];
  let dict = `{'descr': '<f4', 'fortran_order': True, 'shape': (${rows}, ${cols}), }`;
  dict += ' '.repeat(63 - ((10 + dict.length) % 64));
  const header = npyBytes(dict, new Uint8Array(0));
  assert.equal(header.length % 64, 0);
  const file = write('fortran_big.npz', buildZip([{ name: 'w.npy', data: new Uint8Array(0), deflated: deflatedZeros(250, header) }]));
  const temp = mkdtempSync(path.join(dir, 'tmp-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = temp;
  try {
    const opened = await openWeightFile(file);
    const [tensor] = opened.tensors;
    assert.deepEqual([tensor!.name, tensor!.shape], ['w', [rows, cols]]);
    let [count, zeros] = [0, 0];
    for await (const chunk of tensor!.chunks({ maxChunkElements: 1 << 24 })) {
      count += chunk.length;
      for (const value of chunk) if (value === 0) zeros++;
    }
    assert.deepEqual([count, zeros], [rows * cols, rows * cols]);
    assert.equal(readdirSync(temp).length, 1, 'one temporary folder while open');
    await opened.close();
    assert.deepEqual(readdirSync(temp), [], 'deleted on close');
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
});
