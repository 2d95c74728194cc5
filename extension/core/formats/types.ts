/**
 * The contract between weight-file parsers and the statistics that consume them.
 *
 * A parser reads only headers when it opens a file, and hands out one TensorSource per tensor. Values
 * are decoded lazily, in bounded chunks, so a multi-GB checkpoint never sits in memory: the
 * statistics walk `chunks()` and keep running sums. Parsers never import `vscode`.
 */
import type { LayoutBasis, LeftOutTensor, TensorHeader, WeightFormat } from '../../shared/payloads';
import type { GraphLayers } from './graphLayers';

export type { LayoutBasis, LeftOutTensor };

/** Thrown for any malformed or unsupported input; the message names the file and the problem. */
export class WeightFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    /** The library error behind the problem (a WebAssembly trap of HDF5 tells the worker to retire). */
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
    this.name = 'WeightFileError';
  }
}

/**
 * Axis order of a stored 4-D convolution kernel: O = output channels, I = input channels (or the
 * depth multiplier of a depthwise kernel), H/W = kernel rows/columns.
 */
export type TensorLayout = 'OIHW' | 'HWIO' | 'OHWI' | 'IHWO' | 'HWOI' | 'IOHW' | MatrixLayout;

/** Axis order of a stored 2-D weight: [O, I] (PyTorch, ONNX Linear) or [I, O] (Keras Dense). */
export type MatrixLayout = 'OI' | 'IO';

/** A run of decoded values, as `TensorSource.chunks()` yields them. */
export type FloatChunk = Float32Array | Float64Array;

export interface TensorSource extends TensorHeader {
  /**
   * Decoded values in row-major (C) order, as float32 or float64 chunks of at most
   * `maxChunkElements` elements (default 1 << 20). Quantised and half-precision data arrive
   * dequantised; sparse storage arrives densified. Each chunk may be reused by the producer after
   * the consumer's loop body returns, so copy what must outlive it.
   */
  chunks(options?: { maxChunkElements?: number; signal?: AbortSignal }): AsyncIterable<FloatChunk>;
  /**
   * Quantised storage: how stored integers map to values and which of them is zero, said to the
   * user beside the zero count. The decoder turns a stored value equal to the zero point into
   * exactly 0, so the zero count counts those.
   */
  quantization?: string;
  /** Where the raw bytes lie in the file, when they lie in one contiguous run. */
  byteOffset?: number;
  byteLength?: number;
  /**
   * For 4-D kernels stored in an order other than PyTorch's [K,C,R,S] (TF.js, Keras and TFLite keep
   * HWIO or OHWI): the stored axis order. `chunks()` still yields the values as stored; statistics
   * map axes through this. Absent means the format's convention (OIHW / OI for most).
   */
  layout?: TensorLayout;
  /**
   * Every element has this value and nothing is stored for it (an HDF5 dataset never written holds
   * only its fill value). `chunks()` still yields the values; statistics of a large one are computed
   * in closed form instead of streaming it.
   */
  constant?: number;
  /** What `layout` rests on, when the parser inferred it rather than read it from the format. */
  layoutBasis?: LayoutBasis;
  /** Not stored as such: the product of a stored parameter and its pruning mask (sparsity/masks.ts). */
  maskedFrom?: { orig: string; mask: string; kind: 'torch-prune' | 'asp' };
}

export interface OpenedWeightFile {
  file: string;
  format: WeightFormat;
  fileBytes: number;
  tensors: TensorSource[];
  /** Non-fatal findings: skipped pickle globals, masks, ignored non-weight entries. */
  warnings: string[];
  /** Weight tensors the file holds but the parser cannot decode (not in `tensors`). */
  leftOut?: LeftOutTensor[];
  /**
   * FLOPs per weight tensor, from the graph: ONNX gives them when opened with `graphFlops` (they
   * need shape propagation through the whole graph); TFLite always (its shapes are stored).
   */
  flopsByTensor?: Record<string, number>;
  /** The layers with weights that the graph defines, when opened with `graphLayers` (ONNX, TFLite). */
  graphLayers?: GraphLayers;
  /** Free-form header metadata (safetensors `__metadata__`, GGUF key-values rendered as text). */
  metadata?: Record<string, string>;
  /**
   * Files other than `file` that the model is read from (shards, the Darknet .cfg, TF.js .bin
   * files), so that nothing written for the model (prune's output) can land on one of them.
   */
  companions?: string[];
  /** Release file handles. */
  close(): Promise<void>;
}

export interface OpenOptions {
  signal?: AbortSignal;
  /** Companion file for formats that need two (Darknet .cfg). */
  companion?: string;
  /** Propagate shapes through the model's graph for `flopsByTensor` (ONNX); off for listing and statistics. */
  graphFlops?: boolean;
  /**
   * List the graph's layers with weights (ONNX, TFLite) in `graphLayers`. `input` replaces the
   * shape of the graph's first input (in the file's own axis order) before shapes are propagated.
   */
  graphLayers?: { input?: number[] };
}

export interface WeightFormatParser {
  format: WeightFormat;
  /** Content sniffing: `head` holds up to the first 4096 bytes of the file. */
  sniff(head: Uint8Array, fileName: string): boolean;
  open(file: string, options?: OpenOptions): Promise<OpenedWeightFile>;
}
