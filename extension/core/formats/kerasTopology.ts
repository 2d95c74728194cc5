/**
 * The layers of a Keras model config (Keras 2 `.h5` model_config, Keras 3 `.keras` config.json,
 * TF.js `model.json` modelTopology), with activation shapes followed from the input through the
 * common layer classes. Weights are matched to layers by the layer's name among the tensor name's
 * path segments (model_weights/conv/conv/kernel:0, layers/conv/vars/0, conv/kernel) and by shape.
 * Shapes are kept as NCHW (or [rows, features]) whatever the data_format; a class whose output
 * shape is not known here stops the shapes after it, and says so.
 */
import { type GraphLayer, type GraphLayers, samePadding } from './graphLayers';
import { type OpenedWeightFile, type OpenOptions, type TensorSource, WeightFileError } from './types';

type Json = Record<string, unknown>;
/** [N, C, H, W] or [rows..., features]; undefined when unknown. */
type Shape = number[] | undefined;

const MAX_DEPTH = 32;
const SHAPE_PRESERVING = new Set([
  'BatchNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU', 'Softmax', 'Dropout',
  'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'LayerNormalization', 'Rescaling', 'Normalization',
  'ActivityRegularization', 'Masking',
]);
const MERGE = new Set(['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum']);

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const pair = (value: unknown, fallback: number): [number, number] => {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && typeof value[0] === 'number') return [value[0], typeof value[1] === 'number' ? value[1] : value[0]];
  return [fallback, fallback];
};
const positive = (value: unknown): number | undefined => (typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined);

/** The model config inside what a file stores: {class_name, config} itself, or under model_config / modelTopology. */
export function modelConfigOf(stored: unknown): Json | undefined {
  let node: unknown = stored;
  for (let hops = 0; hops < 3 && isObject(node); hops++) {
    if (typeof node.class_name === 'string' && (isObject(node.config) || Array.isArray(node.config))) return node;
    node = node.model_config ?? node.modelTopology;
  }
  return undefined;
}

function layerList(model: Json): Json[] {
  const config = model.config;
  const layers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  return Array.isArray(layers) ? layers.filter(isObject) : [];
}

/** A batch shape as stored (batch first, None as null) in canonical terms. */
function fromStored(shape: unknown, channelsFirst: boolean): Shape {
  if (!Array.isArray(shape) || shape.length < 2) return undefined;
  const dims = shape.map((d, i) => (i === 0 && d === null ? 1 : positive(d)));
  if (dims.some((d) => d === undefined)) return undefined;
  const n = dims as number[];
  if (n.length === 4 && !channelsFirst) return [n[0]!, n[3]!, n[1]!, n[2]!];
  return n;
}

/** The names of the layers whose outputs a layer takes (Keras 2 / TF.js node lists, Keras 3 keras_history). */
function inboundOf(layer: Json): { name: string; shape?: unknown }[] {
  const found: { name: string; shape?: unknown }[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    if (Array.isArray(value)) {
      if (typeof value[0] === 'string' && typeof value[1] === 'number') {
        found.push({ name: value[0] });
        return;
      }
      for (const item of value) visit(item, depth + 1);
    } else if (isObject(value)) {
      const config = value.config;
      if (value.class_name === '__keras_tensor__' && isObject(config) && Array.isArray(config.keras_history) && typeof config.keras_history[0] === 'string') {
        found.push({ name: config.keras_history[0], shape: config.shape });
        return;
      }
      for (const item of Object.values(value)) visit(item, depth + 1);
    }
  };
  visit(layer.inbound_nodes, 0);
  return found;
}

/** Names that identify a layer's tensors: the tensor name's path segments, without ':0'. */
function segmentsOf(name: string): string[] {
  return name.split('/').map((s) => s.replace(/:\d+$/, ''));
}

class WeightMatcher {
  private readonly used = new Set<string>();
  private readonly byLayer = new Map<string, TensorSource[]>();

  constructor(tensors: readonly TensorSource[]) {
    for (const tensor of tensors) {
      for (const segment of new Set(segmentsOf(tensor.name))) {
        const list = this.byLayer.get(segment) ?? [];
        list.push(tensor);
        this.byLayer.set(segment, list);
      }
    }
  }

  /**
   * The first unused tensor of `layer` with `rank` whose shape passes `fits`; inside a nested
   * model, those stored under the nested models' names first (a base model may reuse an outer name).
   */
  take(layer: string, rank: number, fits: (shape: number[]) => boolean, scope: readonly string[] = []): TensorSource | undefined {
    const candidates = (this.byLayer.get(layer) ?? []).filter((t) => !this.used.has(t.name) && t.shape.length === rank && fits(t.shape));
    const inScope = scope.length > 0 ? candidates.find((t) => scope.every((s) => segmentsOf(t.name).includes(s))) : undefined;
    const found = inScope ?? candidates[0];
    if (found) this.used.add(found.name);
    return found;
  }
}

interface Context {
  weights: WeightMatcher;
  layers: GraphLayer[];
  notes: string[];
  stoppedClasses: Set<string>;
  /** An input shape was given (--input): stored shapes of later inputs are not used. */
  inputGiven: boolean;
  /** Per weight layer: the layer whose channels it takes one to one, the layers that take its channels so, and its first other use. */
  channels: Map<GraphLayer, { from?: GraphLayer; to: GraphLayer[]; elsewhere?: string }>;
}

/** Layers whose output channel c depends on input channel c alone: removing a channel before them removes it after them. */
const PER_CHANNEL = new Set([
  'BatchNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU', 'Dropout', 'SpatialDropout2D',
  'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D',
  'GlobalMaxPooling2D', 'ZeroPadding2D', 'UpSampling2D', 'Rescaling', 'ActivityRegularization',
]);

/** The weight layer whose channels a value carries one to one, if any. */
type Source = GraphLayer | undefined;

function channelUse(ctx: Context, layer: GraphLayer): { from?: GraphLayer; to: GraphLayer[]; elsewhere?: string } {
  let use = ctx.channels.get(layer);
  if (!use) ctx.channels.set(layer, (use = { to: [] }));
  return use;
}

/** Records that `source`'s channels reach something other than a weight layer: its filters cannot go alone. */
function usedElsewhere(ctx: Context, source: Source, what: string): void {
  if (source) channelUse(ctx, source).elsewhere ??= what;
}

/** Classes of a model nested as a layer of another (a Functional base model inside a Sequential). */
const NESTED_MODELS = new Set(['Functional', 'Model', 'Sequential']);

function windowSize(size: number, kernel: number, stride: number, dilation: number, same: boolean): { out: number; before: number; after: number } | undefined {
  if (same) {
    const [before, after] = samePadding(size, kernel, stride, dilation);
    return { out: Math.ceil(size / stride), before, after };
  }
  const out = Math.floor((size - (kernel - 1) * dilation - 1) / stride) + 1;
  return out > 0 ? { out, before: 0, after: 0 } : undefined;
}

/** Adds the conv layer and returns its output shape. */
function convLayer(ctx: Context, name: string, opType: string, config: Json, x: Shape, kernel: TensorSource, K: number, groups: number, C: number, bias?: TensorSource): Shape {
  const [R, S] = pair(config.kernel_size, 1);
  const strides = pair(config.strides, 1);
  const dilations = pair(config.dilation_rate, 1);
  const same = config.padding === 'same';
  let output: Shape;
  let pads: [number, number, number, number] | undefined = same ? undefined : [0, 0, 0, 0];
  if (x?.length === 4) {
    const rows = windowSize(x[2]!, R, strides[0], dilations[0], same);
    const cols = windowSize(x[3]!, S, strides[1], dilations[1], same);
    if (rows && cols) {
      output = [x[0]!, K, rows.out, cols.out];
      pads = [rows.before, cols.before, rows.after, cols.after];
    }
  }
  ctx.layers.push({
    name,
    opType,
    kind: 'conv',
    weight: kernel.name,
    ...(bias ? { bias: bias.name } : {}),
    conv: { C, K, R, S, groups, strides, dilations, ...(pads ? { pads } : {}) },
    ...(x?.length === 4 && output ? { input: x, output } : {}),
  });
  return output;
}

/** Follows one layer: records its weight layers and returns its output shape. */
function visitLayer(ctx: Context, layer: Json, inputs: Shape[], scope: readonly string[]): Shape {
  const className = String(layer.class_name ?? '');
  const config = isObject(layer.config) ? layer.config : {};
  const own = String(config.name ?? layer.name ?? className);
  // Inside a nested model the layer is named by its path, as the weights are stored: base/conv1.
  const name = [...scope, own].join('/');
  const take = (rank: number, fits: (shape: number[]) => boolean): TensorSource | undefined => ctx.weights.take(own, rank, fits, scope);
  const channelsFirst = config.data_format === 'channels_first';
  const x = inputs[0];
  const biasFor = (K: number): TensorSource | undefined => (config.use_bias === false ? undefined : take(1, (s) => s[0] === K));
  const missing = (what: string): Shape => {
    ctx.notes.push(`${className} '${name}': no ${what} among the file's tensors; left out`);
    return undefined;
  };
  switch (className) {
    case 'InputLayer':
      return fromStored(config.batch_input_shape ?? config.batch_shape, channelsFirst);
    case 'Conv2D': {
      const K = positive(config.filters);
      const [R, S] = pair(config.kernel_size, 1);
      if (K === undefined) return undefined;
      const kernel = take(4, (s) => s[0] === R && s[1] === S && s[3] === K);
      if (!kernel) return missing('kernel');
      const perGroup = kernel.shape[2]!;
      const C = x?.length === 4 ? x[1]! : perGroup * (positive(config.groups) ?? 1);
      return convLayer(ctx, name, className, config, x, kernel, K, C / perGroup, C, biasFor(K));
    }
    case 'DepthwiseConv2D':
    case 'SeparableConv2D': {
      const [R, S] = pair(config.kernel_size, 1);
      const depthwise = take(4, (s) => s[0] === R && s[1] === S && (x?.length !== 4 || s[2] === x[1]));
      if (!depthwise) return missing('depthwise kernel');
      const C = depthwise.shape[2]!;
      const K = C * depthwise.shape[3]!;
      if (className === 'DepthwiseConv2D') return convLayer(ctx, name, className, config, x, depthwise, K, C, C, biasFor(K));
      const filters = positive(config.filters);
      const pointwise = take(4, (s) => s[0] === 1 && s[1] === 1 && s[2] === K && s[3] === filters);
      if (!pointwise || filters === undefined) return missing('pointwise kernel');
      const mid = convLayer(ctx, `${name} (depthwise)`, className, config, x, depthwise, K, C, C);
      return convLayer(ctx, `${name} (pointwise)`, className, { kernel_size: 1, strides: 1, padding: 'valid' }, mid, pointwise, filters, 1, K, biasFor(filters));
    }
    case 'Conv2DTranspose': {
      const K = positive(config.filters);
      const [R, S] = pair(config.kernel_size, 1);
      const kernel = K === undefined ? undefined : take(4, (s) => s[0] === R && s[1] === S && s[2] === K);
      if (!kernel || K === undefined) return missing('kernel');
      const strides = pair(config.strides, 1);
      const same = config.padding === 'same';
      const output: Shape = x?.length === 4 ? [x[0]!, K, same ? x[2]! * strides[0] : (x[2]! - 1) * strides[0] + R, same ? x[3]! * strides[1] : (x[3]! - 1) * strides[1] + S] : undefined;
      const bias = biasFor(K);
      ctx.layers.push({
        name,
        opType: className,
        kind: 'convTranspose',
        weight: kernel.name,
        ...(bias ? { bias: bias.name } : {}),
        conv: { C: kernel.shape[3]!, K, R, S, groups: 1, strides, dilations: pair(config.dilation_rate, 1), ...(same ? {} : { pads: [0, 0, 0, 0] as [number, number, number, number] }) },
        ...(output ? { input: x, output } : {}),
      });
      return output;
    }
    case 'Dense': {
      const units = positive(config.units);
      const I = x?.[x.length - 1];
      const kernel = units === undefined ? undefined : take(2, (s) => s[1] === units && (I === undefined || s[0] === I));
      if (!kernel && units !== undefined && I !== undefined) {
        const other = take(2, (s) => s[1] === units);
        if (other) {
          ctx.notes.push(`Dense '${name}': its kernel [${other.shape.join(', ')}] does not take the ${I} features of the layer before; left out`);
          return undefined;
        }
      }
      if (!kernel || units === undefined) return missing('kernel');
      const inFeatures = kernel.shape[0]!;
      const rows = x && x.length >= 2 ? x.slice(0, -1).reduce((a, b) => a * b, 1) : undefined;
      const bias = biasFor(units);
      ctx.layers.push({
        name,
        opType: className,
        kind: 'linear',
        weight: kernel.name,
        ...(bias ? { bias: bias.name } : {}),
        linear: { inFeatures, outFeatures: units, layout: 'IO' },
        ...(rows !== undefined ? { input: [rows, inFeatures], output: [rows, units] } : {}),
      });
      return x && [...x.slice(0, -1), units];
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      if (x?.length !== 4) return undefined;
      const pool = pair(config.pool_size, 2);
      const strides = config.strides == null ? pool : pair(config.strides, 1);
      const rows = windowSize(x[2]!, pool[0], strides[0], 1, config.padding === 'same');
      const cols = windowSize(x[3]!, pool[1], strides[1], 1, config.padding === 'same');
      return rows && cols ? [x[0]!, x[1]!, rows.out, cols.out] : undefined;
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      if (x?.length !== 4) return undefined;
      return config.keepdims === true ? [x[0]!, x[1]!, 1, 1] : [x[0]!, x[1]!];
    case 'Flatten':
      return x && [x[0]!, x.slice(1).reduce((a, b) => a * b, 1)];
    case 'ZeroPadding2D': {
      if (x?.length !== 4) return undefined;
      const p = config.padding;
      const [[top, bottom], [left, right]] = Array.isArray(p) && Array.isArray(p[0]) ? [pair(p[0], 0), pair(p[1], 0)] : (() => {
        const [a, b] = pair(p, 1);
        return [[a, a], [b, b]];
      })();
      return [x[0]!, x[1]!, x[2]! + top + bottom, x[3]! + left + right];
    }
    case 'UpSampling2D': {
      if (x?.length !== 4) return undefined;
      const [a, b] = pair(config.size, 2);
      return [x[0]!, x[1]!, x[2]! * a, x[3]! * b];
    }
    case 'Reshape':
      return x && Array.isArray(config.target_shape) ? fromStored([x[0], ...config.target_shape], channelsFirst) : undefined;
    case 'Concatenate': {
      if (inputs.some((s) => !s) || inputs.length === 0) return undefined;
      const rank = x!.length;
      const axis = typeof config.axis === 'number' ? config.axis : -1;
      // Channels: the last axis stored channels-last, axis 1 channels-first; canonically axis 1 of 4-D shapes.
      const canonical = rank === 4 ? (axis === -1 || axis === 3 ? 1 : axis === 1 ? 1 : -1) : axis < 0 ? rank + axis : axis;
      if (canonical < 0 || inputs.some((s) => s!.length !== rank)) return undefined;
      const out = x!.slice();
      out[canonical] = inputs.reduce((sum, s) => sum + s![canonical]!, 0);
      return out;
    }
    default:
      if (SHAPE_PRESERVING.has(className) || MERGE.has(className)) return x;
      if (!ctx.stoppedClasses.has(className)) {
        ctx.stoppedClasses.add(className);
        ctx.notes.push(`${className} layers (first '${name}'): output shape not followed; the layers after depend on it may lack sizes`);
      }
      return undefined;
  }
}

/**
 * The Conv2D, DepthwiseConv2D, SeparableConv2D (as its depthwise and pointwise layers),
 * Conv2DTranspose and Dense layers of a Keras model config. `input` replaces the first input's
 * batch shape (in the config's own axis order).
 */
export function kerasGraphLayers(stored: unknown, tensors: readonly TensorSource[], input?: number[]): GraphLayers | undefined {
  const model = modelConfigOf(stored);
  if (!model) return undefined;
  const list = layerList(model);
  const ctx: Context = { weights: new WeightMatcher(tensors), layers: [], notes: [], stoppedClasses: new Set(), inputGiven: input !== undefined, channels: new Map() };
  const first = list[0];
  const firstConfig = isObject(first?.config) ? first.config : {};
  const storedInput = firstConfig.batch_input_shape ?? firstConfig.batch_shape ?? (isObject(first?.build_config) ? [null, ...((first.build_config.input_shape as unknown[]) ?? []).slice(1)] : undefined);
  const inputName = String(firstConfig.name ?? 'input');
  const dims = Array.isArray(storedInput) ? storedInput.map((d) => (typeof d === 'number' ? d : '?')) : [];
  if (input && dims.length > 0 && dims.length !== input.length) {
    throw new Error(`input '${inputName}' has ${dims.length} dimensions [${dims.join(', ')}], but the given input shape [${input.join(', ')}] has ${input.length}`);
  }
  const channelsFirst = firstConfig.data_format === 'channels_first';
  const out = followModel(ctx, model, { shape: fromStored(input ?? storedInput, channelsFirst), source: undefined }, [], 0);
  usedElsewhere(ctx, out.source, "the model's output");
  for (const layer of ctx.layers) {
    const use = channelUse(ctx, layer);
    layer.channels = { ...(use.from ? { from: use.from.name } : {}), to: use.to.map((l) => l.name), ...(use.elsewhere ? { elsewhere: use.elsewhere } : {}) };
  }
  return { inputs: dims.length > 0 ? [{ name: inputName, dims }] : [], layers: ctx.layers, notes: ctx.notes };
}

/** The names of a Functional model's output layers (output_layers: [[name, node, tensor], ...]). */
function outputLayersOf(model: Json): string[] {
  const config = isObject(model.config) ? model.config : {};
  const outputs = config.output_layers;
  if (!Array.isArray(outputs)) return [];
  const list = typeof outputs[0] === 'string' ? [outputs] : outputs;
  return list.flatMap((o) => (Array.isArray(o) && typeof o[0] === 'string' ? [o[0]] : []));
}

/** A value between layers: its shape and the weight layer whose channels it carries. */
interface Flow {
  shape: Shape;
  source: Source;
}

/** Follows one layer that is not a model: records its weight layers and how channels flow through it. */
function followLayer(ctx: Context, layer: Json, inputs: Flow[], scope: readonly string[]): Flow {
  const className = String(layer.class_name ?? '');
  const config = isObject(layer.config) ? layer.config : {};
  const before = ctx.layers.length;
  const shape = visitLayer(ctx, layer, inputs.map((i) => i.shape), scope);
  const added = ctx.layers.slice(before);
  const label = `${className} '${[...scope, String(config.name ?? className)].join('/')}'`;
  if (added.length > 0) {
    // Each weight layer takes the one before it (a SeparableConv2D's pointwise takes its depthwise).
    let source = inputs[0]?.source;
    for (const [i, current] of added.entries()) {
      if (source) {
        channelUse(ctx, current).from = source;
        channelUse(ctx, source).to.push(current);
      }
      source = current;
      if (i > 0) continue;
      for (const other of inputs.slice(1)) usedElsewhere(ctx, other.source, label);
    }
    return { shape, source };
  }
  const x = inputs[0]?.shape;
  const flattensChannels = className === 'Flatten' && x !== undefined && x.slice(2).every((d) => d === 1);
  if ((PER_CHANNEL.has(className) || flattensChannels) && inputs.length === 1) return { shape, source: inputs[0]!.source };
  for (const input of inputs) usedElsewhere(ctx, input.source, label);
  return { shape, source: undefined };
}

/**
 * Follows a model's layers from `x`, its input, and returns its output. A layer that is itself a
 * model (a Functional base model in a Sequential) is followed through its own layers, its inputs
 * taking what the outer model gives it; its layers are named base/layer.
 */
function followModel(ctx: Context, model: Json, x: Flow, scope: readonly string[], depth: number): Flow {
  const sequential = model.class_name === 'Sequential';
  const flows = new Map<string, Flow>();
  let previous: Flow = x;
  for (const [index, layer] of layerList(model).entries()) {
    const config = isObject(layer.config) ? layer.config : {};
    const name = String(config.name ?? layer.name ?? `layer${index}`);
    const channelsFirst = config.data_format === 'channels_first';
    if (layer.class_name === 'InputLayer') {
      // The outermost model's input is the given or stored shape; a nested model's is what the outer model feeds it.
      const stored = fromStored(config.batch_input_shape ?? config.batch_shape, channelsFirst);
      let output: Flow;
      if (scope.length > 0) output = x;
      else if (ctx.inputGiven) output = index === 0 ? x : { shape: stored, source: undefined };
      else output = { shape: stored ?? previous.shape, source: undefined };
      flows.set(name, output);
      previous = output;
      continue;
    }
    const inbound = inboundOf(layer);
    const inputs: Flow[] = sequential || inbound.length === 0
      ? [previous]
      : inbound.map((ref) => flows.get(ref.name) ?? { shape: ctx.inputGiven ? undefined : fromStored(ref.shape, channelsFirst), source: undefined });
    let output: Flow;
    if (NESTED_MODELS.has(String(layer.class_name)) && layerList(layer).length > 0) {
      if (depth >= MAX_DEPTH) {
        ctx.notes.push(`${String(layer.class_name)} '${name}': models nested more than ${MAX_DEPTH} deep are not followed`);
        for (const input of inputs) usedElsewhere(ctx, input.source, `${String(layer.class_name)} '${name}'`);
        output = { shape: undefined, source: undefined };
      } else output = followModel(ctx, layer, inputs[0]!, [...scope, name], depth + 1);
    } else output = followLayer(ctx, layer, inputs, scope);
    flows.set(name, output);
    previous = output;
  }
  if (!sequential) {
    const outputs = outputLayersOf(model);
    if (outputs.length > 0) {
      // Channels that leave through a second output go elsewhere.
      for (const other of outputs.slice(1)) usedElsewhere(ctx, flows.get(other)?.source, "the model's output");
      return flows.get(outputs[0]!) ?? { shape: undefined, source: undefined };
    }
  }
  return previous;
}

/** Most bytes of a model config read as JSON (configs of large models are a few MB). */
export const MAX_MODEL_CONFIG_BYTES = 64 * 1024 * 1024;

/**
 * Sets `opened.graphLayers` from a stored model config (JSON text or parsed) when the file was
 * opened with `graphLayers`; a config that is not valid JSON is an error naming the file.
 */
export function attachKerasLayers(opened: OpenedWeightFile, stored: unknown, options: OpenOptions | undefined, where: string): void {
  if (!options?.graphLayers || stored === undefined) return;
  let config = stored;
  if (typeof stored === 'string') {
    if (stored.length > MAX_MODEL_CONFIG_BYTES) throw new WeightFileError(opened.file, `${where} is longer than ${MAX_MODEL_CONFIG_BYTES} bytes`);
    try {
      config = JSON.parse(stored);
    } catch (error) {
      throw new WeightFileError(opened.file, `${where} is not valid JSON (${(error as Error).message})`);
    }
  }
  try {
    const layers = kerasGraphLayers(config, opened.tensors, options.graphLayers.input);
    if (layers) opened.graphLayers = layers;
  } catch (error) {
    throw new WeightFileError(opened.file, (error as Error).message);
  }
}
