/**
 * Runs the commands of a notebook cell. It knows nothing of VS Code: the work goes through a
 * RequestRunner (the worker pool in the extension), so the same code serves the notebook controller,
 * the tests and any other host.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { BenchReport, TaggedPayload } from '../../shared/payloads';
import type { ModelRequest, PruneRequest, SparsityRequest, WinogradRequest } from '../../shared/requests';
import { MODEL_SCHEMA, PRUNE_SCHEMA, SPARSITY_SCHEMA, WINOGRAD_SCHEMA, requestFields } from '../options/commands';
import { didYouMean } from '../options/schema';
import { findInFolders } from '../paths';
import { runCompare } from '../requests/compare';
import type { RequestRunner } from '../requests/index';
import { parseWinogradSpec } from '../winograd';
import { type CellCommand, CellError, helpPayload, parseCell } from './cellLanguage';

export interface CellContext {
  runner: RequestRunner;
  /** Folders that relative paths are resolved against, in order (the notebook's folder first). */
  searchFolders: string[];
  signal?: AbortSignal;
  onProgress?(fraction: number, message?: string): void;
  /** Runs a benchmark; supplied by the host, which owns the engine. */
  runBench(command: Extract<CellCommand, { command: 'bench' }>, options: { signal?: AbortSignal; onProgress?(fraction: number, message?: string): void }): Promise<BenchReport>;
  defaultPrecision?: 'fp32' | 'fp16' | 'bf16';
  /** The folder whose .deep-accel/ keeps the model report's timing cache (the notebook's workspace folder). */
  workspace?: string;
  /** False where the engine may not run (an untrusted workspace): a model cell reads the layers and times nothing. */
  allowTiming?: boolean;
}

/**
 * Resolves a path written in a cell. When nothing is there, the error names each place looked at
 * once, and the closest file name in those folders when one is a likely typo.
 */
export function resolveCellPath(file: string, folders: readonly string[]): string {
  const unique = [...new Set(folders.map((folder) => path.resolve(folder)))];
  const found = findInFolders(file, unique);
  if (found) return found;
  const places = path.isAbsolute(file) ? [path.dirname(file)] : unique.map((folder) => path.dirname(path.resolve(folder, file)));
  const names = [...new Set(places.flatMap((place) => filesIn(place)))];
  const guess = didYouMean(path.basename(file), names);
  const suggestion = guess ? `; did you mean '${path.join(path.dirname(file), guess)}'?` : '';
  throw new Error(path.isAbsolute(file) ? `${file}: no such file${suggestion}` : `${file}: no such file (looked in ${unique.join(', ') || 'no folder'})${suggestion}`);
}

/** The names of the files in `folder` (at most the first 10,000), none when it cannot be read. */
function filesIn(folder: string): string[] {
  try {
    return readdirSync(folder, { withFileTypes: true })
      .slice(0, 10_000)
      .filter((entry) => entry.isFile() || entry.isSymbolicLink())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

export interface CellOutputs {
  /** Called before each command runs. */
  started?(command: CellCommand): void;
  /** Each command's result, in order. */
  output(payload: TaggedPayload, command: CellCommand): PromiseLike<void> | void;
}

/**
 * Runs a whole cell: every line is checked before anything runs, then each command in order. A
 * failure is a CellError whose message starts with the line it came from; a cancellation stays
 * an AbortError.
 */
export async function executeCell(source: string, context: CellContext, outputs: CellOutputs): Promise<void> {
  for (const command of parseCell(source)) {
    outputs.started?.(command);
    let payload: TaggedPayload;
    try {
      payload = await executeCellCommand(command, context);
    } catch (error) {
      if (error instanceof CellError || (error instanceof Error && error.name === 'AbortError')) throw error;
      throw new CellError(command.line, error instanceof Error ? error.message : String(error));
    }
    await outputs.output(payload, command);
  }
}

export async function executeCellCommand(command: CellCommand, context: CellContext): Promise<TaggedPayload> {
  const options = { signal: context.signal, onProgress: context.onProgress };
  switch (command.command) {
    case 'help':
      return { kind: 'help', data: helpPayload() };
    case 'winograd': {
      const request: WinogradRequest = {
        ...(requestFields(WINOGRAD_SCHEMA, command, 'cell') as Partial<WinogradRequest>),
        ...parseWinogradSpec(command.spec),
        precision: command.precision ?? context.defaultPrecision,
        infinity: !command.finite,
        layer: command.layer,
        compareTileSizes: true,
      };
      // No exports in the output: they would be saved with the notebook (six formats, ~55 KiB per
      // cell); the renderer asks the extension for one when its tab is opened.
      const data = await context.runner.run('winograd', request, options);
      return { kind: 'winograd', data };
    }
    case 'sparsity': {
      const file = resolveCellPath(command.file, context.searchFolders);
      const request = { ...requestFields(SPARSITY_SCHEMA, command, 'cell'), file, histogram: true } as SparsityRequest;
      const data = await context.runner.run('sparsity', request, options);
      return { kind: 'sparsity', data };
    }
    case 'prune': {
      const file = resolveCellPath(command.file, context.searchFolders);
      // A new file goes next to the notebook (the first search folder), never over the input.
      const out = command.out === undefined ? undefined : path.resolve(context.searchFolders[0] ?? path.dirname(file), command.out);
      const request = { ...requestFields(PRUNE_SCHEMA, command, 'cell'), file, out } as PruneRequest;
      const data = await context.runner.run('prune', request, options);
      return { kind: 'prune', data };
    }
    case 'bench':
      return { kind: 'bench', data: await context.runBench(command, options) };
    case 'model': {
      const file = resolveCellPath(command.file, context.searchFolders);
      const workspace = context.workspace ?? context.searchFolders[0];
      const request = {
        ...requestFields(MODEL_SCHEMA, command, 'cell'),
        file,
        ...(workspace ? { workspace } : {}),
        ...(context.allowTiming === false ? { time: false } : {}),
      } as ModelRequest;
      const data = await context.runner.run('model', request, options);
      if (context.allowTiming === false) data.notes.push('not timed: the engine runs only in a trusted workspace');
      return { kind: 'model', data };
    }
    case 'compare': {
      const [a, b] = [command.a, command.b].map((file) => resolveCellPath(file, context.searchFolders));
      return { kind: 'benchCompare', data: await runCompare({ a, b }) };
    }
  }
}

/** A one-line plain-text summary, stored beside each rich output for tools that cannot draw it. */
export function plainSummary(payload: TaggedPayload): string {
  switch (payload.kind) {
    case 'winograd': {
      const d = payload.data;
      return `F(${d.m},${d.r}) alpha=${d.alpha} points=${d.points.join(',')} verified=${d.verified} saving=${d.multiplications.saving.toFixed(2)}x`;
    }
    case 'sparsity': {
      const d = payload.data;
      return `${d.file}: ${d.format}, ${d.tensors.length} tensors, ${d.total.numel} parameters, ${(d.total.sparsity * 100).toFixed(2)}% sparse`;
    }
    case 'bench':
      return payload.data.results.map((r) => `${r.layer} ${r.algo} ${r.layout} x${r.threads}: ${r.msMedian.toFixed(3)} ms, ${r.gflops.toFixed(1)} GFLOP/s`).join('\n');
    case 'prune': {
      const d = payload.data;
      const written = d.export ? `; wrote ${d.export.out} (${d.export.verified ? 'verified' : 'NOT verified'})` : '';
      return `${d.file}: ${d.method} pruning to ${(d.targetSparsity * 100).toFixed(1)}% removes ${d.total.paramsRemoved} parameters; model ${(d.total.modelSparsityAfter * 100).toFixed(2)}% sparse after${written}`;
    }
    case 'benchCompare':
      return `${payload.data.a.label} vs ${payload.data.b.label}`;
    case 'model': {
      const d = payload.data;
      const best = d.total.bestMs === undefined ? '' : `; best ${d.total.bestMs.toFixed(3)} ms over ${d.total.timedLayers} timed layers`;
      return `${d.file}: ${d.format}, ${d.total.layers} layers, ${d.total.params} parameters, ${d.total.flops} FLOPs${d.total.flopsUnknown ? ` (+${d.total.flopsUnknown} layers unknown)` : ''}${best}`;
    }
    case 'help':
      return payload.data.commands.map((c) => c.usage).join('\n');
  }
}
