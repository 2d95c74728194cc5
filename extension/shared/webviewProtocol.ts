/**
 * Messages between the extension host and its webviews (the results panel and the Weight
 * Inspector). Requests that expect a reply carry a `requestId`, and the reply repeats it, so a
 * late answer to an earlier request is never shown as the answer to a later one.
 */
import type { ExportFormat, TaggedPayload, WeightFileSummary } from './payloads';

/** Host to webview. */
export type HostToWebviewMessage =
  | { type: 'show'; payload: TaggedPayload }
  | { type: 'progress'; message: string; fraction?: number }
  /** With `requestId`: the request of that id failed; without: the view's own work failed. */
  | { type: 'error'; message: string; requestId?: number }
  | { type: 'weightSummary'; summary: WeightFileSummary }
  /** The reply to `previewTensor` with the same `requestId`. */
  | { type: 'tensorPreview'; requestId: number; name: string; values: number[]; total: number };

/** Webview to host. */
export type WebviewToHostMessage =
  | { type: 'ready' }
  | { type: 'copy'; text: string }
  | { type: 'export'; format: 'json' | 'csv' | ExportFormat; text: string; suggestedName: string }
  | { type: 'previewTensor'; requestId: number; name: string; count: number }
  | { type: 'compareRuns' };
