/**
 * Reads the user's model into the layers of the model report: from the file's graph where it has
 * one (ONNX, TFLite), otherwise from its weights' names and shapes. Only headers and the graph are
 * read here; weight values are streamed later, by the sparsity scan and the timings. A checkpoint
 * saved with pruning masks (torch.nn.utils.prune's weight_orig + weight_mask, NVIDIA ASP's
 * __weight_mma_mask) is read as the pruned model computes: each such weight is orig * mask.
 */
import type { ModelLayer, ModelReport } from '../../shared/payloads';
import { openWeightFile } from '../formats';
import type { GraphLayers } from '../formats/graphLayers';
import type { OpenedWeightFile } from '../formats/types';
import { withMasksApplied } from '../sparsity/masks';
import { layerFromGraph } from './layers';
import { layersFromWeights } from './weightLayers';

export interface ModelReadOptions {
  /** The first input's shape, N,C,H,W (in the file's own axis order for graphs). */
  input?: number[];
  signal?: AbortSignal;
}

/** An input shape is whole numbers of at least 1. */
export function checkInputShape(shape: readonly number[]): string | undefined {
  if (shape.length < 2 || shape.length > 5) return `an input shape has 2 to 5 dimensions (N,C,H,W for images), got ${shape.length}`;
  const bad = shape.find((d) => !Number.isSafeInteger(d) || d < 1);
  return bad === undefined ? undefined : `input dimensions must be whole numbers of at least 1, got ${bad}`;
}

function inputOf(graph: GraphLayers | undefined, given: number[] | undefined): ModelReport['input'] {
  const first = graph?.inputs[0];
  const described = first ? { name: first.name, dims: first.dims } : {};
  if (given) return { ...described, shape: given, from: 'option' };
  if (!first) return { shape: null, from: 'none' };
  const dims = first.dims.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : undefined));
  const fixed = dims.length > 0 && dims.every((d) => d !== undefined);
  return { ...described, shape: fixed ? (dims as number[]) : null, from: fixed ? 'file' : 'none' };
}

/** The report's layers and input for an opened file (opened with `graphLayers` for its graph). */
export function describeModel(opened: OpenedWeightFile, input?: number[]): ModelReport {
  const graph = opened.graphLayers;
  const tensors = new Map(opened.tensors.map((t) => [t.name, t]));
  const notes: string[] = [];
  let layers: ModelLayer[];
  if (graph) {
    layers = graph.layers.map((layer) => layerFromGraph(layer, (name) => tensors.get(name)));
    notes.push(...graph.notes);
    if (input && opened.format === 'tflite') notes.push('TFLite stores the shape of every tensor; the given input shape is not used');
  } else {
    const fromWeights = layersFromWeights(opened.tensors, opened.format, input);
    layers = fromWeights.layers;
    notes.push(`no graph in a ${opened.format} file: layers are read from the weights' names and shapes, in file order`, ...fromWeights.notes);
    notes.push(...combinedMaskNotes(opened));
  }
  const reportInput = inputOf(graph, input && opened.format !== 'tflite' ? input : undefined);
  const unknown = layers.filter((l) => l.flops === null).length;
  if (unknown > 0 && reportInput.shape && graph) {
    // The input size is known: what is missing is a shape the propagation could not follow.
    layers = layers.map((l) => (l.flops === null ? { ...l, needs: 'shapes the graph does not fix (propagation stopped before this layer)' } : l));
    notes.push(`${unknown} layer${unknown === 1 ? '' : 's'} without FLOPs: shape propagation from the input stopped before ${unknown === 1 ? 'it' : 'them'}`);
  }
  if (unknown > 0 && !reportInput.shape) {
    const dims = reportInput.dims;
    notes.push(
      dims && dims.some((d) => typeof d !== 'number')
        ? `input '${reportInput.name}' has dynamic dimensions [${dims.join(', ')}]: give --input with its ${dims.length} sizes for the sizes and FLOPs of ${unknown} layer${unknown === 1 ? '' : 's'}`
        : `${unknown} layer${unknown === 1 ? '' : 's'} need${unknown === 1 ? 's' : ''} the input size for FLOPs: give --input N,C,H,W`,
    );
  }
  const known = layers.filter((l) => l.flops !== null);
  return {
    file: opened.file,
    format: opened.format,
    source: graph ? 'graph' : 'weights',
    input: reportInput,
    layers,
    total: {
      layers: layers.length,
      params: layers.reduce((sum, l) => sum + l.params, 0),
      flops: known.reduce((sum, l) => sum + l.flops!, 0),
      flopsUnknown: unknown,
    },
    notes,
    warnings: opened.warnings,
  };
}

const MASK_KINDS = { 'torch-prune': 'torch.nn.utils.prune', asp: 'NVIDIA ASP' } as const;

/** What the report says of the weights it read as orig * mask. */
function combinedMaskNotes(opened: OpenedWeightFile): string[] {
  const byKind = new Map<string, string[]>();
  for (const t of opened.tensors) {
    if (!t.maskedFrom) continue;
    const kind = MASK_KINDS[t.maskedFrom.kind];
    byKind.set(kind, [...(byKind.get(kind) ?? []), `${t.name} = ${t.maskedFrom.orig} * ${t.maskedFrom.mask}`]);
  }
  return [...byKind].map(
    ([kind, products]) =>
      `${products.length} weight${products.length === 1 ? '' : 's'} combined from their pruning masks (${kind}): ${products.join(', ')}; sparsity, FLOPs and timings are of these products, as the pruned model computes`,
  );
}

/** Opens `file`, reads its layers and closes it. */
export async function readModel(file: string, options: ModelReadOptions = {}): Promise<ModelReport> {
  const opened = await openModelFile(file, options);
  try {
    return describeModel(opened, options.input);
  } finally {
    await opened.close();
  }
}

/**
 * Opens `file` with its graph's layers (for `describeModel`); the caller closes it. Without a graph,
 * masked parameters are replaced by orig * mask (under the parameter's name) and their masks dropped.
 */
export async function openModelFile(file: string, options: ModelReadOptions = {}): Promise<OpenedWeightFile> {
  const opened = await openWeightFile(file, { signal: options.signal, graphLayers: { ...(options.input ? { input: options.input } : {}) } });
  if (!opened.graphLayers) {
    const applied = withMasksApplied(opened.tensors);
    opened.tensors = applied.tensors;
    opened.warnings.push(...applied.problems);
  }
  return opened;
}
