/**
 * Which axis of a stored weight tensor is the output (K), the input channel (C) and the spatial
 * extent (P = R*S), and what kind of layer the tensor belongs to. Structured statistics (filters,
 * channels, kernels, 2:4 groups, blocks) are defined on the canonical [K, C, R, S] / [O, I] view, but
 * values stream in stored order, so every consumer needs this mapping.
 */
import type { LayerType, TensorHeader, WeightFormat } from '../../shared/payloads';

/**
 * Stored order after merging the spatial axes into one (they are adjacent in every layout):
 *   KCP: OIHW (PyTorch, ONNX, safetensors)   KPC: OHWI (TFLite conv)   PCK: HWIO (Keras, TF.js)
 *   KC:  2-D [O, I] (PyTorch/ONNX Linear)    CK:  2-D [I, O] (Keras Dense)
 * A 1x1 convolution is a KC/CK matrix with P = 1 in all its statistics.
 */
export type AxisOrder = 'KCP' | 'KPC' | 'PCK' | 'KC' | 'CK';

export interface WeightView {
  order: AxisOrder;
  /** Output channels / rows. */
  K: number;
  /** Input channels / columns. */
  C: number;
  /** Spatial extent R*S (1 for matrices). */
  P: number;
  /** Rank of the stored tensor: 4 for convolutions, 2 for matrices. */
  rank: 2 | 4;
  /** Layout name reported to the user, e.g. 'OIHW'. */
  layout: string;
}

/** Formats whose 4-D kernels and 2-D matrices are stored channels-last ([H,W,I,O] / [I,O]). */
const CHANNELS_LAST_FORMATS: ReadonlySet<WeightFormat> = new Set<WeightFormat>(['keras', 'hdf5', 'tfjs']);

/**
 * The view of a tensor for structured statistics, or undefined when it has none (rank other than 2
 * or 4, or an empty tensor). An explicit `layout` on the header (set by parsers that know it) wins over
 * the format's convention. Integer index tensors (see layerTypeOf) have none either.
 */
export function weightViewOf(header: TensorHeader & { layout?: string }, format?: WeightFormat): WeightView | undefined {
  const shape = header.shape;
  if (shape.some((d) => d <= 0) || INDEX_DTYPES.has(header.dtype)) return undefined;
  const declared = header.layout?.toUpperCase();
  if (shape.length === 4) {
    const layout = declared ?? (format === 'tflite' ? 'OHWI' : format && CHANNELS_LAST_FORMATS.has(format) ? 'HWIO' : 'OIHW');
    const [a, b, c, d] = shape as [number, number, number, number];
    switch (layout) {
      case 'OIHW':
        return matrixOrConv('KCP', a, b, c * d, layout);
      case 'HWIO':
        return matrixOrConv('PCK', d, c, a * b, layout);
      case 'OHWI':
        return matrixOrConv('KPC', a, d, b * c, layout);
      case 'IHWO':
        // TFLite depthwise kernels are [1, H, W, C*M]: with one input channel, [I, H, W, O] is HWIO.
        return a === 1 ? matrixOrConv('PCK', d, 1, b * c, layout) : undefined;
      default:
        return undefined;
    }
  }
  if (shape.length === 2) {
    const layout = declared ?? (format && CHANNELS_LAST_FORMATS.has(format) ? 'IO' : 'OI');
    const [a, b] = shape as [number, number];
    if (layout === 'OI') return { order: 'KC', K: a, C: b, P: 1, rank: 2, layout };
    if (layout === 'IO') return { order: 'CK', K: b, C: a, P: 1, rank: 2, layout };
    return undefined;
  }
  return undefined;
}

function matrixOrConv(order: 'KCP' | 'KPC' | 'PCK', K: number, C: number, P: number, layout: string): WeightView {
  if (P === 1) return { order: order === 'PCK' ? 'CK' : 'KC', K, C, P: 1, rank: 4, layout };
  return { order, K, C, P, rank: 4, layout };
}

const INDEX_DTYPES: ReadonlySet<string> = new Set(['int32', 'int64', 'uint32', 'uint64', 'bool']);

const NORM_NAME = /(norm|(^|[._])bn\d*([._]|$)|(^|[._])ln\w*([._]|$)|running_(mean|var)|gamma|beta|moving_(mean|variance))/i;
const EMBEDDING_NAME = /(embed|(^|[._])wte([._]|$)|(^|[._])wpe([._]|$)|tok_embeddings|word_embeddings|position_embeddings|token_type_embeddings)/i;
const BIAS_NAME = /(bias|(^|[._/:])b(:0)?$)/i;

/**
 * The layer kind, from name and shape. Norm parameters are recognised by name first, since a
 * LayerNorm weight is 1-D exactly like a bias; embeddings by name, since they are 2-D like a Linear.
 */
export function layerTypeOf(header: TensorHeader): LayerType {
  const name = header.name;
  const rank = header.shape.length;
  // Wide integers hold indices, shapes and counters (paddings, num_batches_tracked), not weights;
  // 8- and 16-bit integers may well be quantised weights.
  if (INDEX_DTYPES.has(header.dtype) || /num_batches_tracked$/.test(name)) return 'other';
  if (rank <= 1 && NORM_NAME.test(name)) return 'norm';
  if (rank <= 1 && BIAS_NAME.test(name)) return 'bias';
  if (rank === 2 && EMBEDDING_NAME.test(name)) return 'embedding';
  if (rank === 4 || ((rank === 3 || rank === 5) && /conv/i.test(name))) return 'conv';
  if (rank === 2) return 'linear';
  if (rank === 1 && /(^|[._/])(weight|scale)$/i.test(name) && /(norm|bn|ln)/i.test(name)) return 'norm';
  return 'other';
}

/** conv and linear weights are what the pruning what-ifs act on; biases, norms and embeddings stay. */
export function isPrunable(header: TensorHeader): boolean {
  const type = layerTypeOf(header);
  return (type === 'conv' || type === 'linear') && header.numel > 0 && !/(_mask|_mma_mask)$/.test(header.name);
}
