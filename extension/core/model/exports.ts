/**
 * The model report's per-layer figures in the files two graph viewers read beside a model, so the
 * figures show on the graph there:
 * - Netron's attachment (a JSON file with `signature: "netron:attachment"` opened next to the
 *   model): `metrics` items of {kind, target, name, value, type}; Netron looks an item up by
 *   `${kind}::${target}`, the target being the first line of a node's or value's name, '' for the
 *   model. It looks a node up only by a name it has: an unnamed ONNX node and a TFLite operator
 *   (which never has one) get their figures on the tensor they write (`value`), shown when that
 *   edge is selected.
 * - Model Explorer's node data (the JSON its GraphNodeData writes): one value per key in `results`,
 *   the key a node id or any output tensor name of the node, coloured along `gradient` (stops 0 and
 *   1 are the smallest and largest value). A named node is keyed by its name (the id its adapters
 *   give it), an unnamed one by its output tensor (adapters name unnamed nodes as they please).
 * Without a graph node, a layer is keyed by its own name (the Keras or TF.js layer).
 */
import type { ModelLayer, ModelReport } from '../../shared/payloads';
import { writeFile } from 'node:fs/promises';
import { checkOutputPath, writeOutputFile } from '../outputFile';

export const NETRON_ATTACHMENT_SIGNATURE = 'netron:attachment';

export interface NetronMetric {
  kind: 'model' | 'graph' | 'node' | 'value';
  target: string;
  name: string;
  value: number | string;
  type?: string;
}

export interface NetronAttachment {
  signature: typeof NETRON_ATTACHMENT_SIGNATURE;
  metadata: NetronMetric[];
  metrics: NetronMetric[];
}

/** Model Explorer's GraphNodeData: node id -> value, and the colour scale. */
export interface ModelExplorerNodeData {
  results: Record<string, { value: number }>;
  gradient: { stop: number; bgColor: string }[];
}

/** Where Netron finds a layer; it matches the first line of a name, so only that is written. */
function netronTarget(layer: ModelLayer): { kind: 'node' | 'value'; target: string } {
  const node = layer.graphNode;
  if (node && node.name === '' && node.output !== '') return { kind: 'value', target: node.output.split('\n')[0]! };
  return { kind: 'node', target: (node?.name || layer.name).split('\n')[0]! };
}

/** The key Model Explorer finds a layer's node by. */
function modelExplorerKey(layer: ModelLayer): string {
  const node = layer.graphNode;
  return node ? node.name || node.output || layer.name : layer.name;
}

/** The figures of one layer as name/value pairs, those the report has (untimed reports have fewer). */
function layerFigures(layer: ModelLayer): [string, number | string, string?][] {
  const figures: [string, number | string, string?][] = [['deep-accel params', layer.params]];
  if (layer.flops !== null) figures.push(['deep-accel FLOPs', layer.flops]);
  if (layer.sparsity) {
    figures.push(['deep-accel weight sparsity', layer.sparsity.element, 'percentage']);
    if (layer.sparsity.nm24 !== undefined) figures.push(['deep-accel 2:4 compliant groups', layer.sparsity.nm24, 'percentage']);
    if (layer.sparsity.retained24 !== undefined) figures.push(['deep-accel |w| kept by 2:4 pruning', layer.sparsity.retained24, 'percentage']);
  }
  if (layer.winograd.chosen) figures.push(['deep-accel Winograd tile', layer.winograd.chosen.tile]);
  if (layer.best) {
    figures.push(['deep-accel best algorithm', `${layer.best.algo} (${layer.best.layout})`]);
    figures.push(['deep-accel best ms', layer.best.msMedian]);
    figures.push(['deep-accel best error x direct', layer.best.errorVsDirect]);
  }
  if (layer.peerMs !== undefined) figures.push(['deep-accel onnxruntime ms', layer.peerMs]);
  if (layer.pruned) {
    if (layer.pruned.flops !== null) figures.push([`deep-accel pruned ${Math.round(layer.pruned.target * 100)}% FLOPs`, layer.pruned.flops]);
    if (layer.pruned.msMedian !== undefined) figures.push([`deep-accel pruned ${Math.round(layer.pruned.target * 100)}% ms`, layer.pruned.msMedian]);
    if (layer.pruned.speedup !== undefined) figures.push([`deep-accel pruned ${Math.round(layer.pruned.target * 100)}% speedup`, layer.pruned.speedup]);
  }
  return figures;
}

export function netronAttachment(report: ModelReport): NetronAttachment {
  const metrics: NetronMetric[] = [];
  const total = report.total;
  metrics.push({ kind: 'model', target: '', name: 'deep-accel params (conv and linear layers)', value: total.params });
  metrics.push({ kind: 'model', target: '', name: 'deep-accel FLOPs', value: total.flops });
  if (total.bestMs !== undefined) metrics.push({ kind: 'model', target: '', name: 'deep-accel sum of best ms', value: total.bestMs });
  if (total.pruned?.msMedian !== undefined) metrics.push({ kind: 'model', target: '', name: 'deep-accel pruned sum of ms', value: total.pruned.msMedian });
  const seen = new Set<string>();
  for (const layer of report.layers) {
    const { kind, target } = netronTarget(layer);
    for (const [name, value, type] of layerFigures(layer)) {
      // Netron keeps the first item of a name per node: a node that makes two layers (a Keras
      // SeparableConv2D) gets each layer's figures under the layer's own label.
      const key = `${kind}\u0000${target}\u0000${name}`;
      const label = seen.has(key) ? `${name} (${layer.name})` : name;
      seen.add(key);
      metrics.push({ kind, target, name: label, value, ...(type ? { type } : {}) });
    }
  }
  return { signature: NETRON_ATTACHMENT_SIGNATURE, metadata: [], metrics };
}

/** The figure Model Explorer colours nodes by: the best time when timed, otherwise the FLOPs. */
export function modelExplorerFigure(report: ModelReport): 'best ms' | 'FLOPs' {
  return report.layers.some((l) => l.best) ? 'best ms' : 'FLOPs';
}

export function modelExplorerNodeData(report: ModelReport): ModelExplorerNodeData {
  const timed = modelExplorerFigure(report) === 'best ms';
  const results: Record<string, { value: number }> = {};
  for (const layer of report.layers) {
    const value = timed ? layer.best?.msMedian : (layer.flops ?? undefined);
    if (value === undefined) continue;
    const id = modelExplorerKey(layer);
    // Two layers of one node (a Keras SeparableConv2D) add up: the node costs both.
    results[id] = { value: (results[id]?.value ?? 0) + value };
  }
  return { results, gradient: [{ stop: 0, bgColor: '#2e7d32' }, { stop: 0.5, bgColor: '#f9a825' }, { stop: 1, bgColor: '#c62828' }] };
}

export interface ModelExportPaths {
  exportNetron?: string;
  exportModelExplorer?: string;
}

/** The file text of one export, as written: for a surface that writes it elsewhere (another file system). */
export function modelExportText(report: ModelReport, target: 'netron' | 'modelExplorer'): string {
  return exportJson(target === 'netron' ? netronAttachment(report) : modelExplorerNodeData(report));
}

const exportJson = (data: unknown): string => `${JSON.stringify(data, null, 1)}\n`;

/**
 * Checks the export paths before any work: never the model (or a file it is read from), .json, a
 * writable folder. `labels` name each path in the messages (the CLI's flags by default).
 */
export async function checkModelExports(
  paths: ModelExportPaths,
  model: string,
  readFrom: readonly string[],
  labels: Partial<Record<keyof ModelExportPaths, string>> = {},
): Promise<ModelExportPaths> {
  const checked: ModelExportPaths = {};
  const inputs = [{ role: 'FILE', file: model }];
  const format = { name: 'JSON', extensions: ['.json'] };
  const netron = labels.exportNetron ?? '--export-netron';
  const modelExplorer = labels.exportModelExplorer ?? '--export-model-explorer';
  if (paths.exportNetron) checked.exportNetron = await checkOutputPath(paths.exportNetron, { label: netron, inputs, readFrom, format });
  if (paths.exportModelExplorer) checked.exportModelExplorer = await checkOutputPath(paths.exportModelExplorer, { label: modelExplorer, inputs, readFrom, format });
  if (checked.exportNetron && checked.exportNetron === checked.exportModelExplorer) {
    throw new Error(`${netron} and ${modelExplorer} are the same file ${checked.exportNetron}`);
  }
  return checked;
}

/** Writes the exports asked for (each through a temporary file and a rename); returns the notes the report shows. */
export async function writeModelExports(report: ModelReport, paths: ModelExportPaths): Promise<string[]> {
  const written: string[] = [];
  const json = (data: unknown) => (temporary: string) => writeFile(temporary, exportJson(data));
  if (paths.exportNetron) {
    const attachment = netronAttachment(report);
    await writeOutputFile(paths.exportNetron, json(attachment));
    written.push(`Netron attachment: ${paths.exportNetron} (${attachment.metrics.length} metrics; open it in Netron with the model shown)`);
  }
  if (paths.exportModelExplorer) {
    const data = modelExplorerNodeData(report);
    await writeOutputFile(paths.exportModelExplorer, json(data));
    written.push(`Model Explorer node data: ${paths.exportModelExplorer} (${modelExplorerFigure(report)} of ${Object.keys(data.results).length} nodes; load it as node data beside the model)`);
  }
  return written;
}
