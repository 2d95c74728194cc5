/**
 * The results webview panel: draws a Winograd, sparsity or benchmark payload with the same views as
 * the notebook renderer. One panel per title; showing a result with the same title reuses it.
 */
import * as vscode from 'vscode';
import type { HostToWebviewMessage, WebviewToHostMessage } from './shared/webviewProtocol';
import type { TaggedPayload } from './shared/payloads';
import { handleCommonMessage } from './webviewMessages';
import { webviewHtml, webviewOptions } from './webviewHtml';

export class ResultsPanel {
  private static readonly panels = new Map<string, ResultsPanel>();
  private ready: Promise<void>;
  private lastPayload: TaggedPayload | undefined;

  /** The most recently shown panel (tests and "compare" read it). */
  static latest: ResultsPanel | undefined;

  private constructor(
    readonly panel: vscode.WebviewPanel,
    readonly key: string,
  ) {
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => (markReady = resolve));
    panel.webview.onDidReceiveMessage(async (message: WebviewToHostMessage) => {
      if (message.type === 'ready') {
        markReady();
        // A panel revealed after being hidden reloads: draw the result again.
        if (this.lastPayload) void this.post({ type: 'show', payload: this.lastPayload });
        return;
      }
      await handleCommonMessage(message, (reply) => this.panel.webview.postMessage(reply));
    });
    panel.onDidDispose(() => {
      ResultsPanel.panels.delete(key);
      if (ResultsPanel.latest === this) ResultsPanel.latest = undefined;
    });
  }

  /**
   * Shows `title`'s panel, reusing it when open. A result computed beside the user's editor opens
   * beside it (the default); a view the user asked to look at (a comparison) takes the active group.
   */
  static show(extensionUri: vscode.Uri, title: string, options: { key?: string; column?: vscode.ViewColumn } = {}): ResultsPanel {
    const key = options.key ?? title;
    const column = options.column ?? vscode.ViewColumn.Beside;
    const preserveFocus = column === vscode.ViewColumn.Beside;
    let results = ResultsPanel.panels.get(key);
    if (results) results.panel.reveal(column === vscode.ViewColumn.Beside ? undefined : column, preserveFocus);
    else {
      const panel = vscode.window.createWebviewPanel('deepAccel.results', title, { viewColumn: column, preserveFocus }, {
        ...webviewOptions(extensionUri),
        retainContextWhenHidden: true,
      });
      panel.webview.html = webviewHtml(panel.webview, extensionUri, title, 'results');
      results = new ResultsPanel(panel, key);
      ResultsPanel.panels.set(key, results);
    }
    ResultsPanel.latest = results;
    return results;
  }

  get payload(): TaggedPayload | undefined {
    return this.lastPayload;
  }

  async post(message: HostToWebviewMessage): Promise<void> {
    if (message.type === 'show') this.lastPayload = message.payload;
    await this.ready;
    await this.panel.webview.postMessage(message);
  }

  showPayload(payload: TaggedPayload): Promise<void> {
    return this.post({ type: 'show', payload });
  }
}
