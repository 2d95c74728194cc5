/**
 * A window of one kernel tap of a conv or linear weight, for the Weight Inspector's heat-map. The
 * values stream in stored order through bounded chunks; only the window (at most MAX_SLICE_CELLS
 * values) is kept, and the stream stops after the last stored index the window needs.
 */
import type { TensorSlice, TensorSliceRequest } from '../../shared/payloads';
import { openWeightFile } from '../formats/index';
import { WeightFileError } from '../formats/types';
import { applyLayoutOverride, type LayoutOverride, weightViewOf, type WeightView } from './layout';

/** Largest window a heat-map asks for: 128 x 128 cells. */
export const MAX_SLICE_SIDE = 128;
const CHUNK_ELEMENTS = 1 << 20;

/** Strides of the canonical (k, c, p) indices in stored order. */
function strides(view: WeightView): { k: number; c: number; p: number } {
  const { K, C, P } = view;
  switch (view.order) {
    case 'KCP':
      return { k: C * P, c: P, p: 1 };
    case 'KPC':
      return { k: P * C, c: 1, p: C };
    case 'PCK':
      return { k: 1, c: K, p: C * K };
    case 'KC':
      return { k: C, c: 1, p: 0 };
    case 'CK':
      return { k: 1, c: K, p: 0 };
  }
}

/** Kernel height and width of a 4-D weight in its stored layout (1 x 1 for matrices). */
function kernelOf(shape: readonly number[], layout: string): [number, number] {
  if (shape.length !== 4) return [1, 1];
  const [a, b, c, d] = shape as [number, number, number, number];
  if (layout === 'OIHW') return [c, d];
  if (layout === 'OHWI') return [b, c];
  return [a, b]; // HWIO, IHWO
}

/**
 * `options.layout` is the user's layout choice (parseLayoutOverride), read as the statistics read it,
 * so the heat-map and the table agree on which dimension is which.
 */
export async function tensorSlice(file: string, name: string, request: TensorSliceRequest, options: { signal?: AbortSignal; layout?: LayoutOverride } = {}): Promise<TensorSlice> {
  for (const key of ['tap', 'rowOffset', 'colOffset', 'rows', 'cols'] as const) {
    const value = request[key];
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${key} must be a non-negative integer, got ${String(value)}`);
  }
  const opened = await openWeightFile(file, options.signal ? { signal: options.signal } : undefined);
  try {
    if (options.layout) applyLayoutOverride(opened, options.layout);
    const tensor = opened.tensors.find((t) => t.name === name);
    if (!tensor) throw new WeightFileError(file, `no tensor named "${name}"`);
    const view = weightViewOf(tensor, opened.format);
    if (!view) throw new WeightFileError(file, `${name} [${tensor.shape.join(', ')}] is not a conv or linear weight: it has no 2-D view to draw`);
    const kernel = kernelOf(tensor.shape, view.layout);
    if (request.tap >= view.P) throw new RangeError(`tap must be below ${view.P} (the ${kernel[0]}x${kernel[1]} kernel), got ${request.tap}`);
    const rowOffset = Math.min(request.rowOffset, view.K - 1);
    const colOffset = Math.min(request.colOffset, view.C - 1);
    const rows = Math.min(request.rows, MAX_SLICE_SIDE, view.K - rowOffset);
    const cols = Math.min(request.cols, MAX_SLICE_SIDE, view.C - colOffset);
    const stride = strides(view);
    const values = new Array<number>(rows * cols).fill(0);
    // Every stride is positive, so the window's last stored index is its far corner.
    const last = (rowOffset + rows - 1) * stride.k + (colOffset + cols - 1) * stride.c + request.tap * stride.p;
    const chunkOptions = options.signal ? { maxChunkElements: CHUNK_ELEMENTS, signal: options.signal } : { maxChunkElements: CHUNK_ELEMENTS };
    let base = 0;
    if (rows > 0 && cols > 0) {
      for await (const chunk of tensor.chunks(chunkOptions)) {
        // Visit only the window's indices that fall in this chunk.
        for (let i = 0; i < rows; i++) {
          const rowStart = (rowOffset + i) * stride.k + request.tap * stride.p;
          for (let j = 0; j < cols; j++) {
            const index = rowStart + (colOffset + j) * stride.c - base;
            if (index >= 0 && index < chunk.length) values[i * cols + j] = chunk[index]!;
          }
        }
        base += chunk.length;
        if (base > last) break;
      }
    }
    return { name, tap: request.tap, rowOffset, colOffset, rows, cols, outputs: view.K, inputs: view.C, kernel, layout: view.layout, values };
  } finally {
    await opened.close();
  }
}
