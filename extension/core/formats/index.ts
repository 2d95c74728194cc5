/**
 * Entry point of the weight-file parsers: format detection by content and `openWeightFile`.
 *
 * Detection runs two passes over PARSERS. The first calls `sniff(head, '')`, with no file name, so
 * only magic numbers and content count; the second passes the real name, letting parsers fall
 * back on the extension where content is ambiguous (ONNX protobufs, Darknet .weights). A parser's
 * sniff must therefore decide on content alone when the name is empty.
 */
import * as path from 'node:path';
import type { WeightFileSummary, WeightFormat } from '../../shared/payloads';
import { BoundedReader } from './reader';
import { darknetParser } from './darknet';
import { ggufParser } from './gguf';
import { hdf5Parser } from './hdf5';
import { kerasParser } from './keras';
import { npyParser, npzParser } from './npy';
import { onnxParser } from './onnx';
import { pytorchParser } from './pytorch';
import { safetensorsParser } from './safetensors';
import { tfjsParser } from './tfjs';
import { tfliteParser } from './tflite';
import { type OpenOptions, type OpenedWeightFile, WeightFileError, type WeightFormatParser } from './types';

export { WeightFileError } from './types';
export { writeSafetensors, type SafetensorsTensorInput } from './safetensors';
export { writeNpy, readNpyFloat32 } from './npy';
export { readAllValues } from './source';
export type { OpenOptions, OpenedWeightFile, TensorSource, TensorLayout, WeightFormatParser } from './types';

/** Bytes handed to `sniff`. */
export const SNIFF_BYTES = 4096;

/**
 * Every parser, in sniffing order: formats with unambiguous magic numbers first, then the zip-based
 * ones (they tell each other apart by entry names), then those that need the extension.
 */
export const PARSERS: readonly WeightFormatParser[] = [
  // Magic numbers (one parser per line, so each addition is a one-line change).
  safetensorsParser,
  ggufParser,
  npyParser,
  tfliteParser,
  hdf5Parser,
  // Zip archives, told apart by their entry names.
  kerasParser,
  npzParser,
  pytorchParser,
  // JSON documents (model.json; safetensors indexes are recognised by the safetensors parser above).
  tfjsParser,
  // No magic number: the extension decides (after every content sniff has said no).
  darknetParser,
  // Protobuf has no magic number: ONNX is recognised by its ModelProto header, else by extension.
  onnxParser,
];

async function readHead(file: string): Promise<Uint8Array> {
  const reader = await BoundedReader.open(file);
  try {
    return await reader.head(SNIFF_BYTES);
  } finally {
    await reader.close();
  }
}

/** The parser for `file` from its first bytes, else from its name; undefined when none matches. */
export function pickParser(head: Uint8Array, file: string, parsers: readonly WeightFormatParser[] = PARSERS): WeightFormatParser | undefined {
  return parsers.find((parser) => parser.sniff(head, '')) ?? parsers.find((parser) => parser.sniff(head, path.basename(file)));
}

function noMatch(file: string, head: Uint8Array): WeightFileError {
  const hex = Array.from(head.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const formats = [...new Set(PARSERS.map((p) => p.format))].join(', ');
  return new WeightFileError(file, `not a recognised weight file (first bytes ${hex}); supported formats: ${formats}`);
}

/** The format of `file`, detected by content (extension only where content is ambiguous). */
export async function detectFormat(file: string): Promise<WeightFormat> {
  const head = await readHead(file);
  if (head.length === 0) throw new WeightFileError(file, 'the file is empty');
  const parser = pickParser(head, file);
  if (!parser) throw noMatch(file, head);
  return parser.format;
}

/** Opens a weight file of any supported format; only headers are read until tensors are iterated. */
export async function openWeightFile(file: string, options?: OpenOptions): Promise<OpenedWeightFile> {
  options?.signal?.throwIfAborted();
  const head = await readHead(file);
  if (head.length === 0) throw new WeightFileError(file, 'the file is empty');
  const parser = pickParser(head, file);
  if (!parser) throw noMatch(file, head);
  return parser.open(file, options);
}

/** What the headers alone say about an opened file (no tensor data is read). */
export function summarizeWeightFile(opened: OpenedWeightFile): WeightFileSummary {
  const tensors = opened.tensors.map(({ name, dtype, shape, numel }) => ({ name, dtype, shape, numel }));
  return {
    file: opened.file,
    format: opened.format,
    fileBytes: opened.fileBytes,
    tensors,
    parameters: tensors.reduce((sum, tensor) => sum + tensor.numel, 0),
  };
}
