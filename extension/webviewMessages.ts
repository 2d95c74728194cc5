/**
 * Handling of the messages every Deep Accel webview may send (copy, export, a Winograd export's
 * text, a model report's export for Netron or Model Explorer, a ping), shared by the results panel
 * and the weight inspector; the notebook renderer's requests arrive through renderer messaging and
 * are answered the same way.
 */
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkModelExports, modelExportText, writeModelExports } from './core/model/exports';
import { writeOutputFile } from './core/outputFile';
import { exportWinograd } from './core/winograd';
import type { HostToRendererMessage, ModelExportRequest, RendererToHostMessage, WebviewToHostMessage, WinogradExportRequest } from './shared/webviewProtocol';

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
function winogradExportReply(message: WinogradExportRequest): HostToRendererMessage {
  try {
    return { type: 'winogradExport', requestId: message.requestId, format: message.format, text: exportWinograd(message.result, message.format) };
  } catch (error) {
    return { type: 'error', requestId: message.requestId, message: error instanceof Error ? error.message : String(error) };
  }
}

const MODEL_EXPORTS = {
  netron: { label: 'Export for Netron', suffix: 'netron.json', option: 'exportNetron' },
  modelExplorer: { label: 'Export for Model Explorer', suffix: 'model-explorer.json', option: 'exportModelExplorer' },
} as const;

/**
 * Writes a model report's figures for a graph viewer where the user chooses, beside the model by
 * default: a local file through the CLI's own export (checked never to be the model, written
 * through a temporary file and a rename), another scheme through VS Code with the same text.
 */
async function modelExportReply(message: ModelExportRequest): Promise<HostToRendererMessage> {
  const { requestId, report, target } = message;
  try {
    const kind = MODEL_EXPORTS[target];
    if (!kind) throw new Error(`unknown export ${String(target)}`);
    const model = report.file;
    const defaultUri = path.isAbsolute(model) ? vscode.Uri.file(path.join(path.dirname(model), `${path.basename(model)}.${kind.suffix}`)) : undefined;
    const chosen = await vscode.window.showSaveDialog({ defaultUri, filters: { JSON: ['json'] }, saveLabel: 'Export', title: `${kind.label}: ${path.basename(model)}` });
    if (!chosen) return { type: 'modelExport', requestId };
    let written: string;
    if (chosen.scheme === 'file') {
      const paths = await checkModelExports({ [kind.option]: chosen.fsPath }, model, [], { [kind.option]: kind.label });
      [written = ''] = await writeModelExports(report, paths);
    } else {
      await vscode.workspace.fs.writeFile(chosen, new TextEncoder().encode(modelExportText(report, target)));
      written = `${kind.label}: ${chosen.toString()}`;
    }
    void vscode.window.showInformationMessage(`Deep Accel: ${written}`);
    return { type: 'modelExport', requestId, written };
  } catch (error) {
    return { type: 'error', requestId, message: error instanceof Error ? error.message : String(error) };
  }
}

/** The reply to a request the notebook renderer may send as well as a webview (pings and exports). */
async function rendererRequestReply(message: RendererToHostMessage): Promise<HostToRendererMessage> {
  switch (message.type) {
    case 'ping':
      return { type: 'pong', requestId: message.requestId };
    case 'winogradExport':
      return winogradExportReply(message);
    case 'modelExport':
      return modelExportReply(message);
  }
}

/** Returns true when the message was one of the common kinds and has been handled; `reply` answers the view that sent it. */
export async function handleCommonMessage(message: WebviewToHostMessage, reply: (message: HostToRendererMessage) => Thenable<unknown>): Promise<boolean> {
  switch (message.type) {
    case 'ping':
    case 'winogradExport':
    case 'modelExport':
      await reply(await rendererRequestReply(message));
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

const RENDERER_REQUESTS: ReadonlySet<string> = new Set<RendererToHostMessage['type']>(['ping', 'winogradExport', 'modelExport']);

/** Answers the notebook renderer's requests (in Deep Accel and Jupyter notebooks alike). */
export function registerRendererMessaging(rendererId: string): vscode.Disposable {
  const messaging = vscode.notebooks.createRendererMessaging(rendererId);
  return messaging.onDidReceiveMessage(async ({ editor, message }) => {
    const request = message as RendererToHostMessage;
    if (RENDERER_REQUESTS.has(request?.type)) void messaging.postMessage(await rendererRequestReply(request), editor);
  });
}
