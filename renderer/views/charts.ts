/**
 * chart.js, registered once with only the pieces the views use, and coloured from the editor theme
 * (`--vscode-*` CSS variables), so charts follow light, dark and high-contrast themes.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Title,
  Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, LineController, LineElement, PointElement, ScatterController, Legend, Tooltip, Title, Filler);

const PALETTE_VARIABLES = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];
const PALETTE_FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

function cssVariable(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

function parseHexColor(text: string): [number, number, number] | undefined {
  const long = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})(?:[0-9a-f]{2})?$/i.exec(text);
  if (long) return [parseInt(long[1], 16), parseInt(long[2], 16), parseInt(long[3], 16)];
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(text);
  if (short) return [parseInt(short[1] + short[1], 16), parseInt(short[2] + short[2], 16), parseInt(short[3] + short[3], 16)];
  return undefined;
}

/**
 * Colour of series `index`: the theme's six chart colours, then (a benchmark can show ten series) the
 * same hues mixed half-way towards the editor background, so no two of the first twelve series share a
 * colour. The mix stays opaque, as bars over grid lines should.
 */
export function seriesColor(index: number): string {
  const i = index % PALETTE_VARIABLES.length;
  const base = cssVariable(PALETTE_VARIABLES[i], PALETTE_FALLBACK[i]);
  if (index < PALETTE_VARIABLES.length) return base;
  const rgb = parseHexColor(base);
  const background = parseHexColor(cssVariable('--vscode-editor-background', '#1e1e1e')) ?? [30, 30, 30];
  if (!rgb) return base;
  const mixed = rgb.map((channel, c) => Math.round((channel + background[c]) / 2));
  return `rgb(${mixed[0]}, ${mixed[1]}, ${mixed[2]})`;
}

/** Draws a chart into a fresh canvas inside a fixed-height box, and returns the box. */
export function chartBox(label: string, configuration: ChartConfiguration, height = 260): HTMLElement {
  const foreground = cssVariable('--vscode-foreground', '#cccccc');
  const grid = cssVariable('--vscode-editorWidget-border', 'rgba(128,128,128,0.35)');
  const font = cssVariable('--vscode-font-family', 'sans-serif');
  Chart.defaults.color = foreground;
  Chart.defaults.borderColor = grid;
  Chart.defaults.font.family = font;
  const box = document.createElement('div');
  box.className = 'da-chart';
  box.style.height = `${height}px`;
  const canvas = document.createElement('canvas');
  // Screen readers (and tests) learn the series from the label; the legend itself is pixels.
  const series = (configuration.data.datasets ?? []).map((dataset) => dataset.label ?? '');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', series.length > 1 ? `${label}: ${series.join(', ')}` : label);
  canvas.dataset.chart = label;
  canvas.dataset.series = JSON.stringify(series);
  box.append(canvas);
  // chart.js measures its parent, so create the chart once the box is in the document.
  const create = () => {
    if (Chart.getChart(canvas)) return;
    new Chart(canvas, {
      ...configuration,
      options: { responsive: true, maintainAspectRatio: false, animation: false, ...configuration.options },
    });
  };
  queueMicrotask(() => (box.isConnected ? create() : requestAnimationFrame(create)));
  return box;
}

export { Chart };
