import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnxParser, scanOnnxModel } from '../../../../extension/core/formats/onnx';
import { MemorySource } from '../../../../extension/core/formats/reader';
import { WeightFileError, type OpenedWeightFile, type TensorSource } from '../../../../extension/core/formats/types';
import { TEST_MODELS_DIR, fixture } from '../../../paths';

const FIXTURES = fixture('onnx');
const MODELS_DIR = TEST_MODELS_DIR;

async function valuesOf(tensor: TensorSource, maxChunkElements?: number): Promise<number[]> {
  const values: number[] = [];
  for await (const chunk of tensor.chunks({ maxChunkElements })) values.push(...chunk);
  return values;
}

function byName(model: OpenedWeightFile, name: string): TensorSource {
  const tensor = model.tensors.find((t) => t.name === name);
  assert.ok(tensor, `tensor ${name} is listed`);
  return tensor;
}

// ---------------------------------------------------------------------------------------------
// A minimal protobuf writer for hand-built models (field numbers from onnx.proto).
// ---------------------------------------------------------------------------------------------

type Bytes = number[];
function varint(value: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: Bytes = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const tag = (field: number, wire: number): Bytes => varint(field * 8 + wire);
const pbVarint = (field: number, value: number | bigint): Bytes => [...tag(field, 0), ...varint(value)];
const pbBytes = (field: number, bytes: Bytes | Uint8Array): Bytes => [...tag(field, 2), ...varint(bytes.length), ...bytes];
const pbString = (field: number, text: string): Bytes => pbBytes(field, [...Buffer.from(text, 'utf8')]);
const pbFloat = (field: number, value: number): Bytes => [...tag(field, 5), ...new Uint8Array(new Float32Array([value]).buffer)];
const float32Bytes = (values: number[]): Bytes => [...new Uint8Array(new Float32Array(values).buffer)];

interface TensorFields {
  name: string;
  dims: number[];
  dataType: number;
  raw?: Bytes;
  extra?: Bytes;
}
function tensorProto(t: TensorFields): Bytes {
  return [
    ...t.dims.flatMap((d) => pbVarint(1, d)),
    ...pbVarint(2, t.dataType),
    ...pbString(8, t.name),
    ...(t.raw ? pbBytes(9, t.raw) : []),
    ...(t.extra ?? []),
  ];
}
function modelProto(initializers: Bytes[], nodes: Bytes[] = []): Uint8Array {
  const graph = [...nodes.flatMap((n) => pbBytes(1, n)), ...pbString(2, 'g'), ...initializers.flatMap((t) => pbBytes(5, t))];
  return new Uint8Array([...pbVarint(1, 8), ...pbString(2, 'hand'), ...pbBytes(7, graph)]);
}
const externalEntry = (key: string, value: string): Bytes => pbBytes(13, [...pbString(1, key), ...pbString(2, value)]);

const workDir = mkdtempSync(join(tmpdir(), 'deep-accel-onnx-'));
process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));
let counter = 0;
function writeModel(bytes: Uint8Array, folder = workDir): string {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `model${counter++}.onnx`);
  writeFileSync(path, bytes);
  return path;
}

async function assertOpenFails(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(onnxParser.open(path), (error: unknown) => {
    assert.ok(error instanceof WeightFileError, `expected WeightFileError, got ${String(error)}`);
    assert.equal(error.file, path);
    assert.match(error.message, pattern);
    return true;
  });
}

async function assertReadFails(path: string, name: string, pattern: RegExp): Promise<void> {
  const model = await onnxParser.open(path);
  try {
    await assert.rejects(valuesOf(byName(model, name)), (error: unknown) => {
      assert.ok(error instanceof WeightFileError, `expected WeightFileError, got ${String(error)}`);
      assert.match(error.message, pattern);
      return true;
    });
  } finally {
    await model.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures written by the onnx package (test/fixtures/onnx/make_fixtures.py).
// ---------------------------------------------------------------------------------------------

test('every data type, from its typed field and from raw_data', async () => {
  const model = await onnxParser.open(join(FIXTURES, 'typed_fields.onnx'));
  const expected: Record<string, [string, number[]]> = {
    FLOAT: ['float32', [1.5, -2, 0, 3.25]],
    DOUBLE: ['float64', [0.1, -1e300, 0]],
    INT8: ['int8', [-128, -1, 0, 127]],
    UINT8: ['uint8', [0, 255, 7]],
    INT16: ['int16', [-32768, 0, 32767]],
    UINT16: ['uint16', [0, 65535]],
    INT32: ['int32', [-2147483648, 0, 5, 2147483647]],
    INT64: ['int64', [-9007199254740991, -1, 0, 9007199254740991]],
    UINT32: ['uint32', [0, 4294967295]],
    UINT64: ['uint64', [0, 9007199254740991]],
    BOOL: ['bool', [1, 0, 1]],
    FLOAT16: ['float16', [1, -2, 0.5, 65504, 0]],
    BFLOAT16: ['bfloat16', [1, -2, 0.5]],
  };
  const bytes = readFileSync(join(FIXTURES, 'typed_fields.onnx'));
  for (const [type, [dtype, values]] of Object.entries(expected)) {
    for (const storage of ['typed', 'raw']) {
      const tensor = byName(model, `${storage}_${type}`);
      assert.equal(tensor.dtype, dtype, `${storage}_${type} dtype`);
      assert.deepEqual(tensor.shape, [values.length]);
      assert.deepEqual(await valuesOf(tensor), values, `${storage}_${type} values`);
      assert.deepEqual(await valuesOf(tensor, 1), values, `${storage}_${type} values one at a time`);
    }
  }
  // raw_data stays on disk: its byte range in the file holds exactly the tensor's bytes.
  const rawFloat = byName(model, 'raw_FLOAT');
  assert.equal(rawFloat.byteLength, 16);
  const onDisk = bytes.subarray(rawFloat.byteOffset!, rawFloat.byteOffset! + 16);
  assert.deepEqual(Array.from(new Float32Array(Uint8Array.from(onDisk).buffer)), [1.5, -2, 0, 3.25]);
  assert.deepEqual(byName(model, 'matrix').shape, [2, 3]);
  assert.deepEqual(await valuesOf(byName(model, 'matrix')), [-2, -1, 0, 1, 2, 3]);
  const scalar = byName(model, 'scalar');
  assert.deepEqual([scalar.shape, scalar.numel], [[], 1]);
  assert.deepEqual(await valuesOf(scalar), [42]);
  assert.equal(model.tensors.length, 28);
  assert.equal(model.metadata?.producer, 'deep-accel-fixtures');
  await model.close();
});

test('initializers named like Object.prototype properties get their own FLOPs, not the inherited functions', async () => {
  // onnx wrote it (make_fixtures.py object_property_names): x [1,3,8,8] -> Conv 'constructor' [4,3,3,3]
  // pad 1 -> [1,4,8,8]: 2*4*8*8 * 3*3*3; Conv 'toString' [2,4,1,1] -> [1,2,8,8]: 2*2*8*8 * 4; Add 'valueOf'.
  const model = await onnxParser.open(join(FIXTURES, 'object_property_names.onnx'), { graphFlops: true });
  try {
    assert.deepEqual(model.flopsByTensor, { constructor: 2 * 4 * 64 * 27, toString: 2 * 2 * 64 * 4 });
    assert.deepEqual(model.tensors.map((t) => t.name), ['constructor', 'toString', 'valueOf']);
  } finally {
    await model.close();
  }
});

test('FLOPs of Conv, depthwise Conv, Gemm and MatMul by shape propagation without value_info', async () => {
  const model = await onnxParser.open(join(FIXTURES, 'small_cnn.onnx'), { graphFlops: true });
  // x [1,3,32,32] -> conv1 (3x3, pad 1) [1,8,32,32]: 2*8*32*32 * 3*3*3
  // maxpool 2x2 -> [1,8,16,16]; conv2 (3x3, stride 2, pad 1) -> [1,16,8,8]: 2*16*8*8 * 8*3*3
  // depthwise (group 16) -> [1,16,8,8]: 2*16*8*8 * 1*3*3; GAP, Flatten [1,16]; Gemm transB [10,16] -> [1,10]: 2*10*16
  // MatMul [1,10] x [10,4]: 2*4*10
  assert.deepEqual(model.flopsByTensor, {
    'conv1.weight': 2 * 8 * 32 * 32 * 27,
    'conv2.weight': 2 * 16 * 8 * 8 * 72,
    'dw.weight': 2 * 16 * 8 * 8 * 9,
    'fc.weight': 2 * 10 * 16,
    'proj.weight': 2 * 4 * 10,
  });
  assert.deepEqual(model.flopsByTensor!['conv1.weight'], 442368);
  assert.ok(model.warnings.some((w) => /batch size 1 .*'N' of 'x'/.test(w)), model.warnings.join('; '));
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'small_cnn.expected.json'), 'utf8')) as Record<
    string,
    { shape: number[]; zeros: number; sum: number; first: number[] }
  >;
  for (const [name, facts] of Object.entries(expected)) {
    const values = await valuesOf(byName(model, name), 100);
    assert.deepEqual(byName(model, name).shape, facts.shape);
    assert.equal(values.filter((v) => v === 0).length, facts.zeros, `${name} zeros`);
    assert.ok(Math.abs(values.reduce((a, b) => a + b, 0) - facts.sum) < 1e-9, `${name} sum`);
    assert.deepEqual(values.slice(0, 4), facts.first);
  }
  await model.close();
});

test('Constant nodes (top level and inside both If branches) and a sparse initializer', async () => {
  const model = await onnxParser.open(join(FIXTURES, 'subgraph_constants.onnx'));
  assert.deepEqual(model.tensors.map((t) => t.name).sort(), ['else_w', 'scale', 'sparse_w', 'then_w']);
  assert.deepEqual(await valuesOf(byName(model, 'scale')), [0.5, 0, -4]);
  assert.deepEqual(await valuesOf(byName(model, 'then_w')), [1, 0, 0, 2]);
  assert.deepEqual(await valuesOf(byName(model, 'else_w')), [0, 0, 3, 0]);
  const sparse = byName(model, 'sparse_w');
  assert.deepEqual([sparse.shape, sparse.numel], [[3, 4], 12]);
  assert.deepEqual(await valuesOf(sparse), [0, 5, 0, 0, 0, 0, -6, 0, 0, 0, 0, 7]);
  assert.deepEqual(await valuesOf(sparse, 5), [0, 5, 0, 0, 0, 0, -6, 0, 0, 0, 0, 7]);
  await model.close();
});

test('external data next to the model', async () => {
  const model = await onnxParser.open(join(FIXTURES, 'external', 'model.onnx'));
  assert.deepEqual(await valuesOf(byName(model, 'a')), [1, 2, 0, 0, 0, 3]);
  assert.deepEqual(byName(model, 'a').shape, [2, 3]);
  assert.equal(byName(model, 'b').dtype, 'float16');
  assert.deepEqual(await valuesOf(byName(model, 'b')), [-1.5, 0, 0, 2.5]);
  await model.close();
});

// ---------------------------------------------------------------------------------------------
// Hand-built protobufs.
// ---------------------------------------------------------------------------------------------

test('unpacked repeated fields: one float_data / int32_data / int64_data entry per value', async () => {
  const floats = tensorProto({ name: 'f', dims: [3], dataType: 1, extra: [...pbFloat(4, 1.25), ...pbFloat(4, -3), ...pbFloat(4, 0)] });
  const ints = tensorProto({ name: 'i', dims: [3], dataType: 3, extra: [...pbVarint(5, -7), ...pbVarint(5, 0), ...pbVarint(5, 100)] });
  const longs = tensorProto({ name: 'l', dims: [2], dataType: 7, extra: [...pbVarint(7, -5), ...pbVarint(7, 2 ** 40)] });
  // Two packed runs of the same field concatenate.
  const runs = tensorProto({ name: 'r', dims: [3], dataType: 1, extra: [...pbBytes(4, float32Bytes([1, 2])), ...pbBytes(4, float32Bytes([3]))] });
  const model = await onnxParser.open(writeModel(modelProto([floats, ints, longs, runs])));
  assert.deepEqual(await valuesOf(byName(model, 'f')), [1.25, -3, 0]);
  assert.deepEqual(await valuesOf(byName(model, 'i')), [-7, 0, 100]);
  assert.deepEqual(await valuesOf(byName(model, 'l')), [-5, 2 ** 40]);
  assert.deepEqual(await valuesOf(byName(model, 'r'), 2), [1, 2, 3]);
  await model.close();
});

test('scanning skips tensor payloads: a 6 MiB initializer is never read', async () => {
  const big = new Array<number>(6 * 1024 * 1024).fill(0);
  const bytes = modelProto([tensorProto({ name: 'big', dims: [1536 * 1024], dataType: 1, raw: big }), tensorProto({ name: 'after', dims: [1], dataType: 1, raw: float32Bytes([7]) })]);
  const memory = new MemorySource('big.onnx', bytes);
  let bytesRead = 0;
  const counting = {
    file: memory.file,
    size: memory.size,
    read: (offset: number, length: number, what?: string): Promise<Uint8Array> => {
      bytesRead += length;
      return memory.read(offset, length, what);
    },
  };
  const model = await scanOnnxModel(counting);
  const [first, second] = model.graph!.initializers;
  assert.deepEqual([first!.name, first!.raw!.end - first!.raw!.start, second!.name], ['big', 6 * 1024 * 1024, 'after']);
  assert.ok(bytesRead <= 2 * 1024 * 1024 + 64, `read ${bytesRead} bytes of ${bytes.length}`);
});

test('sniff: ModelProto header by content, .onnx by name', async () => {
  const bytes = modelProto([tensorProto({ name: 'w', dims: [1], dataType: 1, raw: float32Bytes([1]) })]);
  assert.equal(onnxParser.sniff(bytes, ''), true);
  assert.equal(onnxParser.sniff(readFileSync(join(FIXTURES, 'small_cnn.onnx')).subarray(0, 4096), ''), true);
  assert.equal(onnxParser.sniff(new Uint8Array([0x50, 0x4b, 3, 4]), ''), false);
  assert.equal(onnxParser.sniff(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]), ''), false);
  assert.equal(onnxParser.sniff(new Uint8Array([1, 2, 3]), 'model.onnx'), true);
});

test('bad input: invalid protobuf, truncation, empty file, no graph', async () => {
  await assertOpenFails(writeModel(new Uint8Array(0)), /empty/);
  await assertOpenFails(writeModel(new Uint8Array([0x08, 0x07, 0x3a, 0xff, 0xff, 0x03, 0x01])), /field 7 .* past the end of its message.*truncated/);
  await assertOpenFails(writeModel(new Uint8Array([0x0b, 0x01, 0x02])), /wire type 3/);
  await assertOpenFails(writeModel(new Uint8Array([0x08, 0x07])), /no graph/);
  await assertOpenFails(writeModel(new Uint8Array(Buffer.from('this is plainly not a protobuf file at all'))), /invalid ONNX protobuf/);
  const real = readFileSync(join(FIXTURES, 'small_cnn.onnx'));
  for (const keep of [3, 100, real.length >> 1, real.length - 1]) {
    await assertOpenFails(writeModel(real.subarray(0, keep)), /invalid ONNX protobuf|truncated|past the end/);
  }
});

test('bad input: shape against data size, negative dims, unknown and missing data types', async () => {
  const open = (t: TensorFields): string => writeModel(modelProto([tensorProto(t)]));
  await assertOpenFails(open({ name: 'w', dims: [3], dataType: 1, raw: float32Bytes([1, 2]) }), /tensor 'w': raw_data holds 8 bytes but 3 float32 values of shape \[3\] need 12/);
  await assertOpenFails(open({ name: 'w', dims: [2, -3], dataType: 1, raw: float32Bytes([1]) }), /tensor 'w': negative dimension -3/);
  await assertOpenFails(open({ name: 'w', dims: [1], dataType: 99, raw: [0] }), /tensor 'w': has unknown data_type 99/);
  await assertOpenFails(open({ name: 'w', dims: [1], dataType: 0, raw: [0] }), /UNDEFINED/);
  await assertOpenFails(open({ name: 'w', dims: [4], dataType: 1 }), /tensor 'w': has no data/);
  await assertOpenFails(open({ name: 'w', dims: [2], dataType: 1, extra: pbBytes(4, float32Bytes([1, 2, 3])) }), /float_data holds 3 values but its shape \[2\] needs 2/);
  await assertOpenFails(open({ name: 'w', dims: [2], dataType: 7, extra: pbBytes(4, float32Bytes([1, 2])) }), /has float_data but data type INT64 keeps its values in int64_data/);
  await assertOpenFails(open({ name: 'w', dims: [2 ** 30, 2 ** 30, 2 ** 30], dataType: 1, raw: [] }), /more than 2\^53 elements/);
  // Varint fields are counted while streaming: too few and too many values are both errors.
  await assertReadFails(open({ name: 'w', dims: [3], dataType: 6, extra: pbBytes(5, [1, 0x82, 0x01]) }), 'w', /int32_data holds 2 values but its shape \[3\] needs 3/);
  await assertOpenFails(open({ name: 'w', dims: [1e12], dataType: 7, extra: pbBytes(7, [1, 2]) }), /int64_data holds at most 2 values but its shape \[1000000000000\] needs 1000000000000/);
  await assertReadFails(open({ name: 'w', dims: [1], dataType: 6, extra: pbBytes(5, [1, 2]) }), 'w', /int32_data holds more values than its shape \[1\] has/);
  // Types that carry no plain numbers are skipped with a warning, not an error.
  const strings = await onnxParser.open(open({ name: 's', dims: [1], dataType: 8, extra: pbBytes(6, [104, 105]) }));
  assert.equal(strings.tensors.length, 0);
  assert.match(strings.warnings.join('\n'), /'s': data type STRING/);
  await strings.close();
});

test('bad input: external data that escapes the folder, is missing, or is too short', async () => {
  const folder = join(workDir, 'ext');
  mkdirSync(join(folder, 'sub'), { recursive: true });
  writeFileSync(join(folder, 'data.bin'), new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
  writeFileSync(join(workDir, 'outside.bin'), new Uint8Array(16));
  const external = (entries: [string, string][], dims = [4]): string =>
    writeModel(
      modelProto([tensorProto({ name: 'e', dims, dataType: 1, extra: [...entries.flatMap(([k, v]) => externalEntry(k, v)), ...pbVarint(14, 1)] })]),
      folder,
    );
  const good = await onnxParser.open(external([['location', 'data.bin'], ['offset', '4'], ['length', '12']], [3]));
  assert.deepEqual(await valuesOf(good.tensors[0]!), [2, 3, 4]);
  await good.close();
  await assertOpenFails(external([['location', '../outside.bin']]), /'..\/outside.bin' points outside the model folder/);
  await assertOpenFails(external([['location', 'sub/../../outside.bin']]), /points outside the model folder/);
  await assertOpenFails(external([['location', join(workDir, 'outside.bin')]]), /is absolute/);
  await assertOpenFails(external([['location', 'missing.bin']]), /does not exist/);
  await assertOpenFails(external([['offset', '0']]), /no external_data "location"/);
  await assertOpenFails(external([['location', 'data.bin'], ['offset', '8']]), /bytes 8..24 run past the end of 'data.bin' \(16 bytes\)/);
  await assertOpenFails(external([['location', 'data.bin'], ['length', '8']]), /length 8 differs from the 16 bytes/);
  await assertOpenFails(external([['location', 'data.bin'], ['offset', '-4']]), /"offset" is '-4', not a non-negative integer/);
  symlinkSync(join(workDir, 'outside.bin'), join(folder, 'link.bin'));
  await assertOpenFails(external([['location', 'link.bin']]), /through a link to a file outside the model folder/);
});

// ---------------------------------------------------------------------------------------------
// Real models, against figures computed with the onnx package (numpy_helper.to_array over
// initializers and Constant nodes in all subgraphs; FLOPs from onnx.shape_inference).
// ---------------------------------------------------------------------------------------------

function realModel(name: string): string {
  const path = join(MODELS_DIR, name);
  if (!existsSync(path)) assert.fail(`${path} is missing: run \`node scripts/fetchTestModels.mjs\` first to fetch the real test models`);
  return path;
}

async function census(model: OpenedWeightFile): Promise<{ numel: number; zeros: number; floats: number; floatSum: number }> {
  let numel = 0;
  let zeros = 0;
  let floats = 0;
  let floatSum = 0;
  for (const tensor of model.tensors) {
    const isFloat = tensor.dtype.startsWith('float');
    if (isFloat) floats++;
    for await (const chunk of tensor.chunks()) {
      for (const v of chunk) {
        numel++;
        if (v === 0) zeros++;
        if (isFloat) floatSum += v;
      }
    }
  }
  return { numel, zeros, floats, floatSum };
}

test('graph FLOPs are left out unless asked for: listing a model propagates no shapes', async () => {
  const model = await onnxParser.open(join(FIXTURES, 'small_cnn.onnx'));
  assert.equal(model.flopsByTensor, undefined);
  assert.ok(!model.warnings.some((w) => /batch size/.test(w)), model.warnings.join('; '));
  assert.equal(model.tensors.length, 5);
  await model.close();
});

test('BlazeFace (tf2onnx): 58 fp32 + 13 int64 initializers, FLOPs of its 37 convolutions', async () => {
  const model = await onnxParser.open(realModel('face_detection_front_128x128_barracuda.onnx'), { graphFlops: true });
  assert.equal(model.tensors.length, 71);
  const counts = await census(model);
  assert.deepEqual([counts.numel, counts.zeros, counts.floats], [100472, 21, 58]);
  assert.ok(Math.abs(counts.floatSum - -727.4258159) < 1e-6, `float sum ${counts.floatSum}`);
  const flops = model.flopsByTensor!;
  assert.equal(Object.keys(flops).length, 37);
  assert.equal(Object.values(flops).reduce((a, b) => a + b, 0), 61521920);
  // First conv: 5x5 stride 2 on 128x128x3 -> [1,24,64,64], weight [24,3,5,5].
  assert.equal(flops['StatefulPartitionedCall/functional_1/conv2d/Conv2D/ReadVariableOp:0'], 2 * 24 * 64 * 64 * 3 * 25);
  await model.close();
});

test('Silero VAD legacy and v5: weights inside If subgraphs and Constant nodes', async () => {
  const legacy = await onnxParser.open(realModel('silero_vad_legacy.onnx'));
  assert.equal(legacy.tensors.length, 259);
  const a = await census(legacy);
  assert.deepEqual([a.numel, a.zeros, a.floats], [445117, 4926, 100]);
  assert.ok(Math.abs(a.floatSum - 2097792.879) < 1e-2, `float sum ${a.floatSum}`);
  await legacy.close();

  const v5 = await onnxParser.open(realModel('silero_vad_v5.onnx'));
  // No initializers at all: every weight is a Constant node inside the If branches.
  assert.equal(v5.tensors.length, 341);
  const b = await census(v5);
  assert.deepEqual([b.numel, b.zeros, b.floats], [545597, 3672, 34]);
  assert.ok(Math.abs(b.floatSum - -2983.142226) < 1e-5, `float sum ${b.floatSum}`);
  await v5.close();
});

// ---------------------------------------------------------------------------------------------
// Hostile files: headers that declare more work or memory than the file stores.
// ---------------------------------------------------------------------------------------------

function sparseInitializerModel(dims: number[], values: number[], linearIndices: number[]): string {
  const valuesTensor = tensorProto({ name: 'w', dims: [values.length], dataType: 1, raw: float32Bytes(values) });
  const indexBytes = [...new Uint8Array(new BigInt64Array(linearIndices.map(BigInt)).buffer)];
  const indicesTensor = tensorProto({ name: 'w_indices', dims: [linearIndices.length], dataType: 7, raw: indexBytes });
  const sparse = [...pbBytes(1, valuesTensor), ...pbBytes(2, indicesTensor), ...dims.flatMap((d) => pbVarint(3, d))];
  const graph = [...pbString(2, 'g'), ...pbBytes(15, sparse)];
  return writeModel(new Uint8Array([...pbVarint(1, 8), ...pbBytes(7, graph)]));
}

test('a sparse initializer declaring 3 x 4294967295 elements for one stored value is refused at open', async () => {
  const path = sparseInitializerModel([3, 4294967295], [1.5], [5]);
  assert.ok(readFileSync(path).length < 100);
  await assertOpenFails(path, /sparse tensor 'w': its dense shape \[3, 4294967295\] has 12884901885 elements but the file stores 1 value/);
});

test('a very sparse initializer within the densification allowance still opens and densifies', async () => {
  // 2^20 elements are always allowed: one stored value at the last position, the rest implicit zeros.
  const numel = 1 << 20;
  const model = await onnxParser.open(sparseInitializerModel([1024, 1024], [-2], [numel - 1]));
  const w = byName(model, 'w');
  assert.equal(w.numel, numel);
  let zeros = 0;
  let last = NaN;
  let count = 0;
  for await (const chunk of w.chunks()) {
    for (const v of chunk) zeros += v === 0 ? 1 : 0;
    count += chunk.length;
    last = chunk[chunk.length - 1]!;
  }
  assert.deepEqual([count, zeros, last], [numel, numel - 1, -2]);
  await model.close();
  await assertOpenFails(sparseInitializerModel([1025, 1024], [-2], [0]), /has 1049600 elements but the file stores 1 value/);
});

test('100,000 initializers with the same name are listed under distinct names (a quadratic renaming would not finish within the watchdog)', { timeout: 180_000 }, async () => {
  const copies = 100_000;
  const one = pbBytes(5, tensorProto({ name: 'w', dims: [1], dataType: 1, raw: float32Bytes([1]) }));
  const graph = new Uint8Array(3 + copies * one.length);
  graph.set(pbString(2, 'g'));
  for (let i = 0; i < copies; i++) graph.set(one, 3 + i * one.length);
  const path = writeModel(new Uint8Array([...pbVarint(1, 8), ...tag(7, 2), ...varint(graph.length), ...graph]));
  const model = await onnxParser.open(path);
  assert.equal(model.tensors.length, copies);
  assert.equal(new Set(model.tensors.map((t) => t.name)).size, copies);
  assert.deepEqual(model.tensors.slice(0, 3).map((t) => t.name), ['w', 'w#2', 'w#3']);
  assert.equal(model.tensors[copies - 1]!.name, `w#${copies}`);
  // Ten renamed copies are named in a warning each, the other 99,989 in one.
  assert.equal(model.warnings.length, 11);
  assert.match(model.warnings[9]!, /listed as 'w#11'/);
  assert.equal(model.warnings[10], "tensor name 'w' appears 100000 times; 99989 more copies are listed as 'w#k' without a warning each");
  await model.close();
});

test('renaming repeated names skips names already taken', async () => {
  const init = (name: string, value: number): Bytes => tensorProto({ name, dims: [1], dataType: 1, raw: float32Bytes([value]) });
  const model = await onnxParser.open(writeModel(modelProto([init('w', 1), init('w#2', 2), init('w', 3), init('w', 4)])));
  assert.deepEqual(model.tensors.map((t) => t.name), ['w', 'w#2', 'w#3', 'w#4']);
  assert.deepEqual(await valuesOf(byName(model, 'w#3')), [3]);
  await model.close();
});

test('a Sum with 200,000 inputs propagates its shape without overflowing the stack', async () => {
  // x [1, 4] summed 200,000 times, then MatMul with W [4, 2]: 2 * 1 * 4 * 2 FLOPs.
  const dim = (d: number): Bytes => pbBytes(1, pbVarint(1, d));
  const input = [...pbString(1, 'x'), ...pbBytes(2, pbBytes(1, [...pbVarint(1, 1), ...pbBytes(2, [...dim(1), ...dim(4)])]))];
  const sum: Bytes = [];
  const x = pbString(1, 'x');
  for (let i = 0; i < 200_000; i++) sum.push(...x);
  sum.push(...pbString(2, 's'), ...pbString(4, 'Sum'));
  const matmul = [...pbString(1, 's'), ...pbString(1, 'W'), ...pbString(2, 'y'), ...pbString(4, 'MatMul')];
  const weight = tensorProto({ name: 'W', dims: [4, 2], dataType: 1, raw: float32Bytes([1, 2, 3, 4, 5, 6, 7, 8]) });
  const graph = [...pbBytes(1, sum), ...pbBytes(1, matmul), ...pbString(2, 'g'), ...pbBytes(5, weight), ...pbBytes(11, input)];
  const model = await onnxParser.open(writeModel(new Uint8Array([...pbVarint(1, 8), ...pbBytes(7, graph)])), { graphFlops: true });
  assert.deepEqual(model.flopsByTensor, { W: 16 });
  await model.close();
});

test('listing keeps only the nodes that hold weights; an unnamed Constant keeps its position in its name', async () => {
  // 1000 empty NodeProtos (2 bytes each), then an unnamed Constant without an output name.
  const constant = [...pbString(4, 'Constant'), ...pbBytes(5, [...pbString(1, 'value'), ...pbVarint(20, 4), ...pbBytes(5, tensorProto({ name: '', dims: [2], dataType: 1, raw: float32Bytes([3, 0]) }))])];
  const nodes: Bytes[] = [...Array.from({ length: 1000 }, (): Bytes => []), constant];
  const bytes = modelProto([], nodes);
  const listed = await scanOnnxModel(new MemorySource('m.onnx', bytes), { allNodes: false });
  assert.equal(listed.graph!.nodes.length, 1);
  assert.equal(listed.graph!.nodes[0]!.index, 1000);
  // For shape propagation nodes with an input or output are kept too; empty ones follow nothing.
  const withRelu = modelProto([], [...nodes, [...pbString(1, 'x'), ...pbString(2, 'y'), ...pbString(4, 'Relu')]]);
  assert.deepEqual((await scanOnnxModel(new MemorySource('m.onnx', withRelu))).graph!.nodes.map((n) => [n.opType, n.index]), [
    ['Constant', 1000],
    ['Relu', 1001],
  ]);
  const model = await onnxParser.open(writeModel(bytes));
  assert.deepEqual(model.tensors.map((t) => t.name), ['Constant_1000']);
  assert.deepEqual(await valuesOf(model.tensors[0]!), [3, 0]);
  await model.close();
});
