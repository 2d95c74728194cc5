/**
 * ONNX (.onnx) weight reader.
 *
 * An ONNX model is one protobuf ModelProto. Decoding it whole would copy every weight into memory,
 * so this reader scans the protobuf wire format itself, descending only into the messages that can
 * hold tensors (ModelProto.graph, GraphProto.node/initializer, NodeProto.attribute,
 * AttributeProto.t/g/tensors/graphs) and recording the byte range of each payload field (raw_data,
 * float_data, int32_data, ...) instead of reading it. The remaining small fields of each message are
 * cut out and decoded with protobufjs (see onnxSchema.ts). `chunks()` later reads the payload range
 * from disk, or from an external data file (data_location = EXTERNAL) kept inside the model folder.
 *
 * Weights are graph initializers, sparse initializers (densified) and Constant nodes, including those
 * inside If/Loop/Scan subgraphs. FLOPs of Conv, ConvTranspose, Gemm and MatMul nodes with a weight
 * input come from shapes propagated from the graph inputs, value_info and the weights themselves.
 */
import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import {
  bfloat16FromBits,
  checkedNumel,
  type DType,
  float16FromBits,
  float8E4M3FnFromBits,
  float8E5M2FromBits,
  itemSize,
  needsFloat64,
} from './dtypes';
import { F, ONNX_DATA_TYPES, OnnxTypes } from './onnxSchema';
import { ProtobufReader, WIRE_LEN, WIRE_VARINT, type WireField, decodeVarints, int64FromHalves, uint64FromHalves } from './protobuf';
import { inferOnnxFlops, onnxGraphLayers } from './onnxFlops';
import { BoundedReader, type ByteSource } from './reader';
import { checkDensifiedSize, chunkLimit, contiguousTensor, readAllValues } from './source';
import type { OpenedWeightFile, OpenOptions, TensorSource, WeightFormatParser } from './types';
import { WeightFileError } from './types';
import type { ByteRange, ScannedAttribute, ScannedGraph, ScannedNode, ScannedSparseTensor, ScannedTensor, ValueInfo } from './onnxGraph';
import { setOwn } from './ownNames';

const MAX_NESTING = 64;
/** Small constant integer tensors (Reshape targets, pads) are read at open time for shape inference. */
const MAX_SHAPE_CONSTANT_ELEMENTS = 64;

/** ONNX data types with a plain little-endian raw_data layout, by TensorProto.DataType. */
const RAW_DTYPES: Record<number, DType | undefined> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
  17: 'float8_e4m3fn',
  19: 'float8_e5m2',
};

function int64(pb: ProtobufReader, text: string | number | undefined, what: string): number {
  if (text === undefined) return 0;
  const value = BigInt(text);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) pb.fail(`${what} ${value} is out of range`);
  return Number(value);
}

// ---------------------------------------------------------------------------------------------
// Scanned messages.
// ---------------------------------------------------------------------------------------------

interface TensorObject {
  dims?: string[];
  dataType?: number;
  name?: string;
  externalData?: { key?: string; value?: string }[];
  dataLocation?: number;
}

async function scanTensor(pb: ProtobufReader, start: number, end: number, what: string): Promise<ScannedTensor> {
  const parts: Uint8Array[] = [];
  const typed = new Map<number, ByteRange[]>();
  let raw: ByteRange | undefined;
  let segmented = false;
  for await (const f of pb.fields(start, end, what)) {
    switch (f.field) {
      case F.tensor.rawData:
        if (f.wire !== WIRE_LEN) pb.fail(`${what} raw_data has wire type ${f.wire}`);
        raw = { start: f.start, end: f.end, wire: f.wire };
        break;
      case F.tensor.floatData:
      case F.tensor.int32Data:
      case F.tensor.int64Data:
      case F.tensor.doubleData:
      case F.tensor.uint64Data:
      case F.tensor.stringData: {
        const list = typed.get(f.field) ?? [];
        list.push({ start: f.start, end: f.end, wire: f.wire });
        typed.set(f.field, list);
        break;
      }
      case F.tensor.segment:
        segmented = true;
        break;
      case F.tensor.dims:
      case F.tensor.dataType:
      case F.tensor.name:
      case F.tensor.externalData:
      case F.tensor.dataLocation:
        parts.push(pb.residentBytes(f.tagStart, f.end) ?? (await pb.bytes(f.tagStart, f.end)));
        break;
      default:
        break; // doc_string, metadata_props and unknown fields
    }
  }
  const object = pb.decode<TensorObject>(OnnxTypes.tensor, parts, what);
  const externalData: Record<string, string> = {};
  for (const entry of object.externalData ?? []) setOwn(externalData, entry.key ?? '', entry.value ?? '');
  return {
    name: object.name ?? '',
    dims: (object.dims ?? []).map((d, i) => int64(pb, d, `${what} dims[${i}]`)),
    dataType: object.dataType ?? 0,
    externalData,
    dataLocation: object.dataLocation ?? 0,
    raw,
    typed,
    segmented,
    at: start,
  };
}

async function scanSparseTensor(pb: ProtobufReader, start: number, end: number, what: string): Promise<ScannedSparseTensor> {
  const sparse: ScannedSparseTensor = { dims: [], at: start };
  for await (const f of pb.fields(start, end, what)) {
    if (f.field === F.sparseTensor.values && f.wire === WIRE_LEN) sparse.values = await scanTensor(pb, f.start, f.end, `${what} values`);
    else if (f.field === F.sparseTensor.indices && f.wire === WIRE_LEN) sparse.indices = await scanTensor(pb, f.start, f.end, `${what} indices`);
    else if (f.field === F.sparseTensor.dims) {
      if (f.wire === WIRE_VARINT) {
        if (!Number.isSafeInteger(f.value)) pb.fail(`${what} has an out-of-range dimension`);
        sparse.dims.push(f.value);
      }
      else if (f.wire === WIRE_LEN) {
        decodeVarints(
          await pb.bytes(f.start, f.end),
          0,
          true,
          Infinity,
          (low, high) => {
            const dim = int64FromHalves(low, high);
            if (!Number.isSafeInteger(dim) || dim < 0) pb.fail(`${what} has an out-of-range dimension`);
            sparse.dims.push(dim);
          },
          (problem) => pb.fail(`${what} dims: ${problem}`),
        );
      }
    }
  }
  return sparse;
}

interface AttributeObject {
  name?: string;
  type?: number;
  f?: number;
  i?: string;
  s?: number[];
  ints?: string[];
  floats?: number[];
}

async function scanAttribute(pb: ProtobufReader, start: number, end: number, what: string, depth: number, allNodes: boolean): Promise<ScannedAttribute> {
  const parts: Uint8Array[] = [];
  const attribute: ScannedAttribute = { name: '', type: 0, ints: [], floats: [], tensors: [], graphs: [] };
  for await (const f of pb.fields(start, end, what)) {
    if (f.wire === WIRE_LEN && f.field === F.attribute.t) attribute.t = await scanTensor(pb, f.start, f.end, `${what} tensor`);
    else if (f.wire === WIRE_LEN && f.field === F.attribute.g) attribute.g = await scanGraph(pb, f.start, f.end, `${what} graph`, depth + 1, allNodes);
    else if (f.wire === WIRE_LEN && f.field === F.attribute.tensors) attribute.tensors.push(await scanTensor(pb, f.start, f.end, `${what} tensors`));
    else if (f.wire === WIRE_LEN && f.field === F.attribute.graphs) attribute.graphs.push(await scanGraph(pb, f.start, f.end, `${what} graphs`, depth + 1, allNodes));
    else if (f.wire === WIRE_LEN && f.field === F.attribute.sparseTensor) {
      attribute.sparseTensor = await scanSparseTensor(pb, f.start, f.end, `${what} sparse_tensor`);
    } else if ([1, 2, 3, 4, 7, 8, 9, 20, 21].includes(f.field)) parts.push(pb.residentBytes(f.tagStart, f.end) ?? (await pb.bytes(f.tagStart, f.end)));
  }
  const object = pb.decode<AttributeObject>(OnnxTypes.attribute, parts, what);
  attribute.name = object.name ?? '';
  attribute.type = object.type ?? 0;
  if (object.f !== undefined) attribute.f = object.f;
  if (object.i !== undefined) attribute.i = int64(pb, object.i, `${what} i`);
  if (object.s !== undefined) attribute.s = new TextDecoder().decode(Uint8Array.from(object.s));
  attribute.ints = (object.ints ?? []).map((v) => int64(pb, v, `${what} ints`));
  attribute.floats = object.floats ?? [];
  return attribute;
}

interface NodeObject {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
}

async function scanNode(pb: ProtobufReader, start: number, end: number, what: string, depth: number, allNodes: boolean): Promise<ScannedNode> {
  const parts: Uint8Array[] = [];
  const attributes: ScannedAttribute[] = [];
  for await (const f of pb.fields(start, end, what)) {
    if (f.field === F.node.attribute && f.wire === WIRE_LEN) attributes.push(await scanAttribute(pb, f.start, f.end, `${what} attribute`, depth, allNodes));
    else if ([1, 2, 3, 4, 7].includes(f.field)) parts.push(pb.residentBytes(f.tagStart, f.end) ?? (await pb.bytes(f.tagStart, f.end)));
  }
  const object = pb.decode<NodeObject>(OnnxTypes.node, parts, what);
  return {
    name: object.name ?? '',
    opType: object.opType ?? '',
    domain: object.domain ?? '',
    input: object.input ?? [],
    output: object.output ?? [],
    attributes,
  };
}

interface ValueInfoObject {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: string; dimParam?: string }[] } } };
}

async function scanValueInfo(pb: ProtobufReader, f: WireField, what: string): Promise<ValueInfo> {
  const object = pb.decode<ValueInfoObject>(OnnxTypes.valueInfo, [await pb.bytes(f.start, f.end)], what);
  const tensorType = object.type?.tensorType;
  const info: ValueInfo = { name: object.name ?? '' };
  if (tensorType?.elemType !== undefined) info.elemType = tensorType.elemType;
  if (tensorType?.shape) {
    info.dims = (tensorType.shape.dim ?? []).map((d) => (d.dimValue !== undefined ? int64(pb, d.dimValue, `${what} dim`) : (d.dimParam ?? '?')));
  }
  return info;
}

/** Whether a node can hold weights: a Constant of the default domain, or a node with subgraphs. */
function holdsWeights(node: ScannedNode): boolean {
  return (node.opType === 'Constant' && isDefaultDomain(node.domain)) || node.attributes.some((a) => a.g !== undefined || a.graphs.length > 0);
}

async function scanGraph(pb: ProtobufReader, start: number, end: number, what: string, depth: number, allNodes: boolean): Promise<ScannedGraph> {
  if (depth > MAX_NESTING) pb.fail(`${what} nests subgraphs more than ${MAX_NESTING} deep`);
  const graph: ScannedGraph = { name: '', nodes: [], initializers: [], sparseInitializers: [], inputs: [], outputs: [], valueInfo: [] };
  let nodesSeen = 0;
  for await (const f of pb.fields(start, end, what)) {
    if (f.wire !== WIRE_LEN) continue;
    switch (f.field) {
      case F.graph.node:
      {
        const index = nodesSeen++;
        const node = await scanNode(pb, f.start, f.end, `${what} node ${index}`, depth, allNodes);
        // Without shape propagation only nodes that hold weights are kept, and with it only nodes
        // with an input or an output: a file of millions of empty NodeProtos (2 bytes each) would
        // otherwise hold millions of objects.
        const kept = holdsWeights(node) || (allNodes && (node.input.length > 0 || node.output.length > 0));
        if (kept) graph.nodes.push(index === graph.nodes.length ? node : { ...node, index });
        break;
      }
      case F.graph.initializer:
        graph.initializers.push(await scanTensor(pb, f.start, f.end, `${what} initializer ${graph.initializers.length}`));
        break;
      case F.graph.sparseInitializer:
        graph.sparseInitializers.push(await scanSparseTensor(pb, f.start, f.end, `${what} sparse_initializer`));
        break;
      case F.graph.input:
        graph.inputs.push(await scanValueInfo(pb, f, `${what} input`));
        break;
      case F.graph.output:
        graph.outputs.push(await scanValueInfo(pb, f, `${what} output`));
        break;
      case F.graph.valueInfo:
        graph.valueInfo.push(await scanValueInfo(pb, f, `${what} value_info`));
        break;
      case F.graph.name:
        graph.name = new TextDecoder().decode(await pb.bytes(f.start, f.end));
        break;
      default:
        break;
    }
  }
  return graph;
}

interface ModelObject {
  irVersion?: string;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: string;
  opsetImport?: { domain?: string; version?: string }[];
  metadataProps?: { key?: string; value?: string }[];
}

export interface ScannedModel {
  header: ModelObject;
  graph?: ScannedGraph;
}

/**
 * Scans a whole ModelProto held by `source`, without reading tensor payloads. Graphs keep the
 * nodes that hold weights (Constant nodes and nodes with subgraphs) and, with `allNodes`, every node
 * with an input or an output (what shape propagation follows).
 */
export async function scanOnnxModel(source: ByteSource, options: { allNodes?: boolean } = {}): Promise<ScannedModel> {
  const allNodes = options.allNodes ?? true;
  const pb = new ProtobufReader(source, 'ONNX protobuf');
  const parts: Uint8Array[] = [];
  let graph: ScannedGraph | undefined;
  for await (const f of pb.fields(0, source.size, 'ModelProto')) {
    if (f.field === F.model.graph && f.wire === WIRE_LEN) {
      if (graph) pb.fail('ModelProto has two graphs');
      graph = await scanGraph(pb, f.start, f.end, 'graph', 0, allNodes);
    } else if ([1, 2, 3, 4, 5, 8, 14].includes(f.field)) {
      parts.push(pb.residentBytes(f.tagStart, f.end) ?? (await pb.bytes(f.tagStart, f.end)));
    }
  }
  return { header: pb.decode<ModelObject>(OnnxTypes.model, parts, 'ModelProto'), graph };
}

// ---------------------------------------------------------------------------------------------
// Tensor sources.
// ---------------------------------------------------------------------------------------------

/** Opens external data files on demand, confined to the model's folder. */
class ExternalFiles {
  private readonly readers = new Map<string, BoundedReader>();
  private readonly modelDir: string;
  private realModelDir: string | undefined;

  constructor(readonly modelFile: string) {
    this.modelDir = path.dirname(path.resolve(modelFile));
  }

  async open(location: string, what: string): Promise<BoundedReader> {
    const fail = (problem: string): never => {
      throw new WeightFileError(this.modelFile, `${what}: external data location '${location}' ${problem}`);
    };
    if (location === '') fail('is empty');
    if (location.includes('\0')) fail('contains a NUL byte');
    if (path.isAbsolute(location) || path.win32.isAbsolute(location)) fail('is absolute; it must be relative to the model folder');
    const resolved = path.resolve(this.modelDir, location);
    const relative = path.relative(this.modelDir, resolved);
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) fail('points outside the model folder');
    const existing = this.readers.get(resolved);
    if (existing) return existing;
    let real: string;
    try {
      real = realpathSync(resolved);
      this.realModelDir ??= realpathSync(this.modelDir);
    } catch {
      return fail(`names a file that does not exist (${resolved})`);
    }
    const realRelative = path.relative(this.realModelDir, real);
    if (realRelative.startsWith('..') || path.isAbsolute(realRelative)) fail('resolves through a link to a file outside the model folder');
    const reader = await BoundedReader.open(resolved);
    this.readers.set(resolved, reader);
    return reader;
  }

  /** Every external data file opened so far (all of them once the weights are collected). */
  files(): string[] {
    return [...this.readers.keys()];
  }

  async close(): Promise<void> {
    for (const reader of this.readers.values()) await reader.close();
    this.readers.clear();
  }
}

/** The typed payload field that holds each data type, per onnx.proto. */
function typedFieldFor(dataType: number): number {
  switch (dataType) {
    case 1:
    case 14:
      return F.tensor.floatData;
    case 11:
    case 15:
      return F.tensor.doubleData;
    case 7:
      return F.tensor.int64Data;
    case 12:
    case 13:
      return F.tensor.uint64Data;
    case 8:
      return F.tensor.stringData;
    default:
      return F.tensor.int32Data;
  }
}

const FIELD_NAMES: Record<number, string> = {
  [F.tensor.floatData]: 'float_data',
  [F.tensor.int32Data]: 'int32_data',
  [F.tensor.int64Data]: 'int64_data',
  [F.tensor.doubleData]: 'double_data',
  [F.tensor.uint64Data]: 'uint64_data',
  [F.tensor.stringData]: 'string_data',
};

/** Converts one int32_data entry (a value or a bit pattern) of an ONNX data type to a number. */
function int32FieldConverter(dataType: number): (v: number) => number {
  switch (dataType) {
    case 10:
      return (v) => float16FromBits(v & 0xffff);
    case 16:
      return (v) => bfloat16FromBits(v & 0xffff);
    case 17:
      return (v) => float8E4M3FnFromBits(v & 0xff);
    case 19:
      return (v) => float8E5M2FromBits(v & 0xff);
    case 9:
      return (v) => (v !== 0 ? 1 : 0);
    default:
      return (v) => v;
  }
}

/**
 * A tensor held in a typed repeated field: packed (one length-delimited run) or not (one entry per
 * value), as varints, fixed32 floats or fixed64 doubles. Values stream from disk in bounded reads.
 */
function typedFieldTensor(
  source: ByteSource,
  name: string,
  dtype: DType,
  shape: number[],
  numel: number,
  field: number,
  ranges: ByteRange[],
  dataType: number,
): TensorSource {
  const encoding = field === F.tensor.floatData ? 'fixed32' : field === F.tensor.doubleData ? 'fixed64' : 'varint';
  const convert = int32FieldConverter(dataType);
  const fail = (problem: string): never => {
    throw new WeightFileError(source.file, `tensor '${name}': ${problem}`);
  };
  return {
    name,
    dtype,
    shape,
    numel,
    async *chunks(options) {
      const limit = chunkLimit(source.file, options);
      const out = needsFloat64(dtype) ? new Float64Array(Math.max(1, Math.min(limit, numel))) : new Float32Array(Math.max(1, Math.min(limit, numel)));
      let filled = 0;
      let total = 0;
      const push = (value: number): void => {
        if (total >= numel) fail(`${FIELD_NAMES[field]} holds more values than its shape [${shape.join(', ')}] has (${numel})`);
        out[filled++] = value;
        total++;
      };
      const pushVarint = (low: number, high: number): void => {
        if (field === F.tensor.int64Data) push(int64FromHalves(low, high));
        else if (field === F.tensor.uint64Data) push(uint64FromHalves(low, high));
        else push(convert(low | 0));
      };
      const failVarint = (problem: string): never => fail(`${FIELD_NAMES[field]} ${problem}`);
      for (const range of ranges) {
        // Unpacked entries hold one value each; packed runs hold many.
        let position = range.start;
        while (position < range.end) {
          options?.signal?.throwIfAborted();
          const readLength = Math.min(range.end - position, 4 * 1024 * 1024);
          const bytes = await source.read(position, readLength, `tensor '${name}' ${FIELD_NAMES[field]}`);
          const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          let p = 0;
          const lastWindow = position + readLength === range.end;
          if (encoding === 'fixed32' || encoding === 'fixed64') {
            const size = encoding === 'fixed32' ? 4 : 8;
            if (lastWindow && readLength % size !== 0) fail(`${FIELD_NAMES[field]} holds ${range.end - range.start} bytes, not a whole number of ${size}-byte values`);
            for (; p + size <= bytes.length; p += size) {
              push(size === 4 ? view.getFloat32(p, true) : view.getFloat64(p, true));
              if (filled === out.length) {
                yield out;
                filled = 0;
              }
            }
          } else {
            while (p < bytes.length) {
              const next = decodeVarints(bytes, p, lastWindow, out.length - filled, pushVarint, failVarint);
              if (filled === out.length) {
                yield out;
                filled = 0;
              }
              if (next === p) break;
              p = next;
            }
          }
          position += p;
        }
      }
      if (filled > 0) yield out.subarray(0, filled);
      if (total !== numel) fail(`${FIELD_NAMES[field]} holds ${total} values but its shape [${shape.join(', ')}] needs ${numel}`);
    },
  };
}

function memoryTensor(name: string, dtype: string, shape: number[], values: number[], wide: boolean): TensorSource {
  return {
    name,
    dtype,
    shape,
    numel: values.length,
    async *chunks(options) {
      const limit = chunkLimit(name, options);
      for (let first = 0; first < values.length; first += limit) {
        const part = values.slice(first, first + limit);
        yield wide ? Float64Array.from(part) : Float32Array.from(part);
      }
    },
  };
}

interface BuildContext {
  model: ByteSource;
  external: ExternalFiles;
  warnings: string[];
}

/** Turns a scanned TensorProto into a TensorSource; undefined (with a warning) for non-numeric types. */
async function tensorSource(ctx: BuildContext, tensor: ScannedTensor, name: string): Promise<TensorSource | undefined> {
  const file = ctx.model.file;
  const fail = (problem: string): never => {
    throw new WeightFileError(file, `tensor '${name}': ${problem}`);
  };
  const typeName = ONNX_DATA_TYPES[tensor.dataType];
  if (tensor.dataType === 0) fail('has no data_type (UNDEFINED)');
  if (!typeName) fail(`has unknown data_type ${tensor.dataType}`);
  if (tensor.segmented) fail('is split into segments (TensorProto.segment), which is not supported');
  const dtype = RAW_DTYPES[tensor.dataType];
  if (!dtype) {
    ctx.warnings.push(`tensor '${name}': data type ${typeName} holds no plain numeric values this reader decodes; skipped`);
    return undefined;
  }
  const counted = checkedNumel(tensor.dims);
  if ('error' in counted) return fail(`${counted.error} in dims [${tensor.dims.join(', ')}]`);
  const { numel } = counted;
  const shape = tensor.dims;
  const expectedBytes = numel * itemSize(dtype);
  const dtypeLabel = dtype;

  if (tensor.dataLocation === 1) {
    const location = tensor.externalData.location;
    if (location === undefined) fail('has data_location EXTERNAL but no external_data "location"');
    const parseNumber = (key: string): number | undefined => {
      const text = tensor.externalData[key];
      if (text === undefined) return undefined;
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) fail(`external_data "${key}" is '${text}', not a non-negative integer`);
      return Number(text);
    };
    const offset = parseNumber('offset') ?? 0;
    const length = parseNumber('length');
    if (length !== undefined && length !== expectedBytes) {
      fail(`external_data length ${length} differs from the ${expectedBytes} bytes that ${numel} ${dtype} values of shape [${shape.join(', ')}] need`);
    }
    const reader = await ctx.external.open(location!, `tensor '${name}'`);
    if (offset + expectedBytes > reader.size) {
      fail(`external data bytes ${offset}..${offset + expectedBytes} run past the end of '${location}' (${reader.size} bytes)`);
    }
    return contiguousTensor({ name, dtype, dtypeLabel, shape, numel, source: reader, byteOffset: offset });
  }

  if (tensor.raw) {
    const bytes = tensor.raw.end - tensor.raw.start;
    if (bytes !== expectedBytes) {
      fail(`raw_data holds ${bytes} bytes but ${numel} ${dtype} values of shape [${shape.join(', ')}] need ${expectedBytes}`);
    }
    return contiguousTensor({ name, dtype, dtypeLabel, shape, numel, source: ctx.model, byteOffset: tensor.raw.start, fileByteOffset: tensor.raw.start });
  }

  const field = typedFieldFor(tensor.dataType);
  for (const other of tensor.typed.keys()) {
    if (other !== field) fail(`has ${FIELD_NAMES[other]} but data type ${typeName} keeps its values in ${FIELD_NAMES[field]}`);
  }
  const ranges = tensor.typed.get(field) ?? [];
  if (ranges.length === 0) {
    if (numel === 0) return memoryTensor(name, dtype, shape, [], false);
    return fail(`has no data (no raw_data, ${FIELD_NAMES[field]} or external data) for shape [${shape.join(', ')}]`);
  }
  const fixedSize = field === F.tensor.floatData ? 4 : field === F.tensor.doubleData ? 8 : 0;
  // Varints take at least one byte each: a shape that needs more values than there are bytes is
  // refused now, before anyone sizes a buffer by it. The exact count is checked while streaming.
  const payloadBytes = ranges.reduce((n, r) => n + r.end - r.start, 0);
  if (!fixedSize && numel > payloadBytes) {
    fail(`${FIELD_NAMES[field]} holds at most ${payloadBytes} values but its shape [${shape.join(', ')}] needs ${numel}`);
  }
  if (fixedSize) {
    const bytes = ranges.reduce((n, r) => n + r.end - r.start, 0);
    if (bytes !== numel * fixedSize) fail(`${FIELD_NAMES[field]} holds ${bytes / fixedSize} values but its shape [${shape.join(', ')}] needs ${numel}`);
    if (ranges.length === 1) {
      return contiguousTensor({
        name,
        dtype: fixedSize === 4 ? 'float32' : 'float64',
        dtypeLabel,
        shape,
        numel,
        source: ctx.model,
        byteOffset: ranges[0]!.start,
        fileByteOffset: ranges[0]!.start,
      });
    }
  }
  return typedFieldTensor(ctx.model, name, dtype, shape, numel, field, ranges, tensor.dataType);
}

/** Densifies a SparseTensorProto: values [NNZ] at linear indices [NNZ] or coordinates [NNZ, rank]. */
async function sparseSource(ctx: BuildContext, sparse: ScannedSparseTensor, name: string): Promise<TensorSource | undefined> {
  const file = ctx.model.file;
  const fail = (problem: string): never => {
    throw new WeightFileError(file, `sparse tensor '${name}': ${problem}`);
  };
  if (!sparse.values || !sparse.indices) fail('lacks values or indices');
  const values = await tensorSource(ctx, sparse.values!, `${name} (values)`);
  const indices = await tensorSource(ctx, sparse.indices!, `${name} (indices)`);
  if (!values || !indices) return undefined;
  const counted = checkedNumel(sparse.dims);
  if ('error' in counted) return fail(`${counted.error} in dims [${sparse.dims.join(', ')}]`);
  const shape = sparse.dims;
  const numel = counted.numel;
  const nnz = values.numel;
  checkDensifiedSize(file, `sparse tensor '${name}'`, shape, numel, nnz);
  if (values.shape.length !== 1) fail(`values must be 1-D, got shape [${values.shape.join(', ')}]`);
  const linear = indices.shape.length === 1;
  if (linear ? indices.shape[0] !== nnz : indices.shape.length !== 2 || indices.shape[0] !== nnz || indices.shape[1] !== shape.length) {
    fail(`indices of shape [${indices.shape.join(', ')}] do not fit ${nnz} values of a rank-${shape.length} tensor`);
  }
  return {
    name,
    dtype: values.dtype,
    shape,
    numel,
    async *chunks(options) {
      const limit = chunkLimit(file, options);
      // Index and value arrays are as large as the stored data the file itself holds.
      const rawIndices = await readAllValues(indices, Number.MAX_SAFE_INTEGER);
      const stored = await readAllValues(values, Number.MAX_SAFE_INTEGER);
      const positions = new Float64Array(nnz);
      for (let k = 0; k < nnz; k++) {
        let flat = 0;
        if (linear) flat = rawIndices[k]!;
        else {
          for (let d = 0; d < shape.length; d++) {
            const coordinate = rawIndices[k * shape.length + d]!;
            if (coordinate < 0 || coordinate >= shape[d]!) fail(`index ${coordinate} of value ${k} is outside dimension ${d} (${shape[d]})`);
            flat = flat * shape[d]! + coordinate;
          }
        }
        if (!Number.isSafeInteger(flat) || flat < 0 || flat >= numel) fail(`value ${k} lies at ${flat}, outside the ${numel} elements`);
        positions[k] = flat;
      }
      const order = Array.from({ length: nnz }, (_, k) => k).sort((a, b) => positions[a]! - positions[b]!);
      const wide = needsFloat64(values.dtype as DType);
      const out = wide ? new Float64Array(Math.max(1, Math.min(limit, numel))) : new Float32Array(Math.max(1, Math.min(limit, numel)));
      let cursor = 0;
      for (let first = 0; first < numel; first += out.length) {
        options?.signal?.throwIfAborted();
        const count = Math.min(out.length, numel - first);
        out.fill(0, 0, count);
        while (cursor < nnz && positions[order[cursor]!]! < first + count) {
          out[positions[order[cursor]!]! - first] = stored[order[cursor]!]!;
          cursor++;
        }
        yield out.subarray(0, count);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Collecting the weights of a graph and its subgraphs.
// ---------------------------------------------------------------------------------------------

function isDefaultDomain(domain: string): boolean {
  return domain === '' || domain === 'ai.onnx';
}

/** Renamed copies of one name that each get a warning; the rest are counted in one. */
const RENAME_WARNINGS_PER_NAME = 10;

/** The weights found so far, by listed name, and for each repeated name the next `#k` suffix to try and its renamed copies. */
interface CollectedWeights {
  byName: Map<string, TensorSource>;
  nextSuffix: Map<string, number>;
  renamedCopies: Map<string, number>;
}

/** One warning for the renamed copies of each name beyond the first RENAME_WARNINGS_PER_NAME. */
function summarizeRenames(collected: CollectedWeights, warnings: string[]): void {
  for (const [name, copies] of collected.renamedCopies) {
    if (copies > RENAME_WARNINGS_PER_NAME) {
      warnings.push(`tensor name '${name}' appears ${copies + 1} times; ${copies - RENAME_WARNINGS_PER_NAME} more copies are listed as '${name}#k' without a warning each`);
    }
  }
}

async function collectWeights(ctx: BuildContext, graph: ScannedGraph, scope: string, out: CollectedWeights): Promise<void> {
  const add = (source: TensorSource | undefined): void => {
    if (!source) return;
    let name = source.name;
    if (out.byName.has(name)) {
      // Each repeated name resumes its suffix search where the last copy stopped: linear in copies.
      let k = out.nextSuffix.get(source.name) ?? 2;
      while (out.byName.has(`${source.name}#${k}`)) k++;
      out.nextSuffix.set(source.name, k + 1);
      name = `${source.name}#${k}`;
      const copies = (out.renamedCopies.get(source.name) ?? 0) + 1;
      out.renamedCopies.set(source.name, copies);
      if (copies <= RENAME_WARNINGS_PER_NAME) {
        ctx.warnings.push(`tensor name '${source.name}' appears more than once; the copy in ${scope || 'the main graph'} is listed as '${name}'`);
      }
      source = { ...source, name };
    }
    out.byName.set(name, source);
  };
  for (const initializer of graph.initializers) add(await tensorSource(ctx, initializer, initializer.name || `${scope}initializer@${initializer.at}`));
  for (const sparse of graph.sparseInitializers) {
    const name = sparse.values?.name || `${scope}sparse_initializer@${sparse.at}`;
    add(await sparseSource(ctx, sparse, name));
  }
  for (const [index, node] of graph.nodes.entries()) {
    const nodeLabel = node.name || `${node.opType}_${node.index ?? index}`;
    if (node.opType === 'Constant' && isDefaultDomain(node.domain)) {
      const outputName = node.output[0] || `${scope}${nodeLabel}`;
      for (const attribute of node.attributes) {
        if (attribute.name === 'value' && attribute.t) add(await tensorSource(ctx, attribute.t, outputName));
        else if (attribute.name === 'sparse_value' && attribute.sparseTensor) add(await sparseSource(ctx, attribute.sparseTensor, outputName));
        else if (attribute.name === 'value_floats') add(memoryTensor(outputName, 'float32', [attribute.floats.length], attribute.floats, false));
        else if (attribute.name === 'value_float' && attribute.f !== undefined) add(memoryTensor(outputName, 'float32', [], [attribute.f], false));
        else if (attribute.name === 'value_ints') add(memoryTensor(outputName, 'int64', [attribute.ints.length], attribute.ints, true));
        else if (attribute.name === 'value_int' && attribute.i !== undefined) add(memoryTensor(outputName, 'int64', [], [attribute.i], true));
      }
    }
    for (const attribute of node.attributes) {
      const subScope = `${scope}${nodeLabel}/${attribute.name}/`;
      if (attribute.g) await collectWeights(ctx, attribute.g, subScope, out);
      for (const [k, sub] of attribute.graphs.entries()) await collectWeights(ctx, sub, `${subScope}${k}/`, out);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The parser.
// ---------------------------------------------------------------------------------------------

/** ModelProto field tags with the wire type each must have, for content sniffing. */
const MODEL_TAGS = new Set([0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72, 0xa2, 0xca]);

/**
 * Content test: a ModelProto starts with ir_version (field 1, varint, 1..20 today) and continues
 * with another ModelProto field. Name-based fallback: the .onnx extension.
 */
function looksLikeOnnx(head: Uint8Array): boolean {
  if (head.length < 4 || head[0] !== 0x08) return false;
  const irVersion = head[1]!;
  if (irVersion < 1 || irVersion > 20) return false;
  return MODEL_TAGS.has(head[2]!) && head[2] !== 0x08;
}

export const onnxParser: WeightFormatParser = {
  format: 'onnx',
  sniff(head: Uint8Array, fileName: string): boolean {
    if (looksLikeOnnx(head)) return true;
    return fileName.toLowerCase().endsWith('.onnx') && head.length > 0;
  },
  async open(file: string, options?: OpenOptions): Promise<OpenedWeightFile> {
    options?.signal?.throwIfAborted();
    const reader = await BoundedReader.open(file);
    const external = new ExternalFiles(file);
    try {
      if (reader.size === 0) throw new WeightFileError(file, 'the file is empty');
      const model = await scanOnnxModel(reader, { allNodes: (options?.graphFlops ?? false) || options?.graphLayers !== undefined });
      if (!model.graph) throw new WeightFileError(file, 'invalid ONNX model: ModelProto has no graph');
      const ctx: BuildContext = { model: reader, external, warnings: [] };
      const collected: CollectedWeights = { byName: new Map(), nextSuffix: new Map(), renamedCopies: new Map() };
      await collectWeights(ctx, model.graph, '', collected);
      summarizeRenames(collected, ctx.warnings);
      const weights = collected.byName;
      const tensors = [...weights.values()];
      const metadata: Record<string, string> = {};
      const header = model.header;
      if (header.irVersion) metadata.ir_version = header.irVersion;
      if (header.producerName) metadata.producer = `${header.producerName}${header.producerVersion ? ` ${header.producerVersion}` : ''}`;
      if (header.opsetImport?.length) {
        metadata.opset = header.opsetImport.map((o) => `${o.domain || 'ai.onnx'}:${o.version ?? '?'}`).join(', ');
      }
      for (const entry of header.metadataProps ?? []) if (entry.key) metadata[entry.key] = entry.value ?? '';
      let closed = false;
      const opened: OpenedWeightFile = {
        file,
        format: 'onnx',
        fileBytes: reader.size,
        tensors,
        warnings: ctx.warnings,
        metadata,
        companions: external.files(),
        async close() {
          if (closed) return;
          closed = true;
          await external.close();
          await reader.close();
        },
      };
      if (options?.graphFlops) {
        const flops = await inferOnnxFlops(model.graph, weights, MAX_SHAPE_CONSTANT_ELEMENTS, ctx.warnings);
        if (Object.keys(flops).length > 0) opened.flopsByTensor = flops;
      }
      if (options?.graphLayers) {
        try {
          opened.graphLayers = await onnxGraphLayers(model.graph, weights, MAX_SHAPE_CONSTANT_ELEMENTS, options.graphLayers.input);
        } catch (error) {
          throw error instanceof WeightFileError ? error : new WeightFileError(file, (error as Error).message);
        }
      }
      return opened;
    } catch (error) {
      await external.close();
      await reader.close();
      throw error;
    }
  },
};

export type { ScannedAttribute, ScannedGraph, ScannedNode, ScannedSparseTensor, ScannedTensor, ValueInfo } from './onnxGraph';
