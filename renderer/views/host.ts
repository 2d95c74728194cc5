import type { ExportFormat, ModelReport, WinogradResult } from '../../extension/shared/payloads';
import type { ModelExportTarget } from '../../extension/shared/webviewProtocol';

/** What a view may ask of whoever hosts it (the notebook renderer or a webview). */
export interface ViewHost {
  /** Puts text on the clipboard. */
  copyText(text: string): void;
  /** Offers a file for saving; in the notebook renderer this falls back to copying. */
  exportText(format: 'json' | 'csv' | ExportFormat, text: string, suggestedName: string): void;
  /** The text of one Winograd export, made by the host on demand (absent where no host answers). */
  exportWinograd?(result: WinogradResult, format: ExportFormat): Promise<string>;
  /**
   * Writes a model report's figures for a graph viewer where the user chooses; resolves with what
   * was written, undefined when the user closed the dialog (absent where no host answers).
   */
  exportModel?(report: ModelReport, target: ModelExportTarget): Promise<string | undefined>;
  /** Shows a tensor's values and heat-map (weight inspector only). */
  previewTensor?(name: string): void;
  /** Scans again with every tensor read in `layout` ('' = as the file suggests); weight inspector only. */
  chooseLayout?(layout: string): void;
}
