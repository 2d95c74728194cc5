import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { activationFileName } from '../../../../extension/core/model/activations';
import { runModel } from '../../../../extension/core/requests/model';
import { modelTestBench } from './helpers';
import { fixture } from '../../../paths';

const { backend: newBackend, folder } = modelTestBench('model-activations');

const NET = fixture('onnx', 'prune_net.onnx');
const FAST = { budgetMs: 0, warmupMs: 0, algos: ['im2col', 'winograd-4x3', 'winograd-2x3'], pruneTarget: 0 };

// The layers have no bias: on all-zero activations (written by make_prune_net.py with numpy) every
// algorithm's output is exactly zero, so every error is exactly 0; on random ones none is.
test('errors are measured on the .npy activations given: zeros in, exactly zero error out, and the report says so', async () => {
  const backend = newBackend();
  const random = await runModel({ file: NET, workspace: join(folder, 'ws'), ...FAST }, { backend });
  assert.deepEqual(random.timing!.activations, { source: 'random' });
  assert.ok(random.layers.every((l) => l.results!.every((r) => r.maxAbsErr > 0)), 'random activations give rounding errors');

  const dir = fixture('onnx', 'prune_net_activations');
  const given = await runModel({ file: NET, workspace: join(folder, 'ws'), activations: dir, ...FAST }, { backend });
  assert.deepEqual(given.timing!.activations, { source: 'npy', from: dir, layers: 3 });
  assert.deepEqual(given.layers.map((l) => l.activations ?? null), [join(dir, 'c1.npy'), null, null, join(dir, 'c4.npy'), join(dir, 'fc.npy')]);
  for (const layer of given.layers) {
    const zero = layer.activations !== undefined;
    for (const r of layer.results!) assert.equal(r.maxAbsErr === 0, zero, `${layer.name} ${r.algo}: ${r.maxAbsErr}`);
  }
  // The times are the same cache entries: only the errors depend on the activations.
  assert.equal(given.timing!.measured, 0);

  // One .npy file is the model's input: the first layer's.
  const single = await runModel({ file: NET, workspace: join(folder, 'ws'), activations: fixture('onnx', 'prune_net_x_zeros.npy'), ...FAST }, { backend });
  assert.equal(single.timing!.activations!.source, 'npy');
  assert.deepEqual(single.layers.map((l) => l.activations !== undefined), [true, false, false, false, false]);
  assert.ok(single.layers[0]!.results!.every((r) => r.maxAbsErr === 0));
});

test('an activation file of the wrong shape is an error naming the file, the layer and both shapes; a missing path too', async () => {
  const backend = newBackend();
  const wrong = fixture('onnx', 'prune_net_activations_wrong');
  await assert.rejects(
    runModel({ file: NET, workspace: join(folder, 'ws2'), activations: wrong, ...FAST }, { backend }),
    (error: Error) => error.name === 'OptionError' && error.message === `--activations ${join(wrong, 'c2.npy')}: shape [1, 8, 4, 4] is not the input of layer 'c2', [N, C, H, W] = [1, 8, 8, 8]`,
  );
  await assert.rejects(runModel({ file: NET, activations: join(folder, 'nothing-here'), ...FAST }, { backend }), /--activations .*nothing-here: no such file or folder/);
  await assert.rejects(runModel({ file: NET, activations: NET, ...FAST }, { backend }), /give a folder of <layer>\.npy files or one \.npy file/);
});

test('layer names become file names with the characters a file name cannot hold replaced', () => {
  assert.equal(activationFileName('layer1.0.conv1'), 'layer1.0.conv1.npy');
  assert.equal(activationFileName('model/conv2d_1/Conv2D'), 'model_conv2d_1_Conv2D.npy');
  assert.equal(activationFileName('a:b*c?"d<e>f|g\\h'), 'a_b_c__d_e_f_g_h.npy');
});
