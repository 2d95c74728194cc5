import type { TensorLayout, TensorSource } from '../../../../extension/core/formats/types';

/** An in-memory TensorSource that yields chunks of exactly `chunk` elements (the last may be shorter). */
export function memoryTensor(
  name: string,
  shape: number[],
  values: ArrayLike<number>,
  options: { chunk?: number; float64?: boolean; layout?: TensorLayout; dtype?: string } = {},
): TensorSource {
  const numel = shape.reduce((a, b) => a * b, 1);
  if (values.length !== numel) throw new Error(`test tensor ${name}: ${values.length} values for shape ${shape}`);
  const tensor: TensorSource = {
    name,
    dtype: options.dtype ?? (options.float64 ? 'float64' : 'float32'),
    shape,
    numel,
    async *chunks(chunkOptions) {
      const size = Math.min(options.chunk ?? 1 << 20, chunkOptions?.maxChunkElements ?? 1 << 20);
      const buffer = options.float64 ? new Float64Array(Math.max(1, size)) : new Float32Array(Math.max(1, size));
      for (let done = 0; done < numel; done += size) {
        chunkOptions?.signal?.throwIfAborted();
        const n = Math.min(size, numel - done);
        for (let i = 0; i < n; i++) buffer[i] = values[done + i]!;
        // Scribble over the buffer after the consumer returns, as the contract allows.
        yield buffer.subarray(0, n);
        buffer.fill(Number.NaN);
      }
    },
  };
  if (options.layout) tensor.layout = options.layout;
  return tensor;
}

/** A deterministic pseudo-random generator (mulberry32) so failures reproduce. */
export { mulberry32 as random } from '../../../../extension/core/random';

/** Float32-representable values so that float32 and float64 paths see the same numbers. */
export function f32(values: number[]): number[] {
  return Array.from(Float32Array.from(values));
}

export type Layout4 = 'OIHW' | 'HWIO' | 'OHWI';

/** Stored index of canonical element (k, c, r, s). */
export function storedIndex4(layout: Layout4, dims: { K: number; C: number; R: number; S: number }, k: number, c: number, r: number, s: number): number {
  const { K, C, R, S } = dims;
  switch (layout) {
    case 'OIHW':
      return ((k * C + c) * R + r) * S + s;
    case 'HWIO':
      return ((r * S + s) * C + c) * K + k;
    case 'OHWI':
      return ((k * R + r) * S + s) * C + c;
  }
}

export interface NaiveStructure {
  zeros: number;
  filters: number;
  channels: number;
  kernels: number;
  nm24: number;
  nm24Full: boolean;
  block: number;
}

/**
 * Structured statistics the slow obvious way, on the canonical [K, C, R, S] view (a matrix is
 * [K, C, 1, 1]): loops over whole filters, channels, kernels, ASP groups and blocks.
 */
export function naiveStructure(
  at: (k: number, c: number, r: number, s: number) => number,
  dims: { K: number; C: number; R: number; S: number },
  threshold: number,
  block: [number, number],
): NaiveStructure {
  const { K, C, R, S } = dims;
  const isZero = (k: number, c: number, r: number, s: number) => Math.abs(at(k, c, r, s)) <= threshold;
  let zeros = 0;
  let zeroFilters = 0;
  let zeroChannels = 0;
  let zeroKernels = 0;
  for (let k = 0; k < K; k++) {
    let all = true;
    for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) all &&= isZero(k, c, r, s);
    if (all) zeroFilters++;
  }
  for (let c = 0; c < C; c++) {
    let all = true;
    for (let k = 0; k < K; k++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) all &&= isZero(k, c, r, s);
    if (all) zeroChannels++;
  }
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < C; c++) {
      let all = true;
      for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) {
        const z = isZero(k, c, r, s);
        zeros += z ? 1 : 0;
        all &&= z;
      }
      if (all) zeroKernels++;
    }
  }
  // ASP m4n2_1d: for each (k, r, s) the channel axis in groups of 4, padded with zeros.
  let groups = 0;
  let compliant = 0;
  for (let k = 0; k < K; k++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) {
    for (let c0 = 0; c0 < C; c0 += 4) {
      let z = 0;
      for (let c = c0; c < c0 + 4; c++) z += c >= C || isZero(k, c, r, s) ? 1 : 0;
      groups++;
      compliant += z >= 2 ? 1 : 0;
    }
  }
  // Blocks over the [K, C*R*S] view with column c*R*S + r*S + s.
  const [bh, bw] = block;
  const columns = C * R * S;
  let blocks = 0;
  let zeroBlocks = 0;
  for (let k0 = 0; k0 < K; k0 += bh) {
    for (let j0 = 0; j0 < columns; j0 += bw) {
      let all = true;
      for (let k = k0; k < Math.min(K, k0 + bh); k++) {
        for (let j = j0; j < Math.min(columns, j0 + bw); j++) {
          const c = Math.floor(j / (R * S));
          const r = Math.floor((j % (R * S)) / S);
          const s = j % S;
          all &&= isZero(k, c, r, s);
        }
      }
      blocks++;
      if (all) zeroBlocks++;
    }
  }
  return {
    zeros,
    filters: zeroFilters / K,
    channels: zeroChannels / C,
    kernels: zeroKernels / (K * C),
    nm24: compliant / groups,
    nm24Full: compliant === groups,
    block: zeroBlocks / blocks,
  };
}
