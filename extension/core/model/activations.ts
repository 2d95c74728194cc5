/**
 * The user's own activations for the error measurements (--activations): a folder of .npy files
 * named by layer (the layer's name with characters a file name cannot hold as '_', then .npy),
 * each the layer's input, or one .npy file for the model's input (the first layer). Convolution
 * inputs are NCHW [N, C, H, W]; matrix products' inputs are [rows, features]. A file whose shape is
 * not the layer's input is an error naming the file, the layer and both shapes; layers without a
 * file get random activations, and the report says how many took the user's.
 */
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { ConvShape, ModelLayer } from '../../shared/payloads';
import { openWeightFile } from '../formats';
import { readNpyFloat32 } from '../formats/npy';
import { OptionError } from '../optionError';
import { isConvShape } from './layers';

export interface ActivationSource {
  path: string;
  kind: 'folder' | 'file';
}

/** Checks the path: an existing folder or .npy file. */
export async function openActivations(given: string): Promise<ActivationSource> {
  const info = await stat(given).catch(() => undefined);
  if (!info) throw new OptionError(`--activations ${given}: no such file or folder`);
  if (info.isDirectory()) return { path: given, kind: 'folder' };
  if (!given.toLowerCase().endsWith('.npy')) throw new OptionError(`--activations ${given}: give a folder of <layer>.npy files or one .npy file (the model's input)`);
  return { path: given, kind: 'file' };
}

/** The file name a layer's activations go by: its name, with / \ : * ? " < > | and control characters as '_'. */
export function activationFileName(layer: string): string {
  // eslint-disable-next-line no-control-regex
  return `${layer.replace(/[/\\:*?"<>|\u0000-\u001f]/g, '_')}.npy`;
}

/** The layer's input as the user stores it: [N, C, H, W], or [rows, features] for a matrix product. */
function storedShape(layer: ModelLayer, shape: ConvShape): number[] {
  return isConvShape(layer.shape) ? [shape.N, shape.C, shape.H, shape.W] : [shape.W, shape.C];
}

/**
 * The activations for `layer` (engine shape `shape`) as the engine's NCHW input, or undefined when
 * the source has none for it. A matrix product's [rows, features] become the engine's 1 x features
 * x 1 x rows input (its rows run as the columns of a 1x1 convolution).
 */
export async function layerActivations(source: ActivationSource, layer: ModelLayer, shape: ConvShape, first: boolean): Promise<{ file: string; data: Float32Array } | undefined> {
  let file: string;
  if (source.kind === 'file') {
    if (!first) return undefined;
    file = source.path;
  } else {
    file = path.join(source.path, activationFileName(layer.name));
    if (!(await stat(file).catch(() => undefined))?.isFile()) return undefined;
  }
  const expected = storedShape(layer, shape);
  const opened = await openWeightFile(file);
  let stored: readonly number[];
  try {
    if (opened.format !== 'npy' || opened.tensors.length !== 1) throw new OptionError(`--activations ${file}: not a .npy array`);
    stored = opened.tensors[0]!.shape;
  } finally {
    await opened.close();
  }
  if (stored.length !== expected.length || stored.some((d, i) => d !== expected[i])) {
    const axes = isConvShape(layer.shape) ? 'N, C, H, W' : 'rows, features';
    throw new OptionError(`--activations ${file}: shape [${stored.join(', ')}] is not the input of layer '${layer.name}', [${axes}] = [${expected.join(', ')}]`);
  }
  const { data } = await readNpyFloat32(file, { maxBytes: Math.max(4, expected.reduce((a, b) => a * b, 1) * 4) });
  if (isConvShape(layer.shape)) return { file, data };
  // [rows, features] -> features x rows.
  const [rows, features] = expected as [number, number];
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let f = 0; f < features; f++) out[f * rows + r] = data[r * features + f]!;
  return { file, data: out };
}
