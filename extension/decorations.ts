/**
 * Explorer decorations for weight files: a badge with the overall sparsity (percent) and a tooltip
 * with format, parameters and sparsity, or "!" with the reason when the file cannot be read (within
 * the read time limit). Computed lazily in the worker pool, two files at a time, and cached by
 * mtime; provideFileDecoration never waits for a scan.
 */
import * as vscode from 'vscode';
import { isWeightFileName } from './core/weightFiles';
import type { Services } from './services';
import type { WeightFileCache } from './weightFileCache';

export function sparsityBadge(sparsity: number): string {
  // Badges hold at most two characters.
  if (sparsity >= 0.995) return '99';
  return String(Math.round(sparsity * 100));
}

/** Badge scans that run at once (each in a worker of the pool). */
const BADGE_LANES = 2;

export class WeightFileDecorations implements vscode.FileDecorationProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri[]>();
  readonly onDidChangeFileDecorations = this.changed.event;
  private readonly ready = new Map<string, vscode.FileDecoration>();
  private readonly queue: vscode.Uri[] = [];
  private readonly queued = new Set<string>();
  private working = 0;
  private readonly watcher: vscode.FileSystemWatcher;

  constructor(
    private readonly services: Services,
    private readonly cache: WeightFileCache,
  ) {
    this.watcher = vscode.workspace.createFileSystemWatcher('**/*.{safetensors,onnx,pt,pth,ckpt,npy,npz,h5,hdf5,keras,tflite,gguf,weights}');
    const forget = (uri: vscode.Uri) => {
      this.ready.delete(uri.toString());
      this.changed.fire([uri]);
    };
    this.watcher.onDidChange(forget);
    this.watcher.onDidDelete(forget);
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== 'file' || !isWeightFileName(uri.fsPath)) return undefined;
    if (!this.services.config.get<boolean>('decorations.enabled', true)) return undefined;
    const decoration = this.ready.get(uri.toString());
    if (decoration) return decoration;
    if (!this.queued.has(uri.toString())) {
      this.queued.add(uri.toString());
      this.queue.push(uri);
      this.drain();
    }
    return undefined;
  }

  /** Decorations computed so far (tests read them). */
  decorationFor(uri: vscode.Uri): vscode.FileDecoration | undefined {
    return this.ready.get(uri.toString());
  }

  /** Waits until the decoration of `uri` is computed. */
  async whenDecorated(uri: vscode.Uri, timeoutMs = 30_000): Promise<vscode.FileDecoration | undefined> {
    this.provideFileDecoration(uri);
    const deadline = Date.now() + timeoutMs;
    while (!this.ready.has(uri.toString()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    return this.ready.get(uri.toString());
  }

  /**
   * Works through the queue on BADGE_LANES lanes: a file that takes its whole time limit (a hostile
   * HDF5 file looping in its worker) holds up one lane, not every other file's badge.
   */
  private drain(): void {
    while (this.working < BADGE_LANES && this.queue.length > 0) {
      this.working++;
      void this.lane().finally(() => this.working--);
    }
  }

  private async lane(): Promise<void> {
    for (let uri = this.queue.shift(); uri; uri = this.queue.shift()) {
      this.queued.delete(uri.toString());
      const decoration = await this.compute(uri.fsPath);
      if (decoration) {
        this.ready.set(uri.toString(), decoration);
        this.changed.fire([uri]);
      }
    }
  }

  private async compute(file: string): Promise<vscode.FileDecoration | undefined> {
    try {
      const summary = await this.cache.summary(file);
      const maxBytes = this.services.config.get<number>('decorations.maxScanMegabytes', 512) * 1024 * 1024;
      const headline = `Deep Accel: ${summary.format}, ${summary.tensors.length} tensors, ${summary.parameters.toLocaleString('en-US')} parameters`;
      if (summary.fileBytes > maxBytes) {
        return new vscode.FileDecoration(undefined, `${headline}\n(larger than deepAccel.decorations.maxScanMegabytes: open it to scan)`);
      }
      // Badges need the zero count only: no N:M pass.
      const report = await this.cache.report(file, { threshold: this.services.config.get<number>('sparsity.threshold', 0) });
      const percent = (report.total.sparsity * 100).toFixed(1);
      const decoration = new vscode.FileDecoration(sparsityBadge(report.total.sparsity), `${headline}, ${percent}% sparse`);
      if (report.total.sparsity >= 0.5) decoration.color = new vscode.ThemeColor('charts.green');
      return decoration;
    } catch (error) {
      // A file that is not a weight file after all (or is broken) gets no badge; the log says why.
      this.services.log.warn(`no decoration for ${file}: ${error instanceof Error ? error.message : String(error)}`);
      return new vscode.FileDecoration('!', `Deep Accel could not read this file: ${error instanceof Error ? error.message : String(error)}`, new vscode.ThemeColor('list.warningForeground'));
    }
  }

  dispose(): void {
    this.watcher.dispose();
    this.changed.dispose();
  }
}
