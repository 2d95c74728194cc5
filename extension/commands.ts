/**
 * Palette commands. Each accepts optional arguments, so keybindings, other extensions and tests can
 * run it without the quick picks; with none it asks the user. Each returns what it computed.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runBenchCommand, saveBenchRun, savedRunsFolder } from './bench';
import { compareBenchFiles } from './core/bench/saved';
import type { BenchCellCommand } from './core/notebook/cellLanguage';
import { isWeightFileName } from './core/weightFiles';
import { NOTEBOOK_TYPE, CELL_LANGUAGE } from './notebookSerializer';
import { ResultsPanel } from './resultsPanel';
import { reportError, type Services } from './services';
import { BENCH_SUITES, CONV_ALGORITHMS, EXPORT_FORMATS, type BenchComparison, type BenchReport, type Precision, type PruneMethod, type PruneProfile, type PruneReport, type SparsityReport, type WinogradResult } from './shared/payloads';
import { type PruneRequest, type WinogradRequest } from './shared/requests';
import { WEIGHT_INSPECTOR_VIEW_TYPE } from './weightInspector';
import { type WeightFileCache, inspectorScanChoices } from './weightFileCache';

async function pickNumber(title: string, choices: number[], min: number, max: number): Promise<number | undefined> {
  const custom = 'Other…';
  const picked = await vscode.window.showQuickPick([...choices.map(String), custom], { title, ignoreFocusOut: true });
  if (picked !== custom) return picked === undefined ? undefined : Number(picked);
  const typed = await vscode.window.showInputBox({
    title,
    validateInput: (text) => (/^\d+$/.test(text) && Number(text) >= min && Number(text) <= max ? undefined : `a whole number from ${min} to ${max}`),
  });
  return typed === undefined ? undefined : Number(typed);
}

/** Asks for m, r, points and precision. */
async function askWinogradRequest(services: Services, search: boolean): Promise<WinogradRequest | undefined> {
  const m = await pickNumber('Output tile size m of F(m, r)', [2, 3, 4, 6, 8], 1, 16);
  if (m === undefined) return undefined;
  const r = await pickNumber(`Filter size r of F(${m}, r)`, [3, 2, 5, 7], 1, 16);
  if (r === undefined) return undefined;
  let points: string[] | undefined;
  if (!search) {
    const choice = await vscode.window.showQuickPick(['Best published points (default)', 'Enter points…'], { title: `Interpolation points of F(${m}, ${r})`, ignoreFocusOut: true });
    if (choice === undefined) return undefined;
    if (choice.startsWith('Enter')) {
      const text = await vscode.window.showInputBox({ title: `${m + r - 2} finite points (the point at infinity is added)`, placeHolder: '0, 1, -1, 1/2, -1/2', ignoreFocusOut: true });
      if (text === undefined) return undefined;
      points = text.split(',').map((p) => p.trim()).filter(Boolean);
    }
  }
  const defaultPrecision = services.config.get<Precision>('winograd.precision', 'fp32');
  const precisions: Precision[] = ['fp32', 'fp16', 'bf16'];
  const precision = await vscode.window.showQuickPick(
    precisions.map((p) => ({ label: p, description: p === defaultPrecision ? 'default' : undefined })),
    { title: search ? 'Precision to minimise the error in' : 'Precision of interest', ignoreFocusOut: true },
  );
  if (precision === undefined) return undefined;
  return { m, r, points, precision: precision.label as Precision, search };
}

async function winogradCommand(services: Services, search: boolean, args?: WinogradRequest): Promise<WinogradResult | undefined> {
  const request = args ?? (await askWinogradRequest(services, search));
  if (!request) return undefined;
  const full: WinogradRequest = { compareTileSizes: true, ...request, search: request.search ?? search, exports: request.exports ?? [...EXPORT_FORMATS] };
  const title = `F(${full.m}, ${full.r})`;
  try {
    const result = await services.runWithProgress(full.search ? `Searching points for ${title}` : `Generating ${title}`, 'winograd', full);
    await ResultsPanel.show(services.context.extensionUri, `Winograd ${title}`).showPayload({ kind: 'winograd', data: result });
    return result;
  } catch (error) {
    reportError(services, `Winograd ${title}`, error);
    return undefined;
  }
}

async function pickWeightFile(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri ?? (vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined)?.uri;
  if (active?.scheme === 'file' && isWeightFileName(active.fsPath)) return active;
  const found = await vscode.workspace.findFiles('**/*.{safetensors,onnx,pt,pth,npy,npz,h5,keras,tflite,gguf,weights}', '**/node_modules/**', 200);
  const browse = { label: '$(folder-opened) Browse…', uri: undefined as vscode.Uri | undefined };
  const picked = await vscode.window.showQuickPick(
    [...found.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri })), browse],
    { title: 'Weight file to inspect', matchOnDescription: true },
  );
  if (!picked) return undefined;
  if (picked.uri) return picked.uri;
  return (await vscode.window.showOpenDialog({ canSelectMany: false, title: 'Weight file to inspect' }))?.[0];
}

async function sparsityCommand(services: Services, cache: WeightFileCache, target?: vscode.Uri | { file: string; threshold?: number }): Promise<SparsityReport | undefined> {
  const uri = target instanceof vscode.Uri ? target : target?.file ? vscode.Uri.file(target.file) : await pickWeightFile();
  if (!uri) return undefined;
  const threshold = (target && !(target instanceof vscode.Uri) ? target.threshold : undefined) ?? services.config.get<number>('sparsity.threshold', 0);
  const name = path.basename(uri.fsPath);
  try {
    const report = await services.withProgress(`Inspecting ${name}`, (hooks) => cache.report(uri.fsPath, { ...inspectorScanChoices(services.config), threshold }, hooks));
    await ResultsPanel.show(services.context.extensionUri, `Sparsity: ${name}`).showPayload({ kind: 'sparsity', data: report });
    return report;
  } catch (error) {
    reportError(services, `sparsity of ${name}`, error);
    return undefined;
  }
}

async function askPrune(services: Services, preset?: vscode.Uri): Promise<PruneRequest | undefined> {
  const uri = preset ?? (await pickWeightFile());
  if (!uri) return undefined;
  const text = await vscode.window.showInputBox({
    title: `Target sparsity for ${path.basename(uri.fsPath)} (share of zeros in conv and linear weights)`,
    value: '0.5',
    validateInput: (value) => (Number.isFinite(Number(value)) && Number(value) >= 0 && Number(value) < 1 ? undefined : 'a number with 0 <= s < 1'),
    ignoreFocusOut: true,
  });
  if (text === undefined) return undefined;
  const method = await vscode.window.showQuickPick(
    [
      { label: 'magnitude' as PruneMethod, description: 'the smallest |w| of each tensor' },
      { label: 'filter-l1' as PruneMethod, description: 'whole filters, ranked by L1 norm' },
    ],
    { title: 'Pruning method', ignoreFocusOut: true },
  );
  if (!method) return undefined;
  const profile = await vscode.window.showQuickPick(
    [
      { label: 'uniform' as PruneProfile, description: 'the same target in every layer' },
      { label: 'sensitivity' as PruneProfile, description: 'early layers pruned less, late layers more' },
    ],
    { title: 'Per-layer profile', ignoreFocusOut: true },
  );
  if (!profile) return undefined;
  const action = await vscode.window.showQuickPick(['What-if only', 'Write a pruned copy…'], { title: 'The original file is never modified', ignoreFocusOut: true });
  if (!action) return undefined;
  let out: string | undefined;
  if (action !== 'What-if only') {
    const parsed = path.parse(uri.fsPath);
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(parsed.dir, `${parsed.name}.pruned.safetensors`)), filters: { safetensors: ['safetensors'] } });
    if (!target) return undefined;
    out = target.fsPath;
  }
  services.log.info(`prune ${uri.fsPath}: ${text} ${method.label} ${profile.label}${out ? ` -> ${out}` : ''}`);
  return { file: uri.fsPath, sparsity: Number(text), method: method.label, profile: profile.label, out };
}

async function pruneCommand(services: Services, target?: PruneRequest | vscode.Uri): Promise<PruneReport | undefined> {
  // From the explorer's context menu the argument is the file; from code it is a full request.
  const args = target instanceof vscode.Uri ? undefined : target;
  if (args?.out !== undefined && !vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Deep Accel: writing a pruned copy needs a trusted workspace; the what-if works everywhere.');
    return undefined;
  }
  const request = args ?? (await askPrune(services, target instanceof vscode.Uri ? target : undefined));
  if (!request) return undefined;
  const name = path.basename(request.file);
  try {
    const report = await services.runWithProgress(`Pruning ${name}`, 'prune', request);
    await ResultsPanel.show(services.context.extensionUri, `Pruning: ${name}`).showPayload({ kind: 'prune', data: report });
    return report;
  } catch (error) {
    reportError(services, `pruning ${name}`, error);
    return undefined;
  }
}

async function askBench(): Promise<BenchCellCommand | undefined> {
  const custom = 'Custom shape…';
  const suite = await vscode.window.showQuickPick([...BENCH_SUITES, custom], { title: 'Layers to benchmark', ignoreFocusOut: true });
  if (!suite) return undefined;
  let command: BenchCellCommand = { command: 'bench', suite };
  if (suite === custom) {
    const text = await vscode.window.showInputBox({ title: 'N,C,H,W,K,R,S[,stride,pad]', value: '1,64,56,56,64,3,3,1,1', ignoreFocusOut: true });
    if (!text) return undefined;
    const { parseConvShape } = await import('./core/bench/layers');
    command = { command: 'bench', shape: parseConvShape(text, 'shape') };
  }
  const algos = await vscode.window.showQuickPick(
    CONV_ALGORITHMS.map((label) => ({ label, picked: true })),
    { title: 'Algorithms (those that do not apply to a layer are skipped with the reason)', canPickMany: true, ignoreFocusOut: true },
  );
  if (!algos || algos.length === 0) return undefined;
  return { ...command, algos: algos.length === CONV_ALGORITHMS.length ? undefined : algos.map((a) => a.label) };
}

async function benchCommand(services: Services, args?: Partial<BenchCellCommand>): Promise<BenchReport | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Deep Accel: benchmarks run only in a trusted workspace.');
    return undefined;
  }
  const command = args ? ({ command: 'bench', ...args } as BenchCellCommand) : await askBench();
  if (!command) return undefined;
  try {
    const report = await services.withProgress('Convolution benchmark', (hooks) => runBenchCommand(services, command, hooks));
    const saved = await saveBenchRun(report);
    if (saved) services.log.info(`benchmark run saved to ${saved}`);
    await ResultsPanel.show(services.context.extensionUri, `Benchmark${report.suite ? `: ${report.suite}` : ''}`).showPayload({ kind: 'bench', data: report });
    return report;
  } catch (error) {
    reportError(services, 'benchmark', error);
    return undefined;
  }
}

async function compareCommand(services: Services, files?: [string, string]): Promise<BenchComparison | undefined> {
  let chosen = files;
  if (!chosen) {
    const folder = savedRunsFolder();
    const runs = folder ? await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '*.json')) : [];
    if (runs.length < 2) {
      void vscode.window.showInformationMessage('Deep Accel: compare needs two saved runs in .deep-accel/bench/ (run a benchmark twice).');
      return undefined;
    }
    const items = runs.map((uri) => ({ label: path.basename(uri.fsPath), uri })).sort((a, b) => b.label.localeCompare(a.label));
    const picked = await vscode.window.showQuickPick(items, { title: 'Pick two runs: A then B', canPickMany: true });
    if (!picked || picked.length !== 2) return undefined;
    chosen = [picked[0].uri.fsPath, picked[1].uri.fsPath];
  }
  try {
    const comparison = await compareBenchFiles(chosen[0], chosen[1]);
    await ResultsPanel.show(services.context.extensionUri, 'Benchmark comparison').showPayload({ kind: 'benchCompare', data: comparison });
    return comparison;
  } catch (error) {
    reportError(services, 'compare runs', error);
    return undefined;
  }
}

const SAMPLE_CELLS = [
  '# Winograd F(4,3) with the best published points, verified and measured',
  'winograd F(4,3)',
];

async function newNotebookCommand(): Promise<vscode.NotebookEditor> {
  const data = new vscode.NotebookData([
    new vscode.NotebookCellData(vscode.NotebookCellKind.Markup, '# Deep Accel notebook\nOne command per line; type `help` in a cell for the list.', 'markdown'),
    new vscode.NotebookCellData(vscode.NotebookCellKind.Code, SAMPLE_CELLS.join('\n'), CELL_LANGUAGE),
    new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'help', CELL_LANGUAGE),
  ]);
  const document = await vscode.workspace.openNotebookDocument(NOTEBOOK_TYPE, data);
  return vscode.window.showNotebookDocument(document);
}

export function registerCommands(services: Services, cache: WeightFileCache): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.commands.registerCommand('deepAccel.generateWinograd', (args?: WinogradRequest) => winogradCommand(services, false, args)),
    vscode.commands.registerCommand('deepAccel.searchWinogradPoints', (args?: WinogradRequest) => winogradCommand(services, true, args)),
    vscode.commands.registerCommand('deepAccel.inspectSparsity', (target?: vscode.Uri | { file: string; threshold?: number }) => sparsityCommand(services, cache, target)),
    vscode.commands.registerCommand('deepAccel.pruneWeights', (target?: PruneRequest | vscode.Uri) => pruneCommand(services, target)),
    vscode.commands.registerCommand('deepAccel.runBenchmark', (args?: Partial<BenchCellCommand>) => benchCommand(services, args)),
    vscode.commands.registerCommand('deepAccel.compareBenchmarks', (files?: [string, string]) => compareCommand(services, files)),
    vscode.commands.registerCommand('deepAccel.newNotebook', () => newNotebookCommand()),
    vscode.commands.registerCommand('deepAccel.openWeightInspector', (uri?: vscode.Uri) => (uri ? vscode.commands.executeCommand('vscode.openWith', uri, WEIGHT_INSPECTOR_VIEW_TYPE) : undefined)),
    vscode.commands.registerCommand('deepAccel.showLog', () => services.log.show()),
  );
}
