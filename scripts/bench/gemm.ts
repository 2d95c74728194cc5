/**
 * Times the SGEMM micro-kernel alone (panels resident in L1, compute-bound) and the whole packed
 * GEMM, and the GEMM stage of F(4,3) on a 7x7 image (narrow tiles, transformed weights streamed), for
 * the engine variant of this runtime (run under
 * `node --experimental-wasm-relaxed-simd` for the relaxed build).
 * With --suites, then every 1x1 convolution of those suites on one thread (direct and im2col, each
 * kernel alone, layout conversions apart), as a share of the micro-kernel's rate measured in the same run.
 *   npx tsx scripts/bench/gemm.ts [--variant simd|relaxed] [--seconds 1] [--suites resnet50,mobilenet-v1]
 */
import { isBenchSuite, suiteLayers } from '../../extension/core/bench/layers';
import { fillUniform } from '../../extension/core/bench/runner';
import { convDirectFlops, convOutputSize } from '../../extension/core/conv/reference';
import { Engine, applies, type EngineVariant } from '../../extension/engine/engine';
import type { ConvAlgorithm, ConvLayout } from '../../extension/shared/payloads';
import { argValue, bestOfMs } from './common';

const variant = (argValue('--variant') ?? 'auto') as EngineVariant | 'auto';
const seconds = Number(argValue('--seconds') ?? '1');
const engine = Engine.create({ variant });
const { MR, NR } = engine;

const timeIt = (fn: () => void): number => bestOfMs(fn, seconds);

function fillRandom(view: Float32Array): void {
  for (let i = 0; i < view.length; i++) view[i] = Math.random() - 0.5;
}

const arena = engine.arena;
const kc = 256;
const a = arena.alloc(kc * MR * 4);
const b = arena.alloc(kc * NR * 4);
const c = arena.alloc(MR * NR * 4, 'c', true);
fillRandom(engine.f32(a, kc * MR));
fillRandom(engine.f32(b, kc * NR));
// Short calls (about 0.5 ms each), best of many: on a shared machine the fastest call is the one
// the OS did not interrupt.
const repeats = 1000;
const microMs = timeIt(() => engine.call('gemmMicroKernelRepeat', repeats, kc, a, b, c));
const microFlops = 2 * MR * NR * kc * repeats;
console.log(
  `engine ${engine.variant}: micro-kernel ${MR}x${NR}, kc=${kc}: ${(microFlops / microMs / 1e6).toFixed(1)} GFLOP/s`,
);

// Whole packed GEMM, square sizes (packing excluded: both operands pre-packed, depth-block-major).
for (const size of [64, 256, 512, 1024]) {
  const mark = arena.mark();
  const pa = arena.alloc(size * size * 4);
  const pb = arena.alloc(size * size * 4);
  const pc = arena.alloc(size * size * 4);
  const tmp = arena.alloc(engine.tileTmpBytes);
  fillRandom(engine.f32(pa, size * size));
  fillRandom(engine.f32(pb, size * size));
  const ms = timeIt(() => engine.call('gemmPacked', pa, size, pb, size, size, pc, size, size, size, 0, 0, tmp, 256));
  console.log(`packed GEMM ${size}^3: ${((2 * size ** 3) / ms / 1e6).toFixed(1)} GFLOP/s (${ms.toFixed(3)} ms)`);
  arena.release(mark);
}

// The GEMM stage of Winograd F(4,3) on a 7x7 image (ResNet-18 conv5_x, 512 -> 512 channels): 36
// packed 512 x 512 operands (the transformed weights, 37.7 MB), each times a 512 x 4 operand (4 tiles),
// through the 8x4 narrow tiles. Timed twice: with all 36 operands distinct, so that A streams from
// beyond L2 as in the convolution, and with one 1 MB operand reused 36 times (resident in L2).
{
  const K = 512;
  const C = 512;
  const kcBlock = 256;
  const operandBytes = K * C * 4;
  for (const [label, distinct] of [['streamed from 37.7 MB', 36], ['one 1 MB operand, from L2', 1]] as const) {
    const mark = arena.mark();
    const pa = arena.alloc(distinct * operandBytes);
    const pb = arena.alloc(C * NR * 4);
    const pc = arena.alloc(K * NR * 4);
    const tmp = arena.alloc(engine.tileTmpBytes);
    fillRandom(engine.f32(pa, distinct * K * C));
    fillRandom(engine.f32(pb, C * NR));
    const ms = timeIt(() => {
      for (let e = 0; e < 36; e++) {
        // Depth-block-major A, as the engine packs Winograd's U: block c0 starts at c0 * K floats.
        const u = pa + (e % distinct) * operandBytes;
        for (let c0 = 0; c0 < C; c0 += kcBlock) {
          engine.call('gemmBlock', u + c0 * K * 4, kcBlock * MR * 4, pb + c0 * NR * 4, C * NR * 4, kcBlock, pc, NR, K, 4, c0 === 0 ? 0 : 1, 0, tmp);
        }
      }
    });
    const flops = 2 * 36 * K * C * 4;
    console.log(
      `F(4,3) conv5_x GEMM stage (36 x ${K}x${C} x 4 columns), A ${label}: ${ms.toFixed(3)} ms, ` +
        `${(flops / ms / 1e6).toFixed(1)} GFLOP/s, A read at ${((36 * operandBytes) / ms / 1e6).toFixed(1)} GB/s`,
    );
    arena.release(mark);
  }
}

// Few columns (Winograd GEMMs on small images: 9 tiles of F(5,3) on 14x14, 25 of F(6,3) on 28x28): one
// 256 x 256 operand (256 KB, resident in L2) times 256 x cols, GFLOP/s over the real columns. Columns
// past the last whole 8-column panel take the 8-row narrow tiles.
{
  const rows = 256;
  const depth = 256;
  const mark = arena.mark();
  const pa = arena.alloc(rows * depth * 4);
  const pb = arena.alloc(depth * 32 * 4);
  const pc = arena.alloc(rows * 32 * 4);
  const tmp = arena.alloc(engine.tileTmpBytes);
  fillRandom(engine.f32(pa, rows * depth));
  fillRandom(engine.f32(pb, depth * 32));
  const line: string[] = [];
  for (const cols of [1, 4, 8, 9, 12, 16, 25, 28, 32]) {
    const ms = timeIt(() => {
      for (let rep = 0; rep < 16; rep++) engine.call('gemmBlock', pa, depth * MR * 4, pb, depth * NR * 4, depth, pc, 32, rows, cols, 0, 0, tmp);
    });
    line.push(`${cols}: ${((2 * 16 * rows * depth * cols) / ms / 1e6).toFixed(1)}`);
  }
  console.log(`GEMM 256x256 times 256 x cols, A in L2, GFLOP/s over the real columns: ${line.join(', ')}`);
  arena.release(mark);
}
// Every 1x1 convolution of the suites asked for, against the micro-kernel's rate above. Best of
// repeated runs (compute-bound kernels: the fastest run is the one the OS left alone).
const suitesArg = argValue('--suites');
if (suitesArg) {
  // Measured again after the layers, so a load change during the run cannot flatter the shares.
  const rows: string[][] = [];

  for (const suite of suitesArg.split(',')) {
    if (!isBenchSuite(suite)) throw new Error(`--suites: unknown suite '${suite}'`);
    for (const layer of suiteLayers(suite).filter((l) => l.shape.R === 1 && l.shape.S === 1)) {
      const { shape } = layer;
      const rates: number[] = [];
      for (const [algo, layout] of [['direct', 'nchw4c'], ['im2col', 'nchw']] as [ConvAlgorithm, ConvLayout][]) {
        if (!applies(algo, shape, layout).ok) {
          rates.push(NaN);
          continue;
        }
        const plan = engine.plan(shape, algo, layout);
        try {
          plan.setWeights(fillUniform(new Float32Array(shape.K * shape.C), 1));
          plan.setInput(fillUniform(new Float32Array(shape.N * shape.C * shape.H * shape.W), 2));
          rates.push(convDirectFlops(shape) / timeIt(() => plan.run()) / 1e6);
        } finally {
          plan.release();
        }
      }
      const { P, Q } = convOutputSize(shape);
      rows.push([`${suite}/${layer.name}`, `${shape.C}->${shape.K}${shape.stride > 1 ? ` s${shape.stride}` : ''}`, String(P * Q), ...rates.map((rate) => rate.toFixed(1)), String(Math.max(...rates.filter((rate) => !Number.isNaN(rate))))]);
    }
  }
  const microAfter = timeIt(() => engine.call('gemmMicroKernelRepeat', repeats, kc, a, b, c));
  const microGflops = microFlops / Math.min(microMs, microAfter) / 1e6;
  console.log(`\n1x1 convolutions, 1 thread, best of ${seconds} s each; share of the micro-kernel's ${microGflops.toFixed(1)} GFLOP/s (best of before and after the layers)`);
  console.log(['layer', 'C->K', 'PQ', 'direct GFLOP/s', 'im2col GFLOP/s', 'best % of peak'].join('\t'));
  let reached = 0;
  for (const row of rows) {
    const share = (100 * Number(row[5])) / microGflops;
    if (share >= 90) reached++;
    console.log([...row.slice(0, 5), `${share.toFixed(0)}%`].join('\t'));
  }
  console.log(`${reached} of ${rows.length} 1x1 layers at 90% of the micro-kernel's rate or above`);
}

