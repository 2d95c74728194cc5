/**
 * A layer's real weight as the engine takes it: float32 [K, C/groups, R, S] (OIHW), whatever axis
 * order the file stores. Values stream from the file in stored order and land at their OIHW index.
 */
import type { ModelConvShape, ModelLayer } from '../../shared/payloads';
import type { TensorSource } from '../formats/types';
import { isConvShape } from './layers';

/** The OIHW index of stored element `i`, for each stored 4-D layout (shape as stored). */
function oihwIndexer(layout: string, stored: readonly number[], shape: ModelConvShape): (i: number) => number {
  const { K, R, S } = shape;
  const Cg = shape.C / shape.groups;
  const at = (k: number, c: number, r: number, s: number): number => ((k * Cg + c) * R + r) * S + s;
  const [, b, c, d] = stored as [number, number, number, number];
  switch (layout) {
    case 'OIHW':
      return (i) => i;
    case 'OHWI':
      // [K, R, S, Cg]
      return (i) => at(Math.floor(i / (b * c * d)), i % d, Math.floor(i / (c * d)) % b, Math.floor(i / d) % c);
    case 'IHWO':
      // TFLite depthwise [1, R, S, K]: one input channel per group.
      return (i) => at(i % d, 0, Math.floor(i / (c * d)) % b, Math.floor(i / d) % c);
    case 'HWIO':
      if (Cg === 1 && c * d === K && c !== 1) {
        // TensorFlow depthwise [R, S, C, M]: output channel c*M + m.
        return (i) => at(Math.floor(i / d) % c * d + (i % d), 0, Math.floor(i / (b * c * d)), Math.floor(i / (c * d)) % b);
      }
      // [R, S, Cg, K]
      return (i) => at(i % d, Math.floor(i / d) % c, Math.floor(i / (b * c * d)), Math.floor(i / (c * d)) % b);
    default:
      throw new Error(`weights stored as ${layout} are not read for timing`);
  }
}

/**
 * The weight of a conv layer as OIHW float32, or of a linear layer as [O, I] (a 1x1 convolution's
 * OIHW), into `target` (allocated by the caller, e.g. in shared memory).
 */
export async function readLayerWeight(layer: ModelLayer, tensor: TensorSource, target: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
  if (target.length !== tensor.numel) throw new Error(`'${layer.name}': the weight has ${tensor.numel} values, not ${target.length}`);
  let index: (i: number) => number;
  if (isConvShape(layer.shape)) {
    if (tensor.shape.length !== 4) throw new Error(`'${layer.name}': its weight of shape [${tensor.shape.join(', ')}] is not a 4-D kernel`);
    index = oihwIndexer(layer.weightLayout, tensor.shape, layer.shape);
  } else {
    const { I, O } = layer.shape;
    // [I, O] stored: element (i, o) goes to o * I + i.
    index = layer.weightLayout === 'IO' ? (i) => (i % O) * I + Math.floor(i / O) : (i) => i;
  }
  let position = 0;
  for await (const chunk of tensor.chunks({ signal })) {
    for (let j = 0; j < chunk.length; j++) target[index(position + j)] = chunk[j]!;
    position += chunk.length;
  }
  if (position !== tensor.numel) throw new Error(`'${layer.name}': its weight yielded ${position} of ${tensor.numel} values`);
  return target;
}
