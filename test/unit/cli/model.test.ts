import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../../extension/cli/main';
import type { ModelReport } from '../../../extension/shared/payloads';
import { TEST_MODELS_DIR, fixture } from '../../paths';

// The timing cache goes to the working folder's .deep-accel/: a fresh one, outside the repository.
const workspace = mkdtempSync(path.join(tmpdir(), 'deep-accel-cli-model-'));
process.chdir(workspace);

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

test('model --json: the report of a TF.js layers model timed on the engine, totals equal to the sums of the rows', async () => {
  const { code, out, err } = await cli('model', fixture('keras', 'tfjs_layers.json'), '--budget-ms', '0', '--algos', 'im2col', '--json');
  assert.equal(code, 0, err);
  const report = JSON.parse(out) as ModelReport;
  assert.equal(report.format, 'tfjs');
  assert.deepEqual(report.layers.map((l) => [l.name, l.op, l.flops]), [
    ['conv', 'conv', 2 * 6 * 3 * 25 * 20 * 20],
    ['dense', 'linear', 2 * 600 * 4],
  ]);
  assert.equal(report.total.flops, report.layers.reduce((a, l) => a + l.flops!, 0));
  assert.equal(report.total.params, 456 + 2404);
  assert.match(err, /scanning conv\/kernel/, 'progress on stderr');
  assert.match(err, /conv: im2col \(nchw\)/, 'progress names the layer and the algorithm');
  assert.deepEqual(report.layers.map((l) => l.results!.map((r) => r.algo)), [['direct', 'im2col'], ['direct', 'im2col']]);
  assert.equal(report.total.bestMs, report.layers.reduce((a, l) => a + l.best!.msMedian, 0));
  assert.equal(report.timing!.budgetMs, 0);
  assert.ok(existsSync(path.join(workspace, '.deep-accel', 'model-timings.json')));
  const table = await cli('model', fixture('keras', 'tfjs_layers.json'), '--budget-ms', '0', '--algos', 'im2col');
  assert.match(table.out, /^1 +conv +conv +3x24x24 > 6x20x20 5x5 s1 p0 .* (direct|im2col) +\d+\.\d{3} +[\d.]+ +[\d.]+ +3 > 6 +360\.00K +0 +\d+\.\d{3} \(\d+\.\d\dx\)$/m);
  // Two layers x (direct, im2col), and both pruned layers, whose shapes stay (the conv's channels go on
  // through a Flatten of 10x10, the dense layer is the model's output): their times are their own.
  assert.match(table.out, /0 timed, 6 from the cache/);
});

test('model prints one row per layer and a totals row; a real TFLite model lists its depthwise layers', async () => {
  const { code, out } = await cli('model', path.join(TEST_MODELS_DIR, 'face_detection_short_range.tflite'), '--no-time');
  assert.equal(code, 0);
  assert.match(out, /^1 +conv2d +conv +3x128x128 > 24x64x64 5x5 s2 p1,1,2,2 +1824 +14\.75M /m);
  assert.match(out, /^2 +depthwise_conv2d +depthwise +24x64x64 > 24x64x64 3x3 s1 p1 g24 +240 /m);
  assert.match(out, /^ +total +\d+ layers /m);
});

test('model: a wrong --input is a usage error naming the flag, a shape that does not fit the graph is the file\'s error', async () => {
  const bad = await cli('model', fixture('keras', 'keras3_functional.keras'), '--input', '1,16,x,4');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--input must be 2 to 5 whole numbers/);
  const rank = await cli('model', fixture('keras', 'keras3_functional.keras'), '--input', '1,16,16');
  assert.equal(rank.code, 2);
  assert.match(rank.err, /keras3_functional\.keras: input 'image' has 4 dimensions \[\?, 16, 16, 4\], but the given input shape \[1, 16, 16\] has 3/);
  const notModel = await cli('model', fixture('keras', 'make_model_fixtures.py'));
  assert.equal(notModel.code, 2);
  assert.match(notModel.err, /make_model_fixtures\.py: not a recognised weight file/);
  const help = await cli('model', '--help');
  assert.equal(help.code, 0);
  // The synopsis wraps at 80 columns: its words in order, any run of spaces and line breaks between them.
  const synopsis = 'Usage: deep-accel model FILE [--input N,C,H,W] [--algos a,b] [--budget-ms T] [--threads T] [--max-error-vs-direct X] [--prune-target S] [--activations DIR] [--export-netron OUT] [--export-model-explorer OUT] [--peer] [--no-time] [--timeout S] [--json]';
  assert.match(help.out, new RegExp(`^${synopsis.split(' ').map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s+')}`));
  const budget = await cli('model', fixture('keras', 'tfjs_layers.json'), '--max-error-vs-direct', '0.5');
  assert.equal(budget.code, 2);
  assert.match(budget.err, /--max-error-vs-direct must be a number >= 1, got '0.5'/);
});

test('model --export-netron / --export-model-explorer write the files through core/outputFile; a bad path is a usage error (exit 2)', async () => {
  const netron = path.join(workspace, 'figures.netron.json');
  const explorer = path.join(workspace, 'figures.me.json');
  const ok = await cli('model', fixture('onnx', 'prune_net.onnx'), '--no-time', '--export-netron', netron, '--export-model-explorer', explorer);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, new RegExp(`note: Netron attachment: ${netron.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ metrics`));
  assert.match(ok.out, /note: Model Explorer node data: .*figures\.me\.json \(FLOPs of 5 nodes/);
  assert.equal(JSON.parse(readFileSync(netron, 'utf8')).signature, 'netron:attachment');
  const same = await cli('model', fixture('onnx', 'prune_net.onnx'), '--no-time', '--export-netron', fixture('onnx', 'prune_net.onnx'));
  assert.equal(same.code, 2);
  assert.match(same.err, /--export-netron .*prune_net\.onnx is the input file itself/);
  const extension = await cli('model', fixture('onnx', 'prune_net.onnx'), '--no-time', '--export-model-explorer', path.join(workspace, 'x.csv'));
  assert.equal(extension.code, 2);
  assert.match(extension.err, /must end in \.json/);
  const activations = await cli('model', fixture('onnx', 'prune_net.onnx'), '--budget-ms', '0', '--algos', 'im2col', '--activations', fixture('onnx', 'prune_net_activations_wrong'));
  assert.equal(activations.code, 2);
  assert.match(activations.err, /prune_net_activations_wrong\/c2\.npy: shape \[1, 8, 4, 4\] is not the input of layer 'c2'/);
  const target = await cli('model', fixture('onnx', 'prune_net.onnx'), '--no-time', '--prune-target', '1.5');
  assert.equal(target.code, 2);
  assert.match(target.err, /--prune-target must be a share from 0 to 0\.95/);
});

test('model reads and times HDF5 and .keras models in a watched worker: the same layers as on the CLI thread, and a read past --timeout is a file error', { timeout: 300_000 }, async () => {
  const file = fixture('keras', 'keras2_sequential.h5');
  const untimed = await cli('model', file, '--no-time', '--json');
  assert.equal(untimed.code, 0, untimed.err);
  const { runModel } = await import('../../../extension/core/requests/model');
  const direct = await runModel({ file, time: false, workspace });
  assert.deepEqual(JSON.parse(untimed.out), JSON.parse(JSON.stringify(direct)));
  // Timed: the watched worker runs an engine pool of its own; progress still reaches stderr.
  const timed = await cli('model', fixture('keras', 'keras3_functional.keras'), '--budget-ms', '0', '--algos', 'im2col', '--json');
  assert.equal(timed.code, 0, timed.err);
  const report = JSON.parse(timed.out) as ModelReport;
  assert.ok(report.total.timedLayers! > 0, 'layers were timed');
  assert.ok(report.layers.filter((l) => l.best).every((l) => l.results!.some((r) => r.algo === 'direct')));
  assert.match(timed.err, /: im2col \(nchw\)/, 'progress names the layer and the algorithm');
  const stalled = await cli('model', file, '--no-time', '--timeout', '0.001');
  assert.equal(stalled.code, 2);
  assert.equal(stalled.out, '');
  assert.match(stalled.err, /^deep-accel: .*keras2_sequential\.h5: reading stopped after 0\.001 s without progress \(the limit is --timeout\); the worker reading it was stopped\. /);
});
