/**
 * Handling of the messages every Deep Accel webview may send (copy, export, a Winograd export's
 * text), shared by the results panel and the weight inspector; the notebook renderer's export
 * requests arrive through renderer messaging and are answered the same way.
 */
import { writeFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { writeOutputFile } from './core/outputFile';
import { exportWinograd } from './core/winograd';
import type { HostToRendererMessage, RendererToHostMessage, WebviewToHostMessage } from './shared/webviewProtocol';

const FILTERS: Record<string, Record<string, string[]>> = {
  json: { JSON: ['json'] },
  csv: { CSV: ['csv'] },
  c: { 'C header': ['h', 'c'] },
  numpy: { Python: ['py'] },
  ts: { TypeScript: ['ts'] },
  latex: { LaTeX: ['tex'] },
  markdown: { Markdown: ['md'] },
};

/** The reply to an export request: the text, or why there is none. */
function winogradExportReply(message: RendererToHostMessage): HostToRendererMessage {
  try {
    return { type: 'winogradExport', requestId: message.requestId, format: message.format, text: exportWinograd(message.result, message.format) };
  } catch (error) {
    return { type: 'error', requestId: message.requestId, message: error instanceof Error ? error.message : String(error) };
  }
}

/** Returns true when the message was one of the common kinds and has been handled; `reply` answers the view that sent it. */
export async function handleCommonMessage(message: WebviewToHostMessage, reply: (message: HostToRendererMessage) => Thenable<unknown>): Promise<boolean> {
  switch (message.type) {
    case 'winogradExport':
      await reply(winogradExportReply(message));
      return true;
    case 'copy':
      await vscode.env.clipboard.writeText(message.text);
      void vscode.window.setStatusBarMessage('Deep Accel: copied to the clipboard', 2000);
      return true;
    case 'export': {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const target = await vscode.window.showSaveDialog({
        defaultUri: folder ? vscode.Uri.joinPath(folder, message.suggestedName) : undefined,
        filters: FILTERS[message.format] ?? {},
        saveLabel: 'Export',
      });
      if (target) {
        // A local file is written as every output is (a temporary file renamed into place, so a
        // failed write never leaves the chosen file half-written); other schemes through VS Code.
        if (target.scheme === 'file') await writeOutputFile(target.fsPath, (temporary) => writeFile(temporary, message.text));
        else await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(message.text));
        void vscode.window.showInformationMessage(`Deep Accel: exported ${vscode.workspace.asRelativePath(target)}`);
      }
      return true;
    }
    default:
      return false;
  }
}

/** Answers the notebook renderer's export requests (in Deep Accel and Jupyter notebooks alike). */
export function registerRendererMessaging(rendererId: string): vscode.Disposable {
  const messaging = vscode.notebooks.createRendererMessaging(rendererId);
  return messaging.onDidReceiveMessage(({ editor, message }) => {
    const request = message as RendererToHostMessage;
    if (request?.type === 'winogradExport') void messaging.postMessage(winogradExportReply(request), editor);
  });
}
