/**
 * How fast one thread streams memory through the engine (v128 loads, 4 independent sums): the bound
 * for kernels that read each operand byte once, such as Winograd on a 7x7 image, which streams its
 * transformed weights (F(4,3) on ResNet-18 conv5_x: 37.7 MB).
 *   npx tsx scripts/bench/bandwidth.ts [--variant simd|relaxed] [--seconds 0.5]
 */
import { Engine, type EngineVariant } from '../../extension/engine/engine';
import { argValue, bestOfMs } from './common';

const variant = (argValue('--variant') ?? 'auto') as EngineVariant | 'auto';
const seconds = Number(argValue('--seconds') ?? '0.5');
const engine = Engine.create({ variant });
console.log(`engine ${engine.variant}, one thread, best-of timing`);
for (const mib of [0.5, 4, 16, 36, 64, 256]) {
  const bytes = Math.floor((mib * 2 ** 20) / 64) * 64;
  const mark = engine.arena.mark();
  const buffer = engine.arena.alloc(bytes);
  const out = engine.arena.alloc(4);
  engine.f32(buffer, bytes / 4).fill(1);
  const repeats = Math.max(1, Math.round(64 / mib));
  const ms = bestOfMs(() => engine.call('streamRead', buffer, bytes, repeats, out), seconds) / repeats;
  console.log(`${String(mib).padStart(5)} MiB: ${(bytes / ms / 1e6).toFixed(1).padStart(6)} GB/s`);
  engine.arena.release(mark);
}
