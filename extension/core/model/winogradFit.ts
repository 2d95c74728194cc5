/**
 * Which of the engine's Winograd kernels fit a layer, and what each saves on it.
 *
 * A kernel F(m,r) with stride s reads an input patch of alpha = s*(m-1) + r per axis and computes an
 * m x m output tile with alpha^2 element-wise products per input/output channel pair, where direct
 * convolution needs m^2 * r^2. On a real layer the last row and column of tiles may be ragged:
 * ceil(P/m) * ceil(Q/m) tiles cover P x Q outputs, so the saving is P*Q*R*S / (tiles * alpha^2).
 */
import { CONV_ALGORITHMS, type ModelConvShape, type ModelLayerOp, type ModelWinograd, type ModelWinogradTile } from '../../shared/payloads';

interface EngineTile {
  algo: string;
  m: number;
  r: number;
  stride: number;
}

/** The engine's Winograd kernels, read from their names (winograd-MxR, winograd-MxRsS). */
export const ENGINE_WINOGRAD_TILES: readonly EngineTile[] = CONV_ALGORITHMS.flatMap((algo) => {
  const match = /^winograd-(\d+)x(\d+)(?:s(\d+))?$/.exec(algo);
  return match ? [{ algo, m: Number(match[1]), r: Number(match[2]), stride: Number(match[3] ?? 1) }] : [];
});

/**
 * Kernels whose error lies outside the default accuracy budget (max abs error at most 16x direct's,
 * the F(6,3) class production libraries ship): F(7,3) measures 40-54x direct's on the ResNet-18
 * layers (BENCHMARKS.md, `bench --json` errorVsDirect). They are listed but not picked by default.
 */
const OUTSIDE_DEFAULT_BUDGET: Readonly<Record<string, string>> = {
  'winograd-7x3': "F(7,3)'s max error is 40-54x direct's, outside the default budget of 16x",
};

export function tileName(tile: EngineTile): string {
  return `F(${tile.m},${tile.r})${tile.stride === 1 ? '' : ` stride ${tile.stride}`}`;
}

function notApplicable(reason: string): ModelWinograd {
  return { applicable: false, reason, tiles: [] };
}

/** The engine's Winograd kernels for a layer, their arithmetic on it and the default pick. */
export function winogradFit(op: ModelLayerOp, shape: ModelConvShape | undefined): ModelWinograd {
  if (op === 'linear' || !shape) return notApplicable('a matrix product, not a convolution');
  if (op === 'convTranspose') return notApplicable('a transposed convolution; the engine does not run it');
  const rs = new Set(ENGINE_WINOGRAD_TILES.map((t) => t.r));
  if (shape.R !== shape.S || !rs.has(shape.R)) {
    return notApplicable(`the engine's Winograd kernels are F(m,${[...rs].join('/')}) for square kernels; this one is ${shape.R}x${shape.S}`);
  }
  if (shape.groups !== 1) return notApplicable(`${op === 'depthwise' ? 'depthwise' : `${shape.groups} groups`}: the engine's Winograd kernels take one group`);
  if (shape.dilations[0] !== 1 || shape.dilations[1] !== 1) return notApplicable(`dilation ${shape.dilations.join('x')}: the engine's Winograd kernels take dilation 1`);
  const [sh, sw] = shape.strides;
  const candidates = ENGINE_WINOGRAD_TILES.filter((t) => t.r === shape.R && t.stride === sh && t.stride === sw);
  if (sh !== sw || candidates.length === 0) {
    const strides = [...new Set(ENGINE_WINOGRAD_TILES.filter((t) => t.r === shape.R).map((t) => t.stride))].join(' or ');
    return notApplicable(`stride ${sh}x${sw}: the engine's Winograd kernels take stride ${strides} on both axes`);
  }
  const tiles: ModelWinogradTile[] = candidates.map((t) => {
    const alpha = t.stride * (t.m - 1) + t.r;
    const known = shape.P !== null && shape.Q !== null;
    const count = known ? Math.ceil(shape.P! / t.m) * Math.ceil(shape.Q! / t.m) : null;
    const products = count === null ? null : count * alpha * alpha;
    const reduction = products === null ? null : (shape.P! * shape.Q! * shape.R * shape.S) / products;
    return {
      algo: t.algo,
      tile: tileName(t),
      m: t.m,
      r: t.r,
      tiles: count,
      products,
      reduction,
      ...(OUTSIDE_DEFAULT_BUDGET[t.algo] ? { outsideBudget: OUTSIDE_DEFAULT_BUDGET[t.algo] } : {}),
    };
  });
  const pickable = tiles.filter((t) => !t.outsideBudget && t.reduction !== null);
  const best = pickable.reduce<ModelWinogradTile | undefined>((a, t) => (!a || t.reduction! > a.reduction! ? t : a), undefined);
  return { applicable: true, tiles, ...(best ? { chosen: { algo: best.algo, tile: best.tile } } : {}) };
}
