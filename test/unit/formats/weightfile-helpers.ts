import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import type { OpenedWeightFile } from '../../../extension/core/formats/types';
import { readAllValues } from '../../../extension/core/formats/source';

/** A temporary folder removed when the test file finishes. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `deep-accel-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** name -> all values, for small test files. */
export async function valuesByName(opened: OpenedWeightFile): Promise<Record<string, number[]>> {
  const result: Record<string, number[]> = {};
  for (const tensor of opened.tensors) result[tensor.name] = Array.from(await readAllValues(tensor));
  return result;
}

export function le32(values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
