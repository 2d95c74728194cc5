import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { detectFormat, openWeightFile } from '../../../../extension/core/formats/index';
import { PickleError, PyDict, PyOpaque, PyTuple, unpickle } from '../../../../extension/core/formats/pickle';
import { WeightFileError } from '../../../../extension/core/formats/types';
import { scanOpenedWeightFile } from '../../../../extension/core/sparsity/scan';
import { Pickler, ascii, buildZip, concat, deflatedZeros, le32, tempDir, valuesByName } from './weightFileHelpers';
import { fixture } from '../../../paths';

const dir = tempDir('pytorch');

function f16(values: number[]): Uint8Array {
  // Only exact float16 values are used: 1 = 0x3c00, -2 = 0xc000, 0.5 = 0x3800.
  const bits: Record<number, number> = { 1: 0x3c00, [-2]: 0xc000, 0.5: 0x3800 };
  return Uint8Array.from(values.flatMap((v) => [bits[v] & 0xff, bits[v] >> 8]));
}

function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, extra: { name: string; data: Uint8Array }[] = []): Uint8Array {
  return buildZip([
    { name: 'archive/data.pkl', data: pickle },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
    { name: 'archive/version', data: ascii('3\n') },
    ...extra,
  ]);
}

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

test('a state dict: contiguous, offset, transposed and half tensors, parameters, nesting', async () => {
  const p = new Pickler().proto(2);
  // {'model': OrderedDict(conv.weight=..., conv.bias=Parameter(...), t=..., tail=...), 'epoch': 7}
  p.op(0x7d).mark(); // EMPTY_DICT, MARK
  p.str('model').orderedDict().mark();
  p.str('conv.weight').tensor('FloatStorage', '0', 8, 0, [2, 1, 2, 2], [4, 4, 2, 1]);
  p.str('conv.bias').global('torch._utils', '_rebuild_parameter').mark();
  p.tensor('HalfStorage', '1', 3, 1, [2], [1]).op(0x88).orderedDict().tuple().reduce(); // (tensor, True, OrderedDict())
  // storage 2 holds 0..5; t = its [3, 2] transpose: t[i][j] = storage[i + 3 j]
  p.str('t').tensor('FloatStorage', '2', 6, 0, [3, 2], [1, 3]).put();
  p.str('tail').tensor('FloatStorage', '2', 6, 4, [2], [1]);
  p.op(0x75); // SETITEMS into the OrderedDict
  p.str('epoch').int(7);
  p.op(0x75); // SETITEMS into the outer dict
  const file = write('state.pt', torchZip(p.stop(), {
    0: le32([1, 2, 3, 4, 5, 6, 7, 8]),
    1: f16([0.5, 1, -2]),
    2: le32([0, 1, 2, 3, 4, 5]),
  }));
  assert.equal(await detectFormat(file), 'pytorch');
  const opened = await openWeightFile(file);
  assert.equal(opened.format, 'pytorch');
  assert.deepEqual(opened.warnings, []);
  assert.deepEqual(opened.tensors.map((t) => [t.name, t.dtype, t.shape]), [
    ['model.conv.weight', 'float32', [2, 1, 2, 2]],
    ['model.conv.bias', 'float16', [2]],
    ['model.t', 'float32', [3, 2]],
    ['model.tail', 'float32', [2]],
  ]);
  assert.deepEqual(await valuesByName(opened), {
    'model.conv.weight': [1, 2, 3, 4, 5, 6, 7, 8],
    'model.conv.bias': [1, -2],
    'model.t': [0, 3, 1, 4, 2, 5],
    'model.tail': [4, 5],
  });
  await opened.close();
});

test('non-whitelisted globals become named placeholders and are never executed', async () => {
  const p = new Pickler().proto(2);
  p.op(0x7d).mark();
  // 'evil': os.system('echo pwned') -> REDUCE only records the call.
  p.str('evil').global('os', 'system').str('echo pwned').op(0x85).reduce(); // TUPLE1
  // 'net': mymodule.Net() with BUILD state {'_parameters': OrderedDict(weight=tensor)}, as torch.save(model) writes.
  p.str('net').global('mymodule', 'Net').emptyTuple().op(0x81); // NEWOBJ
  p.op(0x7d).str('_parameters').orderedDict().str('weight').tensor('FloatStorage', '0', 2, 0, [2], [1]).op(0x73).op(0x73); // SETITEM x2
  p.str('training').op(0x88).op(0x73).op(0x62); // BUILD
  p.op(0x75);
  const file = write('evil.pth', torchZip(p.stop(), { 0: le32([9, -9]) }));
  const opened = await openWeightFile(file);
  assert.deepEqual(await valuesByName(opened), { 'net.weight': [9, -9] });
  assert.equal(opened.warnings.length, 2);
  assert.match(opened.warnings[0], /pickle global os\.system is not on the safe list/);
  assert.match(opened.warnings[1], /mymodule\.Net/);
  await opened.close();
  const direct = unpickle(new Pickler().proto(2).global('os', 'system').str('x').op(0x85).reduce().stop());
  assert.ok(direct.value instanceof PyOpaque);
  assert.equal((direct.value as PyOpaque).global, 'os.system');
  assert.deepEqual((direct.value as PyOpaque).args, ['x']);
});

test('the VM decodes protocol 4 framing, memo, longs, floats and bytes', () => {
  // FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, LONG1, BINFLOAT, SHORT_BINBYTES, TUPLE3, BINGET.
  const body = [
    0x8c, 1, 0x61, 0x94, // SHORT_BINUNICODE 'a', MEMOIZE as entry 0
    0x8a, 2, 0x00, 0x80, // LONG1 of 2 bytes, little-endian two's complement: -32768
    0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, // BINFLOAT 1.5 (big-endian IEEE double)
    0x87, // TUPLE3
    0x43, 2, 7, 8, // SHORT_BINBYTES [7, 8]
    0x68, 0, // BINGET 0 -> 'a'
    0x87, // TUPLE3
    0x2e, // STOP
  ];
  const bytes = Uint8Array.from([0x80, 4, 0x95, body.length, 0, 0, 0, 0, 0, 0, 0, ...body]);
  const { value } = unpickle(bytes);
  assert.ok(value instanceof PyTuple);
  const [first, raw, again] = (value as PyTuple).items;
  assert.deepEqual((first as PyTuple).items, ['a', -32768, 1.5]);
  assert.deepEqual(Array.from(raw as Uint8Array), [7, 8]);
  assert.equal(again, 'a');
  const dict = unpickle(Uint8Array.from([0x7d, 0x28, 0x4b, 1, 0x4b, 2, 0x75, 0x2e])).value;
  assert.ok(dict instanceof PyDict);
  assert.equal((dict as PyDict).map.get(1), 2);
});

test('hostile pickles end with clear errors', async () => {
  assert.throws(() => unpickle(new Uint8Array(5000).fill(0x28)), (e: unknown) => e instanceof PickleError && /MARKs nest deeper than 1000/.test(e.message));
  assert.throws(() => unpickle(Uint8Array.from([0x4e, 0x30, 0x4e, 0x30, 0x4e, 0x2e]), { maxOps: 4 }), /more than 4 opcodes/);
  const memoBomb = Uint8Array.from([0x4e, 0x94, 0x94, 0x94, 0x2e]);
  assert.throws(() => unpickle(memoBomb, { maxMemo: 2 }), /memo exceeds 2 entries/);
  assert.throws(() => unpickle(Uint8Array.from([0x58, 0xff, 0xff, 0xff, 0x7f])), /truncated: opcode needs 2147483647 more bytes/);
  assert.throws(() => unpickle(Uint8Array.from([0x68, 3, 0x2e])), /memo entry 3 is missing/);
  assert.throws(() => unpickle(Uint8Array.from([0xff])), /unknown opcode 0xff/);
  assert.throws(() => unpickle(Uint8Array.from([0x82, 1, 0x2e])), /EXT1/);

  // 500 lists nested with EMPTY_LIST/APPEND (no MARKs): refused when searched for tensors.
  const deep = [0x5d];
  for (let i = 0; i < 500; i++) deep.push(0x5d);
  for (let i = 0; i < 500; i++) deep.push(0x61);
  deep.push(0x2e);
  const deepFile = write('deep.pt', torchZip(Uint8Array.from(deep), {}));
  await assert.rejects(openWeightFile(deepFile), (e: unknown) => e instanceof WeightFileError && e.file === deepFile && /nests deeper than 200/.test(e.message));
  const marksFile = write('marks.pt', torchZip(new Uint8Array(3000).fill(0x28), {}));
  await assert.rejects(openWeightFile(marksFile), /archive\/data\.pkl: MARKs nest deeper than 1000/);
  // A data.pkl bomb: 64 MiB + 1 byte of zeros, deflated (about 65 KB), refused before inflating.
  const bomb = deflatedZeros(64, new Uint8Array(1));
  const bombFile = write('pickle_bomb.pt', buildZip([{ name: 'archive/data.pkl', data: new Uint8Array(0), deflated: bomb }, { name: 'archive/version', data: ascii('3\n') }]));
  await assert.rejects(openWeightFile(bombFile), (e: unknown) => e instanceof WeightFileError && e.file === bombFile && /entry "archive\/data\.pkl" holds 67108865 bytes, more than the 67108864 allowed in memory/.test(e.message));
});

test('storage mismatches, missing entries and the legacy format are reported', async () => {
  const one = (size: number[], stride: number[], offset = 0) => new Pickler().proto(2).op(0x7d).str('w').tensor('FloatStorage', '0', 4, offset, size, stride).op(0x73).stop();
  await assert.rejects(openWeightFile(write('short.pt', torchZip(one([4], [1]), { 0: le32([1, 2, 3]) }))), /holds 12 bytes but its header says 4 float32 elements \(16 bytes\)/);
  await assert.rejects(openWeightFile(write('missing.pt', torchZip(one([4], [1]), {}))), /storage entry archive\/data\/0 is missing/);
  await assert.rejects(openWeightFile(write('over.pt', torchZip(one([3], [1], 2), { 0: le32([1, 2, 3, 4]) }))), /reaches element 4 but its storage holds 4/);
  await assert.rejects(openWeightFile(write('neg.pt', torchZip(one([-1], [1]), { 0: le32([1, 2, 3, 4]) }))), /negative dimension/);
  const unknownStorage = new Pickler().proto(2).mark().str('storage').global('torch', 'ComplexFloatStorage').str('0').str('cpu').int(1).tuple().op(0x51).stop();
  await assert.rejects(openWeightFile(write('complex.pt', torchZip(unknownStorage, { 0: le32([1, 2]) }))), /unsupported storage type torch\.ComplexFloatStorage/);
  // Legacy: PROTO 2, LONG1 of the 10-byte magic 0x1950a86a20f9469cfc6c, then more pickles.
  const legacy = concat(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]), new Uint8Array(20));
  const legacyFile = write('legacy.pth', legacy);
  assert.equal(await detectFormat(legacyFile), 'pytorch');
  await assert.rejects(openWeightFile(legacyFile), /_use_new_zipfile_serialization=True/);
  // Big-endian storages (archive/byteorder = "big").
  const bigEndian = new Uint8Array(8);
  new DataView(bigEndian.buffer).setFloat32(0, 1.25, false);
  new DataView(bigEndian.buffer).setFloat32(4, -3, false);
  const be = new Pickler().proto(2).op(0x7d).str('w').tensor('FloatStorage', '0', 2, 0, [2], [1]).op(0x73).stop();
  const opened = await openWeightFile(write('be.pt', torchZip(be, { 0: bigEndian }, [{ name: 'archive/byteorder', data: ascii('big') }])));
  assert.deepEqual(await valuesByName(opened), { w: [1.25, -3] });
  await opened.close();
});

test('checkpoints pickled by CPython in torch.save layout (protocols 2 and 4) read back exactly', async () => {
  // See test/fixtures/pytorch/make_fixtures.py for how these were written and what they hold.
  for (const name of ['state_dict_p2.pt', 'state_dict_p4.pt']) {
    const file = fixture('pytorch', name);
    assert.equal(await detectFormat(file), 'pytorch');
    const opened = await openWeightFile(file);
    assert.deepEqual(opened.warnings, [], name);
    assert.deepEqual(opened.tensors.map((t) => [t.name, t.dtype, t.shape]), [
      ['conv.weight', 'float32', [2, 1, 2, 2]],
      ['conv.bias', 'float16', [2]],
      ['fc.weight', 'float32', [3, 2]],
      ['fc.shared', 'float32', [2]],
      ['bn.num_batches_tracked', 'int64', []],
    ], name);
    assert.deepEqual(await valuesByName(opened), {
      'conv.weight': Array.from({ length: 8 }, (_, i) => (i - 3.5) / 4),
      'conv.bias': [0.5, -1.5],
      'fc.weight': [0, 3, 1, 4, 2, 5],
      'fc.shared': [2, 4],
      'bn.num_batches_tracked': [7],
    }, name);
    await opened.close();
  }
});

test('pytorch_model.bin.index.json shards are read through the weight_map', async () => {
  const shard = (name: string, value: number) =>
    torchZip(new Pickler().proto(2).op(0x7d).str(name).tensor('FloatStorage', '0', 1, 0, [1], [1]).op(0x73).stop(), { 0: le32([value]) });
  write('pytorch_model-00001-of-00002.bin', shard('a.weight', 1.5));
  write('pytorch_model-00002-of-00002.bin', shard('b.weight', -2.5));
  const index = write('pytorch_model.bin.index.json', ascii(JSON.stringify({
    metadata: { total_size: 8 },
    weight_map: { 'a.weight': 'pytorch_model-00001-of-00002.bin', 'b.weight': 'pytorch_model-00002-of-00002.bin' },
  })));
  assert.equal(await detectFormat(index), 'pytorch');
  const opened = await openWeightFile(index);
  assert.equal(opened.format, 'pytorch');
  assert.deepEqual(await valuesByName(opened), { 'a.weight': [1.5], 'b.weight': [-2.5] });
  await opened.close();
});

test('objects shared through the memo are walked once: a doubling DAG and a tensor referenced 200,000 times', async () => {
  // level 0 = a tensor; level i = [level i-1, level i-1] (both memo GETs): 2^levels paths to the tensor.
  const dag = (levels: number): Uint8Array => {
    const p = new Pickler().proto(2).op(0x7d).str('model');
    p.tensor('FloatStorage', '0', 4, 0, [4], [1]).put().op(0x30); // memo 0, popped
    for (let level = 1; level <= levels; level++) p.op(0x5d).put().mark().get(level - 1).get(level - 1).op(0x65).op(0x30);
    return p.get(levels).op(0x73).stop();
  };
  const storage = { 0: le32([1, 0, -2, 0]) };
  for (const levels of [20, 60]) {
    const opened = await openWeightFile(write(`dag${levels}.pt`, torchZip(dag(levels), storage)));
    assert.deepEqual(opened.tensors.map((t) => t.name), ['model' + '.0'.repeat(levels)]);
    assert.equal(opened.tensors[0].numel, 4);
    // Each level's second GET (and nothing else) meets an object already walked.
    assert.match(opened.warnings.join('\n'), new RegExp(`^${levels} references in the pickle lead to an object already reached by another path`));
    await opened.close();
  }
  // {'model': [t, t, t, ...]}: one tensor, 200,000 references to it.
  const refs = 200_000;
  const p = new Pickler().proto(2).op(0x7d).str('model').op(0x5d).mark();
  p.tensor('FloatStorage', '0', 4, 0, [4], [1]).put();
  for (let i = 1; i < refs; i++) p.get(0);
  const many = await openWeightFile(write('many.pt', torchZip(p.op(0x65).op(0x73).stop(), storage)));
  assert.deepEqual(many.tensors.map((t) => t.name), ['model.0']);
  assert.match(many.warnings[0], /^199999 references in the pickle lead to an object already reached by another path \(e\.g\. "model\.1" is "model\.0"\)/);
  const report = await scanOpenedWeightFile(many);
  assert.equal(report.total.numel, 4);
  assert.equal(report.total.zeros, 2);
  await many.close();
});

test('an orig/mask pair in deflated storages larger than memory allows is streamed, each storage inflated once per pass', { timeout: 300_000 }, async () => {
  // Two 260 MiB deflated storages of zeros (a 540 KB file) paired as torch.nn.utils.prune leaves
  // them. Inflated into memory for random access they were refused (over 256 MiB each), and under
  // that limit the scan of orig * mask inflated each of them again for every chunk it read.
  const mebibytes = 260;
  const numel = (mebibytes << 20) / 4;
  const pickle = new Pickler().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().put().mark();
  pickle.str('fc.weight_orig').tensor('FloatStorage', '0', numel, 0, [1024, numel / 1024], [numel / 1024, 1]);
  pickle.str('fc.weight_mask').tensor('FloatStorage', '1', numel, 0, [1024, numel / 1024], [numel / 1024, 1]);
  pickle.op(0x75);
  const zeros = deflatedZeros(mebibytes);
  const file = write(
    'big_pruned.pt',
    buildZip([
      { name: 'model/data.pkl', data: pickle.stop() },
      { name: 'model/data/0', data: new Uint8Array(0), deflated: zeros },
      { name: 'model/data/1', data: new Uint8Array(0), deflated: zeros },
      { name: 'model/version', data: ascii('3\n') },
    ]),
  );
  const opened = await openWeightFile(file);
  try {
    const report = await scanOpenedWeightFile(opened, { threshold: 0, maxChunkElements: 1 << 22 });
    assert.deepEqual(report.tensors.map((t) => [t.name, t.numel, t.zeros]), [
      ['fc.weight_orig', numel, numel],
      ['fc.weight_mask', numel, numel],
    ]);
    assert.deepEqual(report.masks?.map((m) => [m.parameter, m.numel, m.effectiveSparsity]), [['fc.weight', numel, 1]]);
    assert.deepEqual([report.total.numel, report.total.zeros], [numel, numel]);
  } finally {
    await opened.close();
  }
});
