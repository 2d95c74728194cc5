// Lets integration tests, which run in the extension host, look at what the user would see: the
// workbench DOM in the browser, including webviews and notebook outputs (nested iframes the
// extension host cannot reach). The offline runner (scripts/runIntegration.mjs) drives the page
// with Playwright and answers these requests over a local HTTP endpoint whose address it passes in
// DEEP_ACCEL_PAGE_BRIDGE. Under @vscode/test-electron there is no page: check pageBridgeAvailable()
// and skip DOM assertions there (`this.skip()`).

export interface PageMatch {
  /** URL of the frame the element was found in (webview frames contain `webview` in their URL). */
  frameUrl: string;
  /** The element's textContent, whitespace collapsed. */
  text: string;
  /** The element's outerHTML, cut to 4000 characters. */
  html: string;
}

export interface PageQueryOptions {
  /** Keep polling until at least this many elements match (default 1). */
  minCount?: number;
  /** Give up after this long and return what matched so far (default 30000). */
  timeoutMs?: number;
  /** Only search frames whose URL contains this text. */
  frameUrlIncludes?: string;
  /** Only count elements whose text contains this. */
  textIncludes?: string;
}

const BRIDGE_ENV = 'DEEP_ACCEL_PAGE_BRIDGE';

export function pageBridgeAvailable(): boolean {
  return Boolean(process.env[BRIDGE_ENV]);
}

async function callBridge<T>(action: string, body: object): Promise<T> {
  const base = process.env[BRIDGE_ENV];
  if (!base) throw new Error(`${BRIDGE_ENV} is not set: the page bridge only exists under scripts/runIntegration.mjs`);
  const response = await fetch(`${base}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`page bridge ${action} failed (${response.status}): ${text}`);
  return JSON.parse(text) as T;
}

/**
 * Elements matching a CSS selector in every frame of the workbench page (webviews and notebook
 * output frames included). Polls until `minCount` match or the timeout passes; never throws on
 * "not found", so the test's own assertion states what was expected.
 */
export async function queryPage(selector: string, options: PageQueryOptions = {}): Promise<PageMatch[]> {
  const { matches } = await callBridge<{ matches: PageMatch[] }>('query', { selector, ...options });
  return matches;
}

/** Clicks the first element matching `selector` (and `textIncludes`, when given), waiting for it as queryPage does. */
export async function clickInPage(selector: string, options: Omit<PageQueryOptions, 'minCount'> = {}): Promise<void> {
  await callBridge<{ clicked: true }>('click', { selector, ...options });
}

/**
 * Types `text` into the first element matching `selector` (clearing it first, key by key, so the
 * page sees what a typist's keystrokes cause), then presses `key` (for example "Enter") if given.
 */
export async function typeInPage(selector: string, input: { text?: string; key?: string }, options: Omit<PageQueryOptions, 'minCount'> = {}): Promise<void> {
  await callBridge<{ typed: true }>('type', { selector, ...input, ...options });
}

/** Saves a screenshot of the whole workbench as test/artifacts/<name>.png; returns its path. */
export async function screenshotPage(name: string): Promise<string> {
  const { path } = await callBridge<{ path: string }>('screenshot', { name });
  return path;
}

/** The workbench's window size in pixels (the runner's default is 1600 x 1000). */
export const DEFAULT_VIEWPORT = { width: 1600, height: 1000 };

/** Resizes the browser window the workbench is drawn in (the layout follows, as for a user resizing it). */
export async function setPageViewport(width: number, height: number): Promise<void> {
  await callBridge<{ width: number; height: number }>('viewport', { width, height });
}
