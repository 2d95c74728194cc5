import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeSafetensors } from '../../../../extension/core/formats/safetensors';
import { previewTensor, scanWeightFile, summarizeWeightFile } from '../../../../extension/core/sparsity/scan';
import { layerTypeOf } from '../../../../extension/core/sparsity/layout';
import { kernelTransform, parseRational, winogradDomainSparsity, winogradFilterMatrix } from '../../../../extension/core/sparsity/winogradDomain';
import { sparsityCommand } from '../../../../extension/cli/sparsity';
import { pruneCommand } from '../../../../extension/cli/prune';
import { CliUsageError } from '../../../../extension/cli/io';
import type { SparsityReport } from '../../../../extension/shared/payloads';
import { tempDir } from '../formats/weightFileHelpers';
import { fixture } from '../../../paths';
import { memoryTensor, random } from './helpers';

const dir = tempDir('sparsity-file');

test('a torch.nn.utils.prune checkpoint: the totals are the effective model, as torch counts it after prune.remove', async () => {
  // Written by torch (test/fixtures/pytorch/make_pruned_fixture.py), with torch's own counts.
  const file = fixture('pytorch', 'pruned_masks.pt');
  const expected = JSON.parse(readFileSync(fixture('pytorch', 'pruned_masks.expected.json'), 'utf8')) as { stored: string[]; naive: { numel: number; zeros: number }; effective: { numel: number; zeros: number } };
  const report = await scanWeightFile(file);
  assert.deepEqual(report.tensors.map((t) => t.name).sort(), expected.stored, 'every stored tensor keeps its own row');
  assert.deepEqual(
    [report.total.numel, report.total.zeros, report.total.sparsity, report.total.maskedParameters],
    [expected.effective.numel, expected.effective.zeros, expected.effective.zeros / expected.effective.numel, 2],
  );
  assert.notEqual(report.total.numel, expected.naive.numel, 'not the count over every stored tensor');
  const table = capture();
  assert.equal(await sparsityCommand([file], table.io), 0);
  assert.match(table.out(), new RegExp(`^Total +${expected.effective.numel} +${((100 * expected.effective.zeros) / expected.effective.numel).toFixed(2)}$`, 'm'));
  assert.match(table.out(), /Total = the effective model: 2 masked parameters counted once each as orig × mask/);
});

async function maskedModel(): Promise<string> {
  const file = path.join(dir, 'masked.safetensors');
  // torch.nn.utils.prune: effective = orig * mask. orig has one zero where the mask is 1.
  const orig = [1, 2, 0, 4, 5, 6, 7, 8];
  const mask = [1, 0, 1, 0, 1, 1, 0, 0];
  // ASP: fc.weight with buffer fc.__weight_mma_mask, 2:4 along the input axis.
  const fc = [1, 2, 3, 4, 5, 6, 7, 8];
  const mma = [1, 1, 0, 0, 0, 1, 0, 1];
  await writeSafetensors(file, [
    { name: 'conv.weight_orig', dtype: 'F32', shape: [2, 4], data: orig },
    { name: 'conv.weight_mask', dtype: 'F32', shape: [2, 4], data: mask },
    { name: 'fc.weight', dtype: 'BF16', shape: [2, 4], data: fc },
    { name: 'fc.__weight_mma_mask', dtype: 'U8', shape: [2, 4], data: mma },
    { name: 'bn.running_mean', dtype: 'F32', shape: [3], data: [0, 0.5, 0] },
  ]);
  return file;
}

test('scanWeightFile on a written safetensors file: totals, layer types, masks and their effective sparsity', async () => {
  const file = await maskedModel();
  const progress: number[] = [];
  const report = await scanWeightFile(file, { histogram: true, onProgress: (f) => progress.push(f) });
  assert.equal(report.format, 'safetensors');
  assert.equal(report.tensors.length, 5);
  // The effective model: conv.weight = orig*mask (5 zeros of 8), fc.weight*mma = [1,2,0,0,0,6,0,8]
  // (4 of 8), bn.running_mean (2 of 3); the stored _orig, _mask and _mma_mask are not counted again.
  assert.deepEqual(report.total, { numel: 19, zeros: 5 + 4 + 2, sparsity: 11 / 19, maskedParameters: 2 });
  assert.equal(report.byLayerType?.norm?.zeros, 2);
  assert.deepEqual(report.byLayerType?.linear, { numel: 16, zeros: 9, sparsity: 9 / 16 });
  assert.equal(progress.at(-1), 1);
  assert.deepEqual(
    report.masks?.map((m) => [m.parameter, m.kind, m.maskSparsity, m.effectiveSparsity]),
    [
      // orig*mask = [1,0,0,0,5,6,0,0]: 5 zeros of 8.
      ['conv.weight', 'torch-prune', 0.5, 5 / 8],
      ['fc.weight', 'asp', 0.5, 0.5],
    ],
  );
  assert.equal(report.masks?.[1]?.effectiveNm24, 1);
  assert.ok(report.warnings.some((w) => /2 pruning masks found/.test(w)));
  // Histogram of conv.weight_orig: 1..8 with one zero, all in (1e-8, 1e2].
  const hist = report.tensors[0]!.histogram!;
  assert.equal(hist.zeros, 1);
  assert.equal(hist.counts.reduce((a, b) => a + b, 0), 7);
  // |w| = 1 lies in the bin that ends at log10 = 0 (bins are closed on the right).
  const end0 = hist.log10Edges.findIndex((e) => Math.abs(e) < 1e-12);
  assert.equal(hist.counts[end0 - 1], 1);
  // Curve over the effective model: at threshold 1, every |w| <= 1: conv [1,0,0,0,5,6,0,0] 6,
  // fc [1,2,0,0,0,6,0,8] 5, all 3 of bn: 14 of 19.
  const curve = report.thresholdCurve!;
  const at1 = curve.thresholds.findIndex((t) => t === 1);
  assert.equal(curve.sparsity[at1], (6 + 5 + 3) / 19);
  const at01 = curve.thresholds.findIndex((t) => Math.abs(t - 0.1) < 1e-15);
  assert.equal(curve.sparsity[at01], 11 / 19);
});

test('summarizeWeightFile reads headers only', async () => {
  const file = await maskedModel();
  const summary = await summarizeWeightFile(file);
  assert.equal(summary.parameters, 35);
  assert.deepEqual(summary.tensors[2], { name: 'fc.weight', dtype: 'bfloat16', shape: [2, 4], numel: 8 });
});

test('layer types from name and shape', () => {
  const type = (name: string, shape: number[]) => layerTypeOf({ name, shape, dtype: 'float32', numel: shape.reduce((a, b) => a * b, 1) });
  assert.equal(type('layer1.0.conv1.weight', [64, 64, 3, 3]), 'conv');
  assert.equal(type('fc.weight', [10, 512]), 'linear');
  assert.equal(type('fc.bias', [10]), 'bias');
  assert.equal(type('bn1.weight', [64]), 'norm');
  assert.equal(type('layer1.0.bn1.running_var', [64]), 'norm');
  assert.equal(type('transformer.ln_f.bias', [768]), 'norm');
  assert.equal(type('transformer.wte.weight', [50257, 768]), 'embedding');
  assert.equal(type('bn1.num_batches_tracked', []), 'other');
});

test('Winograd F(2,3) filter transform: hand-derived zero counts', async () => {
  assert.equal(parseRational('-1/6'), -1 / 6);
  assert.throws(() => parseRational('x'), /not an exact rational/);
  // wincnn's F(2,3): G = [[1,0,0],[1/2,1/2,1/2],[1/2,-1/2,1/2],[0,0,1]] up to row signs and scaling.
  const G = winogradFilterMatrix(2);
  assert.equal(G.length, 4);
  const transform = kernelTransform(G);
  const tile = new Float64Array(16);
  // Centre tap only: U = v v^T with v = G[:,1], which has 2 zeros -> 16 - 2*2 = 12 zeros.
  assert.equal(transform.transform([0, 0, 0, 0, 1, 0, 0, 0, 0], tile), 12);
  // Corner tap only: v = G[:,0] has one zero -> 16 - 3*3 = 7 zeros.
  assert.equal(transform.transform([1, 0, 0, 0, 0, 0, 0, 0, 0], tile), 7);
  // All ones: G 1 = (1, 3/2, 1/2, 1) up to sign, no zeros anywhere.
  assert.equal(transform.transform([1, 1, 1, 1, 1, 1, 1, 1, 1], tile), 0);
  // Cancellation: a middle column (0, 1, 0) pattern repeated -> as centre tap per row: g = e_row x (0,1,0).
  const kernels = [0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  const report = await winogradDomainSparsity({ format: 'safetensors', tensors: [memoryTensor('conv.weight', [3, 1, 3, 3], kernels, { chunk: 4 })] }, 2);
  assert.equal(report.alpha, 4);
  assert.equal(report.total.kernels, 3);
  assert.equal(report.total.spatialSparsity, 16 / 27);
  assert.equal(report.total.winogradSparsity, 19 / 48);
  assert.equal(report.tensors[0]!.kernelsWithSpatialZeros, 2);
  assert.equal(report.tensors[0]!.kernelsWithWinogradZeros, 2);
  // The same kernels stored HWIO give the same answer.
  const hwio = new Array<number>(27);
  for (let k = 0; k < 3; k++) for (let p = 0; p < 9; p++) hwio[p * 3 + k] = kernels[k * 9 + p]!;
  const same = await winogradDomainSparsity({ format: 'keras', tensors: [memoryTensor('conv.kernel', [3, 3, 1, 3], hwio)] }, 2);
  assert.deepEqual(same.total, report.total);
});

function capture(): { io: { out(t: string): void; err(t: string): void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (t) => (out += t), err: (t) => (err += t) }, out: () => out, err: () => err };
}

test('sparsity CLI: JSON contract, table, and errors', async () => {
  const file = await maskedModel();
  const json = capture();
  assert.equal(await sparsityCommand([file, '--json', '--threshold', '0.5'], json.io), 0);
  const report = JSON.parse(json.out()) as SparsityReport;
  assert.equal(report.file, file);
  assert.equal(report.format, 'safetensors');
  assert.equal(report.threshold, 0.5);
  // With |w| <= 0.5 as zero, bn.running_mean is all zero.
  assert.equal(report.tensors[4]!.sparsity, 1);
  const fc = report.tensors[2]!;
  for (const key of ['name', 'dtype', 'shape', 'numel', 'zeros', 'sparsity', 'rows', 'cols', 'nm24', 'mean', 'std', 'min', 'max', 'absMean']) {
    assert.ok(key in fc, `missing ${key}`);
  }
  assert.deepEqual(Object.keys(report.total), ['numel', 'zeros', 'sparsity', 'maskedParameters']);

  const table = capture();
  assert.equal(await sparsityCommand([file, '--winograd', '2'], table.io), 0);
  assert.match(table.out(), /conv\.weight_orig\s+\[2, 4\]\s+OI\s+8\s+12\.50/);
  assert.match(table.out(), /Masked parameter/);
  const withWinograd = capture();
  assert.equal(await sparsityCommand([file, '--json', '--winograd', '4'], withWinograd.io), 0);
  // No 3x3 conv kernels in this file: the section is there and empty.
  assert.deepEqual((JSON.parse(withWinograd.out()) as SparsityReport).winogradDomain?.total, { kernels: 0, spatialSparsity: 0, winogradSparsity: 0 });

  const missing = capture();
  assert.equal(await sparsityCommand([path.join(dir, 'nope.safetensors')], missing.io), 2);
  assert.equal(missing.err(), `deep-accel: ${path.join(dir, 'nope.safetensors')}: cannot open: file not found\n`);
  const garbage = path.join(dir, 'garbage.bin');
  writeFileSync(garbage, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
  const bad = capture();
  assert.equal(await sparsityCommand([garbage], bad.io), 2);
  assert.match(bad.err(), new RegExp(`^deep-accel: ${garbage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));

  await assert.rejects(sparsityCommand([file, '--threshold', '-1'], capture().io), CliUsageError);
  await assert.rejects(sparsityCommand([file, '--bogus'], capture().io), /unknown option --bogus/);
  await assert.rejects(sparsityCommand([], capture().io), /missing FILE/);
  await assert.rejects(sparsityCommand([file, '--block', '4by4'], capture().io), /--block must look like 4x4/);
});

test('prune CLI: writes and verifies, refuses bad flags and OUT = FILE', async () => {
  const file = await maskedModel();
  const out = path.join(dir, 'cli-pruned.safetensors');
  const run = capture();
  assert.equal(await pruneCommand([file, '--sparsity', '0.5', '--out', out, '--json'], run.io), 0);
  const report = JSON.parse(run.out());
  assert.equal(report.export.verified, true);
  // Prunable: conv.weight_orig and fc.weight (masks and norms are not).
  assert.deepEqual(report.tensors.map((t: { name: string }) => t.name), ['conv.weight_orig', 'fc.weight']);
  const text = capture();
  assert.equal(await pruneCommand([file, '--sparsity=0.25', '--method', 'filter-l1', '--dry-run'], text.io), 0);
  assert.match(text.out(), /filter-l1 pruning, uniform profile, target 25\.00%/);
  await assert.rejects(pruneCommand([file, '--sparsity', '0.5', '--out', file], capture().io), /is the input file itself/);
  await assert.rejects(pruneCommand([file, '--out', out], capture().io), /prune needs --sparsity S, a target share of zeros such as 0.5, or --nm N:M/);
  await assert.rejects(pruneCommand([file, '--sparsity', '1.5', '--out', out], capture().io), /--sparsity must be a number in \[0, 1\)/);
  await assert.rejects(pruneCommand([file, '--sparsity', '0.5', '--method', 'random', '--out', out], capture().io), /--method must be/);
  await assert.rejects(pruneCommand([file, '--sparsity', '0.5'], capture().io), /--out OUT is required/);
});

test('prune CLI: an --out whose extension is not .safetensors is refused before anything is written', async () => {
  const file = await maskedModel();
  for (const name of ['pruned.npy', 'pruned', 'pruned.safetensors.tmp']) {
    const out = path.join(dir, name);
    await assert.rejects(
      pruneCommand([file, '--sparsity', '0.5', '--out', out], capture().io),
      (error: Error) => error instanceof CliUsageError && error.message.includes(`--out ${out}: the output is written as safetensors, so its name must end in .safetensors`),
      name,
    );
    assert.equal(existsSync(out), false, name);
  }
});

test('the direct float32 read path gives exactly what the parser path gives', async () => {
  const file = path.join(dir, 'direct.safetensors');
  const next = random(21);
  const conv = Array.from({ length: 4 * 6 * 3 * 3 }, () => (next() < 0.4 ? 0 : next() - 0.5));
  const fc = Array.from({ length: 10 * 12 }, () => (next() < 0.5 ? 0 : next() * 1e3));
  await writeSafetensors(file, [
    { name: 'conv.weight', dtype: 'F32', shape: [4, 6, 3, 3], data: conv },
    { name: 'fc.weight', dtype: 'F16', shape: [10, 12], data: fc },
    { name: 'fc2.weight', dtype: 'F32', shape: [12, 10], data: fc },
  ]);
  for (const maxChunkElements of [7, 1 << 20]) {
    const direct = await scanWeightFile(file, { maxChunkElements, histogram: true });
    const parsed = await scanWeightFile(file, { maxChunkElements, histogram: true, noDirectRead: true });
    assert.deepEqual(direct, parsed);
    assert.equal(direct.tensors[0]!.zeros, conv.filter((v) => v === 0).length);
  }
});

test('a scan stops when its signal aborts, and previews read only the first values', async () => {
  const file = await maskedModel();
  const controller = new AbortController();
  await assert.rejects(
    scanWeightFile(file, { signal: controller.signal, onProgress: (_fraction, message) => message.includes('fc.weight') && controller.abort() }),
    { name: 'AbortError' },
  );
  assert.deepEqual(await previewTensor(file, 'conv.weight_orig', 3), [1, 2, 0]);
  assert.deepEqual(await previewTensor(file, 'bn.running_mean', 100), [0, 0.5, 0]);
  await assert.rejects(previewTensor(file, 'missing', 3), /no tensor named "missing"/);
});
