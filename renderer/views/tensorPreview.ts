/**
 * The Weight Inspector's look at one tensor: its values page by page in stored order (offset, page
 * size), and for a conv or linear weight a heat-map of |w| over output x input channels for one
 * kernel tap, with exact zeros marked. Both are read by the host's workers on request; a reply to an
 * earlier request is never drawn over the answer to a later one.
 */
import type { TensorSlice, TensorSliceRequest } from '../../extension/shared/payloads';
import { formatNumber, h } from './dom';
import type { TensorPage } from './hostRequests';

export interface TensorReader {
  tensorPage(name: string, offset: number, count: number): Promise<TensorPage>;
  tensorSlice(name: string, slice: TensorSliceRequest): Promise<TensorSlice>;
}

export const PAGE_SIZES = [64, 256, 1024, 4096] as const;
/** The heat-map window: as many rows and columns as the host gives at most. */
export const SLICE_SIDE = 128;
const VALUES_PER_LINE = 8;

/** Cell colour for |w| / max|w| in [0, 1]: dark blue to yellow, readable in light and dark themes. */
export function heatColour(share: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, share));
  const stops: [number, number, number][] = [[24, 28, 84], [33, 120, 160], [90, 190, 110], [250, 230, 60]];
  const x = t * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [stops[i]!, stops[i + 1]!];
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * f)) as [number, number, number];
}
/** Exact zeros: a colour no |w| maps to (styles.css .da-swatch-zero has the same). */
export const ZERO_COLOUR: [number, number, number] = [230, 40, 140];

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function numberInput(label: string, value: number, attributes: Record<string, string | number>): HTMLInputElement {
  return h('input', { type: 'number', class: 'da-filter da-number', 'aria-label': label, value, min: 0, ...attributes });
}

function pager(name: string, total: number | undefined, reader: TensorReader): HTMLElement {
  const offsetInput = numberInput('Offset', 0, { step: 1, 'data-control': 'offset' });
  const sizeSelect = h('select', { class: 'da-filter', 'aria-label': 'Page size', 'data-control': 'page-size' }, PAGE_SIZES.map((size) => h('option', { value: size }, `${size} values`)));
  const previous = h('button', { type: 'button', class: 'da-button', 'data-control': 'previous' }, '◀ Previous');
  const next = h('button', { type: 'button', class: 'da-button', 'data-control': 'next' }, 'Next ▶');
  const heading = h('p', { class: 'da-note', role: 'status' });
  const values = h('pre', { class: 'da-code da-values' });
  let known = total;
  let latest = 0;
  const load = (offset: number) => {
    const size = Number(sizeSelect.value);
    const start = Math.max(0, Math.min(Math.floor(offset), known === undefined ? offset : Math.max(0, known - 1)));
    offsetInput.value = String(start);
    const token = ++latest;
    heading.textContent = `Reading values from ${start}…`;
    reader.tensorPage(name, start, size).then(
      (page) => {
        if (token !== latest) return;
        known = page.total;
        const end = page.offset + page.values.length;
        heading.textContent = `${name}: values ${page.values.length ? page.offset + 1 : 0}–${end} of ${page.total}, in stored order`;
        const lines: string[] = [];
        for (let i = 0; i < page.values.length; i += VALUES_PER_LINE) {
          const row = page.values.slice(i, i + VALUES_PER_LINE).map((v) => v.toPrecision(6).padStart(13));
          lines.push(`[${String(page.offset + i).padStart(String(page.total).length)}] ${row.join('')}`);
        }
        values.textContent = lines.join('\n');
        values.setAttribute('data-offset', String(page.offset));
        previous.disabled = page.offset === 0;
        next.disabled = end >= page.total;
      },
      (error: unknown) => {
        if (token !== latest) return;
        heading.textContent = `Could not read ${name}: ${errorText(error)}`;
      },
    );
  };
  previous.addEventListener('click', () => load(Number(offsetInput.value) - Number(sizeSelect.value)));
  next.addEventListener('click', () => load(Number(offsetInput.value) + Number(sizeSelect.value)));
  offsetInput.addEventListener('change', () => load(Number(offsetInput.value) || 0));
  sizeSelect.addEventListener('change', () => load(Number(offsetInput.value) || 0));
  load(0);
  return h(
    'div',
    { class: 'da-tensor-values' },
    h('div', { class: 'da-toolbar' }, previous, next, h('label', {}, 'Offset ', offsetInput), sizeSelect),
    heading,
    values,
  );
}

/** Draws the slice: one square per weight, |w| on the colour ramp, exact zeros in ZERO_COLOUR. */
function drawSlice(canvas: HTMLCanvasElement, slice: TensorSlice): { cell: number; zeros: number; max: number } {
  let max = 0;
  let zeros = 0;
  for (const v of slice.values) {
    if (v === 0) zeros++;
    else if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  }
  const cell = Math.max(3, Math.min(16, Math.floor(640 / Math.max(slice.cols, slice.rows))));
  canvas.width = slice.cols * cell;
  canvas.height = slice.rows * cell;
  const context = canvas.getContext('2d');
  if (context) {
    for (let i = 0; i < slice.rows; i++) {
      for (let j = 0; j < slice.cols; j++) {
        const v = slice.values[i * slice.cols + j]!;
        const [r, g, b] = v === 0 ? ZERO_COLOUR : heatColour(max > 0 && Number.isFinite(v) ? Math.abs(v) / max : 1);
        context.fillStyle = `rgb(${r}, ${g}, ${b})`;
        context.fillRect(j * cell, i * cell, cell, cell);
      }
    }
  }
  return { cell, zeros, max };
}

function heatMap(name: string, reader: TensorReader): HTMLElement {
  const tapSelect = h('select', { class: 'da-filter', 'aria-label': 'Kernel position', 'data-control': 'tap' });
  const rowInput = numberInput('First output channel', 0, { step: SLICE_SIDE, 'data-control': 'row-offset' });
  const colInput = numberInput('First input channel', 0, { step: SLICE_SIDE, 'data-control': 'col-offset' });
  const caption = h('p', { class: 'da-note', role: 'status' });
  const canvas = h('canvas', { class: 'da-heatmap', 'data-chart': 'Weight heat-map' });
  const hover = h('p', { class: 'da-note da-heatmap-value' });
  const legend = h(
    'p',
    { class: 'da-note da-legend' },
    h('span', { class: 'da-swatch da-swatch-zero' }),
    ' exactly 0   ',
    h('span', { class: 'da-swatch da-ramp' }),
    ' |w| from 0 to the largest |w| in the window',
  );
  let current: TensorSlice | undefined;
  let cell = 1;
  let latest = 0;
  const load = () => {
    const request: TensorSliceRequest = { tap: Number(tapSelect.value) || 0, rowOffset: Math.max(0, Number(rowInput.value) || 0), colOffset: Math.max(0, Number(colInput.value) || 0), rows: SLICE_SIDE, cols: SLICE_SIDE };
    const token = ++latest;
    caption.textContent = 'Reading the slice…';
    reader.tensorSlice(name, request).then(
      (slice) => {
        if (token !== latest) return;
        current = slice;
        const [kh, kw] = slice.kernel;
        if (tapSelect.options.length !== kh * kw) {
          tapSelect.replaceChildren(...Array.from({ length: kh * kw }, (_, p) => h('option', { value: p }, kh * kw === 1 ? 'matrix' : `kernel (y, x) = (${Math.floor(p / kw)}, ${p % kw})`)));
          tapSelect.disabled = kh * kw === 1;
        }
        tapSelect.value = String(slice.tap);
        rowInput.value = String(slice.rowOffset);
        colInput.value = String(slice.colOffset);
        rowInput.max = String(slice.outputs - 1);
        colInput.max = String(slice.inputs - 1);
        const drawn = drawSlice(canvas, slice);
        cell = drawn.cell;
        const where = kh * kw === 1 ? '' : ` at kernel position (${Math.floor(slice.tap / kw)}, ${slice.tap % kw}) of ${kh}×${kw}`;
        caption.textContent =
          `|w| of output channels ${slice.rowOffset}–${slice.rowOffset + slice.rows - 1} (rows) × input channels ${slice.colOffset}–${slice.colOffset + slice.cols - 1} (columns)${where}, ` +
          `of ${slice.outputs}×${slice.inputs}; read as ${slice.layout}. ${drawn.zeros} of ${slice.values.length} exactly zero; largest |w| ${formatNumber(drawn.max)}.`;
        canvas.setAttribute('data-zeros', String(drawn.zeros));
        canvas.setAttribute('data-cell', String(cell));
      },
      (error: unknown) => {
        if (token !== latest) return;
        current = undefined;
        caption.textContent = `No heat-map: ${errorText(error)}`;
        canvas.width = canvas.height = 0;
      },
    );
  };
  canvas.addEventListener('mousemove', (event) => {
    if (!current) return;
    const box = canvas.getBoundingClientRect();
    const j = Math.floor(((event.clientX - box.left) * (canvas.width / box.width)) / cell);
    const i = Math.floor(((event.clientY - box.top) * (canvas.height / box.height)) / cell);
    if (i < 0 || j < 0 || i >= current.rows || j >= current.cols) return;
    const [kh, kw] = current.kernel;
    const index = kh * kw === 1 ? `[${current.rowOffset + i}, ${current.colOffset + j}]` : `[${current.rowOffset + i}, ${current.colOffset + j}, ${Math.floor(current.tap / kw)}, ${current.tap % kw}]`;
    hover.textContent = `w${index} = ${current.values[i * current.cols + j]!.toPrecision(6)}`;
  });
  for (const control of [tapSelect, rowInput, colInput]) control.addEventListener('change', load);
  load();
  return h(
    'div',
    { class: 'da-tensor-heatmap' },
    h('div', { class: 'da-toolbar' }, tapSelect, h('label', {}, 'Output channel from ', rowInput), h('label', {}, 'Input channel from ', colInput)),
    caption,
    h('div', { class: 'da-heatmap-scroll' }, canvas),
    legend,
    hover,
  );
}

/** The preview of tensor `name` (whose element count, when known, bounds the pager at once). */
export function tensorPreviewView(name: string, total: number | undefined, reader: TensorReader): HTMLElement {
  return h('section', { class: 'da-section da-tensor-preview', 'data-tensor': name }, h('h3', {}, name), heatMap(name, reader), pager(name, total, reader));
}
