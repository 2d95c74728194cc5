/**
 * Handling of the messages every Deep Accel webview may send (copy, export), shared by the results
 * panel and the weight inspector.
 */
import * as vscode from 'vscode';
import type { WebviewToHostMessage } from './shared/webviewProtocol';

const FILTERS: Record<string, Record<string, string[]>> = {
  json: { JSON: ['json'] },
  csv: { CSV: ['csv'] },
  c: { 'C header': ['h', 'c'] },
  numpy: { Python: ['py'] },
  ts: { TypeScript: ['ts'] },
  latex: { LaTeX: ['tex'] },
  markdown: { Markdown: ['md'] },
};

/** Returns true when the message was one of the common kinds and has been handled. */
export async function handleCommonMessage(message: WebviewToHostMessage): Promise<boolean> {
  switch (message.type) {
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
        await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(message.text));
        void vscode.window.showInformationMessage(`Deep Accel: exported ${vscode.workspace.asRelativePath(target)}`);
      }
      return true;
    }
    default:
      return false;
  }
}
