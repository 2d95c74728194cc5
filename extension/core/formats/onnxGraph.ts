/**
 * The ONNX graph as the scanner leaves it: nodes, attributes, value infos and tensors whose
 * payloads are byte ranges of the file, not yet read. The weight reader and the FLOP counter share
 * these types.
 */

export interface ByteRange {
  start: number;
  end: number;
  wire: number;
}

export interface ScannedTensor {
  name: string;
  dims: number[];
  dataType: number;
  externalData: Record<string, string>;
  dataLocation: number;
  raw?: ByteRange;
  /** Typed payload fields by field number, each occurrence as a range. */
  typed: Map<number, ByteRange[]>;
  segmented: boolean;
  at: number;
}

export interface ScannedSparseTensor {
  values?: ScannedTensor;
  indices?: ScannedTensor;
  dims: number[];
  at: number;
}

export interface ScannedAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  /** `s` decoded as UTF-8 (auto_pad and other enum-like strings). */
  s?: string;
  ints: number[];
  floats: number[];
  t?: ScannedTensor;
  g?: ScannedGraph;
  tensors: ScannedTensor[];
  graphs: ScannedGraph[];
  sparseTensor?: ScannedSparseTensor;
}

export interface ScannedNode {
  name: string;
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  attributes: ScannedAttribute[];
  /** Position among the graph's nodes, when nodes before it were left out of `ScannedGraph.nodes`. */
  index?: number;
}

export interface ValueInfo {
  name: string;
  elemType?: number;
  /** Static dims as numbers, symbolic ones as their dim_param (or '?' when absent). */
  dims?: (number | string)[];
}

export interface ScannedGraph {
  name: string;
  nodes: ScannedNode[];
  initializers: ScannedTensor[];
  sparseInitializers: ScannedSparseTensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: ValueInfo[];
}
