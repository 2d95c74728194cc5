import type { ExportFormat, WinogradResult } from '../../extension/shared/payloads';

/** What a view may ask of whoever hosts it (the notebook renderer or a webview). */
export interface ViewHost {
  /** Puts text on the clipboard. */
  copyText(text: string): void;
  /** Offers a file for saving; in the notebook renderer this falls back to copying. */
  exportText(format: 'json' | 'csv' | ExportFormat, text: string, suggestedName: string): void;
  /** The text of one Winograd export, made by the host on demand (absent where no host answers). */
  exportWinograd?(result: WinogradResult, format: ExportFormat): Promise<string>;
  /** Shows a tensor's values and heat-map (weight inspector only). */
  previewTensor?(name: string): void;
  /** Scans again with every tensor read in `layout` ('' = as the file suggests); weight inspector only. */
  chooseLayout?(layout: string): void;
}
