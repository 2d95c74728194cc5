/**
 * What every surface of the extension shares: the log, the settings, and the worker pool. The pool
 * starts on first use, not at activation, so activating costs nothing until a user asks for work.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_READ_TIMEOUT_SECONDS, stalledReadMessage } from './core/weightFiles';
import type { ModelReport } from './shared/payloads';
import type { ModelRequest } from './shared/requests';
import type { WorkerTaskKind, WorkerTasks } from './workers/protocol';
import { type RunOptions, WorkerPool, WorkerTaskError } from './workers/pool';

/** Tasks that read a weight file: each runs under the read time limit (deepAccel.weights.timeoutSeconds). */
const WEIGHT_FILE_TASKS: ReadonlySet<WorkerTaskKind> = new Set<WorkerTaskKind>(['summary', 'sparsity', 'tensorPreview', 'tensorSlice', 'prune', 'model']);

export class Services implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  private workerPool: WorkerPool | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly context: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('Deep Accel', { log: true });
    this.disposables.push(
      this.log,
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('deepAccel.workerThreads') && this.workerPool) {
          this.log.info('deepAccel.workerThreads changed: the worker pool restarts on next use');
          void this.workerPool.dispose();
          this.workerPool = undefined;
        }
      }),
    );
  }

  get config(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('deepAccel');
  }

  /** Worker threads: the setting, or every core when it is 0. */
  get threads(): number {
    const configured = this.config.get<number>('workerThreads', 0);
    return configured > 0 ? configured : Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }

  pool(): WorkerPool {
    if (!this.workerPool) {
      const script = path.join(this.context.extensionPath, 'dist', 'worker.js');
      this.workerPool = new WorkerPool(script, { size: this.threads, maxOldGenerationSizeMb: 2048 });
      this.log.info(`worker pool started: ${this.workerPool.size} threads (${script})`);
    }
    return this.workerPool;
  }

  /** Runs a task in the pool; no UI. */
  run<K extends WorkerTaskKind>(
    task: K,
    args: WorkerTasks[K]['args'],
    options: { signal?: AbortSignal; onProgress?(fraction: number, message?: string): void } = {},
  ): Promise<WorkerTasks[K]['result']> {
    const started = Date.now();
    this.log.debug(`task ${task} started`, args);
    const runOptions: RunOptions = { ...options };
    if (WEIGHT_FILE_TASKS.has(task)) {
      const seconds = this.config.get<number>('weights.timeoutSeconds', DEFAULT_READ_TIMEOUT_SECONDS);
      const file = (args as { file: string }).file;
      runOptions.stallTimeout = { ms: seconds * 1000, message: stalledReadMessage(file, seconds, 'the setting deepAccel.weights.timeoutSeconds') };
    }
    return this.pool()
      .run(task, args, runOptions)
      .then(
        (result) => {
          this.log.info(`task ${task} finished in ${Date.now() - started} ms`);
          return result;
        },
        (error: unknown) => {
          const cancelled = error instanceof WorkerTaskError && error.reason === 'cancelled';
          if (cancelled) this.log.info(`task ${task} cancelled`);
          else this.log.error(`task ${task} failed: ${error instanceof Error ? error.message : String(error)}`);
          throw error;
        },
      );
  }

  /**
   * Runs work under a cancellable progress notification: anything that may take more than about a
   * second goes through here. The work gets an AbortSignal and a progress callback in 0..1.
   */
  withProgress<T>(title: string, work: (hooks: { signal: AbortSignal; onProgress(fraction: number, message?: string): void }) => Promise<T>): Promise<T> {
    return Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
        const controller = new AbortController();
        const subscription = token.onCancellationRequested(() => controller.abort());
        let reported = 0;
        try {
          return await work({
            signal: controller.signal,
            onProgress: (fraction, message) => {
              const percent = Math.max(0, Math.min(100, fraction * 100));
              progress.report({ increment: percent - reported, message });
              reported = percent;
            },
          });
        } finally {
          subscription.dispose();
        }
      }),
    );
  }

  /** A worker task under a cancellable progress notification. */
  runWithProgress<K extends WorkerTaskKind>(title: string, task: K, args: WorkerTasks[K]['args']): Promise<WorkerTasks[K]['result']> {
    return this.withProgress(title, (hooks) => this.run(task, args, hooks));
  }

  dispose(): void {
    void this.workerPool?.dispose();
    this.workerPool = undefined;
    for (const disposable of this.disposables) disposable.dispose();
  }
}

/** The folder whose .deep-accel/ keeps a model report's timing cache: the file's workspace folder, else its own folder. */
export function modelWorkspace(uri: vscode.Uri): string {
  return vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(uri.fsPath);
}

/** The model report's settings, shared by Analyze Model and the Layers tab (one thread: times comparable across reports). */
export function modelSettings(services: Services): Pick<ModelRequest, 'budgetMs' | 'maxErrorVsDirect' | 'pruneTarget' | 'threads'> {
  return {
    budgetMs: services.config.get<number>('model.budgetMs', 200),
    maxErrorVsDirect: services.config.get<number>('bench.maxErrorVsDirect', 16),
    pruneTarget: services.config.get<number>('model.pruneTarget', 0.5),
    threads: 1,
  };
}

/**
 * A report that asked for onnxruntime-node where it is not installed says where to install it for
 * this extension: the workers resolve it from the extension's own folder.
 */
export function explainMissingPeer(report: ModelReport, extensionPath: string): void {
  if (!report.timing?.peerUnavailable) return;
  report.timing.peerUnavailable =
    'onnxruntime-node is not installed, so no peer was timed. It is optional; to time it beside the engine, run ' +
    `npm install onnxruntime-node in ${extensionPath} (the extension's folder) and time again, or turn the setting deepAccel.model.peer off.`;
}

/** Said in a model report read in an untrusted workspace, where the engine does not run. */
export const UNTRUSTED_MODEL_NOTE = 'not timed: the engine runs only in a trusted workspace (Workspaces: Manage Workspace Trust)';

/** Where a relative path written in a document is looked for: the document's folder, then the workspace folders. */
export function searchFoldersFor(uri: vscode.Uri): string[] {
  const folders = uri.scheme === 'file' ? [path.dirname(uri.fsPath)] : [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) if (folder.uri.scheme === 'file') folders.push(folder.uri.fsPath);
  return folders;
}

export function isCancellation(error: unknown): boolean {
  return error instanceof WorkerTaskError ? error.reason === 'cancelled' : error instanceof Error && error.name === 'AbortError';
}

/** Shows an error unless the user cancelled; the log keeps the details. */
export function reportError(services: Services, what: string, error: unknown): void {
  if (isCancellation(error)) return;
  const message = error instanceof Error ? error.message : String(error);
  services.log.error(`${what}: ${message}`);
  void vscode.window.showErrorMessage(`Deep Accel: ${what}: ${message}`);
}
