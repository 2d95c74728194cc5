/**
 * A one-node ONNX model (Conv, no bias) encoded by hand, for timing onnxruntime-node on exactly the
 * layer the engine runs. Only the handful of protobuf fields a Conv graph needs are written.
 */
import type { ConvShape } from '../../extension/shared/protocol';
import { convOutputSize } from '../../extension/core/conv/reference';

class ProtoWriter {
  private readonly bytes: number[] = [];

  private varint(value: number): void {
    let v = BigInt(value);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      this.bytes.push(byte);
    } while (v > 0n);
  }

  int(field: number, value: number): this {
    this.varint(field << 3);
    this.varint(value);
    return this;
  }

  bytesField(field: number, data: Uint8Array): this {
    this.varint((field << 3) | 2);
    this.varint(data.length);
    for (const byte of data) this.bytes.push(byte);
    return this;
  }

  string(field: number, text: string): this {
    return this.bytesField(field, new TextEncoder().encode(text));
  }

  message(field: number, inner: ProtoWriter): this {
    return this.bytesField(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

function valueInfo(name: string, dims: number[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of dims) shape.message(1, new ProtoWriter().int(1, dim));
  const tensorType = new ProtoWriter().int(1, 1 /* FLOAT */).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

function intsAttribute(name: string, values: number[]): ProtoWriter {
  const attribute = new ProtoWriter().string(1, name);
  for (const value of values) attribute.int(8, value);
  return attribute.int(20, 7 /* INTS */);
}

/** ONNX bytes of y = Conv(x, w) for `shape`, weights OIHW. */
export function buildConvModel(shape: ConvShape, weights: Float32Array): Uint8Array {
  const { N, C, H, W, K, R, S, stride, pad } = shape;
  const { P, Q } = convOutputSize(shape);
  const node = new ProtoWriter()
    .string(1, 'x').string(1, 'w').string(2, 'y').string(3, 'conv').string(4, 'Conv')
    .message(5, intsAttribute('kernel_shape', [R, S]))
    .message(5, intsAttribute('pads', [pad, pad, pad, pad]))
    .message(5, intsAttribute('strides', [stride, stride]));
  const initializer = new ProtoWriter();
  for (const dim of [K, C, R, S]) initializer.int(1, dim);
  initializer.int(2, 1 /* FLOAT */).string(8, 'w');
  initializer.bytesField(9, new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
  const graph = new ProtoWriter()
    .message(1, node)
    .string(2, 'conv')
    .message(5, initializer)
    .message(11, valueInfo('x', [N, C, H, W]))
    .message(12, valueInfo('y', [N, K, P, Q]));
  return new ProtoWriter()
    .int(1, 8 /* IR version */)
    .message(8, new ProtoWriter().string(1, '').int(2, 13))
    .message(7, graph)
    .finish();
}
