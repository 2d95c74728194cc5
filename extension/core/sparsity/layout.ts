/**
 * Which axis of a stored weight tensor is the output (K), the input channel (C) and the spatial
 * extent (P = R*S), and what kind of layer the tensor belongs to. Structured statistics (filters,
 * channels, kernels, 2:4 groups, blocks) are defined on the canonical [K, C, R, S] / [O, I] view, but
 * values stream in stored order, so every consumer needs this mapping.
 */
import type { LayerType, LayoutBasis, TensorHeader, WeightFormat } from '../../shared/payloads';
import { type OpenedWeightFile, type TensorLayout, WeightFileError } from '../formats/types';

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
  /** What the layout rests on (see LayoutBasis). */
  basis: LayoutBasis;
}

/** Formats whose 4-D kernels and 2-D matrices are stored channels-last ([H,W,I,O] / [I,O]). */
const CHANNELS_LAST_FORMATS: ReadonlySet<WeightFormat> = new Set<WeightFormat>(['keras', 'hdf5', 'tfjs']);

/**
 * The view of a tensor for structured statistics, or undefined when it has none (rank other than 2
 * or 4, or an empty tensor). An explicit `layout` on the header (set by parsers that know it) wins over
 * the format's convention. Integer index tensors (see layerTypeOf) have none either.
 */
export function weightViewOf(header: TensorHeader & { layout?: string; layoutBasis?: LayoutBasis }, format?: WeightFormat): WeightView | undefined {
  const view = canonicalView(header, format);
  return view && { ...view, basis: header.layout ? (header.layoutBasis ?? 'format') : 'format' };
}

function canonicalView(header: TensorHeader & { layout?: string }, format?: WeightFormat): Omit<WeightView, 'basis'> | undefined {
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

function matrixOrConv(order: 'KCP' | 'KPC' | 'PCK', K: number, C: number, P: number, layout: string): Omit<WeightView, 'basis'> {
  if (P === 1) return { order: order === 'PCK' ? 'CK' : 'KC', K, C, P: 1, rank: 4, layout };
  return { order, K, C, P, rank: 4, layout };
}

/** Layouts a user may choose for 4-D kernels, and the matrix order each implies for 2-D weights. */
const CHOSEN_CONV_LAYOUTS: Readonly<Record<string, 'OI' | 'IO'>> = { OIHW: 'OI', OHWI: 'OI', HWIO: 'IO' };
const CHOSEN_MATRIX_LAYOUTS: ReadonlySet<string> = new Set(['OI', 'IO']);
export const CHOSEN_LAYOUTS: readonly string[] = [...Object.keys(CHOSEN_CONV_LAYOUTS), ...CHOSEN_MATRIX_LAYOUTS];

/**
 * The user's layouts: one for every 4-D kernel (which also sets the matrix order it implies, OIHW ->
 * OI, HWIO -> IO), one for every matrix, and per-tensor choices by name (`*` matches any run of
 * characters), which win over the file-wide ones.
 */
export interface LayoutOverride {
  /** As the user wrote it, for reports to repeat. */
  text: string;
  conv?: TensorLayout;
  matrix?: 'OI' | 'IO';
  byName: { pattern: string; match: RegExp; layout: TensorLayout }[];
}

/**
 * Parses `OIHW`, `OIHW,IO` or `conv1.weight=OIHW,fc.*=OI` (case of layout names ignored). Throws a
 * RangeError saying what is wrong.
 */
export function parseLayoutOverride(text: string): LayoutOverride {
  const override: LayoutOverride = { text: text.trim(), byName: [] };
  const entries = text.split(',').map((e) => e.trim());
  if (entries.some((e) => e === '')) throw new RangeError(`expected LAYOUT or NAME=LAYOUT entries separated by commas, got '${text}'`);
  for (const entry of entries) {
    const eq = entry.lastIndexOf('=');
    const pattern = eq < 0 ? undefined : entry.slice(0, eq).trim();
    const layout = (eq < 0 ? entry : entry.slice(eq + 1)).trim().toUpperCase();
    if (!CHOSEN_LAYOUTS.includes(layout)) throw new RangeError(`unknown layout '${eq < 0 ? entry : entry.slice(eq + 1)}' (choose ${CHOSEN_LAYOUTS.join(', ')})`);
    if (pattern !== undefined) {
      if (pattern === '') throw new RangeError(`'${entry}' names no tensor before '='`);
      const match = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
      override.byName.push({ pattern, match, layout: layout as TensorLayout });
    } else if (CHOSEN_MATRIX_LAYOUTS.has(layout)) {
      if (override.matrix) throw new RangeError(`two layouts for every matrix: ${override.matrix} and ${layout}`);
      override.matrix = layout as 'OI' | 'IO';
    } else {
      if (override.conv) throw new RangeError(`two layouts for every 4-D kernel: ${override.conv} and ${layout}`);
      override.conv = layout as TensorLayout;
    }
  }
  return override;
}

/** A 4-D layout named for a 2-D tensor means the matrix order it implies. */
function layoutForRank(layout: TensorLayout, rank: number): TensorLayout | undefined {
  if (rank === 4) return CHOSEN_MATRIX_LAYOUTS.has(layout) ? undefined : layout;
  if (rank === 2) return CHOSEN_MATRIX_LAYOUTS.has(layout) ? layout : CHOSEN_CONV_LAYOUTS[layout];
  return undefined;
}

/**
 * Sets the user's layouts on the tensors of `opened` (basis 'override'), so that every statistic of
 * this opened file reads them so. A named choice that matches no 2-D or 4-D tensor, or a matrix
 * order named for a 4-D kernel, is an error naming the file.
 */
export function applyLayoutOverride(opened: OpenedWeightFile, override: LayoutOverride): void {
  const used = new Set<string>();
  for (const tensor of opened.tensors) {
    const rank = tensor.shape.length;
    if (rank !== 2 && rank !== 4) continue;
    const named = override.byName.find((entry) => entry.match.test(tensor.name));
    let layout: TensorLayout | undefined;
    if (named) {
      used.add(named.pattern);
      layout = layoutForRank(named.layout, rank);
      if (!layout) throw new WeightFileError(opened.file, `layout ${named.pattern}=${named.layout}: "${tensor.name}" is ${rank}-D [${tensor.shape.join(', ')}], which a matrix order cannot describe`);
    } else if (rank === 4) {
      layout = override.conv;
    } else {
      layout = override.matrix ?? (override.conv && CHOSEN_CONV_LAYOUTS[override.conv]);
    }
    if (!layout) continue;
    tensor.layout = layout;
    tensor.layoutBasis = 'override';
  }
  const unused = override.byName.filter((entry) => !used.has(entry.pattern));
  if (unused.length > 0) {
    throw new WeightFileError(opened.file, `layout: no 2-D or 4-D tensor named ${unused.map((e) => `"${e.pattern}"`).join(', ')}`);
  }
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
