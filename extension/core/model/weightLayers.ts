/**
 * Layers of a file without a graph (safetensors, PyTorch, .npz, GGUF, HDF5, Keras and TF.js
 * weights): one per conv or linear weight, in file order, named as the weight is without its
 * `weight`/`kernel` suffix. The weights fix channels and kernel sizes but not strides, padding or
 * image sizes. Those come only from an input shape given for the first layer, followed through
 * the layers as long as each one's input channels equal the previous one's outputs (a sequential
 * model), with stride 1 and "same" padding assumed; past the first break, sizes are unknown.
 */
import type { ModelConvShape, ModelLayer, WeightFormat } from '../../shared/payloads';
import type { TensorSource } from '../formats/types';
import { layerTypeOf, weightViewOf } from '../sparsity/layout';
import { convOp, convOutputSize, modelLayer } from './layers';

const WEIGHT_SUFFIX = /([._/])(weight|kernel|w)(:0)?$/i;
const BIAS_SUFFIXES = ['bias', 'b', 'bias:0'];

/** The layer name of a weight: its tensor name without the weight suffix. */
export function layerNameOf(weight: string): string {
  return weight.replace(WEIGHT_SUFFIX, '') || weight;
}

function biasOf(weight: string, K: number, byName: Map<string, TensorSource>): TensorSource | undefined {
  const match = WEIGHT_SUFFIX.exec(weight);
  if (!match) return undefined;
  const stem = weight.slice(0, match.index) + match[1]!;
  for (const suffix of BIAS_SUFFIXES) {
    const bias = byName.get(stem + suffix);
    if (bias && bias.shape.length === 1 && bias.shape[0] === K) return bias;
  }
  return undefined;
}

/** Sizes flowing from one layer to the next; null once the chain is broken (or never started). */
interface Flow {
  N: number;
  C: number;
  H: number;
  W: number;
}

export interface WeightLayers {
  layers: ModelLayer[];
  notes: string[];
}

/** The conv and linear layers of `tensors`; `input` (N,C,H,W) is the first layer's input. */
export function layersFromWeights(tensors: readonly TensorSource[], format: WeightFormat, input?: number[]): WeightLayers {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const layers: ModelLayer[] = [];
  const notes: string[] = [];
  let flow: Flow | null = input ? { N: input[0]!, C: input[1]!, H: input[2]!, W: input[3]!} : null;
  const broken = (layer: string, why: string): void => {
    if (flow) notes.push(`sizes stop at '${layer}': ${why}; its FLOPs and those of the layers after it need the input size`);
    flow = null;
  };
  let depthwiseAssumed = 0;
  for (const tensor of tensors) {
    const type = layerTypeOf(tensor);
    if ((type !== 'conv' && type !== 'linear') || /(_mask|_orig)$/.test(tensor.name)) continue;
    const view = weightViewOf(tensor, format);
    if (!view) continue;
    const name = layerNameOf(tensor.name);
    const bias = biasOf(tensor.name, /depthwise/i.test(tensor.name) && view.layout === 'HWIO' ? view.C * view.K : view.K, byName);
    const params = tensor.numel + (bias?.numel ?? 0);
    const common = {
      name,
      opType: 'weights',
      weight: tensor.name,
      weightLayout: view.layout,
      ...(tensor.maskedFrom ? { weightFrom: { ...tensor.maskedFrom } } : {}),
      ...(bias ? { bias: bias.name } : {}),
      params,
    };
    if (view.rank === 2 && tensor.shape.length === 2) {
      let N: number | null = null;
      if (flow) {
        if (view.C === flow.C * flow.H * flow.W) N = flow.N;
        else if (view.C === flow.C) {
          N = flow.N;
          if (flow.H * flow.W > 1) notes.push(`'${name}' takes ${view.C} features from ${flow.C}x${flow.H}x${flow.W}: global pooling assumed before it`);
        } else broken(name, `it takes ${view.C} features, the layer before gives ${flow.C}x${flow.H}x${flow.W}`);
      }
      layers.push(modelLayer({ ...common, op: 'linear', shape: { N, I: view.C, O: view.K } }));
      if (flow && N !== null) flow = { N, C: view.K, H: 1, W: 1 };
      continue;
    }
    // A 4-D kernel: [K, C/groups, R, S] in canonical terms.
    const [R, S] = kernelSize(tensor.shape, view.layout);
    // TensorFlow's depthwise kernels are [R, S, C, multiplier]: K = C * multiplier, one group per channel.
    const depthwise = view.layout === 'HWIO' && /depthwise/i.test(tensor.name);
    const K = depthwise ? view.C * view.K : view.K;
    const perGroup = depthwise ? 1 : view.C;
    let C = depthwise ? view.C : perGroup;
    let groups = depthwise ? view.C : 1;
    if (depthwise) {
      if (flow && flow.C !== C) broken(name, `a depthwise kernel over ${C} channels, the layer before gives ${flow.C}`);
    } else if (flow && flow.C !== perGroup) {
      if (flow.C % perGroup === 0 && K % (flow.C / perGroup) === 0) {
        groups = flow.C / perGroup;
        C = flow.C;
      } else {
        broken(name, `it takes ${perGroup} input channels per group, the layer before gives ${flow.C}`);
      }
    } else if (!flow && perGroup === 1 && K > 1) {
      // [K, 1, R, S] without a chain to tell: depthwise, one group per channel.
      groups = K;
      C = K;
      depthwiseAssumed++;
    }
    const pads: [number, number, number, number] = [Math.floor((R - 1) / 2), Math.floor((S - 1) / 2), Math.ceil((R - 1) / 2), Math.ceil((S - 1) / 2)];
    const P = flow ? convOutputSize(flow.H, R, 1, 1, pads[0], pads[2]) : null;
    const Q = flow ? convOutputSize(flow.W, S, 1, 1, pads[1], pads[3]) : null;
    const shape: ModelConvShape = {
      N: flow?.N ?? null,
      C,
      H: flow?.H ?? null,
      W: flow?.W ?? null,
      K,
      R,
      S,
      P,
      Q,
      strides: [1, 1],
      pads: flow ? pads : null,
      groups,
      dilations: [1, 1],
    };
    layers.push(modelLayer({ ...common, op: convOp(C, groups), shape }));
    if (flow && P !== null && Q !== null) flow = { N: flow.N, C: K, H: P, W: Q };
  }
  if (input) notes.push('no graph: strides 1 and "same" padding assumed from the given input size on');
  if (depthwiseAssumed > 0) notes.push(`${depthwiseAssumed} kernel${depthwiseAssumed === 1 ? '' : 's'} of shape [K, 1, R, S] taken as depthwise (one group per channel)`);
  return { layers, notes };
}

/** Kernel rows and columns of a 4-D weight in the layout its view was read in. */
function kernelSize(shape: readonly number[], layout: string): [number, number] {
  const [a, b, c, d] = shape as [number, number, number, number];
  if (layout === 'HWIO' || layout === 'HWOI') return [a, b];
  if (layout === 'OHWI' || layout === 'IHWO') return [b, c];
  return [c, d];
}
