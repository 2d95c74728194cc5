/**
 * Requests from a view to its host that expect a reply (webview or notebook renderer messaging):
 * each gets the next id, and the reply with that id settles it ({ type: 'error' } rejects it).
 * Replies to requests nobody waits for any more are ignored.
 */
import type { ExportFormat, ModelReport, TensorSlice, TensorSliceRequest, WinogradResult } from '../../extension/shared/payloads';
import type { HostToWebviewMessage, ModelExportTarget, RequestFailed, WebviewToHostMessage, WinogradExportReply } from '../../extension/shared/webviewProtocol';

/** How long a view waits for the host before saying it did not answer. */
const REPLY_TIMEOUT_MS = 15_000;
/** How long a running extension takes at most to answer a ping (the host answers it at once). */
const PING_TIMEOUT_MS = 3_000;
/** Said when nothing answers: a notebook drawn where the extension host side of Deep Accel is not running. */
export const NO_EXTENSION_ANSWER = 'the Deep Accel extension did not answer: it must be installed and running';

type Reply = WinogradExportReply | HostToWebviewMessage;
/** The messages that carry a requestId, without it (HostRequests adds it). */
type Outgoing = WebviewToHostMessage extends infer M ? (M extends { requestId: number } ? Omit<M, 'requestId'> : never) : never;

/** A page of a tensor's values in stored order. */
export interface TensorPage {
  name: string;
  offset: number;
  values: number[];
  total: number;
}

export class HostRequests {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(reply: Reply): void; reject(error: Error): void; timer: ReturnType<typeof setTimeout> }>();

  /** `post` sends a request; what it may send depends on the host (the notebook renderer sends exports only). */
  constructor(private readonly post: (message: WebviewToHostMessage) => void) {}

  private ask(message: Outgoing, timeoutMs = REPLY_TIMEOUT_MS): Promise<Reply> {
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        reject(new Error(NO_EXTENSION_ANSWER));
      }, timeoutMs);
      this.waiting.set(requestId, { resolve, reject, timer });
      this.post({ ...message, requestId } as WebviewToHostMessage);
    });
  }

  /** Asks the host for one export of `result`. */
  async exportWinograd(result: WinogradResult, format: ExportFormat): Promise<string> {
    // The payload's own exports (from `deep-accel winograd --export --json`) are not sent back.
    const { exports: _exports, ...matrices } = result;
    void _exports;
    const reply = await this.ask({ type: 'winogradExport', format, result: matrices });
    return (reply as WinogradExportReply).text;
  }

  /** `count` values of tensor `name` from `offset`, in stored order (a worker reads them; large tensors take a while). */
  async tensorPage(name: string, offset: number, count: number): Promise<TensorPage> {
    const reply = await this.ask({ type: 'previewTensor', name, offset, count }, 4 * REPLY_TIMEOUT_MS);
    if (reply.type !== 'tensorPreview') throw new Error(`unexpected reply ${reply.type}`);
    return { name: reply.name, offset: reply.offset, values: reply.values, total: reply.total };
  }

  /** A heat-map window of one kernel tap of weight `name`. */
  async tensorSlice(name: string, slice: TensorSliceRequest): Promise<TensorSlice> {
    const reply = await this.ask({ type: 'tensorSlice', name, slice }, 4 * REPLY_TIMEOUT_MS);
    if (reply.type !== 'tensorSlice') throw new Error(`unexpected reply ${reply.type}`);
    return reply.slice;
  }

  /**
   * The model report of the inspected file, timed on the engine when `time`. Timing a large model
   * takes minutes with progress on the way, so the wait has no practical limit; a cancel ends it.
   */
  async modelReport(time: boolean, input?: number[], peer?: boolean): Promise<{ report: ModelReport; canTime: boolean; peer: boolean }> {
    const reply = await this.ask({ type: 'modelReport', time, ...(peer ? { peer } : {}), ...(input ? { input } : {}) }, time ? 24 * 3600_000 : 40 * REPLY_TIMEOUT_MS);
    if (reply.type !== 'modelReport') throw new Error(`unexpected reply ${reply.type}`);
    return { report: reply.report, canTime: reply.canTime, peer: reply.peer };
  }

  /**
   * Writes the report's figures for a graph viewer through the host's save dialog; resolves with
   * what was written, or undefined when the user closed the dialog. The host is pinged first, so a
   * notebook drawn without the extension running says so in seconds instead of waiting on a dialog
   * that never opens.
   */
  async modelExport(report: ModelReport, target: ModelExportTarget): Promise<string | undefined> {
    await this.ask({ type: 'ping' }, PING_TIMEOUT_MS);
    const reply = await this.ask({ type: 'modelExport', target, report }, 24 * 3600_000);
    if (reply.type !== 'modelExport') throw new Error(`unexpected reply ${reply.type}`);
    return reply.written;
  }

  /** Settles the request a reply answers; returns false when the message answers no waiting request. */
  settle(message: Reply | RequestFailed | { type: string; requestId?: number }): boolean {
    if (!('requestId' in message) || message.requestId === undefined) return false;
    const pending = this.waiting.get(message.requestId);
    if (!pending) return false;
    clearTimeout(pending.timer);
    this.waiting.delete(message.requestId);
    if (message.type === 'error') pending.reject(new Error((message as RequestFailed).message));
    else pending.resolve(message as Reply);
    return true;
  }
}
