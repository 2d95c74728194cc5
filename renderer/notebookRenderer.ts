/**
 * The notebook renderer (contributes.notebookRenderer): draws every
 * application/vnd.deep-accel.<kind>+json output, whether our own notebook controller or a Jupyter
 * kernel produced it. It runs in the notebook's output webview and imports only view code and types.
 */
import type { ActivationFunction, OutputItem, RendererContext } from 'vscode-notebook-renderer';
import { payloadKindOfMime, type TaggedPayload } from '../extension/shared/payloads';
import css from './styles.css';
import type { ViewHost } from './views';
import { renderFailure, renderPayload } from './views';
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

function viewHost(): ViewHost {
  const copy = (text: string) => void navigator.clipboard?.writeText(text);
  return { copyText: copy, exportText: (_format, text) => copy(text) };
}

export const activate: ActivationFunction = (_context: RendererContext<unknown>) => ({
  renderOutputItem(outputItem: OutputItem, element: HTMLElement) {
    ensureStyles(element);
    const kind = payloadKindOfMime(outputItem.mime);
    let view: HTMLElement;
    try {
      if (!kind) throw new Error(`unknown MIME type ${outputItem.mime}`);
      const data: unknown = outputItem.json();
      validatePayload(kind, data);
      view = renderPayload({ kind, data } as TaggedPayload, viewHost());
    } catch (error) {
      view = renderFailure(error instanceof Error ? error.message : String(error));
    }
    element.replaceChildren(view);
  },
  disposeOutputItem() {
    // Charts are garbage-collected with their canvases; nothing else holds resources.
  },
});
