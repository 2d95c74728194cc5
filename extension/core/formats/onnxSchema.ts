/**
 * The subset of onnx.proto (github.com/onnx/onnx, onnx/onnx.proto) that the ONNX reader decodes,
 * as a protobufjs JSON descriptor with the official field numbers. It lives in code so nothing is
 * generated at build time. Only the small, non-data fields of each message are ever decoded with it:
 * the reader's own wire scanner cuts tensor payloads (raw_data, float_data, ...) and nested graphs
 * out before handing bytes to protobufjs.
 */
import { Root, type Type } from 'protobufjs/light';

const ONNX_DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: {
          fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: {
                dimValue: { type: 'int64', id: 1 },
                dimParam: { type: 'string', id: 2 },
                denotation: { type: 'string', id: 3 },
              },
            },
          },
        },
        TypeProto: {
          fields: {
            tensorType: { type: 'Tensor', id: 1 },
            denotation: { type: 'string', id: 6 },
          },
          nested: {
            Tensor: {
              fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } },
            },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
            docString: { type: 'string', id: 3 },
          },
        },
        /** TensorProto without its payload fields 4-7 and 9-11, which the wire scanner keeps on disk. */
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            externalData: { rule: 'repeated', type: 'StringStringEntryProto', id: 13 },
            dataLocation: { type: 'int32', id: 14 },
          },
        },
        /** AttributeProto without t, g, tensors, graphs and sparse tensors (scanned separately). */
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            refAttrName: { type: 'string', id: 21 },
            type: { type: 'int32', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
          },
        },
        /** NodeProto without its attributes (scanned separately). */
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            domain: { type: 'string', id: 7 },
          },
        },
        /** ModelProto's scalar header fields; graph, functions and training info are scanned. */
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
      },
    },
  },
};

const root = Root.fromJSON(ONNX_DESCRIPTOR);

export const OnnxTypes = {
  model: root.lookupType('onnx.ModelProto'),
  node: root.lookupType('onnx.NodeProto'),
  attribute: root.lookupType('onnx.AttributeProto'),
  tensor: root.lookupType('onnx.TensorProto'),
  valueInfo: root.lookupType('onnx.ValueInfoProto'),
} satisfies Record<string, Type>;

/** Fields of the ONNX messages by number, for the wire scanner. */
export const F = {
  model: { graph: 7, functions: 25, trainingInfo: 20 },
  graph: { node: 1, name: 2, initializer: 5, sparseInitializer: 15, input: 11, output: 12, valueInfo: 13 },
  node: { attribute: 5 },
  attribute: { t: 5, g: 6, tensors: 10, graphs: 11, sparseTensor: 22, sparseTensors: 23 },
  tensor: {
    dims: 1,
    dataType: 2,
    segment: 3,
    floatData: 4,
    int32Data: 5,
    stringData: 6,
    int64Data: 7,
    name: 8,
    rawData: 9,
    doubleData: 10,
    uint64Data: 11,
    docString: 12,
    externalData: 13,
    dataLocation: 14,
  },
  sparseTensor: { values: 1, indices: 2, dims: 3 },
} as const;

/** TensorProto.DataType. */
export const ONNX_DATA_TYPES: Record<number, string> = {
  1: 'FLOAT',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'STRING',
  9: 'BOOL',
  10: 'FLOAT16',
  11: 'DOUBLE',
  12: 'UINT32',
  13: 'UINT64',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  16: 'BFLOAT16',
  17: 'FLOAT8E4M3FN',
  18: 'FLOAT8E4M3FNUZ',
  19: 'FLOAT8E5M2',
  20: 'FLOAT8E5M2FNUZ',
  21: 'UINT4',
  22: 'INT4',
  23: 'FLOAT4E2M1',
};
