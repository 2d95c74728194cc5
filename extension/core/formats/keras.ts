/**
 * Keras 3 `.keras` archives: a zip holding config.json, metadata.json and the weights in
 * model.weights.h5 (HDF5; layers/<layer>/vars/<i>).
 *
 * HDF5 needs a real file to open, so model.weights.h5 is streamed out of the archive (inflated when
 * deflated) into a private temporary folder, opened there with the HDF5 reader and deleted on
 * close(). Memory stays bounded by the copy buffer; the disk needs room for one copy of the weights.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { hasSignatureAt, openHdf5Weights } from './hdf5';
import { MAX_MODEL_CONFIG_BYTES, attachKerasLayers } from './kerasTopology';
import { BoundedReader } from './reader';
import type { OpenedWeightFile, OpenOptions, WeightFormatParser } from './types';
import { WeightFileError } from './types';
import { isZip, MAX_TEMP_INFLATION, TEMP_FLOOR_BYTES, ZipArchive, zipEntryNamesInHead } from './zip';

export const KERAS_WEIGHTS_ENTRY = 'model.weights.h5';
const KERAS_MARKER_ENTRIES = [KERAS_WEIGHTS_ENTRY, 'metadata.json', 'config.json'];

/**
 * Streams the weights entry into `target`. Keras writes model.weights.h5 with h5py and no user block,
 * so the HDF5 signature opens it: an entry that does not start with it is refused as soon as its
 * first bytes are inflated, before the rest (up to the temporary folder's limit) is written out.
 */
async function extractWeightsEntry(archive: ZipArchive, file: string, target: string, signal?: AbortSignal): Promise<void> {
  const entry = archive.entry(KERAS_WEIGHTS_ENTRY)!;
  const output = createWriteStream(target, { flags: 'wx', mode: 0o600 });
  let head = new Uint8Array(0);
  try {
    for await (const chunk of archive.chunks(entry, signal)) {
      if (head.length < 8) {
        head = Uint8Array.from([...head, ...chunk.subarray(0, 8 - head.length)]);
        if (head.length === 8 && !hasSignatureAt(head, 0)) {
          throw new WeightFileError(file, `${KERAS_WEIGHTS_ENTRY}: not an HDF5 file: it does not start with the HDF5 signature (\\x89HDF\\r\\n\\x1a\\n; Keras writes it without a user block), so the rest of it was not inflated`);
        }
      }
      if (!output.write(chunk)) await once(output, 'drain');
    }
  } finally {
    output.end();
    await once(output, 'close');
  }
}

export const kerasParser: WeightFormatParser = {
  format: 'keras',
  sniff(head: Uint8Array, fileName: string): boolean {
    if (!isZip(head)) return false;
    const names = zipEntryNamesInHead(head);
    if (names.includes(KERAS_WEIGHTS_ENTRY)) return true;
    if (names.includes('metadata.json') && names.includes('config.json')) return true;
    return fileName.toLowerCase().endsWith('.keras');
  },
  async open(file: string, options?: OpenOptions): Promise<OpenedWeightFile> {
    options?.signal?.throwIfAborted();
    const reader = await BoundedReader.open(file);
    let folder: string | undefined;
    const cleanup = async (): Promise<void> => {
      if (folder) await rm(folder, { recursive: true, force: true });
      folder = undefined;
    };
    try {
      const archive = await ZipArchive.open(reader);
      const entry = archive.entry(KERAS_WEIGHTS_ENTRY);
      if (!entry) {
        const names = archive.entries.map((e) => e.name);
        const hint = names.includes('model.weights.npz') ? ' (it stores weights as model.weights.npz, which is not supported)' : '';
        throw new WeightFileError(
          file,
          `not a Keras 3 archive with weights: no ${KERAS_WEIGHTS_ENTRY} among its ${names.length} entries${hint}${names.some((n) => KERAS_MARKER_ENTRIES.includes(n)) ? '' : `; entries: ${names.slice(0, 8).join(', ')}`}`,
        );
      }
      const tempLimit = Math.max(TEMP_FLOOR_BYTES, entry.compressedSize * MAX_TEMP_INFLATION);
      if (entry.uncompressedSize > tempLimit) {
        throw new WeightFileError(
          file,
          `${KERAS_WEIGHTS_ENTRY} inflates from ${entry.compressedSize} to ${entry.uncompressedSize} bytes, more than the ${tempLimit} bytes allowed in the temporary folder (${MAX_TEMP_INFLATION}x its compressed size, at least ${TEMP_FLOOR_BYTES}); if the archive is genuine, unzip it and open ${KERAS_WEIGHTS_ENTRY} directly`,
        );
      }
      const configEntry = options?.graphLayers ? archive.entry('config.json') : undefined;
      const configText = configEntry ? new TextDecoder().decode(await archive.read(configEntry, MAX_MODEL_CONFIG_BYTES)) : undefined;
      folder = await mkdtemp(path.join(tmpdir(), 'deep-accel-keras-'));
      const extracted = path.join(folder, KERAS_WEIGHTS_ENTRY);
      await extractWeightsEntry(archive, file, extracted, options?.signal);
      await reader.close();
      const opened = await openHdf5Weights(extracted, {
        reportedFile: file,
        format: 'keras',
        fileBytes: reader.size,
        cleanup,
        signal: options?.signal,
      }).catch((error: unknown) => {
        throw error instanceof WeightFileError ? new WeightFileError(file, `${KERAS_WEIGHTS_ENTRY}: ${error.problem}`, { cause: error.cause }) : error;
      });
      opened.warnings.unshift(`weights read from ${KERAS_WEIGHTS_ENTRY} inside the archive`);
      attachKerasLayers(opened, configText, options, 'config.json');
      return opened;
    } catch (error) {
      await reader.close();
      await cleanup();
      if (error instanceof WeightFileError) throw error;
      throw new WeightFileError(file, `cannot read the Keras archive: ${(error as Error).message}`, { cause: error });
    }
  },
};
