/**
 * The script of every Deep Accel webview: the results panel and the weight-file inspector. The host
 * posts typed messages (extension/shared/webviewProtocol.ts); this script draws them with the same views as the notebook
 * renderer and answers with typed messages. It holds no host code.
 */
import type { HostToWebviewMessage, WebviewToHostMessage } from '../extension/shared/webviewProtocol';
import type { WeightFileSummary } from '../extension/shared/payloads';
import { renderFailure, renderPayload, type ViewHost } from './views';
import { formatBytes } from '../extension/shared/format';
import { formatCount, h } from './views/dom';
import { HostRequests } from './views/hostRequests';
import { sortableTable } from './views/table';
import { tensorPreviewView } from './views/tensorPreview';

interface VsCodeApi {
  postMessage(message: WebviewToHostMessage): void;
  setState(state: unknown): void;
  getState(): unknown;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('root')!;
const status = h('div', { class: 'da-status', role: 'status' });
// Styles are set through CSSOM, never as attributes: the CSP allows no inline style attributes.
const progressBar = h('div', { class: 'da-progress' });
progressBar.style.width = '0';
const content = h('div', { id: 'content' });
const preview = h('div', { class: 'da-preview' });
root.append(progressBar, status, content, preview);

// Requests that expect a reply (exports, tensor pages, heat-map slices) carry ids from one counter;
// each reply settles the request with its id.
const requests = new HostRequests((message) => vscode.postMessage(message));

const host: ViewHost = {
  exportWinograd: (result, format) => requests.exportWinograd(result, format),
  copyText: (text) => vscode.postMessage({ type: 'copy', text }),
  exportText: (format, text, suggestedName) => vscode.postMessage({ type: 'export', format, text, suggestedName }),
  previewTensor: (name) => {
    preview.replaceChildren(tensorPreviewView(name, undefined, requests));
    preview.scrollIntoView({ block: 'nearest' });
  },
  chooseLayout: (layout) => vscode.postMessage({ type: 'chooseLayout', layout }),
};

function showSummary(summary: WeightFileSummary): void {
  content.replaceChildren(
    h(
      'div',
      { class: 'da-view' },
      h('header', { class: 'da-header' }, h('h2', {}, summary.file.split(/[\\/]/).pop() ?? summary.file), h('p', { class: 'da-subtitle' }, `${summary.format} · ${formatBytes(summary.fileBytes)} · ${summary.tensors.length} tensors · ${formatCount(summary.parameters)} parameters · computing statistics…`)),
      sortableTable(summary.tensors, [
        { key: 'name', title: 'Tensor', value: (t) => t.name },
        { key: 'dtype', title: 'dtype', value: (t) => t.dtype },
        { key: 'shape', title: 'Shape', value: (t) => t.shape.join('×') },
        { key: 'numel', title: 'Params', value: (t) => t.numel, format: (t) => formatCount(t.numel), numeric: true },
      ], { pageSize: 50, filterPlaceholder: 'Filter tensors', alwaysFilter: true, label: 'Tensors' }),
    ),
  );
}

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  const message = event.data;
  // Replies to a view's own requests (exports) go back to the view that asked.
  if (requests.settle(message)) return;
  switch (message.type) {
    case 'show':
      try {
        content.replaceChildren(renderPayload(message.payload, host));
        vscode.setState({ payload: message.payload });
      } catch (error) {
        content.replaceChildren(renderFailure(error instanceof Error ? error.message : String(error)));
      }
      status.textContent = '';
      progressBar.style.width = '0';
      break;
    case 'progress':
      status.textContent = message.message;
      progressBar.style.width = message.fraction === undefined ? '0' : `${Math.round(message.fraction * 100)}%`;
      break;
    case 'error':
      // An error for a request nobody waits for any more.
      if (message.requestId !== undefined) break;
      status.replaceChildren(h('span', { class: 'da-error', role: 'alert' }, message.message));
      progressBar.style.width = '0';
      break;
    case 'weightSummary':
      showSummary(message.summary);
      break;
  }
});

// Restore the last view when the panel is revealed again after being hidden.
const saved = vscode.getState() as { payload?: Parameters<typeof renderPayload>[0] } | undefined;
if (saved?.payload) content.replaceChildren(renderPayload(saved.payload, host));
vscode.postMessage({ type: 'ready' });
