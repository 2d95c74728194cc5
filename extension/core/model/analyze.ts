/**
 * The model report without timings: the layers read from the file, joined with the sparsity scan
 * of their weights (element, structured and 2:4 shares). Only the layers' weights and biases are
 * scanned; the totals are the sums of the rows.
 */
import type { ModelLayerSparsity, ModelReport, TensorStats } from '../../shared/payloads';
import type { OpenedWeightFile } from '../formats/types';
import { nmPattern } from '../sparsity/nmPattern';
import { scanOpenedWeightFile } from '../sparsity/scan';
import { describeModel, type ModelReadOptions, openModelFile } from './readModel';

function layerSparsity(stats: TensorStats): ModelLayerSparsity {
  const out: ModelLayerSparsity = { element: stats.sparsity };
  for (const key of ['filters', 'channels', 'kernels', 'rows', 'cols', 'nm24'] as const) {
    if (stats[key] !== undefined) out[key] = stats[key];
  }
  const retained = stats.retained?.['2:4'];
  if (retained !== undefined) out.retained24 = retained;
  return out;
}

export interface AnalyzeOptions extends ModelReadOptions {
  onProgress?(fraction: number, message: string): void;
}

/** Reads the layers of an opened file and scans their weights' sparsity. */
export async function analyzeOpenedModel(opened: OpenedWeightFile, options: AnalyzeOptions = {}): Promise<ModelReport> {
  const report = describeModel(opened, options.input);
  const weights = new Set(report.layers.map((l) => l.weight));
  const tensors = opened.tensors.filter((t) => weights.has(t.name));
  if (tensors.length === 0) return report;
  const scan = await scanOpenedWeightFile(
    { ...opened, tensors },
    { signal: options.signal, skipMasks: true, nm: [nmPattern(2, 4)], onProgress: (fraction, message) => options.onProgress?.(fraction, message) },
  );
  const byName = new Map(scan.tensors.map((t) => [t.name, t]));
  for (const layer of report.layers) {
    const stats = byName.get(layer.weight);
    if (stats) layer.sparsity = layerSparsity(stats);
  }
  for (const warning of scan.warnings) if (!report.warnings.includes(warning)) report.warnings.push(warning);
  return report;
}

/** Opens `file`, reads its layers, scans their weights and closes it. */
export async function analyzeModel(file: string, options: AnalyzeOptions = {}): Promise<ModelReport> {
  const opened = await openModelFile(file, options);
  try {
    return await analyzeOpenedModel(opened, options);
  } finally {
    await opened.close();
  }
}
