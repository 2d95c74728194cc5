/**
 * Do spatial zeros survive the Winograd filter transform? For each 3x3 kernel g of a conv weight the
 * transform-domain tile is U = G g G^T (alpha x alpha, alpha = m + 2), and a Winograd kernel skips a
 * multiplication only where U is zero. G comes exact from the project's generator; U is computed in
 * float64, and an entry counts as zero when it is within a few ulps of the sum of |terms| that
 * formed it (fractions such as 1/6 do not cancel exactly in binary), or exactly zero when that sum is.
 */
import type { WinogradSparsityReport } from '../../shared/payloads';
import type { OpenedWeightFile, TensorSource } from '../formats/types';
import { generateMatrices } from '../winograd/index';
import { layerTypeOf, weightViewOf } from './layout';

/** "p/q", "-p/q" or a decimal integer to a float64. */
export function parseRational(entry: string): number {
  const match = /^\s*(-?\d+)(?:\s*\/\s*(\d+))?\s*$/.exec(entry);
  if (!match) throw new RangeError(`not an exact rational: "${entry}"`);
  return Number(match[1]) / (match[2] === undefined ? 1 : Number(match[2]));
}

const RELATIVE_ZERO = 16 * Number.EPSILON;

export interface KernelTransform {
  alpha: number;
  /** U = G g G^T for a row-major 3x3 g, written to out (alpha*alpha); returns its zero count. */
  transform(g: ArrayLike<number>, out: Float64Array): number;
}

export function kernelTransform(G: readonly (readonly number[])[]): KernelTransform {
  const alpha = G.length;
  const r = G[0]!.length;
  const flat = Float64Array.from(G.flat());
  const temp = new Float64Array(alpha * r);
  const tempAbs = new Float64Array(alpha * r);
  return {
    alpha,
    transform(g, out) {
      // temp = G g ; tempAbs = |G| |g| (the scale each entry's rounding error is relative to).
      for (let i = 0; i < alpha; i++) {
        for (let j = 0; j < r; j++) {
          let sum = 0;
          let abs = 0;
          for (let t = 0; t < r; t++) {
            const term = flat[i * r + t]! * g[t * r + j]!;
            sum += term;
            abs += Math.abs(term);
          }
          temp[i * r + j] = sum;
          tempAbs[i * r + j] = abs;
        }
      }
      let zeros = 0;
      for (let i = 0; i < alpha; i++) {
        for (let j = 0; j < alpha; j++) {
          let sum = 0;
          let abs = 0;
          for (let t = 0; t < r; t++) {
            const gj = flat[j * r + t]!;
            sum += temp[i * r + t]! * gj;
            abs += tempAbs[i * r + t]! * Math.abs(gj);
          }
          out[i * alpha + j] = sum;
          zeros += Math.abs(sum) <= RELATIVE_ZERO * abs ? 1 : 0;
        }
      }
      return zeros;
    },
  };
}

/** The numeric G of F(m, 3) from the project's exact generator. */
export function winogradFilterMatrix(m: number): number[][] {
  return generateMatrices(m, 3).G.map((row) => row.map(parseRational));
}

/** 3x3 conv kernels of a tensor, in canonical (k, c) order, for the layouts weightViewOf knows. */
function isThreeByThree(tensor: TensorSource, opened: Pick<OpenedWeightFile, 'format'>): boolean {
  const view = weightViewOf(tensor, opened.format);
  if (!view || view.rank !== 4 || layerTypeOf(tensor) !== 'conv') return false;
  const [a, b, c, d] = tensor.shape as [number, number, number, number];
  if (view.layout === 'OIHW') return c === 3 && d === 3;
  if (view.layout === 'HWIO') return a === 3 && b === 3;
  return b === 3 && c === 3; // OHWI
}

/**
 * Spatial vs transform-domain sparsity of every 3x3 conv weight in an opened file. Kernels are read
 * in stored order; for OIHW a kernel is 9 consecutive values, for HWIO/OHWI the 9 values of (k, c)
 * are gathered in memory (8 bytes each) only up to `maxGatherElements` (default 8M elements), else skipped.
 */
export async function winogradDomainSparsity(
  opened: Pick<OpenedWeightFile, 'format' | 'tensors'>,
  m: number,
  options: { signal?: AbortSignal; maxGatherElements?: number } = {},
): Promise<WinogradSparsityReport> {
  const G = winogradFilterMatrix(m);
  const transform = kernelTransform(G);
  const alpha = transform.alpha;
  const tile = new Float64Array(alpha * alpha);
  const report: WinogradSparsityReport = { m, r: 3, alpha, tensors: [], total: { kernels: 0, spatialSparsity: 0, winogradSparsity: 0 } };
  let spatialZeros = 0;
  let winogradZeros = 0;
  for (const tensor of opened.tensors) {
    if (!isThreeByThree(tensor, opened)) continue;
    const view = weightViewOf(tensor, opened.format)!;
    const entry = { name: tensor.name, kernels: 0, spatialSparsity: 0, winogradSparsity: 0, kernelsWithSpatialZeros: 0, kernelsWithWinogradZeros: 0 };
    let tensorSpatial = 0;
    let tensorWinograd = 0;
    const visit = (g: ArrayLike<number>) => {
      let z = 0;
      for (let i = 0; i < 9; i++) z += g[i] === 0 ? 1 : 0;
      const w = transform.transform(g, tile);
      entry.kernels++;
      tensorSpatial += z;
      tensorWinograd += w;
      if (z > 0) entry.kernelsWithSpatialZeros++;
      if (z > 0 && w > 0) entry.kernelsWithWinogradZeros++;
    };
    const chunkOptions = options.signal ? { signal: options.signal } : {};
    if (view.order === 'KCP') {
      const kernel = new Float64Array(9);
      let filled = 0;
      for await (const chunk of tensor.chunks(chunkOptions)) {
        for (let i = 0; i < chunk.length; i++) {
          kernel[filled++] = chunk[i]!;
          if (filled === 9) {
            visit(kernel);
            filled = 0;
          }
        }
      }
    } else {
      const total = tensor.numel;
      if (total > (options.maxGatherElements ?? 1 << 23)) continue;
      const canonical = new Float64Array(total);
      const { K, C } = view;
      let position = 0;
      for await (const chunk of tensor.chunks(chunkOptions)) {
        for (let i = 0; i < chunk.length; i++, position++) {
          // HWIO: ((p * C + c) * K + k); OHWI: ((k * 9 + p) * C + c).
          let k: number;
          let c: number;
          let p: number;
          if (view.order === 'PCK') {
            k = position % K;
            c = Math.floor(position / K) % C;
            p = Math.floor(position / (K * C));
          } else {
            c = position % C;
            p = Math.floor(position / C) % 9;
            k = Math.floor(position / (9 * C));
          }
          canonical[(k * C + c) * 9 + p] = chunk[i]!;
        }
      }
      for (let kernel = 0; kernel < K * C; kernel++) visit(canonical.subarray(kernel * 9, kernel * 9 + 9));
    }
    entry.spatialSparsity = entry.kernels === 0 ? 0 : tensorSpatial / (9 * entry.kernels);
    entry.winogradSparsity = entry.kernels === 0 ? 0 : tensorWinograd / (alpha * alpha * entry.kernels);
    report.tensors.push(entry);
    report.total.kernels += entry.kernels;
    spatialZeros += tensorSpatial;
    winogradZeros += tensorWinograd;
  }
  const kernels = report.total.kernels;
  report.total.spatialSparsity = kernels === 0 ? 0 : spatialZeros / (9 * kernels);
  report.total.winogradSparsity = kernels === 0 ? 0 : winogradZeros / (alpha * alpha * kernels);
  return report;
}
