/**
 * TensorFlow Lite (.tflite) weight reader.
 *
 * A .tflite file is one FlatBuffer (schema: tensorflow/lite/schema/schema.fbs, identifier "TFL3").
 * The few tables needed here are read through the shared FlatBuffer reader (flatbuffer.ts), whose
 * checked accessors page the file in with async reads, so opening a model touches only its tables,
 * never its weight buffers: each constant
 * tensor remembers where its buffer lies (inline `Buffer.data`, or `Buffer.offset/size` for models
 * past 2 GB) and `chunks()` reads that range from disk when asked.
 *
 * Quantised tensors (int8/uint8/int16/int32 with scale and zero point, per tensor or per axis) are
 * dequantised; float16 and bfloat16 are widened; CSR-sparse tensors (SparsityParameters) are
 * densified into row-major order.
 */
import { FlatBufferReader, type FlatTable } from './flatbuffer';
import { type GraphInput, type GraphLayer, type GraphLayers, samePadding } from './graphLayers';
import { BoundedReader, type ByteSource } from './reader';
import { checkDensifiedSize } from './source';
import type { OpenedWeightFile, OpenOptions, TensorLayout, TensorSource, WeightFormatParser } from './types';
import { WeightFileError } from './types';
import { decodeInto, isDType, itemSize } from './dtypes';
import { ownValue, setOwn } from './ownNames';

const DEFAULT_CHUNK_ELEMENTS = 1 << 20;

/** TensorType enum of schema.fbs, with the element size in bytes (INT4 is packed two per byte). */
const TENSOR_TYPES: Record<number, { name: string; bytes: number } | undefined> = {
  0: { name: 'float32', bytes: 4 },
  1: { name: 'float16', bytes: 2 },
  2: { name: 'int32', bytes: 4 },
  3: { name: 'uint8', bytes: 1 },
  4: { name: 'int64', bytes: 8 },
  5: { name: 'string', bytes: 0 },
  6: { name: 'bool', bytes: 1 },
  7: { name: 'int16', bytes: 2 },
  8: { name: 'complex64', bytes: 8 },
  9: { name: 'int8', bytes: 1 },
  10: { name: 'float64', bytes: 8 },
  11: { name: 'complex128', bytes: 16 },
  12: { name: 'uint64', bytes: 8 },
  13: { name: 'resource', bytes: 0 },
  14: { name: 'variant', bytes: 0 },
  15: { name: 'uint32', bytes: 4 },
  16: { name: 'uint16', bytes: 2 },
  17: { name: 'int4', bytes: 0.5 },
  18: { name: 'bfloat16', bytes: 2 },
};
const ELEMENT_BYTES: Record<string, number> = Object.fromEntries(
  Object.values(TENSOR_TYPES).map((t) => [t!.name, t!.bytes]),
);
const UNSUPPORTED_VALUE_TYPES = new Set(['string', 'complex64', 'complex128', 'resource', 'variant']);

const MAX_SPARSE_LEVELS = 16;

/** BuiltinOperator codes that decide a kernel's layout, and the ops that only convert constants. */
const OP_CONV_2D = 3;
const OP_DEPTHWISE_CONV_2D = 4;
const OP_DEQUANTIZE = 6;
const OP_TRANSPOSE_CONV = 67;
const OP_FULLY_CONNECTED = 9;
const OP_DENSIFY = 124;

/** DimensionMetadata.format and SparseIndexVector union tags. */
const DIM_DENSE = 0;
const DIM_SPARSE_CSR = 1;
const INDEX_INT32 = 1;
const INDEX_UINT16 = 2;
const INDEX_UINT8 = 3;

interface Quantization {
  scale: Float32Array;
  zeroPoint: number[];
  axis: number;
}

interface DimensionLevel {
  format: number;
  denseSize: number;
  segments?: Int32Array | Uint16Array | Uint8Array;
  indices?: Int32Array | Uint16Array | Uint8Array;
}

interface Sparsity {
  traversalOrder: number[];
  blockMap: number[];
  levels: DimensionLevel[];
  /** Values stored, implied by the dimension metadata. */
  storedValues: number;
}

export interface TfliteTensorInfo {
  subgraph: number;
  index: number;
  name: string;
  dtype: string;
  shape: number[];
  buffer: number;
  byteOffset: number;
  byteLength: number;
  quantization?: Quantization;
  sparsity?: Sparsity;
  /** Axis order of 4-D kernels: OHWI for convolutions, IHWO ([1,H,W,C*m]) for depthwise ones. */
  layout?: TensorLayout;
}

/** Schema-version-independent view of the tensors that carry constant data. */
export interface TfliteModelInfo {
  version: number;
  subgraphs: number;
  tensors: TfliteTensorInfo[];
  warnings: string[];
  /** 2 x multiply-accumulates of the CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and FULLY_CONNECTED layers, by kernel. */
  flopsByTensor: Record<string, number>;
  /** The CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and FULLY_CONNECTED layers, with NCHW shapes. */
  graphLayers: GraphLayers;
}

async function readIndexVector(file: FlatBufferReader, table: FlatTable, typeField: number, valueField: number, what: string): Promise<Int32Array | Uint16Array | Uint8Array> {
  const kind = await table.uint8(typeField, 0);
  const vectorTable = await table.table(valueField, what);
  if (!vectorTable) file.fail(`${what} is missing`);
  const elementBytes = kind === INDEX_INT32 ? 4 : kind === INDEX_UINT16 ? 2 : kind === INDEX_UINT8 ? 1 : 0;
  if (elementBytes === 0) file.fail(`${what} has unknown index vector type ${kind}`);
  return vectorTable.unsigned(0, elementBytes);
}

/**
 * Reads and validates SparsityParameters against the dense shape. Every segment and index is checked
 * here, so densification later can trust them.
 */
async function readSparsity(file: FlatBufferReader, table: FlatTable, shape: number[], what: string): Promise<Sparsity> {
  const traversalOrder = Array.from(await table.int32s(0));
  const blockMap = Array.from(await table.int32s(1));
  const metadata = await table.tables(2, `${what} dim_metadata`);
  const rank = shape.length;
  const levelsCount = rank + blockMap.length;
  // Densification recurses once per level; real models have rank 4 plus at most 2 block levels.
  if (levelsCount > MAX_SPARSE_LEVELS) file.fail(`${what}: sparsity has ${levelsCount} levels, more than the ${MAX_SPARSE_LEVELS} supported`);
  if (traversalOrder.length !== levelsCount || metadata.length !== levelsCount) {
    file.fail(`${what}: sparsity has ${traversalOrder.length} traversal entries and ${metadata.length} dim_metadata for rank ${rank} with ${blockMap.length} block dimension(s)`);
  }
  const seen = new Set(traversalOrder);
  if (seen.size !== levelsCount || traversalOrder.some((d) => d < 0 || d >= levelsCount)) {
    file.fail(`${what}: traversal_order [${traversalOrder.join(', ')}] is not a permutation of 0..${levelsCount - 1}`);
  }
  for (let i = 0; i < rank; i++) {
    if (traversalOrder[i]! >= rank) file.fail(`${what}: traversal_order must list the ${rank} tensor dimensions before the block dimensions`);
  }
  if (blockMap.some((d) => d < 0 || d >= rank) || new Set(blockMap).size !== blockMap.length) {
    file.fail(`${what}: block_map [${blockMap.join(', ')}] is invalid for rank ${rank}`);
  }
  const levels: DimensionLevel[] = [];
  for (const [i, m] of metadata.entries()) {
    const format = await m.int8(0, DIM_DENSE);
    const denseSize = await m.int32(1, 0);
    if (format === DIM_DENSE) {
      levels.push({ format, denseSize });
      continue;
    }
    if (format !== DIM_SPARSE_CSR) file.fail(`${what}: dim_metadata ${i} has unknown format ${format}`);
    levels.push({
      format,
      denseSize,
      segments: await readIndexVector(file, m, 2, 3, `${what} dim_metadata ${i} array_segments`),
      indices: await readIndexVector(file, m, 4, 5, `${what} dim_metadata ${i} array_indices`),
    });
  }
  // Size of each traversal level: original dims divided by their block size, then the block sizes.
  const blockSizes = blockMap.map((_, j) => {
    const level = levels[rank + j]!;
    if (level.format !== DIM_DENSE || level.denseSize <= 0) file.fail(`${what}: block dimension ${j} must be dense with a positive size`);
    return level.denseSize;
  });
  const blockedShape = shape.slice();
  blockMap.forEach((d, j) => {
    if (shape[d]! % blockSizes[j]! !== 0) file.fail(`${what}: dimension ${d} (${shape[d]}) is not a multiple of its block size ${blockSizes[j]}`);
    blockedShape[d] = shape[d]! / blockSizes[j]!;
  });
  const levelSize = (level: number): number => {
    const dim = traversalOrder[level]!;
    return dim < rank ? blockedShape[dim]! : blockSizes[dim - rank]!;
  };
  let nodes = 1;
  levels.forEach((level, i) => {
    const size = levelSize(i);
    if (level.format === DIM_DENSE) {
      if (level.denseSize !== size) file.fail(`${what}: dim_metadata ${i} dense_size ${level.denseSize} differs from the dimension size ${size}`);
      nodes *= size;
      return;
    }
    const segments = level.segments!;
    const indices = level.indices!;
    if (segments.length !== nodes + 1) file.fail(`${what}: dim_metadata ${i} has ${segments.length} array_segments, expected ${nodes + 1}`);
    if (segments[0] !== 0) file.fail(`${what}: dim_metadata ${i} array_segments must start at 0`);
    for (let s = 1; s < segments.length; s++) {
      if (segments[s]! < segments[s - 1]!) file.fail(`${what}: dim_metadata ${i} array_segments decrease at ${s}`);
    }
    const count = segments[nodes]!;
    if (count > indices.length) file.fail(`${what}: dim_metadata ${i} segments end at ${count} but only ${indices.length} indices are stored`);
    for (let k = 0; k < count; k++) {
      if (indices[k]! < 0 || indices[k]! >= size) file.fail(`${what}: dim_metadata ${i} index ${indices[k]} at ${k} is outside 0..${size - 1}`);
    }
    nodes = count;
  });
  return { traversalOrder, blockMap, levels, storedValues: nodes };
}

function checkedShape(file: FlatBufferReader, dims: Int32Array, what: string): { shape: number[]; numel: number } {
  const shape = Array.from(dims);
  let numel = 1;
  for (const d of shape) {
    if (d < 0) file.fail(`${what} has a negative dimension in shape [${shape.join(', ')}]`);
    numel *= d;
  }
  if (!Number.isSafeInteger(numel)) file.fail(`${what} has too many elements (shape [${shape.join(', ')}])`);
  return { shape, numel };
}

/**
 * What the operators say about the constant kernels they consume, traced back through DEQUANTIZE
 * and DENSIFY (fp16 and sparse models feed kernels through them): the kernel layout, and the
 * multiply-accumulates of the layer, from the static shapes TFLite stores for every tensor.
 */
async function analyseOperators(
  subgraph: FlatTable,
  subgraphIndex: number,
  opcodes: number[],
  shapes: Int32Array[],
): Promise<{ layouts: Map<number, TensorLayout>; macs: Map<number, number>; layerOps: LayerOperator[] }> {
  const operators: { code: number; inputs: number[]; outputs: number[]; table: FlatTable }[] = [];
  for (const op of await subgraph.tables(3, `SubGraph ${subgraphIndex} Operator`)) {
    operators.push({
      code: opcodes[await op.uint32(0, 0)] ?? -1,
      inputs: Array.from(await op.int32s(1)),
      outputs: Array.from(await op.int32s(2)),
      table: op,
    });
  }
  const layerOps: LayerOperator[] = [];
  const producer = new Map<number, (typeof operators)[number]>();
  for (const op of operators) for (const output of op.outputs) producer.set(output, op);
  const layouts = new Map<number, TensorLayout>();
  const macs = new Map<number, number>();
  const elements = (index: number | undefined): number | undefined => {
    const shape = index === undefined ? undefined : shapes[index];
    if (!shape || shape.length === 0 || shape.some((d) => d < 0)) return undefined;
    return shape.reduce((a, b) => a * b, 1);
  };
  for (const op of operators) {
    const isConv = op.code === OP_CONV_2D || op.code === OP_DEPTHWISE_CONV_2D || op.code === OP_TRANSPOSE_CONV;
    if (!isConv && op.code !== OP_FULLY_CONNECTED) continue;
    // TRANSPOSE_CONV takes (output_shape, weights, input): its kernel is input 1 like the others.
    const stored = (index: number): number => {
      for (let hops = 0; hops < 4; hops++) {
        const source = producer.get(index);
        if (!source || (source.code !== OP_DEQUANTIZE && source.code !== OP_DENSIFY) || source.inputs[0] === undefined) break;
        index = source.inputs[0];
      }
      return index;
    };
    if (op.inputs[1] === undefined || op.inputs[1] < 0 || op.inputs[1] >= shapes.length) continue;
    const kernelShape = Array.from(shapes[op.inputs[1]]!);
    const kernel = stored(op.inputs[1]);
    if (isConv) layouts.set(kernel, op.code === OP_DEPTHWISE_CONV_2D ? 'IHWO' : 'OHWI');
    // Conv [O,H,W,I]: each output element takes H*W*I products; depthwise [1,H,W,C*m]: H*W;
    // fully connected [O,I]: I; transposed conv [O,H,W,I]: each input element feeds O*H*W.
    let count: number | undefined;
    const output = elements(op.outputs[0]);
    if (op.code === OP_CONV_2D && kernelShape.length === 4 && output !== undefined) count = output * kernelShape[1]! * kernelShape[2]! * kernelShape[3]!;
    if (op.code === OP_DEPTHWISE_CONV_2D && kernelShape.length === 4 && output !== undefined) count = output * kernelShape[1]! * kernelShape[2]!;
    if (op.code === OP_FULLY_CONNECTED && kernelShape.length === 2 && output !== undefined) count = output * kernelShape[1]!;
    const input = elements(op.inputs[2]);
    if (op.code === OP_TRANSPOSE_CONV && kernelShape.length === 4 && input !== undefined) count = input * kernelShape[0]! * kernelShape[1]! * kernelShape[2]!;
    if (count !== undefined && Number.isSafeInteger(count)) macs.set(kernel, (macs.get(kernel) ?? 0) + count);
    const options = await op.table.table(4, `SubGraph ${subgraphIndex} operator options`);
    layerOps.push({
      code: op.code,
      kernel,
      kernelShape,
      bias: ((bias) => (bias === undefined || bias < 0 ? undefined : stored(bias)))(op.code === OP_TRANSPOSE_CONV ? op.inputs[3] : op.inputs[2]),
      input: op.code === OP_TRANSPOSE_CONV ? op.inputs[2] : op.inputs[0],
      output: op.outputs[0],
      options: options ? await convOptions(op.code, options) : DEFAULT_CONV_OPTIONS,
    });
  }
  return { layouts, macs, layerOps };
}

/** Padding, strides, dilations and depth multiplier of a convolution's builtin options (defaults for FULLY_CONNECTED). */
interface ConvOptions {
  valid: boolean;
  strides: [number, number];
  dilations: [number, number];
}
const DEFAULT_CONV_OPTIONS: ConvOptions = { valid: false, strides: [1, 1], dilations: [1, 1] };

/**
 * Conv2DOptions: padding 0, stride_w 1, stride_h 2, activation 3, dilation_w 4, dilation_h 5;
 * DepthwiseConv2DOptions: padding 0, stride_w 1, stride_h 2, depth_multiplier 3, activation 4,
 * dilation_w 5, dilation_h 6; TransposeConvOptions: padding 0, stride_w 1, stride_h 2. Padding SAME = 0, VALID = 1.
 */
async function convOptions(code: number, table: FlatTable): Promise<ConvOptions> {
  if (code === OP_FULLY_CONNECTED) return DEFAULT_CONV_OPTIONS;
  const dilationField = code === OP_DEPTHWISE_CONV_2D ? 5 : 4;
  const dilations: [number, number] = code === OP_TRANSPOSE_CONV ? [1, 1] : [await table.int32(dilationField + 1, 1), await table.int32(dilationField, 1)];
  return { valid: (await table.int8(0, 0)) === 1, strides: [await table.int32(2, 1), await table.int32(1, 1)], dilations };
}

/** A CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV or FULLY_CONNECTED operator, by tensor index. */
interface LayerOperator {
  code: number;
  /** The stored kernel, traced back through DEQUANTIZE and DENSIFY; its shape as the operator sees it. */
  kernel: number;
  kernelShape: number[];
  bias?: number;
  input?: number;
  output?: number;
  options: ConvOptions;
}

const LAYER_OP_NAMES: Record<number, string> = {
  [OP_CONV_2D]: 'CONV_2D',
  [OP_DEPTHWISE_CONV_2D]: 'DEPTHWISE_CONV_2D',
  [OP_TRANSPOSE_CONV]: 'TRANSPOSE_CONV',
  [OP_FULLY_CONNECTED]: 'FULLY_CONNECTED',
};

/**
 * The layer an operator makes, in NCHW terms (TFLite activations are NHWC), named by its output
 * tensor as Netron names TFLite nodes; a string says why it makes none.
 */
function tfliteLayer(op: LayerOperator, shapes: Int32Array[], names: Map<number, string>, activationName: (index: number) => string): GraphLayer | string {
  const opType = LAYER_OP_NAMES[op.code]!;
  const name = op.output !== undefined && op.output >= 0 ? activationName(op.output) : `${opType}@${op.kernel}`;
  const weight = names.get(op.kernel);
  if (weight === undefined) return `${opType} '${name}': its weight is not a constant tensor of the file; left out`;
  const shapeOf = (index: number | undefined): number[] | undefined => {
    const shape = index === undefined || index < 0 ? undefined : shapes[index];
    return shape && shape.length > 0 && shape.every((d) => d > 0) ? Array.from(shape) : undefined;
  };
  const bias = op.bias !== undefined && op.bias >= 0 ? names.get(op.bias) : undefined;
  const k = op.kernelShape;
  const x = shapeOf(op.input);
  const y = shapeOf(op.output);
  if (op.code === OP_FULLY_CONNECTED) {
    if (k.length !== 2) return `${opType} '${name}': weight shape [${k.join(', ')}] is not a matrix; left out`;
    const [outFeatures, inFeatures] = k as [number, number];
    const rows = x ? x.reduce((a, b) => a * b, 1) / inFeatures : undefined;
    const known = rows !== undefined && Number.isSafeInteger(rows) && rows > 0;
    return { name, opType, kind: 'linear', weight, ...(bias ? { bias } : {}), linear: { inFeatures, outFeatures, layout: 'OI' }, ...(known ? { input: [rows, inFeatures], output: [rows, outFeatures] } : {}) };
  }
  if (k.length !== 4) return `${opType} '${name}': weight shape [${k.join(', ')}] is not a 4-D kernel; left out`;
  const nchw = (shape: number[] | undefined): number[] | undefined => (shape?.length === 4 ? [shape[0]!, shape[3]!, shape[1]!, shape[2]!] : undefined);
  const input = nchw(x);
  const output = nchw(y);
  let C: number;
  let K: number;
  let groups: number;
  if (op.code === OP_DEPTHWISE_CONV_2D) {
    // [1, R, S, C*multiplier]: one group per input channel.
    K = k[3]!;
    C = input?.[1] ?? K;
    groups = C;
  } else if (op.code === OP_TRANSPOSE_CONV) {
    [K, C, groups] = [k[0]!, k[3]!, 1];
  } else {
    // [K, R, S, C/groups]: an input with more channels than the kernel makes a grouped convolution.
    K = k[0]!;
    C = input?.[1] ?? k[3]!;
    groups = C % k[3]! === 0 ? C / k[3]! : 1;
  }
  const [R, S] = [k[1]!, k[2]!];
  const { strides, dilations } = op.options;
  let pads: [number, number, number, number] | undefined;
  if (op.options.valid) pads = [0, 0, 0, 0];
  else if (input && op.code !== OP_TRANSPOSE_CONV) {
    const [top, bottom] = samePadding(input[2]!, R, strides[0], dilations[0]);
    const [left, right] = samePadding(input[3]!, S, strides[1], dilations[1]);
    pads = [top, left, bottom, right];
  }
  return {
    name,
    opType,
    kind: op.code === OP_TRANSPOSE_CONV ? 'convTranspose' : 'conv',
    weight,
    ...(bias ? { bias } : {}),
    conv: { C, K, R, S, groups, strides, dilations, ...(pads ? { pads } : {}) },
    ...(input ? { input } : {}),
    ...(output ? { output } : {}),
  };
}

/** Parses the model's tables (not its weight data) and lists every tensor that has constant data. */
async function readTfliteModel(file: FlatBufferReader): Promise<TfliteModelInfo> {
  const model = await file.root('TFL3');
  const version = await model.uint32(0, 0);
  const warnings: string[] = [];
  const buffers: { start: number; length: number }[] = [];
  for (const [index, buffer] of (await model.tables(4, 'Buffer')).entries()) {
    const offset = await buffer.uint64(1, 0);
    const size = await buffer.uint64(2, 0);
    // Models past 2 GB keep data outside the FlatBuffer: offset (> 1) and size count from the file start.
    if (offset > 1) {
      file.pages.check(offset, size, `Buffer ${index} data`);
      buffers.push({ start: offset, length: size });
      continue;
    }
    buffers.push((await buffer.vector(0, 1)) ?? { start: 0, length: 0 });
  }
  const opcodes: number[] = [];
  for (const code of await model.tables(1, 'OperatorCode')) opcodes.push(Math.max(await code.int8(0, 0), await code.int32(3, 0)));
  const subgraphs = await model.tables(2, 'SubGraph');
  const tensors: TfliteTensorInfo[] = [];
  const flops: Record<string, number> = {};
  const layers: GraphLayer[] = [];
  const layerNotes: string[] = [];
  const inputs: GraphInput[] = [];
  for (const [subgraphIndex, subgraph] of subgraphs.entries()) {
    const tensorTables = await subgraph.tables(0, `SubGraph ${subgraphIndex} Tensor`);
    // FlatBuffer offsets may point many entries of the tensor list at one table: each table is
    // read and listed once (its first index), so a small file cannot list a tensor a million times.
    const firstIndexAt = new Map<number, number>();
    const shapes: Int32Array[] = [];
    let repeated = 0;
    for (const [index, tensor] of tensorTables.entries()) {
      const first = firstIndexAt.get(tensor.position);
      if (first === undefined) {
        firstIndexAt.set(tensor.position, index);
        shapes.push(await tensor.int32s(0));
      } else {
        shapes.push(shapes[first]!);
        repeated++;
      }
    }
    if (repeated > 0) warnings.push(`SubGraph ${subgraphIndex}: ${repeated} entries of its tensor list point at a tensor table listed before; each table is listed once`);
    const { layouts, macs, layerOps } = await analyseOperators(subgraph, subgraphIndex, opcodes, shapes);
    const listedNames = new Map<number, string>();
    for (const [index, tensor] of tensorTables.entries()) {
      if (firstIndexAt.get(tensor.position) !== index) continue;
      const bufferIndex = await tensor.uint32(2, 0);
      // Buffer 0 is the schema's empty sentinel; activations point there or at another empty buffer.
      if (bufferIndex === 0) continue;
      const name = (await tensor.string(3)) ?? `subgraph${subgraphIndex}/tensor${index}`;
      const what = `tensor '${name}'`;
      const buffer = buffers[bufferIndex];
      if (!buffer) file.fail(`${what} refers to buffer ${bufferIndex} but the model has ${buffers.length}`);
      if (buffer.length === 0) continue;
      const typeCode = await tensor.int8(1, 0);
      const type = TENSOR_TYPES[typeCode];
      if (!type) file.fail(`${what} has unknown tensor type ${typeCode}`);
      if (UNSUPPORTED_VALUE_TYPES.has(type.name)) {
        warnings.push(`${what}: ${type.name} tensors hold no numeric weights; skipped`);
        continue;
      }
      const { shape, numel } = checkedShape(file, shapes[index]!, what);
      const quantizationTable = await tensor.table(4, `${what} quantization`);
      let quantization: Quantization | undefined;
      if (quantizationTable) {
        const scale = await quantizationTable.float32s(2);
        const zeroPoint = await quantizationTable.int64s(3);
        const axis = await quantizationTable.int32(6, 0);
        if (scale.length > 0) {
          if (scale.length > 1 && (axis < 0 || axis >= shape.length || shape[axis] !== scale.length)) {
            file.fail(`${what} has ${scale.length} per-axis scales but dimension ${axis} of [${shape.join(', ')}] does not match`);
          }
          if (zeroPoint.length !== 0 && zeroPoint.length !== scale.length) {
            file.fail(`${what} has ${scale.length} scales but ${zeroPoint.length} zero points`);
          }
          quantization = { scale, zeroPoint, axis };
        }
      }
      const sparsityTable = await tensor.table(6, `${what} sparsity`);
      const sparsity = sparsityTable ? await readSparsity(file, sparsityTable, shape, what) : undefined;
      const stored = sparsity ? sparsity.storedValues : numel;
      const expectedBytes = Math.ceil(stored * type.bytes);
      if (buffer.length !== expectedBytes) {
        file.fail(`${what} of type ${type.name} needs ${expectedBytes} bytes for ${stored} ${sparsity ? 'stored ' : ''}values of shape [${shape.join(', ')}] but its buffer ${bufferIndex} holds ${buffer.length}`);
      }
      if (sparsity) checkDensifiedSize(file.file, what, shape, numel, stored);
      tensors.push({
        subgraph: subgraphIndex,
        index,
        name,
        dtype: type.name,
        shape,
        buffer: bufferIndex,
        byteOffset: buffer.start,
        byteLength: buffer.length,
        quantization,
        sparsity,
        layout: shape.length === 4 ? (layouts.get(index) ?? 'OHWI') : undefined,
      });
      listedNames.set(index, name);
      const multiplyAdds = macs.get(index);
      if (multiplyAdds !== undefined) setOwn(flops, name, (ownValue(flops, name) ?? 0) + 2 * multiplyAdds);
    }
    const activationNames = new Map<number, string>();
    for (const op of layerOps) {
      const output = op.output;
      if (output === undefined || output < 0 || output >= tensorTables.length) continue;
      activationNames.set(output, (await tensorTables[output]!.string(3)) ?? `subgraph${subgraphIndex}/tensor${output}`);
    }
    for (const op of layerOps) {
      const layer = tfliteLayer(op, shapes, listedNames, (index) => activationNames.get(index) ?? `subgraph${subgraphIndex}/tensor${index}`);
      if (typeof layer === 'string') layerNotes.push(layer);
      // A TFLite operator has no name of its own: viewers show it by the tensor it writes.
      else layers.push(op.output !== undefined && op.output >= 0 ? { ...layer, node: { name: '', output: layer.name } } : layer);
    }
    if (subgraphIndex === 0) {
      for (const index of await subgraph.int32s(1)) {
        const table = tensorTables[index];
        if (!table) continue;
        const signature = await table.int32s(7);
        const dims = Array.from(signature.length > 0 ? signature : shapes[index]!, (d) => (d < 0 ? '?' : d));
        inputs.push({ name: (await table.string(3)) ?? `tensor${index}`, dims });
      }
    }
  }
  return { version, subgraphs: subgraphs.length, tensors, warnings, flopsByTensor: flops, graphLayers: { inputs, layers, notes: layerNotes } };
}

/** Decodes `count` stored elements of `dtype` starting at element `firstElement` of `bytes` into `out`. */
function decodeElements(dtype: string, bytes: Uint8Array, firstElement: number, count: number, out: Float32Array | Float64Array): void {
  if (dtype === 'int4') {
    // Two signed nibbles per byte, low nibble first; `bytes` starts at the byte holding element `firstElement`.
    for (let i = 0; i < count; i++) {
      const position = (firstElement % 2) + i;
      const byte = bytes[position >> 1]!;
      const nibble = position % 2 === 0 ? byte & 0x0f : byte >> 4;
      out[i] = nibble >= 8 ? nibble - 16 : nibble;
    }
    return;
  }
  if (!isDType(dtype)) throw new Error(`unsupported TFLite dtype ${dtype}`);
  decodeInto(bytes.subarray(0, count * itemSize(dtype)), dtype, out);
}

function storedBytesFor(dtype: string, firstElement: number, count: number): { offset: number; length: number } {
  if (dtype === 'int4') {
    const start = Math.floor(firstElement / 2);
    return { offset: start, length: Math.ceil((firstElement + count) / 2) - start };
  }
  const size = ELEMENT_BYTES[dtype] ?? 0;
  return { offset: firstElement * size, length: count * size };
}

/** Applies scale and zero point; `denseIndexOf(i)` gives the row-major index of output element i. */
function dequantize(values: Float32Array | Float64Array, count: number, q: Quantization, shape: number[], denseIndexOf: (i: number) => number): void {
  if (q.scale.length === 1) {
    const scale = q.scale[0]!;
    const zero = q.zeroPoint[0] ?? 0;
    for (let i = 0; i < count; i++) values[i] = (values[i]! - zero) * scale;
    return;
  }
  let inner = 1;
  for (let d = q.axis + 1; d < shape.length; d++) inner *= shape[d]!;
  const channels = shape[q.axis]!;
  for (let i = 0; i < count; i++) {
    const channel = Math.floor(denseIndexOf(i) / inner) % channels;
    values[i] = (values[i]! - (q.zeroPoint[channel] ?? 0)) * q.scale[channel]!;
  }
}

/**
 * Row-major positions of the stored values of a sparse tensor, in storage order, following the TFLite
 * format converter: levels are walked in traversal order, CSR levels through their segments.
 */
function sparsePositions(info: TfliteTensorInfo): Float64Array {
  const sparsity = info.sparsity!;
  const shape = info.shape;
  const rank = shape.length;
  const { traversalOrder, blockMap, levels } = sparsity;
  const blockSizes = blockMap.map((_, j) => levels[rank + j]!.denseSize);
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const positions = new Float64Array(sparsity.storedValues);
  const indices = new Array<number>(levels.length).fill(0);
  let written = 0;
  const emit = (): void => {
    const original = new Array<number>(rank).fill(0);
    for (let i = 0; i < rank; i++) original[traversalOrder[i]!] = indices[i]!;
    for (let i = rank; i < levels.length; i++) {
      const block = traversalOrder[i]! - rank;
      const dim = blockMap[block]!;
      original[dim] = original[dim]! * blockSizes[block]! + indices[i]!;
    }
    let flat = 0;
    for (let d = 0; d < rank; d++) flat += original[d]! * strides[d]!;
    positions[written++] = flat;
  };
  const walk = (level: number, previous: number): void => {
    if (level === levels.length) {
      emit();
      return;
    }
    const meta = levels[level]!;
    if (meta.format === DIM_DENSE) {
      for (let i = 0; i < meta.denseSize; i++) {
        indices[level] = i;
        walk(level + 1, previous * meta.denseSize + i);
      }
      return;
    }
    const end = meta.segments![previous + 1]!;
    for (let k = meta.segments![previous]!; k < end; k++) {
      indices[level] = meta.indices![k]!;
      walk(level + 1, k);
    }
  };
  walk(0, 0);
  return positions;
}

function abortIfAsked(signal: AbortSignal | undefined, path: string): void {
  if (signal?.aborted) throw new WeightFileError(path, 'reading was cancelled');
}

/** How a quantised tensor maps stored integers to values, and which stored value counts as zero. */
export function tfliteZeroRule(dtype: string, q: Quantization, shape: number[]): string {
  if (q.scale.length === 1) {
    const zero = q.zeroPoint[0] ?? 0;
    return `${dtype} affine ((q - ${zero}) * ${q.scale[0]}): zero point ${zero}, a stored ${zero} counts as zero`;
  }
  const zeros = [...new Set(q.scale.map((_, c) => q.zeroPoint[c] ?? 0))];
  const points = zeros.length === 1 ? `zero point ${zeros[0]} in every channel` : `${zeros.length} distinct zero points`;
  return `${dtype} per-channel affine along axis ${q.axis} (${shape[q.axis] ?? q.scale.length} scales, ${points}): a stored value equal to its channel's zero point counts as zero`;
}

function makeSource(file: ByteSource, info: TfliteTensorInfo): TensorSource {
  const numel = info.shape.reduce((a, b) => a * b, 1);
  const wide = info.dtype === 'float64' || info.dtype === 'int64' || info.dtype === 'uint64' || info.dtype === 'int32' || info.dtype === 'uint32';
  const quantization = info.quantization;
  return {
    name: info.name,
    dtype: info.dtype,
    shape: info.shape,
    numel,
    byteOffset: info.byteOffset,
    byteLength: info.byteLength,
    ...(info.layout ? { layout: info.layout } : {}),
    ...(quantization ? { quantization: tfliteZeroRule(info.dtype, quantization, info.shape) } : {}),
    async *chunks(options) {
      const maxChunk = Math.max(1, Math.floor(options?.maxChunkElements ?? DEFAULT_CHUNK_ELEMENTS));
      const signal = options?.signal;
      const chunkLength = Math.min(maxChunk, Math.max(numel, 1));
      const out = wide ? new Float64Array(chunkLength) : new Float32Array(chunkLength);
      if (!info.sparsity) {
        for (let first = 0; first < numel; first += chunkLength) {
          abortIfAsked(signal, file.file);
          const count = Math.min(chunkLength, numel - first);
          const range = storedBytesFor(info.dtype, first, count);
          const bytes = await file.read(info.byteOffset + range.offset, range.length, `tensor '${info.name}' data`);
          decodeElements(info.dtype, bytes, first, count, out);
          if (quantization) dequantize(out, count, quantization, info.shape, (i) => first + i);
          yield count === out.length ? out : out.subarray(0, count);
        }
        return;
      }
      // Densify: each stored value lands at its row-major position. Values are decoded once into a
      // buffer bounded by the stored data (which the file itself holds), then scattered per window.
      const positions = sparsePositions(info);
      const stored = wide ? new Float64Array(positions.length) : new Float32Array(positions.length);
      const storedBytes = await file.read(info.byteOffset, info.byteLength, `tensor '${info.name}' data`);
      decodeElements(info.dtype, storedBytes, 0, positions.length, stored);
      if (quantization) dequantize(stored, stored.length, quantization, info.shape, (i) => positions[i]!);
      let monotone = true;
      for (let k = 1; k < positions.length && monotone; k++) monotone = positions[k]! > positions[k - 1]!;
      let cursor = 0;
      for (let first = 0; first < numel; first += chunkLength) {
        abortIfAsked(signal, file.file);
        const count = Math.min(chunkLength, numel - first);
        const end = first + count;
        out.fill(0, 0, count);
        if (monotone) {
          while (cursor < positions.length && positions[cursor]! < end) {
            out[positions[cursor]! - first] = stored[cursor]!;
            cursor++;
          }
        } else {
          for (let k = 0; k < positions.length; k++) {
            const p = positions[k]!;
            if (p >= first && p < end) out[p - first] = stored[k]!;
          }
        }
        yield count === out.length ? out : out.subarray(0, count);
      }
    },
  };
}

/** Lists the constant tensors of a .tflite file without reading their data. */
export async function inspectTflite(path: string): Promise<TfliteModelInfo> {
  const source = await BoundedReader.open(path);
  try {
    return await readTfliteModel(new FlatBufferReader(source, 'TFLite model'));
  } finally {
    await source.close();
  }
}

export const tfliteParser: WeightFormatParser = {
  format: 'tflite',
  sniff(head: Uint8Array, fileName: string): boolean {
    if (head.length >= 8 && head[4] === 0x54 && head[5] === 0x46 && head[6] === 0x4c && head[7] === 0x33) return true;
    return fileName.toLowerCase().endsWith('.tflite');
  },
  async open(path: string, options?: OpenOptions): Promise<OpenedWeightFile> {
    abortIfAsked(options?.signal, path);
    const source = await BoundedReader.open(path);
    let info: TfliteModelInfo;
    try {
      info = await readTfliteModel(new FlatBufferReader(source, 'TFLite model'));
    } catch (error) {
      await source.close();
      throw error;
    }
    return {
      file: path,
      format: 'tflite',
      fileBytes: source.size,
      tensors: info.tensors.map((t) => makeSource(source, t)),
      warnings: info.warnings,
      ...(Object.keys(info.flopsByTensor).length > 0 ? { flopsByTensor: info.flopsByTensor } : {}),
      ...(options?.graphLayers ? { graphLayers: info.graphLayers } : {}),
      close: () => source.close(),
    };
  },
};
