/**
 * A layer of the user's model as the report shows it: its kind, full shape, parameters and FLOPs,
 * from a graph's layer (ONNX, TFLite) or from weight shapes alone. FLOPs count 2 per multiply-add:
 * 2*N*K*(C/groups)*R*S*P*Q for a convolution, 2*N*C*H*W*(K/groups)*R*S for a transposed one (each
 * input element feeds K/groups * R*S outputs) and 2*N*I*O for a matrix product.
 */
import type { ModelConvShape, ModelLayer, ModelLayerOp, ModelLinearShape } from '../../shared/payloads';
import type { GraphLayer } from '../formats/graphLayers';
import type { TensorSource } from '../formats/types';
import { winogradFit } from './winogradFit';

/** conv, depthwise (a group per input channel) or grouped. */
export function convOp(C: number, groups: number): ModelLayerOp {
  if (groups === 1) return 'conv';
  return groups === C ? 'depthwise' : 'grouped';
}

/** Output size along one axis of a convolution, or null when it is not positive. */
export function convOutputSize(size: number, kernel: number, stride: number, dilation: number, padBefore: number, padAfter: number): number | null {
  const out = Math.floor((size + padBefore + padAfter - (kernel - 1) * dilation - 1) / stride) + 1;
  return out > 0 ? out : null;
}

export function isConvShape(shape: ModelConvShape | ModelLinearShape): shape is ModelConvShape {
  return 'K' in shape;
}

export function layerFlops(op: ModelLayerOp, shape: ModelConvShape | ModelLinearShape): number | null {
  if (!isConvShape(shape)) return shape.N === null ? null : 2 * shape.N * shape.I * shape.O;
  const { N, C, H, W, K, R, S, P, Q, groups } = shape;
  if (op === 'convTranspose') return N === null || H === null || W === null ? null : 2 * N * C * H * W * (K / groups) * R * S;
  return N === null || P === null || Q === null ? null : 2 * N * K * (C / groups) * R * S * P * Q;
}

/** Completes a layer from its kind and shape: FLOPs, what is missing, Winograd's fit. */
export function modelLayer(fields: Omit<ModelLayer, 'flops' | 'needs' | 'winograd'>): ModelLayer {
  const flops = layerFlops(fields.op, fields.shape);
  return {
    ...fields,
    flops,
    ...(flops === null ? { needs: 'input size' } : {}),
    winograd: winogradFit(fields.op, isConvShape(fields.shape) ? fields.shape : undefined),
  };
}

/** A graph's layer in the report's terms; `tensorOf` gives a listed tensor's header. */
export function layerFromGraph(layer: GraphLayer, tensorOf: (tensor: string) => Pick<TensorSource, 'numel' | 'layout'> | undefined): ModelLayer {
  const params = (tensorOf(layer.weight)?.numel ?? 0) + (layer.bias ? (tensorOf(layer.bias)?.numel ?? 0) : 0);
  const common = {
    name: layer.name,
    ...(layer.node ? { graphNode: { ...layer.node } } : {}),
    opType: layer.opType,
    weight: layer.weight,
    ...(layer.bias ? { bias: layer.bias } : {}),
    params,
  };
  if (layer.kind === 'linear' || !layer.conv) {
    const { inFeatures, outFeatures, layout } = layer.linear!;
    return modelLayer({ ...common, weightLayout: layout, op: 'linear', shape: { N: layer.input?.[0] ?? null, I: inFeatures, O: outFeatures } });
  }
  const g = layer.conv;
  const [N, , H, W] = layer.input ?? [null, null, null, null];
  let P: number | null = layer.output?.[2] ?? null;
  let Q: number | null = layer.output?.[3] ?? null;
  if (layer.kind === 'conv' && (P === null || Q === null) && H != null && W != null && g.pads) {
    P = convOutputSize(H, g.R, g.strides[0], g.dilations[0], g.pads[0], g.pads[2]);
    Q = convOutputSize(W, g.S, g.strides[1], g.dilations[1], g.pads[1], g.pads[3]);
  }
  const shape: ModelConvShape = {
    N: N ?? null,
    C: g.C,
    H: H ?? null,
    W: W ?? null,
    K: g.K,
    R: g.R,
    S: g.S,
    P,
    Q,
    strides: g.strides,
    pads: g.pads ?? null,
    groups: g.groups,
    dilations: g.dilations,
  };
  return modelLayer({ ...common, weightLayout: tensorOf(layer.weight)?.layout ?? 'OIHW', op: layer.kind === 'convTranspose' ? 'convTranspose' : convOp(g.C, g.groups), shape });
}
