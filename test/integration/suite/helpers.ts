/** Shared by the integration suites: the extension's API and the sample workspace. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DeepAccelApi } from '../../../extension/extension';

export const EXTENSION_ID = 'deep-accel.deep-accel';

export async function activeApi(): Promise<DeepAccelApi> {
  const extension = vscode.extensions.getExtension<DeepAccelApi>(EXTENSION_ID);
  if (!extension) throw new Error(`${EXTENSION_ID} is not loaded`);
  return extension.activate();
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the integration tests need the samples workspace open');
  return folder.uri.fsPath;
}

export const sampleModel = () => path.join(workspaceRoot(), 'models', 'tiny-cnn.safetensors');

/** Polls until `probe` returns a value other than undefined, or fails after the timeout. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Figures of samples/models/tiny-cnn.safetensors, worked out by hand in scripts/makeSamples.ts. */
export const TINY_CNN = { numel: 2018, zeros: 524, conv1: 0.5, conv2: 0.25, conv2Filters: 0.25, fc: 0.2, fcRows: 0.2 };

/** F(2,3) with points 0, 1, -1 and infinity, fractions in G (wincnn's construction). */
export const F23 = {
  AT: [
    ['1', '1', '1', '0'],
    ['0', '1', '-1', '1'],
  ],
  G: [
    ['1', '0', '0'],
    ['1/2', '1/2', '1/2'],
    ['1/2', '-1/2', '1/2'],
    ['0', '0', '1'],
  ],
  BT: [
    ['1', '0', '-1', '0'],
    ['0', '1', '1', '0'],
    ['0', '-1', '1', '0'],
    ['0', '-1', '0', '1'],
  ],
};
