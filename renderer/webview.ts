/**
 * The script of every Deep Accel webview: the results panel and the weight-file inspector. The host
 * posts typed messages (extension/shared/webviewProtocol.ts); this script draws them with the same views as the notebook
 * renderer and answers with typed messages. It holds no host code.
 */
import type { HostToWebviewMessage, WebviewToHostMessage } from '../extension/shared/webviewProtocol';
import type { ModelReport, WeightFileSummary } from '../extension/shared/payloads';
import { renderFailure, renderPayload, type ViewHost } from './views';
import { formatBytes, suggestedModelInput } from '../extension/shared/format';
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
  exportModel: (report, target) => requests.modelExport(report, target),
  copyText: (text) => vscode.postMessage({ type: 'copy', text }),
  exportText: (format, text, suggestedName) => vscode.postMessage({ type: 'export', format, text, suggestedName }),
  previewTensor: (name) => {
    preview.replaceChildren(tensorPreviewView(name, undefined, requests));
    preview.scrollIntoView({ block: 'nearest' });
  },
  chooseLayout: (layout) => vscode.postMessage({ type: 'chooseLayout', layout }),
};

// The weight inspector's tabs: the tensors (header summary, then the sparsity scan) and the layers
// (the model report, read on first opening, timed on the engine when the user asks).
const layersPane = h('div', { class: 'da-layers', role: 'tabpanel', 'aria-label': 'Layers' });
let tabs: HTMLElement | undefined;
let layersRequested = false;

function selectTab(name: 'tensors' | 'layers'): void {
  for (const tab of tabs?.querySelectorAll<HTMLButtonElement>('.da-tab') ?? []) tab.setAttribute('aria-selected', String(tab.dataset.tab === name));
  content.hidden = name !== 'tensors';
  preview.hidden = name !== 'tensors';
  layersPane.hidden = name !== 'layers';
  if (name === 'layers' && !layersRequested) {
    layersRequested = true;
    void loadLayers(false);
  }
}

function showTabs(): void {
  if (tabs) return;
  const tab = (name: 'tensors' | 'layers', label: string) => {
    const button = h('button', { type: 'button', role: 'tab', class: 'da-tab', 'data-tab': name }, label);
    button.addEventListener('click', () => selectTab(name));
    return button;
  };
  tabs = h('div', { class: 'da-tabs da-inspector-tabs', role: 'tablist', 'aria-label': 'Weight inspector' }, tab('tensors', 'Tensors'), tab('layers', 'Layers'));
  root.insertBefore(tabs, content);
  root.append(layersPane);
  selectTab('tensors');
}

/** The shape in the input box: the report's, or the one offered for a file that leaves it open. */
function inputText(report: ModelReport | undefined): string {
  return report ? suggestedModelInput(report.input) : '';
}

/** The "Time onnxruntime too" box: the user's last choice in this panel, else the setting the host sent. */
let peerChoice: boolean | undefined;

function layersToolbar(report: ModelReport | undefined, canTime: boolean, running: boolean, peerSetting: boolean): HTMLElement {
  const input = h('input', { type: 'text', class: 'da-filter', 'data-model-input': '', 'aria-label': 'Input shape', placeholder: 'N,C,H,W', value: inputText(report) });
  const time = h('button', { type: 'button', class: 'da-button', 'data-time-layers': '', disabled: running || !canTime, title: canTime ? 'Time every layer on the engine (cached in the workspace’s .deep-accel/)' : 'The engine runs only in a trusted workspace' }, 'Time layers on the engine');
  const read = h('button', { type: 'button', class: 'da-button', 'data-read-layers': '', disabled: running }, 'Read at this input');
  const cancel = h('button', { type: 'button', class: 'da-button', 'data-cancel-model': '', disabled: !running }, 'Cancel');
  const peer = h('input', { type: 'checkbox', 'data-time-peer': '', disabled: running || !canTime, checked: peerChoice ?? peerSetting });
  peer.addEventListener('change', () => (peerChoice = peer.checked));
  const peerLabel = h('label', { class: 'da-field', title: 'Also time onnxruntime-node on each timed layer with its weights and, for an ONNX file, the whole model end to end, in a child process (setting deepAccel.model.peer). It is optional: the report says how to install it when it is missing.' }, peer, ' Time onnxruntime too');
  // The file's own shape is not sent back as if the user had given it.
  const shape = (): number[] | undefined => {
    const text = input.value.trim();
    if (!text || (report?.input.from === 'file' && text === inputText(report))) return undefined;
    return text.split(/[,x×\s]+/).filter(Boolean).map(Number);
  };
  time.addEventListener('click', () => void loadLayers(true, shape(), peer.checked));
  read.addEventListener('click', () => void loadLayers(false, shape()));
  cancel.addEventListener('click', () => vscode.postMessage({ type: 'cancelModel' }));
  return h('div', { class: 'da-toolbar' }, h('label', { class: 'da-field' }, 'Input ', input), read, time, peerLabel, cancel);
}

let shownModel: { report: ModelReport; canTime: boolean; peer: boolean } | undefined;

async function loadLayers(time: boolean, input?: number[], peer?: boolean): Promise<void> {
  const working = h('p', { class: 'da-status', role: 'status' }, time ? `Timing every layer on the engine${peer ? ' and onnxruntime-node' : ''}…` : 'Reading the layers…');
  const peerSetting = shownModel?.peer ?? false;
  layersPane.replaceChildren(layersToolbar(shownModel?.report, shownModel?.canTime ?? false, true, peerSetting), working, ...(shownModel ? [renderPayload({ kind: 'model', data: shownModel.report }, host)] : []));
  try {
    shownModel = await requests.modelReport(time, input, time && peer);
    layersPane.replaceChildren(layersToolbar(shownModel.report, shownModel.canTime, false, shownModel.peer), renderPayload({ kind: 'model', data: shownModel.report }, host));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    layersPane.replaceChildren(layersToolbar(shownModel?.report, shownModel?.canTime ?? true, false, peerSetting), h('p', { class: 'da-error', role: 'alert' }, message), ...(shownModel ? [renderPayload({ kind: 'model', data: shownModel.report }, host)] : []));
  }
  status.textContent = '';
  progressBar.style.width = '0';
}

function showSummary(summary: WeightFileSummary): void {
  showTabs();
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
