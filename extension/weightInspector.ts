/**
 * The Weight Inspector: a custom readonly editor for weight files, and their default editor (VS Code
 * could only show these binary formats as bytes; "Reopen Editor With..." still offers the others). It
 * shows the header summary at once, then the statistics as they finish, pages through a tensor's
 * values and draws heat-maps of its slices; the file is read only by the worker pool, never modified.
 */
import * as vscode from 'vscode';
import type { Services } from './services';
import { explainMissingPeer, isCancellation, modelSettings, modelWorkspace, UNTRUSTED_MODEL_NOTE } from './services';
import type { HostToWebviewMessage, WebviewToHostMessage } from './shared/webviewProtocol';
import { type WeightFileCache, inspectorScanChoices } from './weightFileCache';
import { handleCommonMessage } from './webviewMessages';
import { webviewHtml, webviewOptions } from './webviewHtml';

export const WEIGHT_INSPECTOR_VIEW_TYPE = 'deepAccel.weightInspector';

export class WeightInspectorProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(
    private readonly services: Services,
    private readonly cache: WeightFileCache,
  ) {}

  static register(services: Services, cache: WeightFileCache): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(WEIGHT_INSPECTOR_VIEW_TYPE, new WeightInspectorProvider(services, cache), {
      webviewOptions: { retainContextWhenHidden: true },
      supportsMultipleEditorsPerDocument: true,
    });
  }

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    // Nothing to load up front: the file is read by the workers once the webview is ready.
    return { uri, dispose: () => undefined };
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const extensionUri = this.services.context.extensionUri;
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri, vscode.workspace.asRelativePath(document.uri), 'weightInspector');
    const file = document.uri.fsPath;
    const abort = new AbortController();
    panel.onDidDispose(() => abort.abort());
    const post = (message: HostToWebviewMessage) => panel.webview.postMessage(message);

    // The picker's choice for this panel; '' reads each tensor as the file suggests.
    let layout = '';
    const load = async () => {
      try {
        await post({ type: 'progress', message: 'Reading headers…' });
        await post({ type: 'weightSummary', summary: await this.cache.summary(file) });
        const report = await this.cache.report(file, { ...inspectorScanChoices(this.services.config), ...(layout ? { layout } : {}) }, {
          signal: abort.signal,
          onProgress: (fraction, message) => void post({ type: 'progress', fraction, message: message ?? `Scanning… ${Math.round(fraction * 100)}%` }),
        });
        await post({ type: 'show', payload: { kind: 'sparsity', data: report } });
      } catch (error) {
        if (isCancellation(error)) return;
        const message = error instanceof Error ? error.message : String(error);
        this.services.log.error(`weight inspector: ${message}`);
        await post({ type: 'error', message });
      }
    };

    // The Layers tab: one model report at a time; a new request or a cancel stops the one running.
    let modelRun: AbortController | undefined;
    panel.onDidDispose(() => modelRun?.abort());
    const modelReport = async (requestId: number, time: boolean, input?: number[], peer?: boolean) => {
      modelRun?.abort();
      const run = new AbortController();
      modelRun = run;
      const trusted = vscode.workspace.isTrusted;
      try {
        const report = await this.services.run(
          'model',
          {
            file,
            workspace: modelWorkspace(document.uri),
            ...(input ? { input } : {}),
            time: time && trusted,
            ...modelSettings(this.services),
            ...(time && trusted && peer ? { peer: true } : {}),
          },
          { signal: run.signal, onProgress: (fraction, message) => void post({ type: 'progress', fraction, message: message ?? `Layers… ${Math.round(fraction * 100)}%` }) },
        );
        if (time && !trusted) report.notes.push(UNTRUSTED_MODEL_NOTE);
        explainMissingPeer(report, extensionUri.fsPath);
        await post({ type: 'modelReport', requestId, report, canTime: trusted, peer: this.services.config.get<boolean>('model.peer', false) });
      } catch (error) {
        const message = isCancellation(error) ? 'Cancelled.' : error instanceof Error ? error.message : String(error);
        if (!isCancellation(error)) this.services.log.error(`weight inspector, layers: ${message}`);
        await post({ type: 'error', requestId, message });
      } finally {
        if (modelRun === run) modelRun = undefined;
      }
    };

    panel.webview.onDidReceiveMessage(async (message: WebviewToHostMessage) => {
      if (message.type === 'ready') return void load();
      if (message.type === 'modelReport') return void modelReport(message.requestId, message.time, message.input, message.peer);
      if (message.type === 'cancelModel') return void modelRun?.abort();
      if (message.type === 'chooseLayout') {
        layout = message.layout;
        return void load();
      }
      if (message.type === 'previewTensor' || message.type === 'tensorSlice') {
        try {
          if (message.type === 'tensorSlice') {
            const slice = await this.services.run('tensorSlice', { file, name: message.name, slice: message.slice, ...(layout ? { layout } : {}) });
            await post({ type: 'tensorSlice', requestId: message.requestId, slice });
            return;
          }
          const { name, offset, count } = message;
          const values = await this.services.run('tensorPreview', { file, name, offset, count });
          const summary = await this.cache.summary(file);
          const total = summary.tensors.find((t) => t.name === name)?.numel ?? offset + values.length;
          await post({ type: 'tensorPreview', requestId: message.requestId, name, offset, values, total });
        } catch (error) {
          await post({ type: 'error', requestId: message.requestId, message: error instanceof Error ? error.message : String(error) });
        }
        return;
      }
      await handleCommonMessage(message, post);
    });
  }
}
