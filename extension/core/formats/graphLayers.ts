/**
 * The layers with weights that a model's graph defines (ONNX, TFLite), as the graph parsers hand
 * them out with `OpenOptions.graphLayers`: each named as the file names it (so a layer lines up
 * with the node Netron shows), with its weight tensor's listed name and its geometry in NCHW terms
 * whatever the file's own activation layout. Sizes the graph does not fix are left out, never guessed.
 */

export interface GraphConvGeometry {
  /** Input channels (all groups), output channels, kernel rows and columns. */
  C: number;
  K: number;
  R: number;
  S: number;
  groups: number;
  strides: [number, number];
  dilations: [number, number];
  /** Zero padding: top, left, bottom, right; absent when automatic padding needs an unknown input size. */
  pads?: [number, number, number, number];
}

export interface GraphLayer {
  /** The node's name (ONNX; its first output when unnamed) or the output tensor's name (TFLite). */
  name: string;
  /**
   * The node as the file has it: its own name ('' for an unnamed ONNX node and every TFLite
   * operator, which has none) and its first output tensor, where viewers find an unnamed node.
   */
  node?: { name: string; output: string };
  /** The operator as the file spells it: Conv, ConvTranspose, Gemm, MatMul, CONV_2D, ... */
  opType: string;
  kind: 'conv' | 'convTranspose' | 'linear';
  /** The weight's name among the opened file's tensors. */
  weight: string;
  bias?: string;
  /** For convolutions. */
  conv?: GraphConvGeometry;
  /** For linear layers: features in and out, and the weight's axis order ([out, in] is OI). */
  linear?: { inFeatures: number; outFeatures: number; layout: 'OI' | 'IO' };
  /** Activation shapes: [N, C, H, W] for convolutions, [rows, features] for linear layers; absent when unknown. */
  input?: number[];
  output?: number[];
  /**
   * Where the graph's connectivity is followed (ONNX main graphs): the layer whose output channels
   * are this layer's input channels one to one (through per-channel ops: normalisation,
   * activations, pooling), the layers that take this layer's output that way, and the first other
   * use of it (an Add, a Concat, the model's output) when there is one.
   */
  channels?: { from?: string; to: string[]; elsewhere?: string };
}

export interface GraphInput {
  name: string;
  /** Static dims as numbers, symbolic ones by name ('?' when unnamed), in the file's own axis order. */
  dims: (number | string)[];
}

export interface GraphLayers {
  inputs: GraphInput[];
  layers: GraphLayer[];
  /** What the reader assumed or left out (symbolic batch taken as 1, weights computed by other nodes). */
  notes: string[];
}

/**
 * TensorFlow's SAME padding (ONNX SAME_UPPER; SAME_LOWER puts the odd pixel first): the output is
 * ceil(size / stride), and the padding that takes splits with the extra pixel after, or before.
 */
export function samePadding(size: number, kernel: number, stride: number, dilation: number, lower = false): [number, number] {
  const output = Math.ceil(size / stride);
  const total = Math.max(0, (output - 1) * stride + (kernel - 1) * dilation + 1 - size);
  const small = Math.floor(total / 2);
  return lower ? [total - small, small] : [small, total - small];
}
