/** Small DOM helpers shared by the notebook renderer and the webviews (browser code only). */

type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number | boolean | undefined> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Numbers for people: 3 significant digits, exponent form when tiny or huge. */
export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6 || magnitude < 1e-3) return value.toExponential(digits - 1);
  return Number(value.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

export function formatPercent(share: number | undefined): string {
  return share === undefined ? '' : `${(share * 100).toFixed(share > 0 && share < 0.001 ? 3 : 1)}%`;
}

export function formatCount(value: number): string {
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)}G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  return String(value);
}


export function section(title: string, ...children: (Child | Child[])[]): HTMLElement {
  return h('section', { class: 'da-section' }, h('h3', {}, title), ...children);
}

/** A matrix of exact entries such as "-1/6", drawn as a bracketed grid. */
export function matrixView(name: string, rows: string[][]): HTMLElement {
  const table = h(
    'table',
    { class: 'da-matrix', 'aria-label': name },
    h('tbody', {}, rows.map((row) => h('tr', {}, row.map((entry) => h('td', {}, entry))))),
  );
  return h('figure', { class: 'da-matrix-figure', 'data-matrix': name }, h('figcaption', {}, `${name} (${rows.length}×${rows[0]?.length ?? 0})`), table);
}
