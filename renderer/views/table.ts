import { h } from './dom';

export interface Column<Row> {
  key: string;
  title: string;
  /** The value sorted on. */
  value(row: Row): number | string | undefined;
  /** The text shown; defaults to the value. */
  format?(row: Row): string;
  /** A tooltip on the cell (for example the full shape behind a short layer name). */
  cellTitle?(row: Row): string | undefined;
  /** What the column means, shown as the header's tooltip. */
  description?: string;
  numeric?: boolean;
}

export interface TableOptions<Row = unknown> {
  pageSize?: number;
  filterPlaceholder?: string;
  className?: string;
  /** Show the filter box however few rows there are (by default only above ten rows). */
  alwaysFilter?: boolean;
  /** Names the scrolling region for screen readers (default "Table"). */
  label?: string;
  /** Rows to highlight (for example the precision the user chose): given a row, true to highlight it. */
  highlight?(row: Row): boolean;
  /** A last row that stays below every page and sort (totals), by column key; columns not given are empty. */
  footer?: Record<string, string>;
  /** The footer's tooltips, by column key. */
  footerTitles?: Record<string, string>;
}

/**
 * A sortable, filterable, paged table. Rows stay in memory (they are summaries, not tensor data),
 * but only one page is in the DOM, so models with tens of thousands of tensors stay fast.
 */
export function sortableTable<Row>(rows: Row[], columns: Column<Row>[], options: TableOptions<Row> = {}): HTMLElement {
  const pageSize = options.pageSize ?? 100;
  let sortKey: string | undefined;
  let descending = false;
  let filter = '';
  let page = 0;

  const filterInput = h('input', { type: 'search', class: 'da-filter', placeholder: options.filterPlaceholder ?? 'Filter', 'aria-label': 'Filter rows' });
  const tbody = h('tbody');
  const headerCells = columns.map((column) =>
    h('th', { 'data-key': column.key, class: column.numeric ? 'num' : undefined, tabindex: 0, role: 'columnheader', 'aria-sort': 'none', title: column.description }, column.title),
  );
  const status = h('span', { class: 'da-page-status' });
  const previous = h('button', { type: 'button', class: 'da-button' }, '‹ Prev');
  const next = h('button', { type: 'button', class: 'da-button' }, 'Next ›');

  function visibleRows(): Row[] {
    const needle = filter.toLowerCase();
    let result = needle ? rows.filter((row) => columns.some((c) => String(c.format?.(row) ?? c.value(row) ?? '').toLowerCase().includes(needle))) : rows.slice();
    const column = columns.find((c) => c.key === sortKey);
    if (column) {
      result = result.sort((a, b) => {
        const x = column.value(a);
        const y = column.value(b);
        if (x === undefined) return 1;
        if (y === undefined) return -1;
        const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return descending ? -order : order;
      });
    }
    return result;
  }

  function draw(): void {
    const all = visibleRows();
    const pages = Math.max(1, Math.ceil(all.length / pageSize));
    page = Math.min(page, pages - 1);
    const slice = all.slice(page * pageSize, (page + 1) * pageSize);
    tbody.replaceChildren(
      ...slice.map((row) =>
        h('tr', options.highlight?.(row) ? { class: 'da-highlight', 'aria-current': 'true' } : {}, columns.map((c) => h('td', { class: c.numeric ? 'num' : undefined, title: c.cellTitle?.(row) }, c.format ? c.format(row) : String(c.value(row) ?? '')))),
      ),
    );
    status.textContent = `${all.length === 0 ? 0 : page * pageSize + 1}–${page * pageSize + slice.length} of ${all.length}`;
    previous.disabled = page === 0;
    next.disabled = page >= pages - 1;
    for (const cell of headerCells) {
      const key = cell.getAttribute('data-key');
      cell.setAttribute('aria-sort', key === sortKey ? (descending ? 'descending' : 'ascending') : 'none');
    }
  }

  for (const cell of headerCells) {
    const sortBy = () => {
      const key = cell.getAttribute('data-key') ?? undefined;
      descending = key === sortKey ? !descending : false;
      sortKey = key;
      draw();
    };
    cell.addEventListener('click', sortBy);
    cell.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') sortBy();
    });
  }
  filterInput.addEventListener('input', () => {
    filter = filterInput.value;
    page = 0;
    draw();
  });
  previous.addEventListener('click', () => {
    page--;
    draw();
  });
  next.addEventListener('click', () => {
    page++;
    draw();
  });
  draw();
  // Small tables need no pager; larger ones show where they are, and page buttons when over a page.
  const pager = rows.length > pageSize ? h('div', { class: 'da-pager' }, previous, status, next) : rows.length > 10 ? h('div', { class: 'da-pager' }, status) : null;
  return h(
    'div',
    { class: `da-table-wrap ${options.className ?? ''}` },
    options.alwaysFilter || rows.length > 10 ? filterInput : null,
    scrollingTable(h('table', { class: 'da-table' }, h('thead', {}, h('tr', {}, headerCells)), tbody, footerRow(columns, options)), options.label),
    pager,
  );
}

function footerRow<Row>(columns: Column<Row>[], options: TableOptions<Row>): HTMLElement | null {
  const footer = options.footer;
  if (!footer) return null;
  return h('tfoot', {}, h('tr', {}, columns.map((c) => h('td', { class: c.numeric ? 'num' : undefined, 'data-key': c.key, title: options.footerTitles?.[c.key] }, footer[c.key] ?? ''))));
}

/**
 * Wraps a table in its own horizontal scroller, so a table wider than its panel scrolls where it
 * is (with its first column held in place, see styles.css) instead of widening the whole view and
 * hiding its right-hand columns behind a scrollbar at the bottom of the page. The scroller takes
 * keyboard focus so it can be scrolled without a mouse.
 */
export function scrollingTable(table: HTMLTableElement, label = 'Table'): HTMLElement {
  return h('div', { class: 'da-table-scroll', tabindex: 0, role: 'region', 'aria-label': label }, table);
}

/** CSV with RFC 4180 quoting. */
export function toCsv<Row>(rows: Row[], columns: Column<Row>[]): string {
  const quote = (text: string) => (/[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const lines = [columns.map((c) => quote(c.title)).join(',')];
  for (const row of rows) lines.push(columns.map((c) => quote(String(c.value(row) ?? ''))).join(','));
  return lines.join('\n') + '\n';
}
