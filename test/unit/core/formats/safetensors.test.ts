import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { openWeightFile, detectFormat } from '../../../../extension/core/formats/index';
import { writeSafetensors } from '../../../../extension/core/formats/safetensors';
import { WeightFileError } from '../../../../extension/core/formats/types';
import { readAllValues } from '../../../../extension/core/formats/source';
import { ascii, concat, le32, tempDir, valuesByName } from './weightFileHelpers';

const dir = tempDir('safetensors');

/** Builds a safetensors file by hand: u64 LE header length, header JSON, data. */
function handBuilt(header: object, data: Uint8Array): Uint8Array {
  const json = ascii(JSON.stringify(header));
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
  return concat(prefix, json, data);
}

test('reads a hand-built file: every offset, dtype and metadata as written', async () => {
  // a: F32 [2,2] = 1, -2, 0, 0.5 ; b: F16 [3] = 1, 65504, 2^-24 ; c: BF16 [1] = 1 ; d: I64 [2] = -3, 2^40
  const f16 = new Uint8Array([0x00, 0x3c, 0xff, 0x7b, 0x01, 0x00]);
  const bf16 = new Uint8Array([0x80, 0x3f]);
  const i64 = new Uint8Array(16);
  new DataView(i64.buffer).setBigInt64(0, -3n, true);
  new DataView(i64.buffer).setBigInt64(8, 2n ** 40n, true);
  const e4m3 = new Uint8Array([0x38, 0x7e, 0xb8]); // 1, 448, -1
  const bool = new Uint8Array([1, 0]);
  const data = concat(le32([1, -2, 0, 0.5]), f16, bf16, i64, e4m3, bool);
  const header = {
    __metadata__: { format: 'pt', note: 'hand' },
    a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
    b: { dtype: 'F16', shape: [3], data_offsets: [16, 22] },
    c: { dtype: 'BF16', shape: [], data_offsets: [22, 24] },
    d: { dtype: 'I64', shape: [2], data_offsets: [24, 40] },
    e: { dtype: 'F8_E4M3', shape: [3], data_offsets: [40, 43] },
    f: { dtype: 'BOOL', shape: [2, 1], data_offsets: [43, 45] },
  };
  const file = path.join(dir, 'hand.safetensors');
  const bytes = handBuilt(header, data);
  writeFileSync(file, bytes);
  assert.equal(await detectFormat(file), 'safetensors');
  const opened = await openWeightFile(file);
  try {
    assert.equal(opened.format, 'safetensors');
    assert.equal(opened.fileBytes, bytes.length);
    assert.deepEqual(opened.metadata, { format: 'pt', note: 'hand' });
    assert.deepEqual(
      opened.tensors.map((t) => [t.name, t.dtype, t.shape, t.numel]),
      [
        ['a', 'float32', [2, 2], 4],
        ['b', 'float16', [3], 3],
        ['c', 'bfloat16', [], 1],
        ['d', 'int64', [2], 2],
        ['e', 'float8_e4m3fn', [3], 3],
        ['f', 'bool', [2, 1], 2],
      ],
    );
    const headerLength = bytes.length - data.length;
    assert.equal(opened.tensors[1].byteOffset, headerLength + 16);
    assert.equal(opened.tensors[1].byteLength, 6);
    assert.deepEqual(await valuesByName(opened), {
      a: [1, -2, 0, 0.5],
      b: [1, 65504, 2 ** -24],
      c: [1],
      d: [-3, 2 ** 40],
      e: [1, 448, -1],
      f: [1, 0],
    });
    const chunks: number[][] = [];
    for await (const chunk of opened.tensors[0].chunks({ maxChunkElements: 3 })) chunks.push(Array.from(chunk));
    assert.deepEqual(chunks, [[1, -2, 0], [0.5]]);
  } finally {
    await opened.close();
  }
});

test('writeSafetensors output matches the layout of the reference format byte for byte', async () => {
  const file = path.join(dir, 'written.safetensors');
  await writeSafetensors(file, [
    { name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1.5, -2]) },
    { name: 'h', dtype: 'F16', shape: [2], data: [1, 65504] },
  ], { format: 'pt' });
  const written = readFileSync(file);
  const header = '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"h":{"dtype":"F16","shape":[2],"data_offsets":[8,12]}}';
  const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
  const expected = concat(new Uint8Array([padded.length, 0, 0, 0, 0, 0, 0, 0]), ascii(padded), le32([1.5, -2]), new Uint8Array([0x00, 0x3c, 0xff, 0x7b]));
  assert.deepEqual(new Uint8Array(written), expected);
  assert.equal(padded.length % 8, 0);
  const opened = await openWeightFile(file);
  assert.deepEqual(await valuesByName(opened), { w: [1.5, -2], h: [1, 65504] });
  await opened.close();
  await assert.rejects(
    writeSafetensors(path.join(dir, 'bad.safetensors'), [{ name: 'x', dtype: 'F32', shape: [3], data: new Float32Array(2) }]),
    /needs 12/,
  );
});

test('sharded checkpoints are read through the index weight_map', async () => {
  await writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), [{ name: 'x', dtype: 'F32', shape: [2], data: [1, 2] }]);
  await writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), [
    { name: 'y', dtype: 'F32', shape: [1], data: [3] },
    { name: 'stray', dtype: 'F32', shape: [1], data: [4] },
  ]);
  const index = path.join(dir, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify({ metadata: { total_size: 12 }, weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' } }));
  assert.equal(await detectFormat(index), 'safetensors');
  const opened = await openWeightFile(index);
  assert.deepEqual(await valuesByName(opened), { x: [1, 2], y: [3] });
  assert.equal(opened.metadata?.total_size, '12');
  assert.ok(opened.warnings.some((w) => w.includes('"stray"')));
  await opened.close();

  const escaping = path.join(dir, 'escape.safetensors.index.json');
  writeFileSync(escaping, JSON.stringify({ weight_map: { x: '../elsewhere.safetensors' } }));
  await assert.rejects(openWeightFile(escaping), /outside the index's folder/);
  const missing = path.join(dir, 'missing.safetensors.index.json');
  writeFileSync(missing, JSON.stringify({ weight_map: { z: 'model-00001-of-00002.safetensors' } }));
  await assert.rejects(openWeightFile(missing), /does not contain it/);
});

async function rejectsWith(bytes: Uint8Array, name: string, pattern: RegExp): Promise<void> {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  await assert.rejects(openWeightFile(file), (error: unknown) => {
    assert.ok(error instanceof WeightFileError, `expected WeightFileError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.match(error.message, pattern);
    return true;
  });
}

test('bad input gives WeightFileErrors that name the file and the problem', async () => {
  const ok = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  await rejectsWith(handBuilt(ok, le32([1])), 'truncated.safetensors', /run past the end of the data section/);
  const hugeLength = new Uint8Array(16);
  new DataView(hugeLength.buffer).setBigUint64(0, 2n ** 62n, true);
  hugeLength[8] = 0x7b;
  await rejectsWith(hugeLength, 'huge-header.safetensors', /header length \d+ runs past the end/);
  await rejectsWith(handBuilt({ t: { dtype: 'F32', shape: [2 ** 31, 2 ** 31, 4], data_offsets: [0, 8] } }, le32([1, 2])), 'overflow.safetensors', /2\^53/);
  await rejectsWith(handBuilt({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, le32([1, 2])), 'mismatch.safetensors', /needs 12 bytes but data_offsets \[0, 8\] hold 8/);
  await rejectsWith(handBuilt({ t: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, le32([1, 2])), 'negative.safetensors', /negative dimension/);
  await rejectsWith(handBuilt({ t: { dtype: 'Q9', shape: [2], data_offsets: [0, 8] } }, le32([1, 2])), 'dtype.safetensors', /unknown dtype "Q9"/);
  await rejectsWith(
    handBuilt({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, le32([1, 2])),
    'overlap.safetensors',
    /overlap/,
  );
  await rejectsWith(handBuilt({ t: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, le32([1, 2])), 'reversed.safetensors', /end before they begin/);
  const badJson = concat(new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]), ascii('{"a":'), le32([0]));
  await rejectsWith(badJson, 'json.safetensors', /not valid UTF-8 JSON/);
  await rejectsWith(new Uint8Array([1, 2, 3]), 'tiny.safetensors', /only 3 bytes/);
  const skipped = path.join(dir, 'c64.safetensors');
  writeFileSync(skipped, handBuilt({ z: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, le32([1, 2])));
  const opened = await openWeightFile(skipped);
  assert.equal(opened.tensors.length, 0);
  assert.match(opened.warnings[0], /C64/);
  await opened.close();
});

test('names like __proto__ and constructor are ordinary names: written, read back and kept in the metadata', async () => {
  const file = path.join(dir, 'proto_names.safetensors');
  await writeSafetensors(
    file,
    [
      { name: '__proto__', dtype: 'F32', shape: [2], data: Float32Array.from([1, 0]) },
      { name: 'constructor', dtype: 'F32', shape: [1], data: Float32Array.from([3]) },
    ],
    JSON.parse('{"__proto__": "meta", "constructor": "c"}') as Record<string, string>,
  );
  // The header the file holds, as JSON sees it (JSON.parse keeps "__proto__" as an own key).
  const bytes = readFileSync(file);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
  assert.deepEqual(Object.keys(header), ['__metadata__', '__proto__', 'constructor']);
  assert.deepEqual(Object.entries(header.__metadata__), [['__proto__', 'meta'], ['constructor', 'c']]);
  const opened = await openWeightFile(file);
  try {
    assert.deepEqual(await Promise.all(opened.tensors.map(async (t) => [t.name, Array.from(await readAllValues(t))])), [['__proto__', [1, 0]], ['constructor', [3]]]);
    assert.deepEqual(Object.entries(opened.metadata ?? {}), [['__proto__', 'meta'], ['constructor', 'c']]);
  } finally {
    await opened.close();
  }
  const handMade = path.join(dir, 'proto_metadata.safetensors');
  writeFileSync(handMade, handBuilt(JSON.parse('{"__metadata__": {"__proto__": "x", "constructor": "y"}, "t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'), le32([2])));
  const read = await openWeightFile(handMade);
  try {
    assert.deepEqual(Object.entries(read.metadata ?? {}), [['__proto__', 'x'], ['constructor', 'y']]);
  } finally {
    await read.close();
  }
});
