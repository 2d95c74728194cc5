/**
 * Arithmetic cost of a Winograd algorithm, counted from its exact matrices.
 *
 * A 1-D transform y = M x costs, per row of M, (nonzeros - 1) additions and one multiplication for
 * every entry other than 0 and +-1 (a -1 folds into a subtraction). The 2-D transforms apply the
 * 1-D transform to every column and then to every row:
 *   input  BT d B':   alphaN * ops(BT) + alpha * ops(BT')          (d is alpha x alphaN)
 *   filter G g G'^T:  s * ops(G) + alpha * ops(G')                 (g is r x s)
 *   output AT M A':   alphaN * ops(AT) + m * ops(AT')              (M is alpha x alphaN)
 * The order (columns first) is the one the exported transform code uses.
 */
import type { TransformOps, WinogradCost, WinogradLayerCost } from '../../shared/payloads';
import { type RationalMatrix, isUnit, isZero } from './rational';

export function oneDimensionalOps(matrix: RationalMatrix): TransformOps {
  let adds = 0;
  let muls = 0;
  for (const row of matrix) {
    let nonzeros = 0;
    for (const value of row) {
      if (isZero(value)) continue;
      nonzeros++;
      if (!isUnit(value)) muls++;
    }
    adds += Math.max(0, nonzeros - 1);
  }
  return { adds, muls };
}

function combine(a: TransformOps, timesA: number, b: TransformOps, timesB: number): TransformOps {
  return { adds: a.adds * timesA + b.adds * timesB, muls: a.muls * timesA + b.muls * timesB };
}

export interface CostInput {
  first: { AT: RationalMatrix; G: RationalMatrix; BT: RationalMatrix };
  second: { AT: RationalMatrix; G: RationalMatrix; BT: RationalMatrix };
  layer?: { C: number; K: number; H: number; W: number };
}

export function winogradCost({ first, second, layer }: CostInput): WinogradCost {
  const m = first.AT.length;
  const n = second.AT.length;
  const r = first.G[0]!.length;
  const s = second.G[0]!.length;
  const alpha = first.BT.length;
  const alphaN = second.BT.length;
  const transformOps = {
    input: combine(oneDimensionalOps(first.BT), alphaN, oneDimensionalOps(second.BT), alpha),
    filter: combine(oneDimensionalOps(first.G), s, oneDimensionalOps(second.G), alpha),
    output: combine(oneDimensionalOps(first.AT), alphaN, oneDimensionalOps(second.AT), m),
  };
  const winogradMultiplications = alpha * alphaN;
  const directMultiplications = m * n * r * s;
  const cost: WinogradCost = {
    winogradMultiplications,
    directMultiplications,
    saving: directMultiplications / winogradMultiplications,
    transformOps,
  };
  if (layer) cost.layer = layerCost(layer, { m, n, r, s, alpha, alphaN, transformOps });
  return cost;
}

function checkLayerDimension(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`layer ${name} must be a whole number >= 1, got ${value}`);
}

/**
 * Floating-point operations of one stride-1 layer with C input channels, K filters and an H x W
 * output. Direct correlation: 2*C*K*H*W*r*s (a multiply and an add per tap). Winograd, with
 * T = ceil(H/m) * ceil(W/n) tiles:
 *   input transform   T * C * ops(input)   (shared by all K filters: amortised over K)
 *   filter transform  K * C * ops(filter)  (once per layer: amortised over the image)
 *   products          2 * T * K * C * alpha * alphaN   (multiply, then accumulate over C)
 *   output transform  T * K * ops(output)
 */
export function layerCost(
  layer: { C: number; K: number; H: number; W: number },
  shape: {
    m: number;
    n: number;
    r: number;
    s: number;
    alpha: number;
    alphaN: number;
    transformOps: WinogradCost['transformOps'];
  },
): WinogradLayerCost {
  const { C, K, H, W } = layer;
  checkLayerDimension('C', C);
  checkLayerDimension('K', K);
  checkLayerDimension('H', H);
  checkLayerDimension('W', W);
  const total = (ops: TransformOps): number => ops.adds + ops.muls;
  const tiles = Math.ceil(H / shape.m) * Math.ceil(W / shape.n);
  const directFlops = 2 * C * K * H * W * shape.r * shape.s;
  const winogradFlops =
    tiles * C * total(shape.transformOps.input) +
    K * C * total(shape.transformOps.filter) +
    2 * tiles * K * C * shape.alpha * shape.alphaN +
    tiles * K * total(shape.transformOps.output);
  return { C, K, H, W, tiles, directFlops, winogradFlops, effectiveReduction: directFlops / winogradFlops };
}
