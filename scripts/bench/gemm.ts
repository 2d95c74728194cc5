/**
 * Times the SGEMM micro-kernel alone (panels resident in L1, compute-bound) and the whole packed
 * GEMM, for the engine variant of this runtime (run under
 * `node --experimental-wasm-relaxed-simd` for the relaxed build).
 *   npx tsx scripts/bench/gemm.ts [--variant simd|relaxed] [--seconds 1]
 */
import { Engine, type EngineVariant } from '../../extension/engine/engine';
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
const repeats = 20000;
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
