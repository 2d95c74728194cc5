/**
 * The .deepaccel notebook file: plain, diff-friendly JSON. Outputs are saved with the notebook; JSON
 * output items are stored as JSON (not base64), so a saved notebook can be read and reviewed as text.
 */

export const NOTEBOOK_FORMAT_VERSION = 1;

export interface StoredOutputItem {
  mime: string;
  /** JSON items as JSON values; text items as strings; anything else base64 with `base64: true`. */
  data: unknown;
  base64?: boolean;
}

export interface StoredOutput {
  items: StoredOutputItem[];
  metadata?: Record<string, unknown>;
}

export interface StoredCell {
  kind: 'code' | 'markdown';
  language: string;
  source: string;
  outputs?: StoredOutput[];
  metadata?: Record<string, unknown>;
}

export interface StoredNotebook {
  deepAccelNotebook: number;
  metadata?: Record<string, unknown>;
  cells: StoredCell[];
}

export class NotebookFormatError extends Error {
  constructor(message: string) {
    super(`not a Deep Accel notebook: ${message}`);
    this.name = 'NotebookFormatError';
  }
}

const isJsonMime = (mime: string) => mime === 'application/json' || mime.endsWith('+json');
const isTextMime = (mime: string) => mime.startsWith('text/') || mime === 'application/vnd.code.notebook.stdout' || mime === 'application/vnd.code.notebook.stderr';

export function encodeItem(mime: string, bytes: Uint8Array): StoredOutputItem {
  if (isJsonMime(mime) || isTextMime(mime)) {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    if (isJsonMime(mime)) {
      try {
        return { mime, data: JSON.parse(text) };
      } catch {
        return { mime, data: text };
      }
    }
    return { mime, data: text };
  }
  return { mime, data: Buffer.from(bytes).toString('base64'), base64: true };
}

export function decodeItem(item: StoredOutputItem): Uint8Array {
  if (item.base64) return new Uint8Array(Buffer.from(String(item.data), 'base64'));
  const text = typeof item.data === 'string' && !isJsonMime(item.mime) ? item.data : JSON.stringify(item.data);
  return new TextEncoder().encode(text);
}

export function parseNotebook(text: string): StoredNotebook {
  if (text.trim() === '') return { deepAccelNotebook: NOTEBOOK_FORMAT_VERSION, cells: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new NotebookFormatError(`the file is not valid JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as StoredNotebook).cells)) {
    throw new NotebookFormatError('expected an object with a "cells" array');
  }
  const notebook = raw as StoredNotebook;
  if (typeof notebook.deepAccelNotebook !== 'number' || notebook.deepAccelNotebook > NOTEBOOK_FORMAT_VERSION) {
    throw new NotebookFormatError(`unsupported format version ${String(notebook.deepAccelNotebook)} (this extension reads version ${NOTEBOOK_FORMAT_VERSION})`);
  }
  notebook.cells.forEach((cell, index) => {
    if (typeof cell?.source !== 'string' || (cell.kind !== 'code' && cell.kind !== 'markdown')) {
      throw new NotebookFormatError(`cell ${index + 1} needs a "kind" of code or markdown and a string "source"`);
    }
  });
  return notebook;
}

export function stringifyNotebook(notebook: StoredNotebook): string {
  return JSON.stringify(notebook, null, 1) + '\n';
}
