/**
 * Static shape propagation over an ONNX graph, just far enough to list and count the FLOPs of the
 * layers that own weights: Conv, ConvTranspose, Gemm and MatMul with a weight input (2 FLOPs per multiply-add,
 * biases not counted). Shapes start from the graph inputs, value_info/outputs and the weights, and flow
 * through the common CNN/MLP operators; wherever a shape is unknown the node is left out of the
 * count rather than guessed. A symbolic leading (batch) dimension of a graph input counts as 1.
 */
import { type GraphConvGeometry, type GraphInput, type GraphLayer, type GraphLayers, samePadding } from './graphLayers';
import type { ScannedAttribute, ScannedGraph, ScannedNode, ValueInfo } from './onnxGraph';
import { readAllValues } from './source';
import type { TensorSource } from './types';
import { ownValue, setOwn } from './ownNames';

type Shape = number[];

class Scope {
  readonly shapes = new Map<string, Shape>();
  readonly constants = new Map<string, number[]>();
  readonly producers = new Map<string, ScannedNode>();

  constructor(readonly parent?: Scope) {}

  shape(name: string | undefined): Shape | undefined {
    if (!name) return undefined;
    return this.shapes.get(name) ?? this.parent?.shape(name);
  }
  constant(name: string | undefined): number[] | undefined {
    if (!name) return undefined;
    return this.constants.get(name) ?? this.parent?.constant(name);
  }
  producer(name: string): ScannedNode | undefined {
    return this.producers.get(name) ?? this.parent?.producer(name);
  }
}

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Clip', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign',
  'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Identity', 'Dropout', 'BatchNormalization', 'InstanceNormalization',
  'LayerNormalization', 'Softmax', 'LogSoftmax', 'Cast', 'Erf', 'Gelu', 'Mish', 'Reciprocal', 'Floor', 'Ceil', 'Round',
  'Sign', 'Not', 'LRN', 'QuantizeLinear', 'DequantizeLinear', 'ThresholdedRelu', 'Shrink', 'Sin', 'Cos',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'PRelu', 'Equal', 'Greater', 'Less', 'And', 'Or', 'Where', 'Mod']);
const POOL = new Set(['MaxPool', 'AveragePool', 'LpPool']);
const GLOBAL_POOL = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']);
/** Ops that pass a weight through unchanged in shape on its way to the layer that uses it. */
const WEIGHT_PASS_THROUGH = new Set(['Identity', 'Cast', 'DequantizeLinear']);

function attribute(node: ScannedNode, name: string): ScannedAttribute | undefined {
  return node.attributes.find((a) => a.name === name);
}
function intAttr(node: ScannedNode, name: string, fallback: number): number {
  return attribute(node, name)?.i ?? fallback;
}
function intsAttr(node: ScannedNode, name: string): number[] | undefined {
  const a = attribute(node, name);
  return a && a.ints.length > 0 ? a.ints : undefined;
}
function stringAttr(node: ScannedNode, name: string): string | undefined {
  const a = attribute(node, name);
  return a?.s;
}

const product = (values: readonly number[]): number => values.reduce((a, b) => a * b, 1);
const validShape = (shape: Shape | undefined): shape is Shape => shape !== undefined && shape.every((d) => Number.isSafeInteger(d) && d >= 0);

function broadcast(shapes: (Shape | undefined)[]): Shape | undefined {
  if (shapes.some((s) => !s)) return undefined;
  let rank = 0;
  for (const s of shapes) rank = Math.max(rank, s!.length);
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let dim = 1;
    for (const s of shapes) {
      const d = s![s!.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim !== 1 && dim !== d) return undefined;
      dim = d;
    }
    out.push(dim);
  }
  return out;
}

/** Output spatial sizes of a sliding window (Conv, pooling) along each spatial axis. */
function windowOutput(node: ScannedNode, input: Shape, kernel: number[], ceil: boolean): Shape | undefined {
  const spatial = input.length - 2;
  if (spatial < 1 || kernel.length !== spatial) return undefined;
  const strides = intsAttr(node, 'strides') ?? new Array<number>(spatial).fill(1);
  const dilations = intsAttr(node, 'dilations') ?? new Array<number>(spatial).fill(1);
  const pads = intsAttr(node, 'pads') ?? new Array<number>(2 * spatial).fill(0);
  const autoPad = stringAttr(node, 'auto_pad') ?? 'NOTSET';
  const out: Shape = [];
  for (let i = 0; i < spatial; i++) {
    const size = input[2 + i]!;
    const stride = strides[i] ?? 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      out.push(Math.ceil(size / stride));
      continue;
    }
    const effectiveKernel = (kernel[i]! - 1) * (dilations[i] ?? 1) + 1;
    const padded = autoPad === 'VALID' ? size : size + (pads[i] ?? 0) + (pads[i + spatial] ?? 0);
    const steps = (padded - effectiveKernel) / stride;
    const o = (ceil ? Math.ceil(steps) : Math.floor(steps)) + 1;
    if (!(o > 0)) return undefined;
    out.push(o);
  }
  return out;
}

function matmulShape(a: Shape | undefined, b: Shape | undefined): Shape | undefined {
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  if (a2[a2.length - 1] !== b2[b2.length - 2]) return undefined;
  const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
  if (!batch) return undefined;
  const out = [...batch, a2[a2.length - 2]!, b2[b2.length - 1]!];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.pop();
  return out;
}

function normaliseAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : undefined;
}

/** Output shape of `node`'s first output, when it can be derived from known shapes and constants. */
function inferNode(node: ScannedNode, scope: Scope): Shape | undefined {
  const inputs = node.input.map((name) => scope.shape(name));
  const x = inputs[0];
  const op = node.opType;
  if (UNARY.has(op)) return x;
  if (BROADCAST.has(op)) return broadcast(inputs.filter((_, i) => node.input[i] !== ''));
  switch (op) {
    case 'Conv': {
      const w = inputs[1];
      if (!x || !w || w.length !== x.length) return undefined;
      const spatial = windowOutput(node, x, intsAttr(node, 'kernel_shape') ?? w.slice(2), false);
      return spatial && [x[0]!, w[0]!, ...spatial];
    }
    case 'ConvTranspose': {
      const w = inputs[1];
      if (!x || !w || w.length !== x.length) return undefined;
      const group = intAttr(node, 'group', 1);
      const channels = w[1]! * group;
      const spatial = x.length - 2;
      const outputShape = intsAttr(node, 'output_shape');
      if (outputShape) return [x[0]!, channels, ...outputShape.slice(-spatial)];
      const kernel = intsAttr(node, 'kernel_shape') ?? w.slice(2);
      const strides = intsAttr(node, 'strides') ?? new Array<number>(spatial).fill(1);
      const dilations = intsAttr(node, 'dilations') ?? new Array<number>(spatial).fill(1);
      const outputPadding = intsAttr(node, 'output_padding') ?? new Array<number>(spatial).fill(0);
      const pads = intsAttr(node, 'pads') ?? new Array<number>(2 * spatial).fill(0);
      const autoPad = stringAttr(node, 'auto_pad') ?? 'NOTSET';
      const out: Shape = [x[0]!, channels];
      for (let i = 0; i < spatial; i++) {
        const stride = strides[i] ?? 1;
        if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(x[2 + i]! * stride);
        else {
          const padding = autoPad === 'VALID' ? 0 : (pads[i] ?? 0) + (pads[i + spatial] ?? 0);
          out.push(stride * (x[2 + i]! - 1) + (outputPadding[i] ?? 0) + ((kernel[i]! - 1) * (dilations[i] ?? 1) + 1) - padding);
        }
      }
      return out;
    }
    default:
      break;
  }
  if (POOL.has(op)) {
    const kernel = intsAttr(node, 'kernel_shape');
    if (!x || !kernel) return undefined;
    const spatial = windowOutput(node, x, kernel, intAttr(node, 'ceil_mode', 0) === 1);
    return spatial && [x[0]!, x[1]!, ...spatial];
  }
  if (GLOBAL_POOL.has(op)) return x && [x[0]!, x[1]!, ...x.slice(2).map(() => 1)];
  switch (op) {
    case 'Flatten': {
      if (!x) return undefined;
      const axis = normaliseAxis(intAttr(node, 'axis', 1), x.length + 1);
      if (axis === undefined) return undefined;
      return [product(x.slice(0, axis)), product(x.slice(axis))];
    }
    case 'Reshape': {
      const target = scope.constant(node.input[1]);
      if (!x || !target) return undefined;
      const allowZero = intAttr(node, 'allowzero', 0) === 1;
      const out = target.map((d, i) => (d === 0 && !allowZero ? x[i] : d));
      if (out.some((d) => d === undefined)) return undefined;
      const known = product((out as number[]).filter((d) => d !== -1));
      const unknown = out.filter((d) => d === -1).length;
      if (unknown > 1) return undefined;
      if (unknown === 1) {
        if (known === 0 || product(x) % known !== 0) return undefined;
        return (out as number[]).map((d) => (d === -1 ? product(x) / known : d));
      }
      return out as number[];
    }
    case 'Transpose': {
      if (!x) return undefined;
      const perm = intsAttr(node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      if (perm.length !== x.length) return undefined;
      const out = perm.map((p) => x[p]);
      return out.some((d) => d === undefined) ? undefined : (out as number[]);
    }
    case 'Concat': {
      const parts = inputs.filter((_, i) => node.input[i] !== '');
      if (parts.some((p) => !p) || parts.length === 0) return undefined;
      const rank = parts[0]!.length;
      const axis = normaliseAxis(intAttr(node, 'axis', 0), rank);
      if (axis === undefined || parts.some((p) => p!.length !== rank)) return undefined;
      const out = parts[0]!.slice();
      out[axis] = parts.reduce((n, p) => n + p![axis]!, 0);
      return out;
    }
    case 'Gemm': {
      const [a, b] = inputs;
      if (!a || !b || a.length !== 2 || b.length !== 2) return undefined;
      const m = intAttr(node, 'transA', 0) ? a[1]! : a[0]!;
      const n = intAttr(node, 'transB', 0) ? b[0]! : b[1]!;
      return [m, n];
    }
    case 'MatMul':
      return matmulShape(inputs[0], inputs[1]);
    case 'Squeeze': {
      if (!x) return undefined;
      const axes = intsAttr(node, 'axes') ?? scope.constant(node.input[1]);
      if (!axes) return x.filter((d) => d !== 1);
      const drop = new Set(axes.map((a) => normaliseAxis(a, x.length)));
      return x.filter((_, i) => !drop.has(i));
    }
    case 'Unsqueeze': {
      const axes = intsAttr(node, 'axes') ?? scope.constant(node.input[1]);
      if (!x || !axes) return undefined;
      const rank = x.length + axes.length;
      const inserted = new Set(axes.map((a) => normaliseAxis(a, rank)));
      if (inserted.has(undefined)) return undefined;
      const out: Shape = [];
      let k = 0;
      for (let i = 0; i < rank; i++) out.push(inserted.has(i) ? 1 : x[k++]!);
      return out;
    }
    case 'Pad': {
      const pads = intsAttr(node, 'pads') ?? scope.constant(node.input[1]);
      if (!x || !pads || pads.length !== 2 * x.length) return undefined;
      return x.map((d, i) => d + pads[i]! + pads[i + x.length]!);
    }
    case 'ConstantOfShape': {
      const dims = scope.constant(node.input[0]);
      return dims && validShape(dims) ? dims : undefined;
    }
    case 'Upsample':
    case 'Resize': {
      if (!x) return undefined;
      const sizes = op === 'Resize' ? scope.constant(node.input[3]) : undefined;
      if (sizes && sizes.length === x.length) return sizes;
      const scales = op === 'Upsample' ? (attribute(node, 'scales')?.floats ?? scope.constant(node.input[1])) : scope.constant(node.input[2]);
      if (!scales || scales.length !== x.length) return undefined;
      return x.map((d, i) => Math.floor(d * scales[i]!));
    }
    default:
      return undefined;
  }
}

function seed(scope: Scope, infos: ValueInfo[], assumedBatch: string[]): void {
  for (const info of infos) {
    if (!info.dims || scope.shapes.has(info.name)) continue;
    const dims = info.dims.map((d, i) => {
      if (typeof d === 'number') return d;
      if (i === 0) {
        assumedBatch.push(`'${d}' of '${info.name}'`);
        return 1;
      }
      return undefined;
    });
    if (dims.every((d) => d !== undefined)) scope.shapes.set(info.name, dims as number[]);
  }
}

function weightBehind(name: string, scope: Scope, weights: Map<string, TensorSource>): string | undefined {
  let current = name;
  for (let hops = 0; hops < 4; hops++) {
    if (weights.has(current)) return current;
    const producer = scope.producer(current);
    if (!producer || !WEIGHT_PASS_THROUGH.has(producer.opType) || !producer.input[0]) return undefined;
    current = producer.input[0];
  }
  return undefined;
}

/** Multiply-accumulates of a weight-bearing node, when its shapes are known. */
function macsOf(node: ScannedNode, scope: Scope, weights: Map<string, TensorSource>): { weight: string; macs: number } | undefined {
  const out = scope.shape(node.output[0]);
  const x = scope.shape(node.input[0]);
  const inputWeight = (i: number): { name: string; shape: Shape } | undefined => {
    const name = node.input[i] ? weightBehind(node.input[i]!, scope, weights) : undefined;
    return name ? { name, shape: weights.get(name)!.shape } : undefined;
  };
  switch (node.opType) {
    case 'Conv': {
      const w = inputWeight(1);
      if (!w || !out || w.shape.length < 3) return undefined;
      return { weight: w.name, macs: product(out) * product(w.shape.slice(1)) };
    }
    case 'ConvTranspose': {
      const w = inputWeight(1);
      if (!w || !x || w.shape.length < 3) return undefined;
      return { weight: w.name, macs: product(x) * product(w.shape.slice(1)) };
    }
    case 'Gemm': {
      const b = inputWeight(1);
      const a = b ? undefined : inputWeight(0);
      const w = b ?? a;
      if (!w || !out || w.shape.length !== 2) return undefined;
      const k = b ? (intAttr(node, 'transB', 0) ? b.shape[1]! : b.shape[0]!) : intAttr(node, 'transA', 0) ? a!.shape[0]! : a!.shape[1]!;
      return { weight: w.name, macs: product(out) * k };
    }
    case 'MatMul': {
      const b = inputWeight(1);
      const a = b ? undefined : inputWeight(0);
      if (!out) return undefined;
      if (b && b.shape.length >= 1) return { weight: b.name, macs: product(out) * b.shape[b.shape.length === 1 ? 0 : b.shape.length - 2]! };
      if (a && a.shape.length >= 1) return { weight: a.name, macs: product(out) * a.shape[a.shape.length - 1]! };
      return undefined;
    }
    default:
      return undefined;
  }
}

type NodeVisitor = (node: ScannedNode, scope: Scope, path: string) => void;

/**
 * Propagates shapes through `graph` in node order and calls `visit` on each node once its output
 * shape is known (or known to be unknown); subgraphs get their own scope, named by `path`.
 */
function walk(graph: ScannedGraph, scope: Scope, weights: Map<string, TensorSource>, visit: NodeVisitor, assumedBatch: string[], path: string): void {
  seed(scope, graph.inputs, assumedBatch);
  seed(scope, graph.valueInfo, []);
  seed(scope, graph.outputs, []);
  for (const node of graph.nodes) for (const output of node.output) if (output) scope.producers.set(output, node);
  for (const node of graph.nodes) {
    const first = node.output[0];
    if (first && !scope.shapes.has(first) && !weights.has(first)) {
      const shape = inferNode(node, scope);
      if (validShape(shape)) scope.shapes.set(first, shape);
    }
    // Dropout and MaxPool's optional second outputs (mask, indices) share the first's shape.
    if ((node.opType === 'Dropout' || node.opType === 'MaxPool') && node.output[1] && first && scope.shape(first)) {
      scope.shapes.set(node.output[1], scope.shape(first)!);
    }
    visit(node, scope, path);
    for (const a of node.attributes) {
      const sub = `${path}${node.name || node.output[0] || node.opType}/${a.name}/`;
      if (a.g) walk(a.g, new Scope(scope), weights, visit, [], sub);
      for (const [k, g] of a.graphs.entries()) walk(g, new Scope(scope), weights, visit, [], `${sub}${k}/`);
    }
  }
}

/** The scope of the main graph: every weight's shape, and the values of the small constants that shapes follow. */
async function rootScope(weights: Map<string, TensorSource>, maxConstantElements: number): Promise<Scope> {
  const root = new Scope();
  for (const [name, tensor] of weights) {
    root.shapes.set(name, tensor.shape);
    if (tensor.numel <= maxConstantElements) {
      try {
        root.constants.set(name, Array.from(await readAllValues(tensor, maxConstantElements)));
      } catch {
        // A constant that cannot be read only limits shape inference; reading it for statistics reports the error.
      }
    }
  }
  return root;
}

/**
 * FLOPs per weight tensor (2 x multiply-accumulates, summed over the nodes that use the weight).
 * Small constants (Reshape targets, pads, ConstantOfShape dims) are read to follow shapes.
 */
export async function inferOnnxFlops(
  graph: ScannedGraph,
  weights: Map<string, TensorSource>,
  maxConstantElements: number,
  warnings: string[],
): Promise<Record<string, number>> {
  const root = await rootScope(weights, maxConstantElements);
  const flops: Record<string, number> = {};
  const assumedBatch: string[] = [];
  walk(graph, root, weights, (node, scope) => {
    const counted = macsOf(node, scope, weights);
    if (counted && Number.isSafeInteger(counted.macs)) setOwn(flops, counted.weight, (ownValue(flops, counted.weight) ?? 0) + 2 * counted.macs);
  }, assumedBatch, '');
  if (Object.keys(flops).length > 0 && assumedBatch.length > 0) {
    warnings.push(`FLOPs assume batch size 1 for the symbolic dimension ${assumedBatch.join(', ')}`);
  }
  return flops;
}

/** A 1-D convolution's [N, C, L] as [N, C, 1, L]; 2-D shapes unchanged; anything else unknown. */
function asNchw(shape: Shape | undefined): number[] | undefined {
  if (shape?.length === 4) return shape;
  if (shape?.length === 3) return [shape[0]!, shape[1]!, 1, shape[2]!];
  return undefined;
}

/** Strides, dilations and pads of a Conv or ConvTranspose with `spatial` (1 or 2) spatial axes, as 2-D values. */
function convAttributes(node: ScannedNode, kernel: number[], input: number[] | undefined): Omit<GraphConvGeometry, 'C' | 'K' | 'R' | 'S' | 'groups'> {
  const spatial = kernel.length;
  const strides = intsAttr(node, 'strides') ?? new Array<number>(spatial).fill(1);
  const dilations = intsAttr(node, 'dilations') ?? new Array<number>(spatial).fill(1);
  const autoPad = stringAttr(node, 'auto_pad') ?? 'NOTSET';
  const two = (values: number[], fill: number): [number, number] => (spatial === 1 ? [fill, values[0] ?? fill] : [values[0] ?? fill, values[1] ?? fill]);
  const geometry = { strides: two(strides, 1), dilations: two(dilations, 1) };
  let begin: number[] | undefined;
  let end: number[] | undefined;
  if (autoPad === 'VALID') {
    begin = new Array<number>(spatial).fill(0);
    end = begin;
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    if (node.opType !== 'Conv' || !input) return geometry;
    const sizes = spatial === 1 ? [input[3]!] : [input[2]!, input[3]!];
    const split = sizes.map((size, i) => samePadding(size, kernel[i]!, strides[i] ?? 1, dilations[i] ?? 1, autoPad === 'SAME_LOWER'));
    begin = split.map((p) => p[0]);
    end = split.map((p) => p[1]);
  } else {
    const pads = intsAttr(node, 'pads') ?? new Array<number>(2 * spatial).fill(0);
    begin = pads.slice(0, spatial);
    end = pads.slice(spatial);
  }
  const [top, left] = two(begin, 0);
  const [bottom, right] = two(end, 0);
  return { ...geometry, pads: [top, left, bottom, right] };
}

/** The layer a weight-bearing node makes, or why it makes none (undefined: not a layer with weights at all). */
function layerOf(node: ScannedNode, scope: Scope, weights: Map<string, TensorSource>, path: string): GraphLayer | string | undefined {
  const name = `${path}${node.name || node.output[0] || node.opType}`;
  const own = { name: node.name, output: node.output[0] ?? '' };
  const constant = (i: number): string | undefined => (node.input[i] ? weightBehind(node.input[i]!, scope, weights) : undefined);
  const bias = (i: number): string | undefined => {
    const b = constant(i);
    return b && weights.get(b)!.shape.length === 1 ? b : undefined;
  };
  const computed = (i: number): string | undefined => {
    const producer = node.input[i] ? scope.producer(node.input[i]!) : undefined;
    if (!producer || !producer.input.some((input) => weightBehind(input, scope, weights))) return undefined;
    return `${node.opType} node '${name}': its weight '${node.input[i]}' is computed by node '${producer.name || producer.output[0]}' (${producer.opType}), not stored in the file; left out`;
  };
  const op = node.opType;
  if (op === 'Conv' || op === 'ConvTranspose') {
    const weight = constant(1);
    if (!weight) return computed(1) ?? `${op} node '${name}': its weight '${node.input[1] ?? ''}' is not a constant of the file; left out`;
    const w = weights.get(weight)!.shape;
    if (w.length !== 3 && w.length !== 4) return `${op} node '${name}': a ${w.length - 2}-D convolution (weight [${w.join(', ')}]); only 1-D and 2-D ones are listed`;
    const groups = intAttr(node, 'group', 1);
    const kernel = w.slice(2);
    const input = asNchw(scope.shape(node.input[0]));
    const output = asNchw(scope.shape(node.output[0]));
    const [R, S] = kernel.length === 1 ? [1, kernel[0]!] : [kernel[0]!, kernel[1]!];
    const [C, K] = op === 'Conv' ? [w[1]! * groups, w[0]!] : [w[0]!, w[1]! * groups];
    return {
      name,
      node: own,
      opType: op,
      kind: op === 'Conv' ? 'conv' : 'convTranspose',
      weight,
      ...(bias(2) ? { bias: bias(2) } : {}),
      conv: { C, K, R, S, groups, ...convAttributes(node, kernel, input) },
      ...(input ? { input } : {}),
      ...(output ? { output } : {}),
    };
  }
  if (op === 'Gemm' || op === 'MatMul') {
    const weight = constant(1);
    if (!weight) return constant(0) ? `${op} node '${name}': the constant is its first operand (weight times activation); left out` : computed(1);
    const w = weights.get(weight)!.shape;
    if (w.length !== 2) return `${op} node '${name}': its constant operand has shape [${w.join(', ')}], not a matrix; left out`;
    const transposed = op === 'Gemm' && intAttr(node, 'transB', 0) === 1;
    const [inFeatures, outFeatures] = transposed ? [w[1]!, w[0]!] : [w[0]!, w[1]!];
    const x = scope.shape(node.input[0]);
    const rows = x && x.length >= 1 ? product(x) / inFeatures : undefined;
    const known = rows !== undefined && Number.isSafeInteger(rows) && rows > 0;
    return {
      name,
      node: own,
      opType: op,
      kind: 'linear',
      weight,
      ...(op === 'Gemm' && bias(2) ? { bias: bias(2) } : {}),
      linear: { inFeatures, outFeatures, layout: transposed ? 'OI' : 'IO' },
      ...(known ? { input: [rows, inFeatures], output: [rows, outFeatures] } : {}),
    };
  }
  return undefined;
}

/**
 * Ops whose output channel c depends on input channel c alone (data input 0), so removing a
 * channel before them removes the same channel after them.
 */
const PER_CHANNEL = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'Tanh', 'Clip', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu', 'Softplus',
  'Softsign', 'Gelu', 'Mish', 'Identity', 'Dropout', 'BatchNormalization', 'InstanceNormalization', 'MaxPool',
  'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool', 'ThresholdedRelu', 'Cast',
]);

/** Whether `node` passes channels through one to one: per-channel ops, and Flatten of [N, C, 1, 1]. */
function passesChannels(node: ScannedNode, scope: Scope): boolean {
  if (PER_CHANNEL.has(node.opType)) return true;
  if (node.opType !== 'Flatten' || intAttr(node, 'axis', 1) !== 1) return false;
  const x = scope.shape(node.input[0]);
  return x !== undefined && x.length >= 2 && x.slice(2).every((d) => d === 1);
}

/** Sets `channels` on the main graph's layers: which layer feeds each one's input channels, and where each one's output goes. */
function followChannels(graph: ScannedGraph, scope: Scope, nodesOf: Map<ScannedNode, GraphLayer>): void {
  const consumers = new Map<string, { node: ScannedNode; index: number }[]>();
  for (const node of graph.nodes) {
    for (const [index, input] of node.input.entries()) if (input) consumers.set(input, [...(consumers.get(input) ?? []), { node, index }]);
  }
  const outputs = new Set(graph.outputs.map((o) => o.name));
  for (const [node, layer] of nodesOf) {
    let from: string | undefined;
    let value = node.input[0];
    for (let hops = 0; value && hops < 64; hops++) {
      const producer = scope.producers.get(value);
      if (!producer || producer.output[0] !== value) break;
      const source = nodesOf.get(producer);
      if (source) {
        from = source.name;
        break;
      }
      if (!passesChannels(producer, scope)) break;
      value = producer.input[0];
    }
    const to: string[] = [];
    let elsewhere: string | undefined;
    const pending = [node.output[0]];
    const visited = new Set<string>();
    while (pending.length > 0 && elsewhere === undefined) {
      const current = pending.pop();
      if (!current || visited.has(current)) continue;
      visited.add(current);
      if (outputs.has(current)) elsewhere = "the model's output";
      for (const use of consumers.get(current) ?? []) {
        const target = nodesOf.get(use.node);
        if (target && use.index === 0) to.push(target.name);
        else if (!target && use.index === 0 && passesChannels(use.node, scope)) pending.push(use.node.output[0]);
        else elsewhere ??= `${use.node.opType} '${use.node.name || use.node.output[0]}'`;
      }
    }
    layer.channels = { ...(from ? { from } : {}), to, ...(elsewhere ? { elsewhere } : {}) };
  }
}

/**
 * The layers with weights of an ONNX graph (Conv, ConvTranspose, Gemm and MatMul with a constant
 * weight), in node order, subgraphs included, with shapes propagated from the graph's inputs.
 * `input` replaces the first graph input's shape; a rank that does not match is an error.
 */
export async function onnxGraphLayers(
  graph: ScannedGraph,
  weights: Map<string, TensorSource>,
  maxConstantElements: number,
  input?: number[],
): Promise<GraphLayers> {
  const root = await rootScope(weights, maxConstantElements);
  const inputs: GraphInput[] = graph.inputs.filter((info) => !weights.has(info.name)).map((info) => ({ name: info.name, dims: info.dims ?? [] }));
  const notes: string[] = [];
  if (input) {
    const first = inputs[0];
    if (!first) throw new Error('the graph has no input to give a shape to');
    if (first.dims.length !== input.length) {
      throw new Error(`input '${first.name}' has ${first.dims.length} dimensions [${first.dims.join(', ')}], but the given input shape [${input.join(', ')}] has ${input.length}`);
    }
    root.shapes.set(first.name, input);
  }
  const layers: GraphLayer[] = [];
  const assumedBatch: string[] = [];
  const mainGraphLayers = new Map<ScannedNode, GraphLayer>();
  walk(graph, root, weights, (node, scope, path) => {
    const layer = layerOf(node, scope, weights, path);
    if (typeof layer === 'string') notes.push(layer);
    else if (layer) {
      layers.push(layer);
      if (path === '') mainGraphLayers.set(node, layer);
    }
  }, assumedBatch, '');
  followChannels(graph, root, mainGraphLayers);
  if (assumedBatch.length > 0) notes.unshift(`batch size 1 assumed for the symbolic dimension ${assumedBatch.join(', ')}`);
  return { inputs, layers, notes };
}
