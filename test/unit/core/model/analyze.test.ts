import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors } from '../../../../extension/core/formats/safetensors';
import { analyzeModel } from '../../../../extension/core/model/analyze';
import { formatModelReport } from '../../../../extension/core/model/format';
import { modelShapeText } from '../../../../extension/shared/format';

test('each layer carries its weight sparsity; the table has one row per layer and totals that sum them', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'deep-accel-model-'));
  try {
    const file = join(folder, 'net.safetensors');
    // conv [4, 2, 3, 3]: filter 0 all zero (18 of 72 elements); every other value 1.
    const conv = Array.from({ length: 72 }, (_, i) => (i < 18 ? 0 : 1));
    // linear [2, 8]: each row zero in positions 0,1 and 4,5, i.e. exactly 2:4 along the input, 8 of 16 zero.
    const linear = Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 0 : 1));
    await writeSafetensors(file, [
      { name: 'conv.weight', dtype: 'F32', shape: [4, 2, 3, 3], data: conv },
      { name: 'norm.weight', dtype: 'F32', shape: [4], data: [0, 0, 0, 0] },
      { name: 'fc.weight', dtype: 'F32', shape: [2, 8], data: linear },
    ]);
    const report = await analyzeModel(file, { input: [1, 2, 2, 2] });
    assert.deepEqual(report.layers.map((l) => [l.name, l.sparsity]), [
      // 2 input channels: no groups of 4, so no 2:4 share.
      ['conv', { element: 0.25, filters: 0.25, channels: 0, kernels: 0.25 }],
      // Every group of 4 holds two zeros and two ones: 2:4 pruning keeps all of sum |w|.
      ['fc', { element: 0.5, rows: 0, cols: 0.5, nm24: 1, retained24: 1 }],
    ]);
    // conv: 4 x 2 x 9 multiply-adds per output, 2 x 2 outputs; fc takes 8 features but the conv gives 4 x 2 x 2 = 16: the chain breaks.
    assert.equal(report.layers[0]!.flops, 2 * 4 * 2 * 9 * 2 * 2);
    assert.equal(report.layers[1]!.flops, null);
    assert.equal(modelShapeText(report.layers[0]!), '2x2x2 > 4x2x2 3x3 s1 p1');
    const text = formatModelReport(report);
    assert.match(text, /^1 +conv +conv +2x2x2 > 4x2x2 3x3 s1 p1 +72 +576 +25\.0 +25\.0 +- +- +F\(2,3\)$/m);
    assert.match(text, /^2 +fc +linear +\?x8 > 2 +16 +\? +50\.0 +0\.0 +100\.0 +100\.0 +-$/m);
    assert.match(text, /^ +total +2 layers +88 +576 \+ 1 unknown$/m);
    assert.match(text, /note: sizes stop at 'fc': it takes 8 features, the layer before gives 4x2x2/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
