import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONV_ALGORITHMS, type ConvAlgorithm, type ConvLayout, type ConvShape } from '../../../extension/shared/payloads';
import {
  Engine,
  applies,
  convolve,
  detectEngineVariant,
  directInputBlock,
  engineWasmPath,
  supportedLayouts,
  type EngineVariant,
} from '../../../extension/engine/engine';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { ensureEngineBuilt, errorInRoundoffUnits, makeCase, shapeName } from './helpers';

ensureEngineBuilt();

const shape = (s: Partial<ConvShape>): ConvShape => ({
  N: 1, C: 3, H: 8, W: 8, K: 4, R: 3, S: 3, stride: 1, pad: 1, ...s,
});

/** Shapes that break lazy code: ragged tiles, odd channel counts, strides, paddings, kernel sizes, batch. */
const GENERAL_SHAPES: ConvShape[] = [
  shape({ N: 2, C: 5, H: 11, W: 13, K: 7, R: 3, S: 3, stride: 1, pad: 1 }),
  shape({ N: 1, C: 3, H: 9, W: 10, K: 9, R: 3, S: 3, stride: 2, pad: 0 }),
  shape({ N: 1, C: 6, H: 7, W: 17, K: 5, R: 5, S: 5, stride: 1, pad: 2 }),
  shape({ N: 2, C: 2, H: 15, W: 9, K: 3, R: 7, S: 7, stride: 2, pad: 2 }),
  shape({ N: 1, C: 17, H: 6, W: 5, K: 13, R: 1, S: 1, stride: 1, pad: 0 }),
  shape({ N: 1, C: 9, H: 5, W: 5, K: 10, R: 1, S: 1, stride: 2, pad: 1 }),
  shape({ N: 1, C: 20, H: 12, W: 12, K: 33, R: 3, S: 3, stride: 1, pad: 0 }),
  shape({ N: 1, C: 4, H: 13, W: 14, K: 6, R: 3, S: 3, stride: 3, pad: 1 }),
  shape({ N: 1, C: 9, H: 5, W: 40, K: 17, R: 3, S: 3, stride: 1, pad: 1 }),
  // Stride 2 (specialised kernels and im2col gathers): odd and even W, pad 0, 1 and 2, K ending
  // inside a channel block; padding wider than the kernel (rows and columns that read only zeros).
  shape({ N: 1, C: 10, H: 12, W: 15, K: 12, R: 3, S: 3, stride: 2, pad: 2 }),
  shape({ N: 2, C: 7, H: 11, W: 16, K: 20, R: 3, S: 3, stride: 2, pad: 1 }),
  shape({ N: 1, C: 18, H: 10, W: 21, K: 9, R: 3, S: 3, stride: 2, pad: 0 }),
  shape({ N: 1, C: 5, H: 6, W: 7, K: 8, R: 1, S: 1, stride: 2, pad: 2 }),
  // Output rows narrower than the direct kernels' pixel runs (rows are not joined into one sequence).
  shape({ N: 1, C: 6, H: 9, W: 3, K: 8, R: 3, S: 3, stride: 1, pad: 1 }),
  // 36 pixels and K = 12: GEMM blocks whose last column panel is 4 wide (the 8x4 narrow tiles), with
  // row and column bias and, as C*R*S exceeds one depth block, accumulation onto earlier blocks.
  shape({ N: 1, C: 300, H: 6, W: 6, K: 12, R: 3, S: 3, stride: 1, pad: 1 }),
  // 49 pixels and K = 10: last column panels of 1 (NCHW, pixels) and 2 (NHWC, channels) through the
  // narrow tiles' edge path, with row and column bias and accumulation over depth blocks.
  shape({ N: 1, C: 300, H: 7, W: 7, K: 10, R: 3, S: 3, stride: 1, pad: 1 }),
  // RGB (direct's 3-channel input block): a 7x7/2 stem with batch 2, K ending inside an output group
  // and rows joined across row ends (Q = 7), and a dilated 3x3 whose taps reach past the image.
  shape({ N: 2, C: 3, H: 17, W: 14, K: 12, R: 7, S: 7, stride: 2, pad: 3 }),
  shape({ N: 1, C: 3, H: 9, W: 11, K: 8, R: 3, S: 3, stride: 1, pad: 3, dilation: 3 }),
];

// Node 20 validates relaxed SIMD only behind a V8 flag (Electron has it on). Turning it on here lets
// one run test both builds; `node --experimental-wasm-relaxed-simd --import tsx --test ...` does the same.
if (process.env.DEEP_ACCEL_TEST_SIMD_ONLY !== '1') setFlagsFromString('--experimental-wasm-relaxed-simd');
const variants: EngineVariant[] = ['simd'];
if (WebAssembly.validate(readFileSync(engineWasmPath('relaxed')))) variants.push('relaxed');

/**
 * im2col sums D = C*R*S products per output in fp32: Higham's bound is ~D roundoff units of the
 * output's magnitude (sum |x||w|); + 2 for the bias add and the final rounding.
 */
function im2colBound(s: ConvShape): number {
  return s.C * s.R * s.S + 2;
}

describe('engine basics', () => {
  test('detects a variant and reports MR, NR', () => {
    const engine = Engine.create();
    assert.equal(engine.variant, detectEngineVariant());
    assert.equal(engine.MR, 4);
    assert.equal(engine.NR, 8);
  });

  test('the relaxed build is used exactly when the runtime validates it', () => {
    const relaxedValid = WebAssembly.validate(readFileSync(engineWasmPath('relaxed')));
    assert.equal(detectEngineVariant(), relaxedValid ? 'relaxed' : 'simd');
  });

  test('applies() explains what does not apply', () => {
    const ok = applies('im2col', shape({}), 'nchw');
    assert.deepEqual(ok, { ok: true });
    const badLayout = applies('im2col', shape({}), 'nchw8c');
    assert.equal(badLayout.ok, false);
    assert.match((badLayout as { reason: string }).reason, /im2col supports layouts nchw, nhwc, not nchw8c/);
    const badShape = applies('im2col', shape({ R: 11 }), 'nchw');
    assert.match((badShape as { reason: string }).reason, /kernel 11x3 is larger than the padded input/);
  });

  test('the bandwidth probe reads every byte it is given', () => {
    const engine = Engine.create();
    const mark = engine.arena.mark();
    const buffer = engine.arena.alloc(4096);
    const out = engine.arena.alloc(4);
    const values = engine.f32(buffer, 1024);
    for (let i = 0; i < 1024; i++) values[i] = i % 7;
    // i % 7 over 0..1023: 146 full cycles (0..1021) summing to 21 each, then 0 + 1: 3067; read 3 times.
    engine.call('streamRead', buffer, 4096, 3, out);
    assert.equal(engine.f32(out, 1)[0], 3 * 3067);
    engine.arena.release(mark);
  });

  test('wrong lengths are rejected with the argument named', () => {
    const engine = Engine.create();
    const s = shape({});
    assert.throws(
      () => convolve(engine, 'im2col', 'nchw', s, new Float32Array(5), new Float32Array(108)),
      /input has 5 elements, expected N\*C\*H\*W = 192/,
    );
    assert.throws(
      () => convolve(engine, 'im2col', 'nchw', s, new Float32Array(192), new Float32Array(10)),
      /weights have 10 elements, expected K\*C\*R\*S = 108/,
    );
  });

  test('a trap surfaces as an Error naming the kernel', () => {
    const engine = Engine.create();
    const beyond = engine.memory.buffer.byteLength + 1024;
    assert.throws(
      () => engine.call('nchwToNhwc', beyond, beyond, 4, 4, 0, 1),
      /engine: kernel nchwToNhwc\(.*\) trapped: memory access out of bounds/,
    );
  });

  test('a second instance over the same memory (what a worker builds) runs part of a plan', () => {
    const owner = Engine.create();
    const worker = Engine.instantiate(owner.module, owner.memory, owner.variant);
    const s = shape({ N: 2, C: 7, H: 19, W: 17, K: 9, pad: 1 });
    const c = makeCase(s, 21);
    for (const algo of ['im2col', 'winograd-4x3', 'fft', 'strassen'] as const) {
      const plan = owner.plan(s, algo, 'nchw', { threads: 2 });
      plan.setWeights(c.weights, c.bias);
      plan.setInput(c.input);
      const [mine, theirs] = plan.allocateScratch(2);
      const units = plan.descriptor.phases[0].units;
      assert.ok(units >= 2, `${algo}: ${units} units`);
      const half = Math.floor(units / 2);
      // The descriptor is plain data: a structured clone is what a worker receives.
      worker.runPart(structuredClone(plan.descriptor), 0, half, units, theirs);
      plan.runPart(0, 0, half, mine);
      const units32 = errorInRoundoffUnits(plan.readOutput(), c);
      assert.ok(units32 <= 4096, `${algo}: error ${units32} roundoff units`);
      plan.release();
    }
  });

  test('runPart rejects unit ranges and scratch outside the plan', () => {
    const engine = Engine.create();
    const plan = engine.plan(shape({}), 'im2col', 'nchw');
    const c = makeCase(shape({}), 5);
    plan.setWeights(c.weights, c.bias);
    const [scratch] = plan.allocateScratch(1);
    const units = plan.descriptor.phases[0].units;
    assert.throws(() => plan.runPart(0, 0, units + 1, scratch), /unit range \[0, \d+\) is outside/);
    assert.throws(() => plan.runPart(0, 0, 1, engine.memory.buffer.byteLength), /scratch area .* is outside/);
    plan.release();
    assert.throws(() => plan.runPart(0, 0, 1, scratch), /plan used after release/);
  });
});

function checkAlgorithm(algo: ConvAlgorithm, layouts: ConvLayout[], shapes: ConvShape[], bound: (s: ConvShape) => number): void {
  for (const variant of variants) {
    describe(`${algo} (${variant})`, () => {
      for (const layout of layouts) {
        for (const [index, s] of shapes.entries()) {
          test(`${layout} ${shapeName(s)}`, () => {
            const engine = Engine.create({ variant });
            const c = makeCase(s, 100 + index);
            const verdict = applies(algo, s, layout);
            assert.deepEqual(verdict, { ok: true });
            const out = convolve(engine, algo, layout, s, c.input, c.weights, c.bias);
            const units = errorInRoundoffUnits(out, c);
            assert.ok(units <= bound(s), `error ${units.toFixed(1)} roundoff units exceeds ${bound(s)}`);
          });
        }
        test(`${layout}: split into single units over two scratch areas equals the whole run`, () => {
          const engine = Engine.create({ variant });
          // The first of the algorithm's shapes with the stride it takes (3x3 stride 2 for winograd-4x3s2/7x3s2).
          const s = shape({ N: 2, C: 12, H: 23, W: 21, K: 19, stride: shapes[0].stride, pad: 1 });
          const c = makeCase(s, 7);
          const plan = engine.plan(s, algo, layout, { threads: 4 });
          plan.setWeights(c.weights, c.bias);
          plan.setInput(c.input);
          plan.run();
          const whole = plan.readOutput();
          engine.f32(plan.outputPtr, whole.length).fill(NaN);
          const scratch = plan.allocateScratch(2);
          for (const [phaseIndex, phase] of plan.descriptor.phases.entries()) {
            assert.ok(phase.units >= 2, `${phase.kernel} should offer several units for 4 threads`);
            for (let u = phase.units - 1; u >= 0; u--) plan.runPart(phaseIndex, u, u + 1, scratch[u % 2]);
          }
          assert.deepEqual(plan.readOutput(), whole);
          plan.release();
        });
      }
    });
  }
}

checkAlgorithm('im2col', ['nchw', 'nhwc'], GENERAL_SHAPES, im2colBound);
// Direct sums the same D products as im2col, in a different order: the same bound.
checkAlgorithm('direct', ['nchw4c', 'nchw8c', 'nchw16c'], GENERAL_SHAPES, im2colBound);

/** 3x3 stride-1 shapes: output sizes that are not multiples of 2, 4 or 6; C not a multiple of 4 or 8. */
const WINOGRAD_SHAPES: ConvShape[] = [
  shape({ N: 2, C: 5, H: 11, W: 13, K: 7, pad: 1 }),
  shape({ N: 1, C: 3, H: 9, W: 10, K: 9, pad: 0 }),
  shape({ N: 1, C: 20, H: 17, W: 19, K: 33, pad: 2 }),
  shape({ N: 1, C: 1, H: 3, W: 3, K: 1, pad: 0 }),
  shape({ N: 1, C: 9, H: 26, W: 7, K: 4, pad: 1 }),
  // Wide enough that groups of 4 whole tiles exist for every m (the vectorised output path).
  shape({ N: 1, C: 6, H: 26, W: 26, K: 5, pad: 1 }),
  // 4 tiles for F(4,3) and F(6,3) (the 8x4 narrow GEMM tiles), K = 13 = 8 + 4 + 1 rows, C over one depth block.
  shape({ N: 1, C: 300, H: 8, W: 8, K: 13, pad: 1 }),
  // ResNet's 14x14: 3 x 3 tiles for F(5,3), the last row and column of tiles one output short.
  shape({ N: 1, C: 16, H: 14, W: 14, K: 12, pad: 1 }),
];

/**
 * Winograd's fp32 error is direct's times a factor set by the transform constants (Lavin & Gray;
 * Barabasz et al. 2020): ~1x for F(2,3), ~10x for F(4,3), ~30x for F(5,3), ~100x for F(6,3), ~300x for
 * F(7,3) with these points. Direct's error is up to D = 9C roundoff units of the magnitude (sum |x||w|);
 * measured worst cases here are 3, 25, 56, 181 and 543 units. Bounds: factor x 8 x (D + 2), capped at a quarter of
 * the ~2^24 / D units that a missing or misplaced term would cost.
 */
const WINOGRAD_FACTOR: Record<string, number> = {
  'winograd-2x3': 1, 'winograd-4x3': 10, 'winograd-5x3': 30, 'winograd-6x3': 100, 'winograd-7x3': 300,
};
const winogradBound = (factor: number) => (s: ConvShape): number =>
  Math.min(factor * 8 * (9 * s.C + 2), 2 ** 24 / (9 * s.C) / 4);
for (const algo of ['winograd-2x3', 'winograd-4x3', 'winograd-5x3', 'winograd-6x3', 'winograd-7x3'] as const) {
  checkAlgorithm(algo, ['nchw'], WINOGRAD_SHAPES, winogradBound(WINOGRAD_FACTOR[algo]));
}

/**
 * 3x3 stride-2 shapes for the algorithm built from F(4, 2): outputs not multiples of 4, odd and even
 * H and W, paddings 0-2, batch 2, C not a multiple of 4, K = 13 = 8 + 4 + 1 rows, and 4-tile images (the
 * narrow GEMM tiles) with C over one depth block.
 */
const WINOGRAD_STRIDE2_SHAPES: ConvShape[] = [
  shape({ N: 2, C: 5, H: 11, W: 13, K: 7, stride: 2, pad: 1 }),
  shape({ N: 1, C: 3, H: 20, W: 9, K: 9, stride: 2, pad: 0 }),
  shape({ N: 1, C: 6, H: 17, W: 24, K: 13, stride: 2, pad: 2 }),
  shape({ N: 1, C: 1, H: 3, W: 3, K: 1, stride: 2, pad: 0 }),
  shape({ N: 1, C: 300, H: 14, W: 14, K: 13, stride: 2, pad: 1 }),
  // Wide enough that groups of 4 whole tiles exist (the vectorised output path).
  shape({ N: 1, C: 4, H: 40, W: 41, K: 5, stride: 2, pad: 1 }),
];
/**
 * F(4, 2) with points 0, 1, -1, 1/2 has constants up to 8/3: its error is a small multiple of direct's
 * (measured worst case on these shapes: 22 units against im2col's 3.5); bound as for F(4,3).
 */
checkAlgorithm('winograd-4x3s2', ['nchw'], WINOGRAD_STRIDE2_SHAPES, winogradBound(10));
/**
 * The m = 7 algorithm (alpha 15) on the same shapes, which are ragged for 7 too (outputs 6x7, 9x4,
 * 10x13, 1x1, 7x7 = one tile, 20x21), plus an image with interior 4-tile groups whose 16-wide patch
 * rows lie inside the plane (the gather's fast path). F(7, 2) uses F(6,3)'s eight points
 * 0, +-1, +-2, +-1/2 and infinity: bound as for F(6,3) (measured worst case: 211 units, F(6,3) 181).
 */
checkAlgorithm('winograd-7x3s2', ['nchw'], [
  ...WINOGRAD_STRIDE2_SHAPES,
  shape({ N: 1, C: 4, H: 60, W: 61, K: 5, stride: 2, pad: 1 }),
], winogradBound(100));

/** Stride-1 shapes for FFT: 1x1, 3x3, 5x5, 7x7, 9x9 (tiles 8, 16, 32), paddings 0-4, ragged tiles, batch 2. */
const FFT_SHAPES: ConvShape[] = [
  shape({ N: 2, C: 5, H: 11, W: 13, K: 7, pad: 1 }),
  shape({ N: 1, C: 6, H: 7, W: 17, K: 5, R: 5, S: 5, pad: 2 }),
  shape({ N: 1, C: 2, H: 15, W: 19, K: 3, R: 7, S: 7, pad: 3 }),
  shape({ N: 1, C: 17, H: 6, W: 5, K: 13, R: 1, S: 1, pad: 0 }),
  shape({ N: 1, C: 3, H: 20, W: 9, K: 9, R: 3, S: 5, pad: 0 }),
  // 9x9 kernel: 32 x 32 tiles.
  shape({ N: 1, C: 2, H: 20, W: 21, K: 3, R: 9, S: 9, pad: 4 }),
  // Channel counts at which larger tiles need fewer flops for a 3x3 kernel: 16 x 16 and 32 x 32.
  shape({ N: 1, C: 32, H: 20, W: 22, K: 33, pad: 1 }),
  shape({ N: 1, C: 16, H: 28, W: 30, K: 17, pad: 1 }),
  // Depth 2C over one block of the packed spectra, K = 2 * 6 + 1 rows past a panel of 4.
  shape({ N: 1, C: 130, H: 9, W: 10, K: 7, pad: 1 }),
];
/**
 * FFT rounding error is normwise: about log2(T^2) roundoff units of the tile's energy per output,
 * which can exceed the output's own magnitude sum |x||w| by the ratio of the two. Bound, with the
 * largest tile T = 32: 8 log2(T^2) (D + 2) units, far below the ~2^24 / D of one missing term;
 * measured worst: 3 units.
 */
checkAlgorithm('fft', ['nchw'], FFT_SHAPES, (s) => 8 * 2 * Math.log2(32) * (s.C * s.R * s.S + 2));

/**
 * Strassen-Winograd's error grows with the recursion: each level adds quarter-size additions whose
 * operands can be up to ~6x larger than the entries (Higham, Accuracy and Stability, ch. 23: the bound
 * grows like 12^levels instead of D). Bound: (D + 2) * 12^levels roundoff units.
 */
describe('strassen', () => {
  const cases: [ConvShape, number][] = [
    [shape({ N: 2, C: 5, H: 11, W: 13, K: 7, pad: 1 }), 2],
    [shape({ N: 1, C: 3, H: 9, W: 10, K: 9, stride: 2, pad: 0 }), 2],
    [shape({ N: 1, C: 6, H: 7, W: 17, K: 5, R: 5, S: 5, pad: 2 }), 1],
    [shape({ N: 1, C: 20, H: 12, W: 12, K: 33, pad: 0 }), 4],
    [shape({ N: 1, C: 17, H: 6, W: 5, K: 13, R: 1, S: 1, pad: 0 }), 3],
  ];
  for (const variant of variants) {
    for (const [index, [s, cutoff]] of cases.entries()) {
      test(`${variant} ${shapeName(s)} cutoff ${cutoff}`, () => {
        const engine = Engine.create({ variant });
        const c = makeCase(s, 300 + index);
        const plan = engine.plan(s, 'strassen', 'nchw', { strassenCutoff: cutoff });
        const levels = plan.strassenLevels ?? -1;
        assert.ok(levels >= 1, `cutoff ${cutoff} should give at least one Strassen level, got ${levels}`);
        plan.setWeights(c.weights, c.bias);
        plan.setInput(c.input);
        plan.run();
        const units = errorInRoundoffUnits(plan.readOutput(), c);
        const bound = (s.C * s.R * s.S + 2) * 12 ** levels;
        assert.ok(units <= bound, `error ${units.toFixed(1)} units exceeds ${bound} (levels ${levels})`);
        plan.release();
      });
    }
  }
  test('the default cutoff keeps small layers on the plain SGEMM', () => {
    const plan = Engine.create().plan(shape({ C: 8, K: 8 }), 'strassen', 'nchw');
    assert.equal(plan.strassenLevels, 0);
    assert.ok(plan.realFlops >= plan.directFlops);
  });
  test('one level saves an eighth of the multiplications on a large product', () => {
    const s = shape({ C: 64, H: 30, W: 30, K: 128, pad: 1 });
    const plan = Engine.create().plan(s, 'strassen', 'nchw', { strassenCutoff: 64 });
    assert.equal(plan.strassenLevels, 1);
    assert.ok(plan.realFlops < plan.directFlops * 0.95, `${plan.realFlops} vs ${plan.directFlops}`);
  });
});
checkAlgorithm('strassen', ['nchw'], GENERAL_SHAPES.slice(0, 3), im2colBound);

test('workspaceBytes() says, before anything is allocated, what the plan and its scratch areas take beyond the NCHW tensors', () => {
  const engine = Engine.create();
  const shapes = [
    shape({ N: 2, C: 5, H: 11, W: 13, K: 7, pad: 1 }),
    shape({ N: 1, C: 300, H: 8, W: 8, K: 13, pad: 1 }),
    shape({ N: 1, C: 20, H: 14, W: 14, K: 33, stride: 2, pad: 1 }),
    shape({ N: 1, C: 9, H: 5, W: 5, K: 10, R: 1, S: 1, stride: 2, pad: 1 }),
  ];
  let checked = 0;
  for (const s of shapes) {
    const P = Math.floor((s.H + 2 * s.pad - s.R) / s.stride) + 1;
    const Q = Math.floor((s.W + 2 * s.pad - s.S) / s.stride) + 1;
    const tensors = s.N * s.C * s.H * s.W * 4 + s.N * s.K * P * Q * 4;
    for (const algo of CONV_ALGORITHMS) {
      for (const layout of supportedLayouts(algo)) {
        if (!applies(algo, s, layout).ok) continue;
        for (const threads of [1, 3]) {
          const predicted = engine.workspaceBytes(s, algo, layout, threads);
          const before = engine.arena.used;
          const plan = engine.plan(s, algo, layout, { threads });
          plan.allocateScratch(threads);
          const grown = engine.arena.used - before;
          const what = `${algo} ${layout} ${shapeName(s)} on ${threads}`;
          assert.equal(predicted, plan.workspaceBytes(threads), what);
          // The arena holds the tensors, the workspace, the bias and plan blocks (a few KiB with alignment).
          assert.ok(grown >= tensors + predicted && grown <= tensors + predicted + 8192, `${what}: grew ${grown}, predicted ${tensors} + ${predicted}`);
          plan.release();
          assert.equal(engine.arena.used, before, what);
          checked++;
        }
      }
    }
  }
  assert.ok(checked >= 40, `${checked} plans`);
});

test('direct regroups input channels in blocks of 16 unless that pads C much further than 8 or 4, and RGB in one block of 3', () => {
  // Cost ceil(C / Bi) * (Bi + 2), ties to the larger block: C = 64: 72 / 80 / 96; C = 1: 18 / 10 / 6;
  // C = 5: 18 / 10 / 12; C = 20: 36 / 30 / 30; C = 12: 18 / 20 / 18. C = 3 has a block of its own.
  assert.equal(directInputBlock(64), 16);
  assert.equal(directInputBlock(512), 16);
  assert.equal(directInputBlock(3), 3);
  assert.equal(directInputBlock(1), 4);
  assert.equal(directInputBlock(5), 8);
  assert.equal(directInputBlock(20), 8);
  assert.equal(directInputBlock(12), 16);
});

test('direct plans one unit per image on one thread and splits rows for more', () => {
  const engine = Engine.create();
  const s = shape({ N: 2, C: 64, H: 56, W: 56, K: 64 });
  const one = engine.plan(s, 'direct', 'nchw16c', { threads: 1 });
  assert.equal(one.descriptor.phases[0].units, 2);
  // Scratch holds the 56 input rows of 16-channel blocks, 58 padded columns wide.
  assert.equal(one.descriptor.scratchBytes, 4 * 56 * 58 * 16 * 4 + 64);
  one.release();
  const four = engine.plan(s, 'direct', 'nchw16c', { threads: 4 });
  assert.equal(four.descriptor.phases[0].units, 8);
  four.release();
});

test('fft says why it does not apply', () => {
  assert.deepEqual(applies('fft', shape({ stride: 2, dilation: 2, pad: 2 }), 'nchw'), {
    ok: false,
    reason: 'fft runs dilation 2 only at stride 1 (by polyphase decomposition), got stride 2; direct and im2col run every shape',
  });
  assert.deepEqual(applies('fft', shape({ H: 40, W: 40, R: 17, S: 17 }), 'nchw'), {
    ok: false,
    reason: 'fft supports kernels up to 16x16, got 17x17',
  });
  assert.deepEqual(applies('fft', shape({}), 'nhwc'), { ok: false, reason: 'fft supports layouts nchw, not nhwc' });
});

test('winograd says why it does not apply', () => {
  const five = applies('winograd-4x3', shape({ R: 5, S: 5 }), 'nchw');
  assert.deepEqual(five, { ok: false, reason: 'winograd-4x3 needs a 3x3 kernel with stride 1, got 5x5 stride 1' });
  const strided = applies('winograd-2x3', shape({ stride: 2 }), 'nchw');
  assert.deepEqual(strided, { ok: false, reason: 'winograd-2x3 needs a 3x3 kernel with stride 1, got 3x3 stride 2' });
  assert.throws(() => Engine.create().plan(shape({ stride: 2 }), 'winograd-6x3', 'nchw'), /winograd-6x3 cannot run .* needs a 3x3 kernel/);
  assert.deepEqual(applies('winograd-4x3s2', shape({}), 'nchw'), {
    ok: false, reason: 'winograd-4x3s2 needs a 3x3 kernel with stride 2, got 3x3 stride 1',
  });
  assert.deepEqual(applies('winograd-4x3s2', shape({ stride: 2, R: 5, S: 5 }), 'nchw').ok, false);
});

test('the error bound catches a single wrong term', () => {
  // A result missing one product x*w differs by |x w| ~ magnitude / D: far above every bound used here.
  const s = shape({ C: 20, K: 4, pad: 1 });
  const c = makeCase(s, 11);
  const engine = Engine.create();
  const out = convolve(engine, 'winograd-6x3', 'nchw', s, c.input, c.weights, c.bias);
  const bound = WINOGRAD_FACTOR['winograd-6x3'] * 8 * (9 * s.C + 2);
  assert.ok(errorInRoundoffUnits(out, c) <= bound);
  // Drop the product of input (0,0,0,0) and weight (0,0,1,1) from output (0,0,0,0).
  out[0] -= c.input[0] * c.weights[4];
  assert.ok(errorInRoundoffUnits(out, c) > bound, 'one missing term must exceed the bound');
});

test('without bias the output is the bias-free convolution', () => {
  const engine = Engine.create();
  const s = shape({ C: 4, K: 5 });
  const c = makeCase(s, 3);
  const out = convolve(engine, 'im2col', 'nchw', s, c.input, c.weights);
  const withBias = convolve(engine, 'im2col', 'nchw', s, c.input, c.weights, c.bias);
  const P = 8;
  for (let k = 0; k < 5; k++) {
    for (let i = 0; i < P * P; i++) {
      assert.ok(Math.abs(withBias[k * P * P + i] - out[k * P * P + i] - c.bias[k]) < 1e-5);
    }
  }
});
