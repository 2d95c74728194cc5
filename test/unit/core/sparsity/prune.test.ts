import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { openWeightFile } from '../../../../extension/core/formats/index';
import { readAllValues } from '../../../../extension/core/formats/source';
import { writeSafetensors } from '../../../../extension/core/formats/safetensors';
import { magnitudeCut, MagnitudePruner } from '../../../../extension/core/sparsity/select';
import { profileSparsities, pruneToSafetensors, pruneWhatIf, SENSITIVITY_MAX_SPARSITY } from '../../../../extension/core/sparsity/prune';
import { OptionError } from '../../../../extension/core/optionError';
import { formatPruneReport } from '../../../../extension/core/sparsity/format';
import { fixture } from '../../../paths';
import { tempDir } from '../formats/weightFileHelpers';
import { memoryTensor, random } from './helpers';

test('magnitudeCut selects exactly the k smallest |w|, ties in stored order', async () => {
  const values = [0.5, -0.25, 0, 0.25, 3, -0.125, 0.25, 1];
  // sorted |w|: 0, 0.125, 0.25, 0.25, 0.25, 0.5, 1, 3
  for (const [k, threshold, ties] of [
    [0, 0, 0],
    [1, 0, 1],
    [2, 0.125, 1],
    [3, 0.25, 1],
    [4, 0.25, 2],
    [5, 0.25, 3],
    [8, 3, 1],
  ] as const) {
    for (const float64 of [false, true]) {
      const tensor = memoryTensor('w', [8], values, { chunk: 3, float64 });
      const cut = await magnitudeCut(tensor, k);
      assert.equal(cut.threshold, threshold, `k=${k}`);
      assert.equal(cut.ties, ties, `k=${k}`);
      const pruner = new MagnitudePruner(cut);
      const out = float64 ? Float64Array.from(values) : Float32Array.from(values);
      pruner.apply(out.subarray(0, 3));
      pruner.apply(out.subarray(3));
      assert.equal(Array.from(out).filter((v) => v === 0).length, Math.max(k, 1), `k=${k}`);
    }
  }
  // k=4: the first two 0.25s in stored order (indices 1 and 3) go, index 6 stays.
  const out = Float32Array.from(values);
  new MagnitudePruner(await magnitudeCut(memoryTensor('w', [8], values), 4)).apply(out);
  assert.deepEqual(Array.from(out), [0.5, 0, 0, 0, 3, 0, 0.25, 1]);
  await assert.rejects(magnitudeCut(memoryTensor('w', [8], values), 9), /cannot select 9 of 8/);
});

test('magnitudeCut agrees with sorting on random data', async () => {
  const next = random(11);
  const values = Array.from({ length: 5000 }, () => Math.fround((next() - 0.5) * (next() < 0.1 ? 1e-6 : 4)));
  const sorted = values.map(Math.abs).sort((a, b) => a - b);
  for (const k of [1, 17, 2500, 4999, 5000]) {
    const cut = await magnitudeCut(memoryTensor('w', [5000], values, { chunk: 777 }), k);
    assert.equal(cut.threshold, sorted[k - 1]);
    assert.equal(cut.ties, k - sorted.filter((v) => v < sorted[k - 1]!).length);
  }
});

test('sensitivity profile ramps from early to late layers and meets the weighted target', () => {
  const numels = [100, 1000, 1000, 5000];
  const { shares, clamped } = profileSparsities(numels, 0.5, 'sensitivity');
  assert.equal(clamped, false);
  for (let i = 1; i < shares.length; i++) assert.ok(shares[i]! >= shares[i - 1]!);
  const mean = shares.reduce((s, x, i) => s + x * numels[i]!, 0) / numels.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(mean - 0.5) < 1e-12, `weighted mean ${mean}`);
  // Ratio last/first is 1.5/0.5 until the cap binds.
  const small = profileSparsities([10, 10, 10], 0.2, 'sensitivity').shares;
  assert.ok(Math.abs(small[2]! / small[0]! - 3) < 1e-9);
  assert.ok(Math.abs(small[1]! - 0.2) < 1e-9);
  const capped = profileSparsities([10, 10], 0.99, 'sensitivity');
  assert.equal(capped.clamped, true);
  assert.deepEqual(capped.shares, [SENSITIVITY_MAX_SPARSITY, SENSITIVITY_MAX_SPARSITY]);
  assert.deepEqual(profileSparsities([3, 4], 0.3, 'uniform').shares, [0.3, 0.3]);
});

async function writeModel(dir: string): Promise<{ file: string; conv: number[]; fc: number[]; bias: number[] }> {
  const next = random(3);
  // conv [4, 2, 3, 3]: filter k scaled by (k + 1) so the L1 ranking is known: filter 0 smallest.
  const conv = Array.from({ length: 72 }, (_, i) => Math.fround((Math.floor(i / 18) + 1) * (0.5 + next())));
  conv[5] = 0;
  const fc = Array.from({ length: 30 }, () => Math.fround(next() - 0.5)); // [5, 6]
  const bias = [0.25, -1, 0, 2, 0.5];
  const file = path.join(dir, 'model.safetensors');
  await writeSafetensors(file, [
    { name: 'conv.weight', dtype: 'F32', shape: [4, 2, 3, 3], data: conv },
    { name: 'fc.weight', dtype: 'F16', shape: [5, 6], data: fc },
    { name: 'fc.bias', dtype: 'F32', shape: [5], data: bias },
  ]);
  return { file, conv, fc, bias };
}

test('magnitude prune-and-export writes exactly the planned zeros, keeps dtypes and leaves the rest identical', async () => {
  const dir = tempDir('prune');
  const { file } = await writeModel(dir);
  const before = readFileSync(file);
  const out = path.join(dir, 'pruned.safetensors');
  const report = await pruneToSafetensors(file, out, { sparsity: 0.5, inputSize: { height: 8, width: 8 } });
  assert.deepEqual(readFileSync(file), before, 'the input is untouched');
  assert.equal(report.tensors.length, 2);
  const conv = report.tensors.find((t) => t.name === 'conv.weight')!;
  assert.equal(conv.zerosBefore, 1);
  assert.equal(conv.zerosAfter, 36);
  assert.equal(conv.paramsRemoved, 35);
  assert.equal(conv.flops, 2 * 72 * 64);
  assert.equal(report.flopsSource, 'input-size');
  assert.deepEqual(report.inputSize, { height: 8, width: 8 }, 'the report says which size the FLOPs assume');
  assert.equal(conv.flopsRemoved, (2 * 72 * 64 * 35) / 72);
  const fc = report.tensors.find((t) => t.name === 'fc.weight')!;
  assert.equal(fc.zerosAfter, 15);
  assert.equal(fc.flops, 2 * 30);
  assert.equal(report.total.parameters, 107);
  assert.equal(report.total.prunableParameters, 102);
  assert.equal(report.total.modelSparsityAfter, (36 + 15 + 1) / 107);
  assert.equal(report.export?.verified, true);
  assert.equal(report.export?.untouchedIdentical, 1);

  const [original, copy] = await Promise.all([openWeightFile(file), openWeightFile(out)]);
  try {
    for (const name of ['conv.weight', 'fc.weight']) {
      const a = await readAllValues(original.tensors.find((t) => t.name === name)!);
      const b = await readAllValues(copy.tensors.find((t) => t.name === name)!);
      const magnitudes = Array.from(a, Math.abs).sort((x, y) => x - y);
      const keep = Math.round(a.length / 2);
      const cut = magnitudes[keep - 1]!;
      // Every survivor is at least the cut, and survivors keep their exact value.
      b.forEach((v, i) => {
        if (v !== 0) {
          assert.equal(v, a[i]);
          assert.ok(Math.abs(v) >= cut);
        }
      });
      assert.equal(b.filter((v) => v === 0).length, Math.round(a.length / 2));
    }
    assert.equal(copy.tensors.find((t) => t.name === 'fc.weight')!.dtype, 'float16');
  } finally {
    await Promise.all([original.close(), copy.close()]);
  }
});

test('filter-L1 pruning zeroes the filters with the smallest L1 norms', async () => {
  const dir = tempDir('prune-l1');
  const { file, conv } = await writeModel(dir);
  const out = path.join(dir, 'filters.safetensors');
  const report = await pruneToSafetensors(file, out, { sparsity: 0.5, method: 'filter-l1' });
  const plan = report.tensors.find((t) => t.name === 'conv.weight')!;
  assert.equal(plan.filters, 4);
  assert.equal(plan.filtersRemoved, 2);
  assert.equal(plan.zerosAfter, 36);
  assert.equal(report.export?.verified, true);
  const copy = await openWeightFile(out);
  try {
    const values = await readAllValues(copy.tensors.find((t) => t.name === 'conv.weight')!);
    // Filters 0 and 1 (scaled by 1 and 2) go; 2 and 3 stay exactly.
    assert.deepEqual(Array.from(values.subarray(0, 36)), new Array(36).fill(0));
    assert.deepEqual(Array.from(values.subarray(36)), conv.slice(36));
  } finally {
    await copy.close();
  }
});

test('the prune summary gives parameter counts exactly, not rounded to thousands', async () => {
  const dir = tempDir('prune-counts');
  const file = path.join(dir, 'wide.safetensors');
  // 64 filters of 32x3x3 = 18,432 weights; filter k holds k + 1 everywhere, so filter-L1 at 75% removes filters 0..47.
  await writeSafetensors(file, [{ name: 'conv.weight', dtype: 'F32', shape: [64, 32, 3, 3], data: Array.from({ length: 18432 }, (_, i) => Math.floor(i / 288) + 1) }]);
  const text = formatPruneReport(await pruneWhatIf(file, { sparsity: 0.75, method: 'filter-l1' }));
  assert.match(text, /^Parameters removed: 13,824 of 18,432 \(prunable 18,432\)$/m);
});

test('what-if reports without writing, and OUT equal to the input is refused', async () => {
  const dir = tempDir('prune-refuse');
  const { file } = await writeModel(dir);
  const whatIf = await pruneWhatIf(file, { sparsity: 0.25, profile: 'sensitivity' });
  assert.equal(whatIf.export, undefined);
  assert.equal(whatIf.flopsSource, 'none');
  assert.ok(whatIf.tensors[0]!.targetSparsity < whatIf.tensors[1]!.targetSparsity);
  await assert.rejects(pruneToSafetensors(file, file, { sparsity: 0.5 }), /is the input file itself/);
  await assert.rejects(pruneToSafetensors(file, path.join(dir, '.', 'model.safetensors'), { sparsity: 0.5 }), /is the input file itself/);
  await assert.rejects(pruneToSafetensors(file, path.join(dir, 'x.safetensors'), { sparsity: 1 }), /sparsity must be a number in \[0, 1\)/);
  await assert.rejects(pruneToSafetensors(file, path.join(dir, 'missing-dir', 'x.safetensors'), { sparsity: 0.5 }), /does not exist or is not writable/);
  assert.equal(existsSync(path.join(dir, 'x.safetensors')), false);
  // A symbolic or hard link to the input is the input.
  symlinkSync(file, path.join(dir, 'link.safetensors'));
  await assert.rejects(pruneToSafetensors(file, path.join(dir, 'link.safetensors'), { sparsity: 0.5 }), /is the input file itself/);
  linkSync(file, path.join(dir, 'hard.safetensors'));
  await assert.rejects(pruneToSafetensors(file, path.join(dir, 'hard.safetensors'), { sparsity: 0.5 }), /is the input file itself/);
  writeFileSync(path.join(dir, 'bad.safetensors'), 'not a weight file at all');
  await assert.rejects(pruneWhatIf(path.join(dir, 'bad.safetensors'), { sparsity: 0.5 }), { name: 'WeightFileError' });
});

test('graph FLOPs of tensors named like Object.prototype properties are numbers; a tensor without any has none', async () => {
  // The ONNX fixture's Conv weights 'constructor' (13824 FLOPs) and 'toString' (1024); 'valueOf' is an Add operand.
  const report = await pruneWhatIf(fixture('onnx', 'object_property_names.onnx'), { sparsity: 0.5 });
  assert.equal(report.flopsSource, 'graph');
  assert.deepEqual(report.tensors.map((t) => [t.name, t.flops]), [['constructor', 13824], ['toString', 1024], ['valueOf', undefined]]);
  assert.equal(report.total.flops, 13824 + 1024);
});

test('FLOPs come from the graph when the parser provides them', async () => {
  const { planPruning } = await import('../../../../extension/core/sparsity/prune');
  const conv = Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => (i % 5) + 1); // no zeros
  const opened = {
    file: 'model.onnx',
    format: 'onnx' as const,
    fileBytes: 0,
    warnings: [],
    flopsByTensor: { 'conv.weight': 1000 },
    tensors: [memoryTensor('conv.weight', [2, 2, 3, 3], conv), memoryTensor('conv.bias', [2], [1, 2])],
    close: async () => {},
  };
  const { report } = await planPruning(opened, { sparsity: 0.25, inputSize: { height: 4, width: 4 } });
  assert.equal(report.flopsSource, 'graph');
  assert.equal(report.inputSize, undefined, 'the graph gave the FLOPs: no size was assumed');
  const plan = report.tensors[0]!;
  assert.equal(plan.zerosAfter, 9); // round(0.25 * 36)
  assert.equal(plan.flops, 1000);
  assert.equal(plan.flopsRemoved, 250);
  assert.deepEqual([report.total.flops, report.total.flopsRemoved], [1000, 250]);
});

test('OUT naming a file the model is read from (a shard, a TF.js .bin, a Darknet .cfg, ONNX external data; links too) is refused and the file kept', async () => {
  const dir = tempDir('prune-companions');
  const shard = (name: string, values: number[]) =>
    writeSafetensors(path.join(dir, name), [{ name: name.startsWith('model-00001') ? 'a.weight' : 'b.weight', dtype: 'F32', shape: [2, 2], data: Float32Array.from(values) }]);
  await shard('model-00001-of-00002.safetensors', [1, 0, 2, 0]);
  await shard('model-00002-of-00002.safetensors', [0, 3, 0, 4]);
  const index = path.join(dir, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors' } }));
  symlinkSync(path.join(dir, 'model-00001-of-00002.safetensors'), path.join(dir, 'shard-link.safetensors'));
  linkSync(path.join(dir, 'model-00002-of-00002.safetensors'), path.join(dir, 'shard-hard.safetensors'));

  const bin = path.join(dir, 'group1-shard1of1.bin');
  writeFileSync(bin, new Uint8Array(Float32Array.from([1, 0, -1, 0]).buffer));
  const tfjs = path.join(dir, 'model.json');
  writeFileSync(tfjs, JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'dense/kernel', shape: [2, 2], dtype: 'float32' }] }] }));

  const cfg = path.join(dir, 'net.cfg');
  writeFileSync(cfg, '[net]\nchannels=2\n[convolutional]\nfilters=2\nsize=1\n');
  const weights = path.join(dir, 'net.weights');
  const header = new Uint8Array(20);
  header[4] = 2;
  writeFileSync(weights, Buffer.concat([header, Buffer.from(Float32Array.from([0, 1, 1, 0, 0, 2]).buffer)]));

  const onnxFixture = fixture('onnx', 'external');
  const onnxDir = path.join(dir, 'onnx');
  mkdirSync(onnxDir);
  for (const name of ['model.onnx', 'weights.bin']) copyFileSync(path.join(onnxFixture, name), path.join(onnxDir, name));

  const cases: [string, string][] = [
    [path.join(onnxDir, 'model.onnx'), path.join(onnxDir, 'weights.bin')],
    [index, path.join(dir, 'model-00002-of-00002.safetensors')],
    [index, path.join(dir, 'shard-link.safetensors')],
    [index, path.join(dir, 'shard-hard.safetensors')],
    [tfjs, bin],
    [weights, cfg],
  ];
  for (const [model, out] of cases) {
    const before = readFileSync(out);
    await assert.rejects(pruneToSafetensors(model, out, { sparsity: 0.5 }), (e: unknown) => {
      assert.ok(e instanceof OptionError, String(e));
      assert.match(e.message, /is .*, a file the model is read from; choose another path/);
      return true;
    }, out);
    assert.deepEqual(readFileSync(out), before, `${out} unchanged`);
  }
});
