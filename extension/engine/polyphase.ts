/**
 * Planner of polyphase decomposition (assembly/polyphase.ts): FFT and Winograd, which need stride 1,
 * contiguous taps and equal pads, run strided, dilated and asymmetrically padded shapes on the phases of
 * the padded input.
 * - stride f (FFT): one stride-1 convolution over the f^2 C phase channels with ceil(R/f) x ceil(S/f)
 *   sub-kernels w[k][c][f r + a][f s + b] sums the phases' contributions into the output itself;
 * - dilation f (Winograd, FFT; stride 1): the f^2 phases are f^2 images, each convolved with the
 *   undilated kernel; their outputs interleave to y[f p + a][f q + b];
 * - equal stride and dilation 1 with unequal pads: factor 1, the split only pads.
 * Phases: split (unit = (image, input channel)), the inner algorithm's own kernel on its own plan block
 * (its units), and for dilation the interleave (unit = (image, output channel)). The inner plan's packed
 * weights and scratch are the plan's.
 */
import type { ConvShape } from '../shared/payloads';
import { isPlainConv } from '../shared/payloads';
import { convGeometry, convOutputSize } from '../core/conv/reference';
import type { AlgorithmPlan, AlgorithmSpec, PlanOptions, PlannerEngine } from './planner';
import { ceilDiv } from './planner';

export interface PhaseDecomposition {
  mode: 'stride' | 'dilation';
  factor: number;
  /** The stride-1, undilated, unpadded convolution the inner algorithm runs over the phase planes. */
  inner: ConvShape;
  /** Its output size: the convolution's own (stride) or one phase's (dilation). */
  P: number;
  Q: number;
}

/** The stride-1 convolution a strided or dilated shape becomes (stride and dilation not both > 1). */
export function phaseDecomposition(shape: ConvShape): PhaseDecomposition {
  const { N, C, K, R, S, stride } = shape;
  const { dilation } = convGeometry(shape);
  const { P, Q } = convOutputSize(shape);
  if (dilation > 1) {
    const Ps = ceilDiv(P, dilation);
    const Qs = ceilDiv(Q, dilation);
    const inner = { N: N * dilation * dilation, C, H: Ps + R - 1, W: Qs + S - 1, K, R, S, stride: 1, pad: 0 };
    return { mode: 'dilation', factor: dilation, inner, P: Ps, Q: Qs };
  }
  const Rs = ceilDiv(R, stride);
  const Ss = ceilDiv(S, stride);
  const inner = { N, C: stride * stride * C, H: P + Rs - 1, W: Q + Ss - 1, K, R: Rs, S: Ss, stride: 1, pad: 0 };
  return { mode: 'stride', factor: stride, inner, P, Q };
}

/**
 * Weights [K][f^2 C][ceil(R/f)][ceil(S/f)] of the stride-f decomposition: phase (a, b) of channel c
 * holds the taps w[k][c][f r + a][f s + b], zero past the kernel.
 */
export function strideSubKernels(weights: Float32Array, shape: ConvShape): Float32Array {
  const { C, K, R, S, stride: f } = shape;
  const Rs = ceilDiv(R, f);
  const Ss = ceilDiv(S, f);
  const out = new Float32Array(K * f * f * C * Rs * Ss);
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < C; c++) {
      for (let r = 0; r < R; r++) {
        for (let s = 0; s < S; s++) {
          const channel = ((r % f) * f + (s % f)) * C + c;
          out[((k * f * f * C + channel) * Rs + Math.floor(r / f)) * Ss + Math.floor(s / f)] = weights[((k * C + c) * R + r) * S + s];
        }
      }
    }
  }
  return out;
}

function decomposedPlan(
  shape: ConvShape, plain: AlgorithmSpec, threads: number, engine: PlannerEngine, options: PlanOptions,
): AlgorithmPlan {
  const decomposition = phaseDecomposition(shape);
  const { inner: innerShape, factor: f, mode } = decomposition;
  const inner = plain.plan(innerShape, 'nchw', threads, engine, options);
  const innerPack = inner.packWeights;
  if (!innerPack || inner.inner || inner.laterPhases) throw new Error('engine: polyphase decomposition needs a one-phase inner plan that packs its weights on the host');
  const { N, C, K } = shape;
  const phasePlaneFloats = innerShape.H * innerShape.W;
  const buffers: AlgorithmPlan['buffers'] = [
    { slot: 'x5', bytes: N * f * f * C * phasePlaneFloats * 4, what: 'input phases' },
  ];
  if (mode === 'dilation') {
    buffers.push({ slot: 'x6', bytes: innerShape.N * K * decomposition.P * decomposition.Q * 4, what: 'phase outputs' });
  }
  return {
    kernel: 'polyphaseSplit',
    units: N * C,
    unit: `(image, input channel) into ${f * f} phase planes of ${innerShape.H}x${innerShape.W}`,
    slots: { x0: f, x1: innerShape.H, x2: innerShape.W, x3: decomposition.P, x4: decomposition.Q },
    buffers,
    inner: {
      shape: innerShape, P: decomposition.P, Q: decomposition.Q, plan: inner,
      inputSlot: 'x5', outputSlot: mode === 'dilation' ? 'x6' : undefined,
    },
    laterPhases: [
      { kernel: inner.kernel, units: inner.units, unit: inner.unit, inner: true },
      ...(mode === 'dilation' ? [{ kernel: 'polyphaseInterleave', units: N * K, unit: '(image, output channel)' }] : []),
    ],
    scratchBytes: inner.scratchBytes,
    weightBytes: inner.weightBytes,
    realFlops: inner.realFlops,
    packWeights: (w, packed) => innerPack(mode === 'stride' && f > 1 ? strideSubKernels(w, shape) : w, packed),
  };
}

/**
 * `plain` (an algorithm for stride 1, no dilation, equal pads) extended by polyphase decomposition to
 * dilation (at stride 1), unequal pads and, when `decomposeStride`, strides above 1. Refusals name what
 * the decomposition cannot do; the rest are `plain`'s own on the shape it would run.
 */
export function polyphaseSpec(name: string, plain: AlgorithmSpec, decomposeStride: boolean): AlgorithmSpec {
  const decomposes = (shape: ConvShape): boolean => !isPlainConv(shape) || (decomposeStride && shape.stride > 1);
  if (plain.layouts.length !== 1 || plain.layouts[0] !== 'nchw') throw new Error(`engine: ${name} decomposes on nchw only`);
  return {
    layouts: plain.layouts,
    general: true,
    applies: (shape) => {
      const { groups, dilation } = convGeometry(shape);
      if (groups !== 1) return `${name} runs only one group (got groups ${groups}); direct and im2col run every shape`;
      if (dilation > 1 && shape.stride > 1) {
        return `${name} runs dilation ${dilation} only at stride 1 (by polyphase decomposition), got stride ${shape.stride}; direct and im2col run every shape`;
      }
      if (!decomposeStride && shape.stride > 1) return plain.applies?.(shape);
      if (!decomposes(shape)) return plain.applies?.(shape);
      const { mode, factor, inner } = phaseDecomposition(shape);
      const reason = plain.applies?.(inner);
      if (reason === undefined || mode !== 'stride' || factor === 1) return reason;
      return `${reason} (the ${shape.R}x${shape.S} kernel at stride ${factor} splits into ${factor}x${factor} phases of ${inner.R}x${inner.S} sub-kernels)`;
    },
    plan: (shape, layout, threads, engine, options) =>
      decomposes(shape) ? decomposedPlan(shape, plain, threads, engine, options) : plain.plan(shape, layout, threads, engine, options),
  };
}
