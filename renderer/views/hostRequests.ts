/**
 * Requests from a view to its host that expect a reply (webview or notebook renderer messaging):
 * each gets the next id, and the reply with that id settles it. Replies to requests nobody waits
 * for any more are ignored.
 */
import type { ExportFormat, WinogradResult } from '../../extension/shared/payloads';
import type { RequestFailed, WinogradExportReply, WinogradExportRequest } from '../../extension/shared/webviewProtocol';

/** How long a view waits for the host before saying it did not answer. */
const REPLY_TIMEOUT_MS = 15_000;

export class HostRequests {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(text: string): void; reject(error: Error): void; timer: ReturnType<typeof setTimeout> }>();

  constructor(private readonly post: (message: WinogradExportRequest) => void) {}

  /** A fresh id for a request whose reply the caller matches itself (a tensor preview), so ids never repeat. */
  newId(): number {
    return this.nextId++;
  }

  /** Asks the host for one export of `result`. */
  exportWinograd(result: WinogradResult, format: ExportFormat): Promise<string> {
    const requestId = this.newId();
    // The payload's own exports (from `deep-accel winograd --export --json`) are not sent back.
    const { exports: _exports, ...matrices } = result;
    void _exports;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        reject(new Error('the Deep Accel extension did not answer: exports are made by the extension, so it must be installed and running'));
      }, REPLY_TIMEOUT_MS);
      this.waiting.set(requestId, { resolve, reject, timer });
      this.post({ type: 'winogradExport', requestId, format, result: matrices });
    });
  }

  /** Settles the request a reply answers; returns false when the message is not such a reply. */
  settle(message: WinogradExportReply | RequestFailed | { type: string; requestId?: number }): boolean {
    if (message.requestId === undefined) return false;
    const pending = this.waiting.get(message.requestId);
    if (!pending) return false;
    if (message.type === 'winogradExport') pending.resolve((message as WinogradExportReply).text);
    else if (message.type === 'error') pending.reject(new Error((message as RequestFailed).message));
    else return false;
    clearTimeout(pending.timer);
    this.waiting.delete(message.requestId);
    return true;
  }
}
