import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filtersRemoved, keptByL1, keptWeights } from '../../../../extension/core/model/pruneWhatIf';
import { timingKey } from '../../../../extension/core/model/timingCache';
import { runModel } from '../../../../extension/core/requests/model';
import type { ModelLayer } from '../../../../extension/shared/payloads';
import { modelTestBench } from './helpers';
import { fixture } from '../../../paths';

const PYTHON = '/usr/bin/python3';
const needsOnnx = spawnSync(PYTHON, ['-c', 'import onnx']).status === 0 ? false : `${PYTHON} with onnx (Debian python3-onnx) is not installed`;
const { backend: newBackend, folder } = modelTestBench('prune-whatif');

/** Written by test/fixtures/onnx/make_prune_net.py with numpy and onnx.shape_inference. */
interface ExpectedRow {
  name: string;
  filtersKept: number;
  filters: number;
  inputChannelsKept: number;
  inputChannels: number;
  inputFrom: string | null;
  flops: number;
  flopsBefore: number;
  l1Removed: number;
}
const EXPECTED = JSON.parse(readFileSync(fixture('onnx', 'prune_net.expected.json'), 'utf8')) as { nodes: string[]; targets: Record<string, ExpectedRow[]> };
const NET = fixture('onnx', 'prune_net.onnx');

function assertRows(layers: ModelLayer[], rows: ExpectedRow[], target: number): void {
  assert.deepEqual(layers.map((l) => l.name), rows.map((r) => r.name));
  for (const [i, want] of rows.entries()) {
    const got = layers[i]!.pruned!;
    assert.equal(got.target, target);
    assert.deepEqual(
      [got.filtersKept, got.filters, got.inputChannelsKept, got.inputChannels, got.inputFrom ?? null, got.flops, layers[i]!.flops],
      [want.filtersKept, want.filters, want.inputChannelsKept, want.inputChannels, want.inputFrom, want.flops, want.flopsBefore],
      want.name,
    );
    assert.equal(got.flopsRemoved, want.flopsBefore - want.flops, want.name);
  }
}

test('torch ln_structured counts: round(target * K) filters go, the smallest L1 norms first, ties the lower index', () => {
  assert.equal(filtersRemoved(0.5, 8), 4);
  assert.equal(filtersRemoved(0.3, 8), 2, 'round(2.4)');
  assert.equal(filtersRemoved(0.3, 10), 3);
  assert.equal(filtersRemoved(0.95, 4), 3, 'round(3.8) = 4 would leave none: one is kept');
  // Norms 3, 1, 2, 1, 5: remove two -> indices 1 and 3 (both 1; the lower first), keep 0, 2, 4.
  assert.deepEqual(keptByL1(Float64Array.from([3, 1, 2, 1, 5]), 2), [0, 2, 4]);
  assert.deepEqual(keptByL1(Float64Array.from([3, 1, 2, 1, 5]), 3), [0, 4]);
});

test('kept weights: the kept filters over the kept input channels, in OIHW order', () => {
  // K=3, C=2, 1x2 kernels: value = 100k + 10c + s.
  const weight = Float32Array.from({ length: 12 }, (_, i) => 100 * Math.floor(i / 4) + 10 * (Math.floor(i / 2) % 2) + (i % 2));
  const layer = { op: 'conv', shape: { N: 1, C: 2, H: 4, W: 4, K: 3, R: 1, S: 2, P: 4, Q: 3, strides: [1, 1], pads: [0, 0, 0, 0], groups: 1, dilations: [1, 1] } } as unknown as ModelLayer;
  assert.deepEqual(Array.from(keptWeights(layer, weight, [0, 2], [1])), [10, 11, 210, 211]);
  const depthwise = { op: 'depthwise', shape: { ...(layer.shape as object), C: 3, groups: 3 } } as unknown as ModelLayer;
  const dw = Float32Array.from([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(keptWeights(depthwise, dw, [0, 2], [0, 2])), [1, 2, 5, 6]);
});

test('pruned shapes and FLOPs follow the graph: the next layer loses the input channels, an Add and the model output keep their filters', async () => {
  for (const target of [0.5, 0.3]) {
    const report = await runModel({ file: NET, time: false, pruneTarget: target });
    assertRows(report.layers, EXPECTED.targets[String(target)]!, target);
    const [c1, c2, c3, , fc] = report.layers;
    assert.equal(c1!.pruned!.filtersReason, undefined);
    assert.match(c2!.pruned!.filtersReason!, /its output also feeds Add 'add'/);
    assert.match(c3!.pruned!.filtersReason!, /its output also feeds Add 'add'/);
    assert.equal(fc!.pruned!.filtersReason, "its output is the model's output");
    const rows = EXPECTED.targets[String(target)]!;
    assert.deepEqual(report.total.pruned, {
      target,
      followsGraph: true,
      flops: rows.reduce((a, r) => a + r.flops, 0),
      flopsRemoved: rows.reduce((a, r) => a + r.flopsBefore - r.flops, 0),
    });
  }
  const none = await runModel({ file: NET, time: false, pruneTarget: 0 });
  assert.ok(none.layers.every((l) => l.pruned === undefined));
  await assert.rejects(runModel({ file: NET, time: false, pruneTarget: 1 }), /prune-target must be a share from 0 to 0\.95, got 1/);
});

test('timed: each pruned layer runs its best algorithm on the kept weights, ranked by L1 as numpy ranks them; a second report reads the cache', async () => {
  const workspace = join(folder, 'ws-timed');
  const backend = newBackend();
  const messages: string[] = [];
  const report = await runModel({ file: NET, workspace, budgetMs: 0, warmupMs: 0, algos: ['im2col'] }, { backend, onProgress: (_f, m) => m && messages.push(m) });
  const rows = EXPECTED.targets['0.5']!;
  assertRows(report.layers, rows, 0.5);
  for (const [i, layer] of report.layers.entries()) {
    const pruned = layer.pruned!;
    assert.ok(Math.abs(pruned.l1Removed! - rows[i]!.l1Removed) < 1e-6, `${layer.name}: ${pruned.l1Removed} vs numpy ${rows[i]!.l1Removed}`);
    assert.equal(pruned.algo, layer.best!.algo, layer.name);
    assert.ok(pruned.msMedian! > 0, layer.name);
    assert.equal(pruned.speedup, layer.best!.msMedian / pruned.msMedian!);
    // c3 keeps its shape: its pruned time is its own, from the cache, a speedup of exactly 1.
    const unchanged = pruned.filtersKept === pruned.filters && pruned.inputChannelsKept === pruned.inputChannels;
    assert.equal(pruned.cached, unchanged, layer.name);
    if (unchanged) assert.equal(pruned.speedup, 1, layer.name);
  }
  assert.equal(report.layers[2]!.pruned!.cached, true);
  assert.ok(messages.some((m) => m === 'c1: pruned to 4 of 8 filters'), messages.join('\n'));
  const timed = report.layers;
  assert.equal(report.total.pruned!.msMedian, timed.reduce((a, l) => a + l.pruned!.msMedian!, 0));
  assert.equal(report.total.pruned!.bestMs, report.total.bestMs);
  assert.equal(report.total.pruned!.speedup, report.total.pruned!.bestMs! / report.total.pruned!.msMedian!);
  assert.equal(report.total.pruned!.timedLayers, 5);
  assert.equal(report.total.pruned!.followsGraph, true, 'kept through the timings');
  const again = await runModel({ file: NET, workspace, budgetMs: 0, warmupMs: 0, algos: ['im2col'] }, { backend });
  assert.equal(again.timing!.measured, 0);
  assert.deepEqual(again.layers.map((l) => [l.pruned!.msMedian, l.pruned!.cached]), report.layers.map((l) => [l.pruned!.msMedian, true]));
});

test('without a graph (a torch state_dict) each layer is pruned on its own, the last kept as the model output', async () => {
  const report = await runModel({ file: fixture('pytorch', 'state_dict_p4.pt'), input: [1, 2, 5, 5], time: false });
  const [conv, fc] = report.layers;
  assert.match(conv!.pruned!.filtersReason!, /depthwise: its channels follow its input, which is not pruned/);
  assert.match(fc!.pruned!.filtersReason!, /the last layer, taken as the model's output/);
  assert.ok(report.notes.some((n) => /the connectivity of pytorch files is not followed/.test(n)), report.notes.join('\n'));
  assert.equal(report.total.pruned!.followsGraph, false, 'the views say each layer was pruned alone');
});

test('Keras: channels followed through BatchNormalization, ReLU and global pooling, into and out of a nested base model', async () => {
  const report = await runModel({ file: fixture('keras', 'keras2_nested.h5'), time: false });
  assert.deepEqual(report.layers.map((l) => [l.name, l.pruned!.inputChannelsKept, l.pruned!.filtersKept, l.pruned!.inputFrom ?? null, l.pruned!.flops]), [
    ['mobilenet_mini/conv1', 3, 4, null, (2 * 8 * 3 * 9 * 16 * 16) / 2],
    ['mobilenet_mini/conv_dw_1', 4, 4, 'mobilenet_mini/conv1', (2 * 8 * 9 * 16 * 16) / 2],
    ['mobilenet_mini/conv_pw_1', 4, 8, 'mobilenet_mini/conv_dw_1', (2 * 16 * 8 * 16 * 16) / 4],
    ['predictions', 8, 4, 'mobilenet_mini/conv_pw_1', (2 * 16 * 4) / 2],
  ]);
  assert.equal(report.layers[3]!.pruned!.filtersReason, "its output is the model's output");
  // TF.js layers: the conv's channels go on through a Flatten of 10x10 (features, not channels): its filters stay.
  const tfjs = await runModel({ file: fixture('keras', 'tfjs_layers.json'), time: false });
  assert.match(tfjs.layers[0]!.pruned!.filtersReason!, /its output also feeds Flatten 'flatten'/);
});

test('MobileNet-v1: each depthwise layer follows the pointwise layer before it, the next pointwise layer loses those channels', { skip: needsOnnx }, async () => {
  const nets = mkdtempSync(join(tmpdir(), 'deep-accel-prune-nets-'));
  try {
    const run = spawnSync(PYTHON, [fixture('onnx', 'make_model_nets.py'), nets], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const report = await runModel({ file: join(nets, 'mobilenet_v1.onnx'), time: false });
    const counted = new Map((JSON.parse(readFileSync(join(nets, 'mobilenet_v1.expected.json'), 'utf8')).layers as { name: string; flops: number }[]).map((l) => [l.name, l.flops]));
    let expectedFlops = 0;
    for (const [i, layer] of report.layers.entries()) {
      const p = layer.pruned!;
      const before = report.layers[i - 1];
      if (layer.op === 'depthwise') {
        assert.equal(p.inputFrom, before!.name, layer.name);
        assert.deepEqual([p.inputChannelsKept, p.filtersKept], [p.inputChannels / 2, p.filters / 2], layer.name);
      } else if (layer.name !== 'conv0') {
        assert.equal(p.inputFrom, before!.name, layer.name);
        assert.equal(p.inputChannelsKept, before!.pruned!.filtersKept, layer.name);
      }
      // Every channel count is even: the stem and the depthwise layers keep half their work, the
      // pointwise layers a quarter (half the inputs, half the filters), the classifier half (its inputs).
      const share = layer.name === 'conv0' || layer.op === 'depthwise' || layer.op === 'linear' ? 0.5 : 0.25;
      assert.equal(p.flops, share * counted.get(layer.name)!, layer.name);
      expectedFlops += share * counted.get(layer.name)!;
    }
    assert.equal(report.total.pruned!.flops, expectedFlops);
    assert.equal(report.layers.filter((l) => l.op === 'depthwise').length, 13);
  } finally {
    rmSync(nets, { recursive: true, force: true });
  }
});

test('timing keys tell a depthwise layer from the full convolution of the same sizes', () => {
  const shape = { N: 1, C: 32, H: 56, W: 56, K: 32, R: 3, S: 3, stride: 1, pad: 1 };
  const keys = new Set([
    timingKey('b', shape, 'direct', 'nchw', 1),
    timingKey('b', { ...shape, groups: 32 }, 'direct', 'nchw', 1),
    timingKey('b', { ...shape, dilation: 2 }, 'direct', 'nchw', 1),
    timingKey('b', { ...shape, pads: [1, 1, 2, 2] }, 'direct', 'nchw', 1),
  ]);
  assert.equal(keys.size, 4);
});
