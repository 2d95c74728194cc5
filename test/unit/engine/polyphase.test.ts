import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConvAlgorithm, ConvShape } from '../../../extension/shared/payloads';
import { readFileSync } from 'node:fs';
import { Engine, type EngineVariant, applies, convolve, engineWasmPath } from '../../../extension/engine/engine';
import { phaseDecomposition, strideSubKernels } from '../../../extension/engine/polyphase';
import { convOutputSize, referenceConv2d } from '../../../extension/core/conv/reference';
import { errorInRoundoffUnits, ensureEngineBuilt, makeCase, seededValues } from './helpers';

ensureEngineBuilt();

/** Both builds where this runtime validates the relaxed one (Node 20 needs a flag for it). */
const variants: EngineVariant[] = ['simd'];
if (WebAssembly.validate(readFileSync(engineWasmPath('relaxed')))) variants.push('relaxed');

/**
 * Runs `algo` on each shape against the fp64 reference within `bound` roundoff units (of the output's
 * magnitude sum |x||w| + |b|), and once more unit by unit in reverse order over two scratch areas (what
 * workers do with the split, inner and interleave phases), which must give the same output.
 */
function checkDecomposed(algo: ConvAlgorithm, shapes: ConvShape[], bound: (s: ConvShape) => number): void {
  for (const variant of variants) {
    describe(`${algo} by polyphase decomposition (${variant})`, () => {
      for (const [index, s] of shapes.entries()) {
        const geometry = `${JSON.stringify(s)}`;
        test(geometry, () => {
          assert.deepEqual(applies(algo, s, 'nchw'), { ok: true });
          const engine = Engine.create({ variant });
          const c = makeCase(s, 300 + index);
          const out = convolve(engine, algo, 'nchw', s, c.input, c.weights, c.bias);
          const units = errorInRoundoffUnits(out, c);
          assert.ok(units <= bound(s), `error ${units.toFixed(1)} roundoff units exceeds ${bound(s)}`);

          const plan = engine.plan(s, algo, 'nchw', { threads: 4 });
          try {
            const kernels = plan.descriptor.phases.map((phase) => phase.kernel);
            assert.equal(kernels[0], 'polyphaseSplit');
            assert.equal(kernels.at(-1) === 'polyphaseInterleave', (s.dilation ?? 1) > 1, kernels.join(', '));
            plan.setWeights(c.weights, c.bias);
            plan.setInput(c.input);
            engine.f32(plan.nchwOutputPtr, out.length).fill(Number.NaN);
            const scratch = plan.allocateScratch(2);
            for (const [phaseIndex, phase] of plan.descriptor.phases.entries()) {
              for (let u = phase.units - 1; u >= 0; u--) plan.runPart(phaseIndex, u, u + 1, scratch[u % 2]);
            }
            const split = plan.readOutput();
            assert.ok(errorInRoundoffUnits(split, c) <= bound(s), 'unit by unit');
          } finally {
            plan.release();
          }
        });
      }
    });
  }
}

/**
 * Strided shapes for FFT: stride 2 on odd and even sizes, pads 0-3, batch 2, kernels 3x3, 4x4 (even:
 * sub-kernels 2x2), 5x5 and the 7x7 stem on 3 channels, stride 3 and 4, unequal pads, and
 * dilation 2 and 3 at stride 1.
 */
const FFT_SHAPES: ConvShape[] = [
  { N: 2, C: 5, H: 11, W: 13, K: 7, R: 3, S: 3, stride: 2, pad: 1 },
  { N: 1, C: 4, H: 12, W: 14, K: 6, R: 3, S: 3, stride: 2, pad: 0 },
  { N: 1, C: 3, H: 15, W: 16, K: 4, R: 7, S: 7, stride: 2, pad: 3 },
  { N: 1, C: 6, H: 13, W: 12, K: 5, R: 4, S: 4, stride: 2, pad: 1 },
  { N: 1, C: 3, H: 17, W: 10, K: 9, R: 5, S: 3, stride: 2, pad: 2 },
  { N: 1, C: 20, H: 28, W: 28, K: 17, R: 3, S: 3, stride: 2, pad: 1 },
  { N: 1, C: 3, H: 13, W: 14, K: 4, R: 3, S: 3, stride: 3, pad: 1 },
  { N: 2, C: 2, H: 17, W: 15, K: 3, R: 5, S: 5, stride: 4, pad: 2 },
  { N: 1, C: 3, H: 13, W: 12, K: 4, R: 3, S: 3, stride: 2, pad: 1, pads: [0, 1, 1, 0] },
  { N: 1, C: 4, H: 9, W: 10, K: 5, R: 3, S: 3, stride: 1, pad: 1, pads: [0, 2, 1, 1] },
  { N: 2, C: 3, H: 13, W: 11, K: 4, R: 3, S: 3, stride: 1, pad: 2, dilation: 2 },
  { N: 1, C: 3, H: 16, W: 14, K: 4, R: 3, S: 3, stride: 1, pad: 3, dilation: 3 },
];
/**
 * The inner FFT sums D = C R S products (the phases' zero taps add nothing): the same normwise bound
 * as for stride 1, 8 log2(T^2) (D + 2) units with the largest tile T = 32.
 */
checkDecomposed('fft', FFT_SHAPES, (s) => 8 * 2 * Math.log2(32) * (s.C * s.R * s.S + 2));

/**
 * Dilated 3x3 shapes for Winograd: dilation 2 and 3, output sizes not multiples of the dilation nor of
 * m, batch 2, pads other than the dilation, unequal pads with and without dilation, and a layer large
 * enough for several tile chunks.
 */
const WINOGRAD_SHAPES: ConvShape[] = [
  { N: 2, C: 5, H: 13, W: 11, K: 7, R: 3, S: 3, stride: 1, pad: 2, dilation: 2 },
  { N: 1, C: 6, H: 14, W: 17, K: 5, R: 3, S: 3, stride: 1, pad: 3, dilation: 3 },
  { N: 1, C: 3, H: 19, W: 16, K: 9, R: 3, S: 3, stride: 1, pad: 1, dilation: 3 },
  { N: 1, C: 4, H: 12, W: 13, K: 4, R: 3, S: 3, stride: 1, pad: 0, dilation: 2 },
  { N: 1, C: 20, H: 28, W: 28, K: 13, R: 3, S: 3, stride: 1, pad: 2, dilation: 2 },
  { N: 1, C: 4, H: 15, W: 12, K: 5, R: 3, S: 3, stride: 1, pad: 2, dilation: 2, pads: [2, 1, 3, 2] },
  { N: 1, C: 5, H: 10, W: 11, K: 6, R: 3, S: 3, stride: 1, pad: 1, pads: [0, 1, 2, 1] },
];
/**
 * Each phase is a plain stride-1 3x3 convolution, so each F(m,3)'s stride-1 bound holds: factor x 8 x
 * (D + 2) units, D = 9C, with the factors of the stride-1 tests (~1, 10, 100, 300 for m = 2, 4, 6, 7).
 */
const WINOGRAD_FACTOR = { 'winograd-2x3': 1, 'winograd-4x3': 10, 'winograd-6x3': 100, 'winograd-7x3': 300 } as const;
for (const [algo, factor] of Object.entries(WINOGRAD_FACTOR)) {
  checkDecomposed(algo as ConvAlgorithm, WINOGRAD_SHAPES, (s) => factor * 8 * (9 * s.C + 2));
}

describe('the decomposition itself', () => {
  test('stride 2 of a 3x3 kernel: four phase channels per channel, 2x2 sub-kernels, the output size unchanged', () => {
    const shape: ConvShape = { N: 2, C: 3, H: 11, W: 10, K: 4, R: 3, S: 3, stride: 2, pad: 1 };
    const { P, Q } = convOutputSize(shape);
    const d = phaseDecomposition(shape);
    assert.deepEqual([P, Q], [6, 5]);
    assert.deepEqual(d, {
      mode: 'stride', factor: 2, P: 6, Q: 5,
      inner: { N: 2, C: 12, H: 7, W: 6, K: 4, R: 2, S: 2, stride: 1, pad: 0 },
    });
  });

  test('dilation 3: nine phase images of undilated convolutions, each ceil(P/3) x ceil(Q/3)', () => {
    const shape: ConvShape = { N: 2, C: 3, H: 14, W: 17, K: 4, R: 3, S: 3, stride: 1, pad: 3, dilation: 3 };
    assert.deepEqual(convOutputSize(shape), { P: 14, Q: 17 });
    assert.deepEqual(phaseDecomposition(shape), {
      mode: 'dilation', factor: 3, P: 5, Q: 6,
      inner: { N: 18, C: 3, H: 7, W: 8, K: 4, R: 3, S: 3, stride: 1, pad: 0 },
    });
  });

  test('sub-kernels: phase (a, b) of channel c holds taps (2r + a, 2s + b), zeros past the kernel', () => {
    // One output channel, two input channels, 3x3 taps numbered 1..9 and 11..19.
    const w = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const sub = strideSubKernels(w, { N: 1, C: 2, H: 5, W: 5, K: 1, R: 3, S: 3, stride: 2, pad: 0 });
    // Channels (a, b, c) in order (0,0,0) (0,0,1) (0,1,0) (0,1,1) (1,0,0) (1,0,1) (1,1,0) (1,1,1).
    assert.deepEqual(Array.from(sub), [
      1, 3, 7, 9, 11, 13, 17, 19,
      2, 0, 8, 0, 12, 0, 18, 0,
      4, 6, 0, 0, 14, 16, 0, 0,
      5, 0, 0, 0, 15, 0, 0, 0,
    ]);
  });

  test('the stride-1 convolution of the phases equals the strided one (fp64)', () => {
    const shape: ConvShape = { N: 1, C: 2, H: 9, W: 8, K: 3, R: 5, S: 4, stride: 2, pad: 2 };
    const x = seededValues(2 * 9 * 8, 5);
    const w = seededValues(3 * 2 * 5 * 4, 6);
    const d = phaseDecomposition(shape);
    // The phase planes built here by hand from the padded input.
    const { H: Hs, W: Ws } = d.inner;
    const phases = new Float32Array(4 * 2 * Hs * Ws);
    for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) for (let c = 0; c < 2; c++) {
      for (let i = 0; i < Hs; i++) for (let j = 0; j < Ws; j++) {
        const y = 2 * i + a - 2;
        const xx = 2 * j + b - 2;
        const inside = y >= 0 && y < 9 && xx >= 0 && xx < 8;
        phases[(((a * 2 + b) * 2 + c) * Hs + i) * Ws + j] = inside ? x[(c * 9 + y) * 8 + xx] : 0;
      }
    }
    const viaPhases = referenceConv2d(phases, strideSubKernels(w, shape), undefined, d.inner);
    const direct = referenceConv2d(x, w, undefined, shape);
    assert.equal(viaPhases.length, direct.length);
    for (let i = 0; i < direct.length; i++) assert.ok(Math.abs(viaPhases[i] - direct[i]) < 1e-12, `${i}`);
  });
});

describe('what the decomposition does not run is refused with the reason', () => {
  const base: ConvShape = { N: 1, C: 8, H: 14, W: 14, K: 8, R: 3, S: 3, stride: 1, pad: 1 };
  const cases: [ConvAlgorithm, ConvShape, string][] = [
    ['fft', { ...base, groups: 2 }, 'fft runs only one group (got groups 2); direct and im2col run every shape'],
    ['winograd-4x3', { ...base, groups: 8 }, 'winograd-4x3 runs only one group (got groups 8); direct and im2col run every shape'],
    ['fft', { ...base, stride: 2, dilation: 2, pad: 2 }, 'fft runs dilation 2 only at stride 1 (by polyphase decomposition), got stride 2; direct and im2col run every shape'],
    ['winograd-2x3', { ...base, stride: 2, dilation: 2, pad: 2 }, 'winograd-2x3 runs dilation 2 only at stride 1 (by polyphase decomposition), got stride 2; direct and im2col run every shape'],
    ['winograd-6x3', { ...base, stride: 2 }, 'winograd-6x3 needs a 3x3 kernel with stride 1, got 3x3 stride 2'],
    ['winograd-7x3', { ...base, R: 5, S: 5, pad: 4, dilation: 2 }, 'winograd-7x3 needs a 3x3 kernel with stride 1, got 5x5 stride 1'],
    ['fft', { ...base, H: 80, W: 80, R: 35, S: 35, stride: 2, pad: 0 }, 'fft supports kernels up to 16x16, got 18x18 (the 35x35 kernel at stride 2 splits into 2x2 phases of 18x18 sub-kernels)'],
  ];
  for (const [algo, shape, reason] of cases) {
    test(`${algo}: ${reason}`, () => {
      assert.deepEqual(applies(algo, shape, 'nchw'), { ok: false, reason });
      assert.throws(() => Engine.create().plan(shape, algo, 'nchw'), (error: Error) => error.message.endsWith(reason));
    });
  }
});
