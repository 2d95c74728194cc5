/**
 * Writes the small weight files under samples/models with contents chosen so their statistics can be
 * worked out by hand (the integration tests assert those figures):
 *
 * tiny-cnn.safetensors
 *   conv1.weight [8,3,3,3]  F32  every even flat index is 0          -> 108 / 216 zeros = 50%
 *   conv2.weight [16,8,3,3] F32  filters 0..3 all zero, rest non-zero -> 288 / 1152 = 25%, filters 25%
 *   fc.weight    [10,64]    F32  rows 0 and 1 all zero                -> 128 / 640 = 20%, rows 20%
 *   fc.bias      [10]       F32  no zeros
 *   total: 524 zeros of 2018 parameters
 * dense.npy [4,4] float32 1..16 (no zeros)
 *
 * Run: npx tsx scripts/makeSamples.ts
 */
import * as path from 'node:path';
import { writeNpy } from '../extension/core/formats/npy';
import { writeSafetensors } from '../extension/core/formats/safetensors';

const models = path.resolve(__dirname, '../samples/models');

/** A non-zero value that depends on the index, with both signs and several magnitudes. */
const nonZero = (i: number) => ((1 + (i % 5)) / 16) * (i % 3 === 0 ? -1 : 1);

function filled(length: number, isZero: (i: number) => boolean): Float32Array {
  return Float32Array.from({ length }, (_, i) => (isZero(i) ? 0 : nonZero(i)));
}

async function main(): Promise<void> {
  await writeSafetensors(
    path.join(models, 'tiny-cnn.safetensors'),
    [
      { name: 'conv1.weight', dtype: 'F32', shape: [8, 3, 3, 3], data: filled(216, (i) => i % 2 === 0) },
      { name: 'conv2.weight', dtype: 'F32', shape: [16, 8, 3, 3], data: filled(1152, (i) => i < 4 * 72) },
      { name: 'fc.weight', dtype: 'F32', shape: [10, 64], data: filled(640, (i) => i < 128) },
      { name: 'fc.bias', dtype: 'F32', shape: [10], data: filled(10, () => false) },
    ],
    { description: 'Deep Accel sample: known sparsity per tensor (see scripts/makeSamples.ts)' },
  );
  await writeNpy(path.join(models, 'dense.npy'), [4, 4], Float32Array.from({ length: 16 }, (_, i) => i + 1));
  console.log(`wrote samples into ${models}`);
}

void main();
