import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as flatbuffers from 'flatbuffers';
import { inspectTflite, tfliteParser } from '../../../../extension/core/formats/tflite';
import { WeightFileError, type TensorSource } from '../../../../extension/core/formats/types';
import { TEST_MODELS_DIR } from '../../../paths';

// ---------------------------------------------------------------------------------------------
// A small TFLite writer built on the flatbuffers runtime, with the slot numbers of schema.fbs.
// ---------------------------------------------------------------------------------------------

interface DimSpec {
  dense?: number;
  segments?: number[];
  indices?: number[];
  /** SparseIndexVector type: 1 Int32Vector, 2 Uint16Vector, 3 Uint8Vector. */
  indexType?: 1 | 2 | 3;
}

interface TensorSpec {
  name: string;
  type: number;
  shape: number[];
  buffer: number;
  quant?: { scale: number[]; zeroPoint: number[]; axis?: number };
  sparsity?: { traversal: number[]; blockMap: number[]; dims: DimSpec[] };
}

interface ModelSpec {
  buffers: (Uint8Array | { offset: number; size: number })[];
  tensors: TensorSpec[];
  opcodes?: number[];
  operators?: { opcode: number; inputs: number[]; outputs: number[] }[];
}

function int32Vector(b: flatbuffers.Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
  return b.endVector();
}

function buildTflite(spec: ModelSpec, identifier = 'TFL3'): Uint8Array {
  const b = new flatbuffers.Builder(1024);
  const indexVector = (values: number[], type: 1 | 2 | 3): number => {
    let vector: number;
    if (type === 1) vector = int32Vector(b, values);
    else {
      b.startVector(type === 2 ? 2 : 1, values.length, 4);
      for (let i = values.length - 1; i >= 0; i--) {
        if (type === 2) b.addInt16(values[i]!);
        else b.addInt8(values[i]!);
      }
      vector = b.endVector();
    }
    b.startObject(1);
    b.addFieldOffset(0, vector, 0);
    return b.endObject();
  };
  const tensorOffsets = spec.tensors.map((t) => {
    const name = b.createString(t.name);
    const shape = int32Vector(b, t.shape);
    let quant = 0;
    if (t.quant) {
      b.startVector(4, t.quant.scale.length, 4);
      for (let i = t.quant.scale.length - 1; i >= 0; i--) b.addFloat32(t.quant.scale[i]!);
      const scale = b.endVector();
      b.startVector(8, t.quant.zeroPoint.length, 8);
      for (let i = t.quant.zeroPoint.length - 1; i >= 0; i--) b.addInt64(BigInt(t.quant.zeroPoint[i]!));
      const zero = b.endVector();
      b.startObject(7);
      b.addFieldOffset(2, scale, 0);
      b.addFieldOffset(3, zero, 0);
      b.addFieldInt32(6, t.quant.axis ?? 0, 0);
      quant = b.endObject();
    }
    let sparsity = 0;
    if (t.sparsity) {
      const dims = t.sparsity.dims.map((d) => {
        const segments = d.segments ? indexVector(d.segments, d.indexType ?? 1) : 0;
        const indices = d.indices ? indexVector(d.indices, d.indexType ?? 1) : 0;
        b.startObject(6);
        b.addFieldInt8(0, d.segments ? 1 : 0, 0);
        b.addFieldInt32(1, d.dense ?? 0, 0);
        if (segments) {
          b.addFieldInt8(2, d.indexType ?? 1, 0);
          b.addFieldOffset(3, segments, 0);
          b.addFieldInt8(4, d.indexType ?? 1, 0);
          b.addFieldOffset(5, indices, 0);
        }
        return b.endObject();
      });
      const traversal = int32Vector(b, t.sparsity.traversal);
      const blockMap = int32Vector(b, t.sparsity.blockMap);
      b.startVector(4, dims.length, 4);
      for (let i = dims.length - 1; i >= 0; i--) b.addOffset(dims[i]!);
      const dimVector = b.endVector();
      b.startObject(3);
      b.addFieldOffset(0, traversal, 0);
      b.addFieldOffset(1, blockMap, 0);
      b.addFieldOffset(2, dimVector, 0);
      sparsity = b.endObject();
    }
    b.startObject(7);
    b.addFieldOffset(0, shape, 0);
    b.addFieldInt8(1, t.type, 0);
    b.addFieldInt32(2, t.buffer, 0);
    b.addFieldOffset(3, name, 0);
    if (quant) b.addFieldOffset(4, quant, 0);
    if (sparsity) b.addFieldOffset(6, sparsity, 0);
    return b.endObject();
  });
  const operatorOffsets = (spec.operators ?? []).map((op) => {
    const inputs = int32Vector(b, op.inputs);
    const outputs = int32Vector(b, op.outputs);
    b.startObject(3);
    b.addFieldInt32(0, op.opcode, 0);
    b.addFieldOffset(1, inputs, 0);
    b.addFieldOffset(2, outputs, 0);
    return b.endObject();
  });
  const vectorOfTables = (offsets: number[]): number => {
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
    return b.endVector();
  };
  const tensors = vectorOfTables(tensorOffsets);
  const operators = vectorOfTables(operatorOffsets);
  b.startObject(5);
  b.addFieldOffset(0, tensors, 0);
  b.addFieldOffset(3, operators, 0);
  const subgraph = b.endObject();
  const opcodes = vectorOfTables(
    (spec.opcodes ?? []).map((code) => {
      b.startObject(4);
      b.addFieldInt8(0, Math.min(code, 127), 0);
      b.addFieldInt32(3, code, 0);
      return b.endObject();
    }),
  );
  const buffers = vectorOfTables(
    spec.buffers.map((buffer) => {
      const data = buffer instanceof Uint8Array && buffer.length > 0 ? b.createByteVector(buffer) : 0;
      b.startObject(3);
      if (data) b.addFieldOffset(0, data, 0);
      if (!(buffer instanceof Uint8Array)) {
        b.addFieldInt64(1, BigInt(buffer.offset), 0n);
        b.addFieldInt64(2, BigInt(buffer.size), 0n);
      }
      return b.endObject();
    }),
  );
  const subgraphs = vectorOfTables([subgraph]);
  b.startObject(8);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, opcodes, 0);
  b.addFieldOffset(2, subgraphs, 0);
  b.addFieldOffset(4, buffers, 0);
  b.finish(b.endObject(), identifier);
  return b.asUint8Array().slice();
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);
const u16 = (values: number[]): Uint8Array => new Uint8Array(new Uint16Array(values).buffer);
const FLOAT32 = 0;
const FLOAT16 = 1;
const UINT8 = 3;
const INT8 = 9;

const workDir = mkdtempSync(join(tmpdir(), 'deep-accel-tflite-'));
process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));
let fileCounter = 0;
function writeModel(bytes: Uint8Array): string {
  const path = join(workDir, `model${fileCounter++}.tflite`);
  writeFileSync(path, bytes);
  return path;
}

async function valuesOf(tensor: TensorSource, maxChunkElements?: number): Promise<number[]> {
  const values: number[] = [];
  for await (const chunk of tensor.chunks({ maxChunkElements })) values.push(...chunk);
  return values;
}

async function openModel(spec: ModelSpec): Promise<Awaited<ReturnType<typeof tfliteParser.open>>> {
  return tfliteParser.open(writeModel(buildTflite(spec)));
}

async function assertRejects(spec: ModelSpec | Uint8Array, pattern: RegExp): Promise<void> {
  const path = writeModel(spec instanceof Uint8Array ? spec : buildTflite(spec));
  await assert.rejects(tfliteParser.open(path), (error: unknown) => {
    assert.ok(error instanceof WeightFileError, `expected WeightFileError, got ${String(error)}`);
    assert.equal(error.file, path);
    assert.match(error.message, pattern);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Synthetic models with hand-derived contents.
// ---------------------------------------------------------------------------------------------

test('float32 tensor: values, shape and byte range as written', async () => {
  const data = f32([1.5, -2, 0, 3.25, 0, 7]);
  const path = writeModel(buildTflite({ buffers: [new Uint8Array(0), data], tensors: [{ name: 'w', type: FLOAT32, shape: [2, 3], buffer: 1 }] }));
  const model = await tfliteParser.open(path);
  assert.equal(model.format, 'tflite');
  assert.equal(model.tensors.length, 1);
  const [w] = model.tensors;
  assert.deepEqual([w!.name, w!.dtype, w!.shape, w!.numel], ['w', 'float32', [2, 3], 6]);
  assert.deepEqual(await valuesOf(w!), [1.5, -2, 0, 3.25, 0, 7]);
  assert.deepEqual(await valuesOf(w!, 4), [1.5, -2, 0, 3.25, 0, 7]);
  const raw = readFileSync(path).subarray(w!.byteOffset!, w!.byteOffset! + w!.byteLength!);
  assert.deepEqual(new Uint8Array(raw), data);
  await model.close();
});

test('activations (empty buffers) are not reported as weights', async () => {
  const model = await openModel({
    buffers: [new Uint8Array(0), new Uint8Array(0), f32([1])],
    tensors: [
      { name: 'input', type: FLOAT32, shape: [1, 4], buffer: 0 },
      { name: 'act', type: FLOAT32, shape: [1, 4], buffer: 1 },
      { name: 'bias', type: FLOAT32, shape: [1], buffer: 2 },
    ],
  });
  assert.deepEqual(model.tensors.map((t) => t.name), ['bias']);
  await model.close();
});

test('float16: 1, -2, 0.5, smallest subnormal, 65504', async () => {
  const model = await openModel({
    buffers: [new Uint8Array(0), u16([0x3c00, 0xc000, 0x3800, 0x0001, 0x7bff])],
    tensors: [{ name: 'h', type: FLOAT16, shape: [5], buffer: 1 }],
  });
  assert.deepEqual(await valuesOf(model.tensors[0]!), [1, -2, 0.5, 2 ** -24, 65504]);
  await model.close();
});

test('int8 per-axis dequantisation along quantized_dimension 0', async () => {
  // shape [2,1,1,2]: channel 0 scale 0.5 zero 1 holds q = 3, 1; channel 1 scale 0.25 zero -2 holds q = -2, 6.
  const model = await openModel({
    buffers: [new Uint8Array(0), new Uint8Array(new Int8Array([3, 1, -2, 6]).buffer)],
    tensors: [{ name: 'k', type: INT8, shape: [2, 1, 1, 2], buffer: 1, quant: { scale: [0.5, 0.25], zeroPoint: [1, -2], axis: 0 } }],
  });
  assert.equal(model.tensors[0]!.dtype, 'int8');
  assert.deepEqual(await valuesOf(model.tensors[0]!), [1, 0, 0, 2]);
  // q = 1 in channel 0 and q = -2 in channel 1 are their zero points: exactly 0.
  assert.equal(model.tensors[0]!.quantization, 'int8 per-channel affine along axis 0 (2 scales, 2 distinct zero points): a stored value equal to its channel\'s zero point counts as zero');
  await model.close();
});

test('int8 per-axis dequantisation along the last axis', async () => {
  // shape [2,2], axis 1: column scales 2 and 0.5, zero points 0.
  const model = await openModel({
    buffers: [new Uint8Array(0), new Uint8Array(new Int8Array([1, 4, -3, -8]).buffer)],
    tensors: [{ name: 'k', type: INT8, shape: [2, 2], buffer: 1, quant: { scale: [2, 0.5], zeroPoint: [0, 0], axis: 1 } }],
  });
  assert.deepEqual(await valuesOf(model.tensors[0]!), [2, 2, -6, -4]);
  await model.close();
});

test('uint8 per-tensor dequantisation: scale 0.125, zero point 128', async () => {
  const model = await openModel({
    buffers: [new Uint8Array(0), new Uint8Array([128, 136, 120, 0])],
    tensors: [{ name: 'q', type: UINT8, shape: [4], buffer: 1, quant: { scale: [0.125], zeroPoint: [128] } }],
  });
  assert.deepEqual(await valuesOf(model.tensors[0]!), [0, 1, -1, -16]);
  assert.equal(model.tensors[0]!.quantization, 'uint8 affine ((q - 128) * 0.125): zero point 128, a stored 128 counts as zero');
  await model.close();
});

test('int4: two signed nibbles per byte, low nibble first, across odd chunk starts', async () => {
  // 1, -2 | 7, -8 | 3  ->  0xE1, 0x87, 0x03
  const model = await openModel({
    buffers: [new Uint8Array(0), new Uint8Array([0xe1, 0x87, 0x03])],
    tensors: [{ name: 'nibbles', type: 17, shape: [5], buffer: 1 }],
  });
  for (const bound of [undefined, 1, 2, 3]) assert.deepEqual(await valuesOf(model.tensors[0]!, bound), [1, -2, 7, -8, 3]);
  await model.close();
});

test('CSR sparse 3x4 matrix is densified', async () => {
  // Row 0 holds columns 1 and 3, row 1 nothing, row 2 column 0.
  const model = await openModel({
    buffers: [new Uint8Array(0), f32([1, 2, 3])],
    tensors: [
      {
        name: 's',
        type: FLOAT32,
        shape: [3, 4],
        buffer: 1,
        sparsity: { traversal: [0, 1], blockMap: [], dims: [{ dense: 3 }, { segments: [0, 2, 2, 3], indices: [1, 3, 0] }] },
      },
    ],
  });
  const s = model.tensors[0]!;
  assert.deepEqual(s.shape, [3, 4]);
  assert.equal(s.numel, 12);
  assert.deepEqual(await valuesOf(s), [0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0]);
  assert.deepEqual(await valuesOf(s, 5), [0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0]);
  await model.close();
});

test('CSR sparse with uint8 and uint16 index vectors', async () => {
  for (const indexType of [2, 3] as const) {
    const model = await openModel({
      buffers: [new Uint8Array(0), f32([5, 6])],
      tensors: [
        {
          name: 's',
          type: FLOAT32,
          shape: [2, 3],
          buffer: 1,
          sparsity: { traversal: [0, 1], blockMap: [], dims: [{ dense: 2 }, { segments: [0, 1, 2], indices: [2, 1], indexType }] },
        },
      ],
    });
    assert.deepEqual(await valuesOf(model.tensors[0]!), [0, 0, 5, 0, 6, 0]);
    await model.close();
  }
});

test('column-major traversal order densifies to row-major, across chunk windows', async () => {
  // shape [2,3], traversal [1,0]: columns first; column 0 holds row 1 = 10, column 2 holds rows 0, 1 = 20, 30.
  const model = await openModel({
    buffers: [new Uint8Array(0), f32([10, 20, 30])],
    tensors: [
      {
        name: 't',
        type: FLOAT32,
        shape: [2, 3],
        buffer: 1,
        sparsity: { traversal: [1, 0], blockMap: [], dims: [{ dense: 3 }, { segments: [0, 1, 1, 3], indices: [1, 0, 1] }] },
      },
    ],
  });
  const expected = [0, 0, 20, 10, 0, 30];
  assert.deepEqual(await valuesOf(model.tensors[0]!), expected);
  assert.deepEqual(await valuesOf(model.tensors[0]!, 4), expected);
  assert.deepEqual(await valuesOf(model.tensors[0]!, 1), expected);
  await model.close();
});

test('2x2 block-sparse 4x4 matrix with fp16 values', async () => {
  // Block (0,1) holds 1,2,3,4 and block (1,0) holds 5,6,7,8, each row-major inside its block.
  const half = [0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600, 0x4700, 0x4800];
  const model = await openModel({
    buffers: [new Uint8Array(0), u16(half)],
    tensors: [
      {
        name: 'b',
        type: FLOAT16,
        shape: [4, 4],
        buffer: 1,
        sparsity: {
          traversal: [0, 1, 2, 3],
          blockMap: [0, 1],
          dims: [{ dense: 2 }, { segments: [0, 1, 2], indices: [1, 0] }, { dense: 2 }, { dense: 2 }],
        },
      },
    ],
  });
  assert.deepEqual(await valuesOf(model.tensors[0]!), [0, 0, 1, 2, 0, 0, 3, 4, 5, 6, 0, 0, 7, 8, 0, 0]);
  await model.close();
});

test('buffers kept outside the FlatBuffer (offset/size, the >2 GB layout)', async () => {
  const data = f32([4, 0, -1, 9]);
  // The offset must point past the FlatBuffer; build once to learn its size, then rebuild with it.
  const probe = buildTflite({ buffers: [new Uint8Array(0), { offset: 1 << 20, size: data.length }], tensors: [{ name: 'x', type: FLOAT32, shape: [4], buffer: 1 }] });
  const offset = Math.ceil(probe.length / 16) * 16;
  const flat = buildTflite({ buffers: [new Uint8Array(0), { offset, size: data.length }], tensors: [{ name: 'x', type: FLOAT32, shape: [4], buffer: 1 }] });
  assert.equal(flat.length, probe.length);
  const file = new Uint8Array(offset + data.length);
  file.set(flat);
  file.set(data, offset);
  const model = await tfliteParser.open(writeModel(file));
  assert.equal(model.tensors[0]!.byteOffset, offset);
  assert.deepEqual(await valuesOf(model.tensors[0]!), [4, 0, -1, 9]);
  await model.close();
  await assertRejects(flat, /Buffer 1 data.*outside the file/);
});

test('kernel layouts and FLOPs come from the consuming operators (through DEQUANTIZE)', async () => {
  const ones = (n: number): Uint8Array => f32(new Array<number>(n).fill(1));
  const model = await openModel({
    buffers: [new Uint8Array(0), ones(2 * 3 * 3 * 4), u16(new Array<number>(3 * 3 * 4).fill(0x3c00)), ones(8)],
    tensors: [
      { name: 'conv_kernel', type: FLOAT32, shape: [2, 3, 3, 4], buffer: 1 },
      { name: 'dw_kernel_fp16', type: FLOAT16, shape: [1, 3, 3, 4], buffer: 2 },
      { name: 'dw_kernel', type: FLOAT32, shape: [1, 3, 3, 4], buffer: 0 },
      { name: 'input', type: FLOAT32, shape: [1, 5, 5, 4], buffer: 0 },
      { name: 'fc', type: FLOAT32, shape: [2, 4], buffer: 3 },
      { name: 'conv_out', type: FLOAT32, shape: [1, 3, 3, 2], buffer: 0 },
      { name: 'dw_out', type: FLOAT32, shape: [1, 3, 3, 4], buffer: 0 },
      { name: 'vector', type: FLOAT32, shape: [1, 4], buffer: 0 },
      { name: 'fc_out', type: FLOAT32, shape: [1, 2], buffer: 0 },
    ],
    // BuiltinOperator codes: CONV_2D 3, DEPTHWISE_CONV_2D 4, DEQUANTIZE 6, FULLY_CONNECTED 9.
    opcodes: [3, 4, 6, 9],
    operators: [
      { opcode: 2, inputs: [1], outputs: [2] },
      { opcode: 1, inputs: [3, 2], outputs: [6] },
      { opcode: 0, inputs: [3, 0], outputs: [5] },
      { opcode: 3, inputs: [7, 4], outputs: [8] },
    ],
  });
  assert.deepEqual(
    model.tensors.map((t) => [t.name, t.layout]),
    [
      ['conv_kernel', 'OHWI'],
      ['dw_kernel_fp16', 'IHWO'],
      ['fc', undefined],
    ],
  );
  assert.deepEqual(model.flopsByTensor, {
    // 3x3 valid conv: 1*3*3*2 outputs, each 3*3*4 products.
    conv_kernel: 2 * (3 * 3 * 2) * (3 * 3 * 4),
    // depthwise: 1*3*3*4 outputs, each 3*3 products, counted on the fp16 constant behind DEQUANTIZE.
    dw_kernel_fp16: 2 * (3 * 3 * 4) * (3 * 3),
    // fully connected [2,4] on [1,4]: 2 outputs, each 4 products.
    fc: 2 * 2 * 4,
  });
  await model.close();
});

test('sniff: TFL3 identifier by content, .tflite by name', () => {
  const bytes = buildTflite({ buffers: [new Uint8Array(0)], tensors: [] });
  assert.equal(tfliteParser.sniff(bytes.subarray(0, 16), ''), true);
  assert.equal(tfliteParser.sniff(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0]), ''), false);
  assert.equal(tfliteParser.sniff(new Uint8Array(8), 'x.tflite'), true);
});

// ---------------------------------------------------------------------------------------------
// Bad input: every failure is a WeightFileError that names the file and the problem.
// ---------------------------------------------------------------------------------------------

test('bad input: wrong identifier, truncation, empty file', async () => {
  const good = buildTflite({ buffers: [new Uint8Array(0), f32([1, 2])], tensors: [{ name: 'w', type: FLOAT32, shape: [2], buffer: 1 }] });
  await assertRejects(buildTflite({ buffers: [], tensors: [] }, 'ABCD'), /file identifier is 'ABCD'/);
  await assertRejects(new Uint8Array(0), /too short/);
  for (const keep of [12, 40, good.length >> 1, good.length - 9]) {
    await assertRejects(good.subarray(0, keep), /outside|too short|shrank|exceeds|vtable|misses/);
  }
});

test('bad input: buffer index, size, shape and type disagreements', async () => {
  const base = { buffers: [new Uint8Array(0), f32([1, 2, 3, 4])] };
  await assertRejects({ ...base, tensors: [{ name: 'w', type: FLOAT32, shape: [4], buffer: 7 }] }, /tensor 'w' refers to buffer 7 but the model has 2/);
  await assertRejects({ ...base, tensors: [{ name: 'w', type: FLOAT32, shape: [5], buffer: 1 }] }, /needs 20 bytes .* holds 16/);
  await assertRejects({ ...base, tensors: [{ name: 'w', type: FLOAT32, shape: [-4], buffer: 1 }] }, /negative dimension/);
  await assertRejects({ ...base, tensors: [{ name: 'w', type: 99, shape: [4], buffer: 1 }] }, /unknown tensor type 99/);
  await assertRejects(
    { ...base, tensors: [{ name: 'w', type: FLOAT32, shape: [4], buffer: 1, quant: { scale: [1, 2, 3], zeroPoint: [0, 0, 0], axis: 0 } }] },
    /3 per-axis scales/,
  );
});

test('bad input: inconsistent sparsity metadata', async () => {
  const sparse = (dims: DimSpec[], values = 3, traversal = [0, 1]): ModelSpec => ({
    buffers: [new Uint8Array(0), f32(new Array<number>(values).fill(1))],
    tensors: [{ name: 's', type: FLOAT32, shape: [3, 4], buffer: 1, sparsity: { traversal, blockMap: [], dims } }],
  });
  await assertRejects(sparse([{ dense: 3 }, { segments: [0, 2, 2, 3], indices: [1, 4, 0] }]), /index 4 at 1 is outside 0..3/);
  await assertRejects(sparse([{ dense: 3 }, { segments: [0, 2, 3], indices: [1, 3, 0] }]), /3 array_segments, expected 4/);
  await assertRejects(sparse([{ dense: 3 }, { segments: [0, 2, 1, 3], indices: [1, 3, 0] }]), /segments decrease/);
  await assertRejects(sparse([{ dense: 3 }, { segments: [0, 2, 2, 9], indices: [1, 3, 0] }]), /segments end at 9 but only 3 indices/);
  await assertRejects(sparse([{ dense: 3 }, { segments: [0, 2, 2, 3], indices: [1, 3, 0] }], 4), /needs 12 bytes for 3 stored values/);
  await assertRejects(sparse([{ dense: 2 }, { segments: [0, 2, 3], indices: [1, 3, 0] }]), /dense_size 2 differs from the dimension size 3/);
  await assertRejects(sparse([{ dense: 3 }, { segments: [0, 2, 2, 3], indices: [1, 3, 0] }], 3, [0, 0]), /not a permutation/);
  const deep = Array.from({ length: 17 }, (_, i) => i);
  await assertRejects(
    {
      buffers: [new Uint8Array(0), f32([1])],
      tensors: [{ name: 'deep', type: FLOAT32, shape: deep.map(() => 1), buffer: 1, sparsity: { traversal: deep, blockMap: [], dims: deep.map(() => ({ dense: 1 })) } }],
    },
    /17 levels, more than the 16 supported/,
  );
});

// ---------------------------------------------------------------------------------------------
// Real models (MediaPipe), checked against an independent reader built on the flatbuffers runtime.
// ---------------------------------------------------------------------------------------------

const MODELS_DIR = TEST_MODELS_DIR;
function realModel(name: string): string {
  const path = join(MODELS_DIR, name);
  if (!existsSync(path)) {
    assert.fail(`${path} is missing: run \`node scripts/fetchTestModels.mjs\` first to fetch the real test models`);
  }
  return path;
}

interface ReferenceTensor {
  name: string;
  shape: number[];
  type: number;
  /** Dense row-major values, decoded and densified by this reference reader. */
  values: Float64Array;
  storedValues: number;
  sparse: boolean;
}

/**
 * An independent TFLite reader that uses the flatbuffers runtime's ByteBuffer (as generated code
 * does) and only handles what these models use: fp16/fp32/int32 buffers and row-major CSR on the
 * last axis with dense leading axes.
 */
function referenceTensors(path: string): ReferenceTensor[] {
  const bytes = new Uint8Array(readFileSync(path));
  const bb = new flatbuffers.ByteBuffer(bytes);
  const field = (table: number, slot: number): number => bb.__offset(table, 4 + 2 * slot);
  const table = (parent: number, slot: number): number => {
    const o = field(parent, slot);
    return o ? bb.__indirect(parent + o) : 0;
  };
  const vector = (parent: number, slot: number): { start: number; length: number } => {
    const o = field(parent, slot);
    return o ? { start: bb.__vector(parent + o), length: bb.__vector_len(parent + o) } : { start: 0, length: 0 };
  };
  const tableAt = (v: { start: number }, i: number): number => bb.__indirect(v.start + 4 * i);
  const int32s = (parent: number, slot: number): number[] => {
    const v = vector(parent, slot);
    return Array.from({ length: v.length }, (_, i) => bb.readInt32(v.start + 4 * i));
  };
  const indexValues = (dim: number, typeSlot: number, valueSlot: number): number[] => {
    const type = bb.readUint8(dim + field(dim, typeSlot));
    const holder = table(dim, valueSlot);
    const v = vector(holder, 0);
    return Array.from({ length: v.length }, (_, i) =>
      type === 1 ? bb.readInt32(v.start + 4 * i) : type === 2 ? bb.readUint16(v.start + 2 * i) : bb.readUint8(v.start + i),
    );
  };
  const half = (h: number): number => {
    const e = (h >> 10) & 31;
    const m = h & 1023;
    const s = h & 0x8000 ? -1 : 1;
    return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + m / 1024);
  };
  const model = bb.readInt32(0);
  const buffers = vector(model, 4);
  const subgraph = tableAt(vector(model, 2), 0);
  const tensors = vector(subgraph, 0);
  const out: ReferenceTensor[] = [];
  for (let i = 0; i < tensors.length; i++) {
    const t = tableAt(tensors, i);
    const bufferIndex = field(t, 2) ? bb.readUint32(t + field(t, 2)) : 0;
    const data = vector(tableAt(buffers, bufferIndex), 0);
    if (bufferIndex === 0 || data.length === 0) continue;
    const type = field(t, 1) ? bb.readInt8(t + field(t, 1)) : 0;
    const shape = int32s(t, 0);
    const numel = shape.reduce((a, b) => a * b, 1);
    const elementBytes = type === 1 ? 2 : 4;
    const stored = Array.from({ length: data.length / elementBytes }, (_, k) =>
      type === 1 ? half(bb.readUint16(data.start + 2 * k)) : type === 0 ? bb.readFloat32(data.start + 4 * k) : bb.readInt32(data.start + 4 * k),
    );
    const values = new Float64Array(numel);
    const sparsity = table(t, 6);
    if (!sparsity) {
      values.set(stored);
    } else {
      const dims = vector(sparsity, 2);
      assert.deepEqual(int32s(sparsity, 0), shape.map((_, d) => d), 'reference reader handles only row-major traversal');
      const last = tableAt(dims, dims.length - 1);
      const segments = indexValues(last, 2, 3);
      const indices = indexValues(last, 4, 5);
      const columns = shape[shape.length - 1]!;
      for (let row = 0; row + 1 < segments.length; row++) {
        for (let k = segments[row]!; k < segments[row + 1]!; k++) values[row * columns + indices[k]!] = stored[k]!;
      }
    }
    out.push({ name: bb.__string(t + field(t, 3)) as string, shape, type, values, storedValues: stored.length, sparse: Boolean(sparsity) });
  }
  return out;
}

async function assertMatchesReference(path: string): Promise<{ model: Awaited<ReturnType<typeof tfliteParser.open>>; reference: ReferenceTensor[] }> {
  const reference = referenceTensors(path);
  const model = await tfliteParser.open(path);
  assert.equal(model.tensors.length, reference.length);
  for (const [i, tensor] of model.tensors.entries()) {
    const expected = reference[i]!;
    assert.equal(tensor.name, expected.name);
    assert.deepEqual(tensor.shape, expected.shape);
    assert.deepEqual(await valuesOf(tensor), Array.from(expected.values), `values of ${tensor.name}`);
  }
  return { model, reference };
}

test('MediaPipe sparse face detector: 46 CSR fp16 kernels, 70% sparse, equal to an independent densification', async () => {
  const path = realModel('face_detection_full_range_sparse.tflite');
  const { model, reference } = await assertMatchesReference(path);
  const sparse = reference.filter((t) => t.sparse);
  assert.equal(sparse.length, 46);
  assert.ok(sparse.every((t) => t.type === 1 && t.shape.length === 4 && t.shape[1] === 1 && t.shape[2] === 1), 'all 1x1 fp16 kernels');
  // Density implied by the CSR indices: stored values against dense size.
  const stored = sparse.reduce((n, t) => n + t.storedValues, 0);
  const dense = sparse.reduce((n, t) => n + t.values.length, 0);
  const explicitZeros = sparse.reduce((n, t) => n + Array.from(t.values).filter((v) => v === 0).length, 0) - (dense - stored);
  let zeros = 0;
  let numel = 0;
  let allZeros = 0;
  let allNumel = 0;
  const sparseNames = new Set(sparse.map((t) => t.name));
  for (const tensor of model.tensors) {
    for await (const chunk of tensor.chunks({ maxChunkElements: 1000 })) {
      for (const v of chunk) {
        if (sparseNames.has(tensor.name)) {
          numel++;
          if (v === 0) zeros++;
        }
        allNumel++;
        if (v === 0) allZeros++;
      }
    }
  }
  assert.equal(numel, dense);
  assert.equal(zeros, dense - stored + explicitZeros);
  const sparsity = zeros / numel;
  assert.ok(Math.abs(sparsity - 0.7) < 0.005, `sparsity of the CSR kernels ${sparsity}`);
  assert.ok(Math.abs(sparsity - (1 - stored / dense)) < 1e-4);
  // Depthwise and first-layer kernels are dense, which brings the whole model below 70%.
  assert.ok(allZeros / allNumel > 0.6 && allZeros / allNumel < 0.7, `whole-model sparsity ${allZeros / allNumel}`);
  const depthwise = model.tensors.filter((t) => t.layout === 'IHWO');
  assert.ok(depthwise.length > 0 && depthwise.every((t) => t.shape[0] === 1));
  assert.ok(model.tensors.filter((t) => sparseNames.has(t.name)).every((t) => t.layout === 'OHWI'));
  await model.close();
});

test('MediaPipe dense face detectors and selfie segmentation match the independent reader', async () => {
  for (const name of ['face_detection_full_range.tflite', 'face_detection_short_range.tflite', 'selfie_segmentation.tflite']) {
    const { model, reference } = await assertMatchesReference(realModel(name));
    assert.ok(reference.every((t) => !t.sparse));
    assert.ok(model.tensors.some((t) => t.dtype === 'float16'));
    await model.close();
  }
  // The "dense twin" is not the sparse model before pruning: its 1x1 kernel shapes differ, so
  // tensors cannot be paired and compared value by value.
  const kernelShapes = async (path: string): Promise<string[]> =>
    (await inspectTflite(path))
      .tensors.filter((t) => t.shape.length === 4 && t.shape[1] === 1 && t.shape[2] === 1)
      .map((t) => t.shape.join('x'));
  // The short-range detector is the model that Barracuda's ONNX BlazeFace was converted from: its
  // convolution FLOPs equal the total that onnx.shape_inference gives for the ONNX file (61521920).
  const shortRange = (await inspectTflite(realModel('face_detection_short_range.tflite'))).flopsByTensor;
  assert.equal(Object.keys(shortRange).length, 37);
  assert.equal(Object.values(shortRange).reduce((a, b) => a + b, 0), 61521920);
  // First layer: 5x5 stride-2 conv, 128x128x3 -> 64x64x24.
  assert.equal(shortRange['conv2d/Kernel'], 2 * 64 * 64 * 24 * 5 * 5 * 3);
  const sparseShapes = await kernelShapes(realModel('face_detection_full_range_sparse.tflite'));
  const denseShapes = await kernelShapes(realModel('face_detection_full_range.tflite'));
  assert.notDeepEqual(sparseShapes, denseShapes);
  assert.equal(sparseShapes.length, 48, "46 CSR kernels and 2 dense 1x1 kernels");
});

// ---------------------------------------------------------------------------------------------
// Hostile files: sparse shapes out of proportion to the values stored.
// ---------------------------------------------------------------------------------------------

test('a CSR tensor of 65537 x 65537 x 1 x 1 with one stored value is refused at open', async () => {
  const spec: ModelSpec = {
    buffers: [new Uint8Array(0), f32([2.5])],
    tensors: [
      {
        name: 's',
        type: FLOAT32,
        shape: [65537, 65537, 1, 1],
        buffer: 1,
        sparsity: {
          traversal: [0, 1, 2, 3],
          blockMap: [],
          dims: [{ segments: [0, 1], indices: [0] }, { segments: [0, 1], indices: [0] }, { dense: 1 }, { dense: 1 }],
        },
      },
    ],
  };
  assert.ok(buildTflite(spec).length < 600);
  await assertRejects(spec, /tensor 's': its dense shape \[65537, 65537, 1, 1\] has 4295098369 elements but the file stores 1 value/);
});

test('a CSR matrix of 3 x 2147483647 with one stored value is refused; one within the allowance densifies', async () => {
  const csr = (columns: number): ModelSpec => ({
    buffers: [new Uint8Array(0), f32([2.5])],
    tensors: [
      {
        name: 's',
        type: FLOAT32,
        shape: [3, columns],
        buffer: 1,
        sparsity: { traversal: [0, 1], blockMap: [], dims: [{ dense: 3 }, { segments: [0, 1, 1, 1], indices: [7] }] },
      },
    ],
  });
  await assertRejects(csr(2147483647), /dense shape \[3, 2147483647\] has 6442450941 elements but the file stores 1 value/);
  // 3 x 349525 = 1048575 elements: inside the 2^20 always allowed.
  const model = await openModel(csr(349525));
  let count = 0;
  let sum = 0;
  let at = -1;
  for await (const chunk of model.tensors[0]!.chunks()) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] !== 0) at = count + i;
    for (const v of chunk) sum += v;
    count += chunk.length;
  }
  assert.deepEqual([count, sum, at], [3 * 349525, 2.5, 7]);
  await model.close();
});

test('a tensor list whose 200,000 entries all point at one tensor table lists that tensor once', { timeout: 60_000 }, async () => {
  const entries = 200_000;
  const b = new flatbuffers.Builder(1 << 20);
  const name = b.createString('t');
  const shape = int32Vector(b, [1]);
  b.startObject(7);
  b.addFieldOffset(0, shape, 0);
  b.addFieldInt8(1, FLOAT32, 0);
  b.addFieldInt32(2, 1, 0);
  b.addFieldOffset(3, name, 0);
  const tensor = b.endObject();
  b.startVector(4, entries, 4);
  for (let i = 0; i < entries; i++) b.addOffset(tensor);
  const tensorList = b.endVector();
  b.startObject(5);
  b.addFieldOffset(0, tensorList, 0);
  const subgraph = b.endObject();
  const vectorOf = (offsets: number[]): number => {
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
    return b.endVector();
  };
  const data = b.createByteVector(f32([1.5]));
  b.startObject(3);
  const empty = b.endObject();
  b.startObject(3);
  b.addFieldOffset(0, data, 0);
  const buffer = b.endObject();
  const buffers = vectorOf([empty, buffer]);
  const subgraphs = vectorOf([subgraph]);
  b.startObject(8);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(2, subgraphs, 0);
  b.addFieldOffset(4, buffers, 0);
  b.finish(b.endObject(), 'TFL3');
  const model = await tfliteParser.open(writeModel(b.asUint8Array().slice()));
  assert.deepEqual(model.tensors.map((t) => t.name), ['t']);
  assert.deepEqual(await valuesOf(model.tensors[0]!), [1.5]);
  assert.deepEqual(model.warnings, [`SubGraph 0: ${entries - 1} entries of its tensor list point at a tensor table listed before; each table is listed once`]);
  await model.close();
});
