import type { HelpPayload, TaggedPayload } from '../../extension/shared/payloads';
import { renderBench, renderBenchComparison } from './benchView';
import { h } from './dom';
import type { ViewHost } from './host';
import { renderModel } from './modelView';
import { renderPrune } from './pruneView';
import { renderSparsity } from './sparsityView';
import { scrollingTable } from './table';
import { renderWinograd } from './winogradView';

export type { ViewHost } from './host';

function renderHelp(help: HelpPayload): HTMLElement {
  return h(
    'div',
    { class: 'da-view da-help' },
    h('h2', {}, 'Deep Accel notebook commands'),
    scrollingTable(h('table', { class: 'da-table da-prose' }, h('tbody', {}, help.commands.map((c) => h('tr', {}, h('td', {}, h('code', {}, c.usage)), h('td', {}, c.description))))), 'Commands'),
  );
}

/** Draws any Deep Accel payload; the one entry point of the notebook renderer and the webviews. */
export function renderPayload(payload: TaggedPayload, host: ViewHost): HTMLElement {
  switch (payload.kind) {
    case 'winograd':
      return renderWinograd(payload.data, host);
    case 'sparsity':
      return renderSparsity(payload.data, host);
    case 'prune':
      return renderPrune(payload.data, host);
    case 'bench':
      return renderBench(payload.data, host);
    case 'benchCompare':
      return renderBenchComparison(payload.data, host);
    case 'model':
      return renderModel(payload.data, host);
    case 'help':
      return renderHelp(payload.data);
  }
}

/** A payload that fails to draw (an old or hand-written one) shows why instead of a blank cell. */
export function renderFailure(message: string): HTMLElement {
  return h('div', { class: 'da-view da-error', role: 'alert' }, h('strong', {}, 'Deep Accel could not draw this output: '), message);
}
