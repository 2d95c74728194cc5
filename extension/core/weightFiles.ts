/**
 * File names that may hold weights. The parsers detect formats by content; this list only decides
 * which files the explorer badges, hovers and the inspector offer themselves for.
 */
export const WEIGHT_FILE_EXTENSIONS = [
  '.safetensors',
  '.onnx',
  '.pt',
  '.pth',
  '.ckpt',
  '.bin',
  '.npy',
  '.npz',
  '.h5',
  '.hdf5',
  '.keras',
  '.tflite',
  '.gguf',
  '.weights',
] as const;

/** `.bin` is too common to badge everywhere: only as pytorch_model*.bin or a TF.js shard next to model.json. */
export function isWeightFileName(fileName: string): boolean {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.bin')) return /(^|[\\/])pytorch_model[^\\/]*\.bin$/.test(lower);
  if (lower.endsWith('.safetensors.index.json')) return true;
  return WEIGHT_FILE_EXTENSIONS.some((extension) => lower.endsWith(extension));
}

/** Finds a quoted string containing a weight-file name around `character` in a line of code. */
export function weightFileLiteralAt(line: string, character: number): { path: string; start: number; end: number } | undefined {
  const pattern = /(["'`])((?:(?!\1)[^\\\n]|\\.)+)\1/g;
  for (const match of line.matchAll(pattern)) {
    const start = match.index;
    const end = start + match[0].length;
    if (character < start || character > end) continue;
    const text = match[2];
    if (isWeightFileName(text)) return { path: text, start, end };
  }
  return undefined;
}

/**
 * How long reading a weight file may go without progress (opening it, or one piece of its data)
 * before the worker reading it is stopped and replaced: the default of the setting
 * deepAccel.weights.timeoutSeconds and of the CLI's --timeout. A library can loop inside
 * WebAssembly on a corrupt file (HDF5), where no cancellation is ever looked at.
 */
export const DEFAULT_READ_TIMEOUT_SECONDS = 30;

/** The error a stalled read reports: the file, the limit and where it is set. */
export function stalledReadMessage(file: string, seconds: number, limitName: string): string {
  return (
    `${file}: reading stopped after ${seconds} s without progress (the limit is ${limitName}); the worker reading it was stopped. ` +
    'A corrupt file can make a parsing library loop (HDF5 runs inside WebAssembly); if the file is genuine and only slow to open, raise the limit'
  );
}
