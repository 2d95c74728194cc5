import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { analyzeModel } from '../../../../extension/core/model/analyze';
import { openModelFile, describeModel } from '../../../../extension/core/model/readModel';
import { readLayerWeight } from '../../../../extension/core/model/layerWeights';
import { fixture } from '../../../paths';

interface TorchLayer {
  shape: number[];
  numel: number;
  zeros: number;
  zeroFilters: number;
  params: number;
}

// Written by torch after prune.l1_unstructured (conv, 60%) and prune.ln_structured (fc, half of its
// rows): the file stores conv.weight_orig + conv.weight_mask and no conv.weight. The expected counts
// are torch's own, over the model after prune.remove (weights = orig * mask).
const file = fixture('pytorch', 'pruned_masks.pt');
const torch = (JSON.parse(readFileSync(fixture('pytorch', 'pruned_masks.expected.json'), 'utf8')) as { layers: Record<string, TorchLayer> }).layers;

test('a checkpoint saved after torch.nn.utils.prune has its layers, each weight orig * mask, with torch\'s sparsity', async () => {
  const report = await analyzeModel(file, { input: [1, 8, 6, 6] });
  assert.deepEqual(report.layers.map((l) => [l.name, l.op, l.weight]), [
    ['conv', 'conv', 'conv.weight'],
    ['fc', 'linear', 'fc.weight'],
  ]);
  const [conv, fc] = report.layers as [typeof report.layers[0], typeof report.layers[0]];
  assert.equal(conv.params, torch.conv!.params);
  assert.equal(fc.params, torch.fc!.params);
  assert.equal(conv.sparsity?.element, torch.conv!.zeros / torch.conv!.numel);
  assert.equal(fc.sparsity?.element, torch.fc!.zeros / torch.fc!.numel);
  // ln_structured removed whole rows of fc: its row share is torch's count of all-zero rows.
  assert.equal(fc.sparsity?.rows, torch.fc!.zeroFilters / torch.fc!.shape[0]!);
  assert.equal(conv.sparsity?.filters, torch.conv!.zeroFilters / torch.conv!.shape[0]!);
  assert.deepEqual(conv.weightFrom, { orig: 'conv.weight_orig', mask: 'conv.weight_mask', kind: 'torch-prune' });
  assert.deepEqual(fc.weightFrom, { orig: 'fc.weight_orig', mask: 'fc.weight_mask', kind: 'torch-prune' });
  assert.ok(
    report.notes.some((n) => /2 weights combined from their pruning masks \(torch\.nn\.utils\.prune\): conv\.weight = conv\.weight_orig \* conv\.weight_mask, fc\.weight = fc\.weight_orig \* fc\.weight_mask/.test(n)),
    report.notes.join('\n'),
  );
  assert.equal(report.total.params, torch.conv!.params + torch.fc!.params);
});

test('the weight the engine times is orig * mask: zero exactly where torch\'s effective weight is', async () => {
  const opened = await openModelFile(file);
  try {
    const report = describeModel(opened);
    const conv = report.layers.find((l) => l.name === 'conv')!;
    const tensor = opened.tensors.find((t) => t.name === 'conv.weight')!;
    const weight = await readLayerWeight(conv, tensor, new Float32Array(tensor.numel));
    assert.equal(weight.filter((v) => v === 0).length, torch.conv!.zeros);
  } finally {
    await opened.close();
  }
});
