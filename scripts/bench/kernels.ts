/**
 * Single-threaded kernel benchmark on the ResNet-18 3x3 layers (batch 1; the four stride-1 layers and
 * the three stride-2 ones that open stages 3-5): effective GFLOP/s
 * (2*N*K*C*R*S*P*Q / t, best of the timed runs) of every algorithm x layout the engine applies, the
 * layout conversion time apart, the max error against the fp64 reference, and optionally
 * onnxruntime-node on the same layer (--ort).
 *   npx tsx scripts/bench/kernels.ts [--variant simd|relaxed] [--seconds 1] [--algos a,b] [--layers 0,1] [--ort]
 * Relaxed SIMD on Node 20: node --experimental-wasm-relaxed-simd --import tsx scripts/bench/kernels.ts
 */
import { CONV_ALGORITHMS, CONV_LAYOUTS, type ConvAlgorithm, type ConvShape } from '../../extension/shared/payloads';
import { Engine, applies, type EngineVariant } from '../../extension/engine/engine';
import { compareToReference, convDirectFlops, referenceConv2d } from '../../extension/core/conv/reference';
import { runOnnxRuntimePeer } from '../../extension/core/bench/peer';
import { argValue, bestOfMs } from './common';

const variant = (argValue('--variant') ?? 'auto') as EngineVariant | 'auto';
const seconds = Number(argValue('--seconds') ?? '1');
const algos = (argValue('--algos')?.split(',') ?? CONV_ALGORITHMS) as ConvAlgorithm[];
const RESNET18_3X3: [string, ConvShape][] = [
  ['conv2_x 64x56x56', { N: 1, C: 64, H: 56, W: 56, K: 64, R: 3, S: 3, stride: 1, pad: 1 }],
  ['conv3_x 128x28x28', { N: 1, C: 128, H: 28, W: 28, K: 128, R: 3, S: 3, stride: 1, pad: 1 }],
  ['conv4_x 256x14x14', { N: 1, C: 256, H: 14, W: 14, K: 256, R: 3, S: 3, stride: 1, pad: 1 }],
  ['conv5_x 512x7x7', { N: 1, C: 512, H: 7, W: 7, K: 512, R: 3, S: 3, stride: 1, pad: 1 }],
  ['conv3_1 64->128 56x56 s2', { N: 1, C: 64, H: 56, W: 56, K: 128, R: 3, S: 3, stride: 2, pad: 1 }],
  ['conv4_1 128->256 28x28 s2', { N: 1, C: 128, H: 28, W: 28, K: 256, R: 3, S: 3, stride: 2, pad: 1 }],
  ['conv5_1 256->512 14x14 s2', { N: 1, C: 256, H: 14, W: 14, K: 512, R: 3, S: 3, stride: 2, pad: 1 }],
];
const layerIndices = argValue('--layers')?.split(',').map(Number) ?? RESNET18_3X3.map((_, index) => index);

const bestMs = (fn: () => void): number => bestOfMs(fn, seconds);

function random(count: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = Math.random() * 2 - 1;
  return values;
}

/** onnxruntime-node on the same layer, in a child process (the benchmark runner's peer), best-of timing. */
async function ortPeer(shape: ConvShape, input: Float32Array, weights: Float32Array): Promise<number | undefined> {
  try {
    const timing = await runOnnxRuntimePeer(shape, weights, { threads: 1, input, budgetMs: seconds * 1000 });
    return timing.msMin;
  } catch (error) {
    console.log(`  (onnxruntime-node unavailable: ${(error as Error).message})`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const engine = Engine.create({ variant });
  console.log(`engine variant ${engine.variant}, ${seconds}s per case, best-of timing, 1 thread`);
  for (const index of layerIndices) {
    const [name, shape] = RESNET18_3X3[index];
    const input = random(shape.N * shape.C * shape.H * shape.W);
    const weights = random(shape.K * shape.C * shape.R * shape.S);
    const bias = random(shape.K);
    const reference = referenceConv2d(input, weights, bias, shape);
    const flops = convDirectFlops(shape);
    console.log(name);
    for (const algo of algos) {
      for (const layout of CONV_LAYOUTS) {
        if (!applies(algo, shape, layout).ok) continue;
        const plan = engine.plan(shape, algo, layout);
        try {
          plan.setWeights(weights, bias);
          plan.writeInput(input);
          const layoutMs = bestMs(() => plan.convertInput());
          const ms = bestMs(() => plan.run());
          const err = compareToReference(plan.readOutput(), reference);
          console.log(
            `  ${algo.padEnd(13)} ${layout.padEnd(8)} ${ms.toFixed(3).padStart(8)} ms ` +
              `${(flops / ms / 1e6).toFixed(1).padStart(6)} GFLOP/s  layout ${layoutMs.toFixed(3)} ms  ` +
              `maxAbsErr ${err.maxAbsErr.toExponential(2)}  real/direct flops ${(plan.realFlops / flops).toFixed(2)}  ` +
              `workspace ${(plan.workspaceBytes() / 2 ** 20).toFixed(2)} MiB`,
          );
        } finally {
          plan.release();
        }
      }
    }
    if (process.argv.includes('--ort')) {
      const ms = await ortPeer(shape, input, weights);
      if (ms !== undefined) console.log(`  onnxruntime-node       ${ms.toFixed(3).padStart(8)} ms ${(flops / ms / 1e6).toFixed(1).padStart(6)} GFLOP/s`);
    }
  }
}

void main();
