/**
 * Palette commands. Each accepts optional arguments, so keybindings, other extensions and tests can
 * run it without the quick picks; with none it asks the user. Each returns what it computed.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runBenchCommand, saveBenchRun, savedRunsFolder } from './bench';
import { CONV_SHAPE_SYNTAX } from './core/bench/layers';
import { listSavedRuns, type SavedRun } from './core/bench/saved';
import { runCompare } from './core/requests/compare';
import type { BenchCellCommand } from './core/notebook/cellLanguage';
import {
  convShapeProblem,
  filterSizeProblem,
  finitePointsNeeded,
  type InputProblem,
  inputSizeProblem,
  maxFilterSize,
  modelInputProblem,
  parseConvShapeText,
  parseModelInput,
  parseInputSize,
  parseSparsityTarget,
  pointsPlaceholder,
  pointsProblem,
  sparsityTargetProblem,
  splitPoints,
  tileSizeProblem,
  wholeNumberProblem,
} from './core/inputChecks';
import { isWeightFileName } from './core/weightFiles';
import { NOTEBOOK_TYPE, CELL_LANGUAGE } from './notebookSerializer';
import { ResultsPanel } from './resultsPanel';
import { explainMissingPeer, modelSettings, modelWorkspace, reportError, type Services, UNTRUSTED_MODEL_NOTE } from './services';
import { suggestedModelInput } from './shared/format';
import { BENCH_SUITES, CONV_ALGORITHMS, type BenchComparison, type BenchReport, type ModelReport, type Precision, type PruneMethod, type PruneProfile, type PruneReport, type SparsityReport, type WinogradResult } from './shared/payloads';
import { type ModelRequest, type PruneRequest, type WinogradRequest } from './shared/requests';
import { WEIGHT_INSPECTOR_VIEW_TYPE } from './weightInspector';
import { type WeightFileCache, inspectorScanChoices } from './weightFileCache';

/** A typed value, checked as the user types; the box cannot be accepted while the text has a problem. */
async function askText(options: { title: string; value?: string; placeHolder?: string; prompt?: string; problem(text: string): InputProblem }): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title: options.title,
    value: options.value,
    placeHolder: options.placeHolder,
    prompt: options.prompt,
    ignoreFocusOut: true,
    validateInput: (text) => options.problem(text),
  });
}

/** A number from a short list, or any other one typed and checked by `problem`. */
async function pickNumber(title: string, choices: { value: number; description?: string }[], problem: (text: string) => InputProblem): Promise<number | undefined> {
  const custom = { label: 'Other…', value: undefined as number | undefined, description: undefined as string | undefined };
  const picked = await vscode.window.showQuickPick([...choices.map((c) => ({ label: String(c.value), value: c.value as number | undefined, description: c.description })), custom], { title, ignoreFocusOut: true });
  if (!picked) return undefined;
  if (picked.value !== undefined) return picked.value;
  const typed = await askText({ title, problem });
  return typed === undefined ? undefined : Number(typed.trim());
}

/** Asks for m, r, points and precision. */
async function askWinogradRequest(services: Services, search: boolean): Promise<WinogradRequest | undefined> {
  const m = await pickNumber('Output tile size m of F(m, r)', [2, 3, 4, 6, 8].map((value) => ({ value })), tileSizeProblem);
  if (m === undefined) return undefined;
  const rChoices = [3, 2, 5, 7].filter((r) => r <= maxFilterSize(m)).map((value) => ({ value }));
  const r = await pickNumber(`Filter size r of F(${m}, r)`, rChoices, (text) => filterSizeProblem(text, m));
  if (r === undefined) return undefined;
  let points: string[] | undefined;
  if (!search) {
    const needed = finitePointsNeeded(m, r);
    const choice = await vscode.window.showQuickPick(
      [
        { label: 'Best published points', description: pointsPlaceholder(m, r), custom: false },
        { label: 'Enter points…', description: `${needed} distinct points`, custom: true },
      ],
      { title: `Interpolation points of F(${m}, ${r})`, ignoreFocusOut: true },
    );
    if (choice === undefined) return undefined;
    if (choice.custom) {
      const text = await askText({
        title: `F(${m}, ${r}): ${needed} distinct finite points (the point at infinity is added)`,
        placeHolder: pointsPlaceholder(m, r),
        prompt: 'Integers, fractions such as -1/2 or decimals, separated by commas',
        problem: (typed) => pointsProblem(typed, m, r),
      });
      if (text === undefined) return undefined;
      points = splitPoints(text);
    }
  }
  const defaultPrecision = services.config.get<Precision>('winograd.precision', 'fp32');
  const precisions: Precision[] = ['fp32', 'fp16', 'bf16'];
  const precision = await vscode.window.showQuickPick(
    precisions.map((p) => ({ label: p, description: p === defaultPrecision ? 'default' : undefined })),
    {
      title: search ? 'Precision whose error the search minimises (highlighted in the error table)' : 'Precision to highlight in the error table (fp32, fp16 and bf16 are all measured)',
      ignoreFocusOut: true,
    },
  );
  if (precision === undefined) return undefined;
  return { m, r, points, precision: precision.label as Precision, search };
}

async function winogradCommand(services: Services, search: boolean, args?: WinogradRequest): Promise<WinogradResult | undefined> {
  const request = args ?? (await askWinogradRequest(services, search));
  if (!request) return undefined;
  const full: WinogradRequest = { compareTileSizes: true, ...request, search: request.search ?? search };
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

async function pickWeightFile(title = 'Weight file to inspect'): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri ?? (vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined)?.uri;
  if (active?.scheme === 'file' && isWeightFileName(active.fsPath)) return active;
  const found = await vscode.workspace.findFiles('**/*.{safetensors,onnx,pt,pth,npy,npz,h5,keras,tflite,gguf,weights}', '**/node_modules/**', 200);
  const browse = { label: '$(folder-opened) Browse…', uri: undefined as vscode.Uri | undefined };
  const picked = await vscode.window.showQuickPick(
    [...found.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri })), browse],
    { title, matchOnDescription: true },
  );
  if (!picked) return undefined;
  if (picked.uri) return picked.uri;
  return (await vscode.window.showOpenDialog({ canSelectMany: false, title }))?.[0];
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
  const text = await askText({
    title: `Target sparsity for ${path.basename(uri.fsPath)} (share of zeros in conv and linear weights)`,
    value: '0.5',
    problem: sparsityTargetProblem,
  });
  if (text === undefined) return undefined;
  const method = await vscode.window.showQuickPick(
    [
      { label: 'magnitude' as PruneMethod, description: 'the smallest |w| of each tensor' },
      { label: 'filter-l1' as PruneMethod, description: 'whole filters (rows of a linear layer), ranked by L1 norm' },
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
  // An ONNX graph gives every layer's FLOPs; other formats hold weights only, so the FLOPs of a
  // convolution need the size of its output, taken here as the input size (stride 1, same padding).
  let inputSize: PruneRequest['inputSize'];
  if (path.extname(uri.fsPath).toLowerCase() !== '.onnx') {
    const size = await askText({
      title: 'Input size H×W, for the FLOPs removed (empty: report parameters only)',
      value: '224x224',
      prompt: 'Each convolution is counted at this output size; linear layers once per input',
      problem: (typed) => (typed.trim() === '' ? undefined : inputSizeProblem(typed)),
    });
    if (size === undefined) return undefined;
    inputSize = size.trim() === '' ? undefined : parseInputSize(size);
  }
  const action = await vscode.window.showQuickPick(['What-if only', 'Write a pruned copy…'], { title: 'The original file is never modified', ignoreFocusOut: true });
  if (!action) return undefined;
  let out: string | undefined;
  if (action !== 'What-if only') {
    const parsed = path.parse(uri.fsPath);
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(parsed.dir, `${parsed.name}.pruned.safetensors`)), filters: { safetensors: ['safetensors'] } });
    if (!target) return undefined;
    out = target.fsPath;
  }
  services.log.info(`prune ${uri.fsPath}: ${text} ${method.label} ${profile.label}${inputSize ? ` at ${inputSize.height}x${inputSize.width}` : ''}${out ? ` -> ${out}` : ''}`);
  return { file: uri.fsPath, sparsity: parseSparsityTarget(text), method: method.label, profile: profile.label, inputSize, out };
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

/** Thread counts to offer: the default (the deepAccel.workerThreads setting, or every core) first. */
async function pickThreads(services: Services): Promise<number | undefined> {
  const most = services.threads;
  const counts = most <= 8 ? Array.from({ length: most }, (_, i) => i + 1) : [...new Set([1, 2, 4, 8, 16, 32, 64].filter((t) => t < most).concat(most))];
  const ordered = [most, ...counts.filter((t) => t !== most)];
  const setting = services.config.get<number>('workerThreads', 0);
  const picked = await pickNumber(
    'Threads for the benchmark',
    ordered.map((value) => ({ value, description: value === most ? `default (${setting > 0 ? 'deepAccel.workerThreads' : 'every core'})` : undefined })),
    (text) => wholeNumberProblem(text, 1, most, 'threads'),
  );
  return picked;
}

async function askBench(services: Services): Promise<BenchCellCommand | undefined> {
  const custom = 'Custom shape…';
  const suite = await vscode.window.showQuickPick([...BENCH_SUITES, custom], { title: 'Layers to benchmark', ignoreFocusOut: true });
  if (!suite) return undefined;
  let command: BenchCellCommand = { command: 'bench', suite };
  if (suite === custom) {
    const text = await askText({
      title: `Layer shape: ${CONV_SHAPE_SYNTAX}`,
      value: '1,64,56,56,64,3,3,1,1',
      prompt: 'batch, input channels, height, width, output channels, kernel height and width; stride 1, pad 0, groups 1 and dilation 1 unless given',
      problem: convShapeProblem,
    });
    if (text === undefined) return undefined;
    command = { command: 'bench', shape: parseConvShapeText(text) };
  }
  const threads = await pickThreads(services);
  if (threads === undefined) return undefined;
  const algos = await vscode.window.showQuickPick(
    CONV_ALGORITHMS.map((label) => ({ label, picked: true })),
    { title: 'Algorithms (those that do not apply to a layer are skipped with the reason)', canPickMany: true, ignoreFocusOut: true },
  );
  if (!algos || algos.length === 0) return undefined;
  return { ...command, threads, algos: algos.length === CONV_ALGORITHMS.length ? undefined : algos.map((a) => a.label) };
}

async function benchCommand(services: Services, args?: Partial<BenchCellCommand>): Promise<BenchReport | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Deep Accel: benchmarks run only in a trusted workspace.');
    return undefined;
  }
  const command = args ? ({ command: 'bench', ...args } as BenchCellCommand) : await askBench(services);
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

/** The input shape the report asks for, or undefined when the file fixes every size. */
function inputNeeded(report: ModelReport): boolean {
  return report.input.shape === null || report.layers.some((l) => l.flops === null && report.input.from !== 'file');
}

/**
 * Deep Accel: Analyze Model. The layers are read first (fast, no engine); when the file leaves the
 * input size open the user is asked for it, then every layer is timed on the engine in the worker
 * pool, with the cache in the workspace's .deep-accel/. In an untrusted workspace nothing is timed.
 */
async function analyzeModelCommand(services: Services, target?: vscode.Uri | ModelRequest): Promise<ModelReport | undefined> {
  const given = target instanceof vscode.Uri ? undefined : target;
  const uri = target instanceof vscode.Uri ? target : given ? vscode.Uri.file(given.file) : await pickWeightFile('Model to analyze');
  if (!uri) return undefined;
  const name = path.basename(uri.fsPath);
  const trusted = vscode.workspace.isTrusted;
  const base: ModelRequest = {
    file: uri.fsPath,
    workspace: modelWorkspace(uri),
    ...modelSettings(services),
    ...(services.config.get<boolean>('model.peer', false) ? { peer: true } : {}),
    ...given,
    ...(trusted ? {} : { time: false }),
  };
  try {
    let request = base;
    let untimed: ModelReport | undefined;
    if (!given) {
      untimed = await services.runWithProgress(`Reading the layers of ${name}`, 'model', { ...base, time: false });
      if (inputNeeded(untimed)) {
        const dims = untimed.input.dims ? ` (stored as [${untimed.input.dims.join(', ')}])` : '';
        const text = await askText({
          title: `Input shape of ${name}${dims}, in the file's own axis order`,
          value: suggestedModelInput(untimed.input),
          prompt: untimed.source === 'weights' ? 'No graph: sizes follow the input through the layers in file order (stride 1, same padding assumed)' : 'N,C,H,W for ONNX; N,H,W,C for Keras and TF.js',
          problem: modelInputProblem,
        });
        if (text === undefined) return undefined;
        request = { ...base, input: parseModelInput(text) };
        untimed = undefined;
      }
    }
    // Untrusted, the layers already read are the whole report.
    const report = !trusted && untimed ? untimed : await services.runWithProgress(request.time === false ? `Reading the layers of ${name}` : `Analyzing ${name}`, 'model', request);
    if (!trusted) report.notes.push(UNTRUSTED_MODEL_NOTE);
    explainMissingPeer(report, services.context.extensionPath);
    return await showModelReport(services, name, report);
  } catch (error) {
    reportError(services, `model report of ${name}`, error);
    return undefined;
  }
}

async function showModelReport(services: Services, name: string, report: ModelReport): Promise<ModelReport> {
  await ResultsPanel.show(services.context.extensionUri, `Model: ${name}`).showPayload({ kind: 'model', data: report });
  return report;
}

async function pickSavedRun(runs: SavedRun[], title: string): Promise<SavedRun | undefined> {
  const picked = await vscode.window.showQuickPick(
    runs.map((run) => ({ label: run.summary.date, description: `${run.summary.threads} · ${run.summary.layers}`, detail: `${run.summary.machine} · ${run.name}.json`, run })),
    { title, matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true },
  );
  return picked?.run;
}

async function compareCommand(services: Services, files?: [string, string]): Promise<BenchComparison | undefined> {
  let chosen = files;
  if (!chosen) {
    const folder = savedRunsFolder();
    const { runs, unreadable } = folder ? await listSavedRuns(folder) : { runs: [], unreadable: [] };
    for (const problem of unreadable) services.log.warn(`compare: ${problem}`);
    if (runs.length < 2) {
      const found = runs.length === 0 ? 'no run is saved' : 'only one run is saved';
      void vscode.window.showWarningMessage(`Deep Accel: comparing needs two saved benchmark runs, and ${found} in .deep-accel/bench/ of this workspace. Each "Run Convolution Benchmark" saves one.`);
      return undefined;
    }
    const a = await pickSavedRun(runs, 'Run A, the baseline (1 of 2)');
    if (!a) return undefined;
    const b = await pickSavedRun(runs.filter((run) => run.file !== a.file), `Run B, compared with A (${a.summary.date}, ${a.summary.threads}) (2 of 2)`);
    if (!b) return undefined;
    chosen = [a.file, b.file];
  }
  try {
    const comparison = await runCompare({ a: chosen[0], b: chosen[1] });
    await ResultsPanel.show(services.context.extensionUri, 'Benchmark comparison', { column: vscode.ViewColumn.Active }).showPayload({ kind: 'benchCompare', data: comparison });
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
    vscode.commands.registerCommand('deepAccel.analyzeModel', (target?: vscode.Uri | ModelRequest) => analyzeModelCommand(services, target)),
    vscode.commands.registerCommand('deepAccel.runBenchmark', (args?: Partial<BenchCellCommand>) => benchCommand(services, args)),
    vscode.commands.registerCommand('deepAccel.compareBenchmarks', (files?: [string, string]) => compareCommand(services, files)),
    vscode.commands.registerCommand('deepAccel.newNotebook', () => newNotebookCommand()),
    vscode.commands.registerCommand('deepAccel.openWeightInspector', (uri?: vscode.Uri) => (uri ? vscode.commands.executeCommand('vscode.openWith', uri, WEIGHT_INSPECTOR_VIEW_TYPE) : undefined)),
    vscode.commands.registerCommand('deepAccel.showLog', () => services.log.show()),
  );
}
