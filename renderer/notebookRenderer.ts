/**
 * The notebook renderer (contributes.notebookRenderer): draws every
 * application/vnd.deep-accel.<kind>+json output, whether our own notebook controller or a Jupyter
 * kernel produced it. It runs in the notebook's output webview and imports only view code and types.
 */
import type { ActivationFunction, OutputItem, RendererContext } from 'vscode-notebook-renderer';
import type { HostToRendererMessage } from '../extension/shared/webviewProtocol';
import { payloadKindOfMime, type TaggedPayload } from '../extension/shared/payloads';
import css from './styles.css';
import type { ViewHost } from './views';
import { renderFailure, renderPayload } from './views';
import { HostRequests } from './views/hostRequests';
import { validatePayload } from './views/validate';

function ensureStyles(element: HTMLElement): void {
  // Each output may live in its own shadow root; style the root that holds this element.
  const root = element.getRootNode() as Document | ShadowRoot;
  const head = root instanceof Document ? root.head : root;
  if (!head.querySelector?.('style[data-deep-accel]')) {
    const style = document.createElement('style');
    style.dataset.deepAccel = '';
    style.textContent = css;
    head.append(style);
  }
}

/**
 * What the views may ask of a notebook output. Exports are made by the extension through renderer
 * messaging (VS Code only offers it where the extension host runs; elsewhere there are no export
 * tabs unless the payload carries its own, and the model view's export buttons say they need the
 * extension).
 */
function viewHost(context: RendererContext<unknown>): ViewHost {
  const copy = (text: string) => void navigator.clipboard?.writeText(text);
  const host: ViewHost = { copyText: copy, exportText: (_format, text) => copy(text) };
  if (context.postMessage && context.onDidReceiveMessage) {
    const requests = new HostRequests((message) => void context.postMessage!(message));
    context.onDidReceiveMessage((message) => requests.settle(message as HostToRendererMessage));
    host.exportWinograd = (result, format) => requests.exportWinograd(result, format);
    host.exportModel = (report, target) => requests.modelExport(report, target);
  }
  return host;
}

export const activate: ActivationFunction = (context: RendererContext<unknown>) => {
  const host = viewHost(context);
  return {
    renderOutputItem(outputItem: OutputItem, element: HTMLElement) {
      ensureStyles(element);
      const kind = payloadKindOfMime(outputItem.mime);
      let view: HTMLElement;
      try {
        if (!kind) throw new Error(`unknown MIME type ${outputItem.mime}`);
        const data: unknown = outputItem.json();
        validatePayload(kind, data);
        view = renderPayload({ kind, data } as TaggedPayload, host);
      } catch (error) {
        view = renderFailure(error instanceof Error ? error.message : String(error));
      }
      element.replaceChildren(view);
    },
    disposeOutputItem() {
      // Charts are garbage-collected with their canvases; nothing else holds resources.
    },
  };
};
