/**
 * The algorithms this engine build implements: each one's planner, layouts and applicability. The
 * single place that says whether an algorithm can run a shape, and why not.
 */
import { type ConvAlgorithm, type ConvLayout, type ConvShape, convPads, isPlainConv } from '../shared/payloads';
import { validateConvShape } from '../core/conv/reference';
import { directSpec } from './direct';
import { fftSpec } from './fft';
import { im2colSpec } from './im2col';
import type { AlgorithmSpec } from './planner';
import { strassenSpec } from './strassen';
import { winogradSpec } from './winograd';

/** What a shape asks beyond a plain convolution, for refusals. */
function describeGeometry(shape: ConvShape): string {
  const parts: string[] = [];
  if ((shape.groups ?? 1) !== 1) parts.push(`groups ${shape.groups}`);
  if ((shape.dilation ?? 1) !== 1) parts.push(`dilation ${shape.dilation}`);
  const pads = convPads(shape);
  if (!pads.every((value) => value === pads[0])) parts.push(`pads ${pads.join(',')} (top, left, bottom, right)`);
  return `got ${parts.join(', ')}`;
}

export type AppliesResult = { ok: true } | { ok: false; reason: string };

export const ALGORITHMS: Record<ConvAlgorithm, AlgorithmSpec | undefined> = {
  im2col: im2colSpec,
  direct: directSpec,
  'winograd-2x3': winogradSpec(2),
  'winograd-4x3': winogradSpec(4),
  'winograd-5x3': winogradSpec(5),
  'winograd-6x3': winogradSpec(6),
  'winograd-7x3': winogradSpec(7),
  'winograd-4x3s2': winogradSpec(4, 2),
  'winograd-7x3s2': winogradSpec(7, 2),
  fft: fftSpec,
  strassen: strassenSpec,
};

/**
 * Whether `algo` can compute `shape` in `layout`, and if not, why. Never silently substitutes another
 * computation.
 */
export function applies(algo: ConvAlgorithm, shape: ConvShape, layout: ConvLayout): AppliesResult {
  const spec = ALGORITHMS[algo];
  if (spec === undefined) return { ok: false, reason: `${algo} is not implemented in this engine build` };
  try {
    validateConvShape(shape);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (!spec.layouts.includes(layout)) {
    return { ok: false, reason: `${algo} supports layouts ${spec.layouts.join(', ')}, not ${layout}` };
  }
  if (!spec.general && !isPlainConv(shape)) {
    return { ok: false, reason: `${algo} runs only one group, dilation 1 and equal pads on all sides (${describeGeometry(shape)}); direct and im2col run every shape` };
  }
  const reason = spec.applies?.(shape);
  return reason === undefined ? { ok: true } : { ok: false, reason };
}

/** Algorithms and layouts implemented by this build. */
export function supportedLayouts(algo: ConvAlgorithm): readonly ConvLayout[] {
  return ALGORITHMS[algo]?.layouts ?? [];
}
