/**
 * The HTML shell of every Deep Accel webview: a strict Content-Security-Policy whose only script is
 * ours, marked with a fresh nonce; styles only from the extension; no inline styles, no remote hosts.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** Which webview a page is; set on <body> so styles and tests can tell the panel from the inspector. */
export type WebviewKind = 'results' | 'weightInspector';

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string, kind: WebviewKind): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const styles = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'styles.css'));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const escapedTitle = title.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${styles}">
<title>${escapedTitle}</title>
</head>
<body data-deep-accel-view="${kind}">
<div id="root" class="da-view"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')] };
}
