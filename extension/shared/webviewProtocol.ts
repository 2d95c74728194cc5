/**
 * Messages between the extension host and its webviews (the results panel and the Weight
 * Inspector), and between the host and the notebook renderer (through VS Code's renderer
 * messaging: the export requests and the ping before them). Requests that expect a reply carry a `requestId`, and the
 * reply repeats it, so a late answer to an earlier request is never shown as the answer to a
 * later one.
 */
import type { ExportFormat, ModelReport, TaggedPayload, TensorSlice, TensorSliceRequest, WeightFileSummary, WinogradResult } from './payloads';

/**
 * Export text is made on demand by the host (core's exporter), not stored in the payload: a saved
 * notebook keeps the matrices only, and the view asks for C, NumPy, ... when a tab is opened.
 */
export interface WinogradExportRequest {
  type: 'winogradExport';
  requestId: number;
  format: ExportFormat;
  result: WinogradResult;
}

export interface WinogradExportReply {
  type: 'winogradExport';
  requestId: number;
  format: ExportFormat;
  text: string;
}

/** The model report's figures for a graph viewer: a Netron attachment, or Model Explorer node data. */
export type ModelExportTarget = 'netron' | 'modelExplorer';

/**
 * Asks the host to write `report`'s figures for a graph viewer where the user chooses (a save
 * dialog), with the same core functions as `model --export-netron` / `--export-model-explorer`.
 */
export interface ModelExportRequest {
  type: 'modelExport';
  requestId: number;
  target: ModelExportTarget;
  report: ModelReport;
}

/** What was written (the note the CLI prints), or nothing when the user closed the dialog. */
export interface ModelExportReply {
  type: 'modelExport';
  requestId: number;
  written?: string;
}

/** Answered at once by a running extension: a view asks before a request that waits on the user (a save dialog). */
export interface PingRequest {
  type: 'ping';
  requestId: number;
}

export interface PingReply {
  type: 'pong';
  requestId: number;
}

/** The failure of a request, by its id. */
export interface RequestFailed {
  type: 'error';
  requestId: number;
  message: string;
}

/** Host to webview. */
export type HostToWebviewMessage =
  | { type: 'show'; payload: TaggedPayload }
  | { type: 'progress'; message: string; fraction?: number }
  /** With `requestId`: the request of that id failed; without: the view's own work failed. */
  | { type: 'error'; message: string; requestId?: number }
  | { type: 'weightSummary'; summary: WeightFileSummary }
  /** The reply to `previewTensor` with the same `requestId`: `values` from `offset` of `total`. */
  | { type: 'tensorPreview'; requestId: number; name: string; offset: number; values: number[]; total: number }
  /** The reply to `tensorSlice` with the same `requestId`. */
  | { type: 'tensorSlice'; requestId: number; slice: TensorSlice }
  /** The reply to `modelReport`: the file's layers (timed when asked and allowed); `canTime` is false where the engine may not run. */
  | { type: 'modelReport'; requestId: number; report: ModelReport; canTime: boolean; peer: boolean }
  | WinogradExportReply
  | ModelExportReply
  | PingReply;

/** Webview to host. */
export type WebviewToHostMessage =
  | { type: 'ready' }
  | { type: 'copy'; text: string }
  | { type: 'export'; format: 'json' | 'csv' | ExportFormat; text: string; suggestedName: string }
  /** A page of a tensor's values in stored order: `count` from `offset`. */
  | { type: 'previewTensor'; requestId: number; name: string; offset: number; count: number }
  /** A heat-map window of one kernel tap of a conv or linear weight. */
  | { type: 'tensorSlice'; requestId: number; name: string; slice: TensorSliceRequest }
  /** Scan again reading every kernel in `layout` ('' = as the file suggests); weight inspector only. */
  | { type: 'chooseLayout'; layout: string }
  /**
   * The Layers tab of the weight inspector: the model report of the file, timed on the engine when
   * `time` (and onnxruntime-node beside it when `peer`), at `input` when given.
   */
  | { type: 'modelReport'; requestId: number; time: boolean; peer?: boolean; input?: number[] }
  /** Stops the model report the Layers tab is waiting for (its request then fails as cancelled). */
  | { type: 'cancelModel' }
  | WinogradExportRequest
  | ModelExportRequest
  | PingRequest;

/** What the notebook renderer sends the host, and what it gets back. */
export type RendererToHostMessage = WinogradExportRequest | ModelExportRequest | PingRequest;
export type HostToRendererMessage = WinogradExportReply | ModelExportReply | PingReply | RequestFailed;
