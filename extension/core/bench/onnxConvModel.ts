/**
 * Encodes a one-node ONNX model, Y = Conv(X, W[, B]), with the weights as initializers so that
 * onnxruntime prepacks them as it would in a real network. Hand-rolled protobuf (a few fields of
 * onnx.proto3) keeps the peer benchmark free of a schema dependency.
 */
import type { ConvShape } from '../../shared/payloads';
import { convGeometry, convOutputSize } from '../conv/reference';

class ProtoWriter {
  private readonly bytes: number[] = [];

  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`protobuf varint out of range: ${value}`);
    let rest = value;
    while (rest >= 0x80) {
      this.bytes.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.bytes.push(rest);
    return this;
  }

  private tag(field: number, wireType: 0 | 2): this {
    return this.varint(field * 8 + wireType);
  }

  int(field: number, value: number): this {
    return this.tag(field, 0).varint(value);
  }

  bytesField(field: number, value: Uint8Array): this {
    this.tag(field, 2).varint(value.length);
    for (const byte of value) this.bytes.push(byte);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (writer: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytesField(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

function floatBytes(values: Float32Array): Uint8Array {
  // raw_data is little-endian; copy through a DataView so a big-endian host would still be right.
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((value, index) => view.setFloat32(index * 4, value, true));
  return out;
}

function tensorValueInfo(writer: ProtoWriter, field: number, name: string, dims: number[]): void {
  writer.message(field, (info) => {
    info.string(1, name);
    info.message(2, (type) =>
      type.message(1, (tensor) => {
        tensor.int(1, FLOAT);
        tensor.message(2, (shape) => {
          for (const dim of dims) shape.message(1, (d) => d.int(1, dim));
        });
      }),
    );
  });
}

function initializer(writer: ProtoWriter, name: string, dims: number[], values: Float32Array): void {
  writer.message(5, (tensor) => {
    for (const dim of dims) tensor.int(1, dim);
    tensor.int(2, FLOAT);
    tensor.string(8, name);
    tensor.bytesField(9, floatBytes(values));
  });
}

function intsAttribute(node: ProtoWriter, name: string, values: number[]): void {
  node.message(5, (attribute) => {
    attribute.string(1, name);
    for (const value of values) attribute.int(8, value);
    attribute.int(20, ATTRIBUTE_INTS);
  });
}

/** The ONNX model bytes (IR version 8, opset 13); input "X" [N,C,H,W], output "Y" [N,K,P,Q]. */
export function encodeConvModel(shape: ConvShape, weight: Float32Array, bias?: Float32Array): Uint8Array {
  const { N, C, H, W, K, R, S, stride } = shape;
  const { groups, dilation, padTop, padLeft, padBottom, padRight } = convGeometry(shape);
  const Cg = C / groups;
  if (weight.length !== K * Cg * R * S) {
    const dims = groups === 1 ? 'K*C*R*S' : 'K*(C/groups)*R*S';
    throw new Error(`encodeConvModel: weight has ${weight.length} values, expected ${dims} = ${K * Cg * R * S}`);
  }
  if (bias && bias.length !== K) throw new Error(`encodeConvModel: bias has ${bias.length} values, expected K = ${K}`);
  const { P, Q } = convOutputSize(shape);
  const model = new ProtoWriter();
  model.int(1, 8); // ir_version
  model.string(2, 'deep-accel');
  model.message(7, (graph) => {
    graph.message(1, (node) => {
      node.string(1, 'X').string(1, 'W');
      if (bias) node.string(1, 'B');
      node.string(2, 'Y').string(3, 'conv').string(4, 'Conv');
      intsAttribute(node, 'kernel_shape', [R, S]);
      intsAttribute(node, 'strides', [stride, stride]);
      // ONNX orders pads as all starts, then all ends: top, left, bottom, right.
      intsAttribute(node, 'pads', [padTop, padLeft, padBottom, padRight]);
      intsAttribute(node, 'dilations', [dilation, dilation]);
      node.message(5, (attribute) => attribute.string(1, 'group').int(3, groups).int(20, ATTRIBUTE_INT));
    });
    graph.string(2, 'conv');
    initializer(graph, 'W', [K, Cg, R, S], weight);
    if (bias) initializer(graph, 'B', [K], bias);
    tensorValueInfo(graph, 11, 'X', [N, C, H, W]);
    tensorValueInfo(graph, 12, 'Y', [N, K, P, Q]);
  });
  model.message(8, (opset) => opset.string(1, '').int(2, 13));
  return model.finish();
}
