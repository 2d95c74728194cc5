import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { BoundedReader, type ByteSource, MemorySource } from '../../../../extension/core/formats/reader';
import { ZipArchive, firstZipEntryName, zipEntryNamesInHead } from '../../../../extension/core/formats/zip';
import { WeightFileError } from '../../../../extension/core/formats/types';
import { ascii, buildZip, tempDir } from './weightFileHelpers';

const dir = tempDir('zip');
const text = ascii('hello zip '.repeat(300));

test('stored and deflated entries, classic and zip64 directories', async () => {
  for (const zip64 of [false, true]) {
    const file = path.join(dir, `a${zip64 ? '64' : ''}.zip`);
    writeFileSync(file, buildZip([{ name: 'dir/stored.txt', data: text }, { name: 'deflated.txt', data: text, deflate: true }], { zip64 }));
    const reader = await BoundedReader.open(file);
    try {
      const archive = await ZipArchive.open(reader);
      assert.deepEqual(archive.entries.map((e) => [e.name, e.method, e.uncompressedSize]), [
        ['dir/stored.txt', 0, 3000],
        ['deflated.txt', 8, 3000],
      ]);
      const stored = archive.entry('dir/stored.txt')!;
      const deflated = archive.entry('deflated.txt')!;
      assert.ok(deflated.compressedSize < 200);
      assert.deepEqual(await archive.read(stored), text);
      assert.deepEqual(await archive.read(deflated), text);
      const random = await archive.randomAccess(stored);
      assert.deepEqual(await random.read(2990, 10), ascii('hello zip '));
      const pieces: number[] = [];
      for await (const piece of archive.chunks(stored, undefined, 1024)) pieces.push(piece.length);
      assert.deepEqual(pieces, [1024, 1024, 952]);
      await assert.rejects(archive.read(deflated, 100), /holds 3000 bytes, more than the 100 allowed in memory/);
    } finally {
      await reader.close();
    }
  }
});

test('entry names are visible from the first bytes for sniffing', () => {
  const bytes = buildZip([{ name: 'archive/data.pkl', data: ascii('x') }, { name: 'archive/data/0', data: ascii('yz') }]);
  assert.equal(firstZipEntryName(bytes), 'archive/data.pkl');
  assert.deepEqual(zipEntryNamesInHead(bytes.subarray(0, 200)), ['archive/data.pkl', 'archive/data/0']);
});

test('corrupt deflate streams, unsupported methods and aborts are reported', async () => {
  const bytes = buildZip([{ name: 'x', data: text, deflate: true }]);
  // Overwrite the deflate body (after the 31-byte local header) with garbage.
  bytes.fill(0xff, 31, 60);
  const archive = await ZipArchive.open(new MemorySource('corrupt.zip', bytes));
  await assert.rejects(archive.read(archive.entries[0]), (e: unknown) => e instanceof WeightFileError && /entry "x" is corrupt/.test(e.message));
  const lzma = buildZip([{ name: 'y', data: text }]);
  new DataView(lzma.buffer).setUint16(lzma.length - 22 - 47 + 10, 14, true);
  const other = await ZipArchive.open(new MemorySource('lzma.zip', lzma));
  await assert.rejects(other.read(other.entries[0]), /compression method 14; only stored and deflated/);
  const fine = await ZipArchive.open(new MemorySource('ok.zip', buildZip([{ name: 'z', data: text }])));
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(async () => {
    for await (const piece of fine.chunks(fine.entries[0], controller.signal)) void piece;
  }, { name: 'AbortError' });
});

test('CRC-32 mismatches are caught; deflated entries give lazy random access', async () => {
  const bytes = buildZip([{ name: 'x', data: text }, { name: 'y', data: text, deflate: true }]);
  const clean = await ZipArchive.open(new MemorySource('ok.zip', bytes.slice()));
  const lazy = await clean.randomAccess(clean.entry('y')!);
  assert.equal(lazy.size, 3000);
  assert.deepEqual(await lazy.read(10, 9), ascii('hello zip'));
  await assert.rejects(lazy.read(2995, 10), /run past the end/);
  await clean.close();
  bytes[31 + 5] ^= 0x01; // one bit of the stored entry's data (its local header is 30 + 1 bytes)
  const corrupt = await ZipArchive.open(new MemorySource('bitflip.zip', bytes));
  await assert.rejects(corrupt.read(corrupt.entry('x')!), /entry "x" fails its CRC-32 check/);
  let streamed = 0;
  for await (const piece of corrupt.chunks(corrupt.entry('x')!)) streamed += piece.length; // unverified unless asked
  assert.equal(streamed, 3000);
  await assert.rejects(async () => {
    for await (const piece of corrupt.chunks(corrupt.entry('x')!, undefined, 1024, true)) void piece;
  }, /fails its CRC-32 check/);
});

test('a deflated entry read forward is inflated once per pass; random access shares one temporary copy', async () => {
  const data = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251);
  const archive = await ZipArchive.open(new MemorySource('passes.zip', buildZip([{ name: 'w', data, deflate: true }])));
  const entry = archive.entry('w')!;
  const forward = (await archive.streamingSource(entry)) as ByteSource & { inflations: number };
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += 30_000) pieces.push(await forward.read(at, Math.min(30_000, data.length - at)));
  assert.deepEqual(Buffer.concat(pieces), Buffer.from(data));
  assert.equal(forward.inflations, 1, 'one pass, one inflation');
  assert.deepEqual(await forward.read(5, 3), data.subarray(5, 8), 'a read before the position starts a second pass');
  assert.equal(forward.inflations, 2);
  const random = await archive.randomAccess(entry);
  assert.deepEqual(await random.read(150_000, 4), data.subarray(150_000, 150_004));
  assert.deepEqual(await random.read(10, 4), data.subarray(10, 14));
  await assert.rejects(random.read(199_999, 2), /run past the end/);
  await archive.close();
  await assert.rejects(random.read(0, 1), /the file was already closed/);
  await assert.rejects(forward.read(0, 1), /the file was already closed/);
});
