/** The model view's figures, from the rows alone: the totals row, the bars by best algorithm and the scatter's points. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL_REPORT } from '../../../browser/fixtures';
import { ERROR_AXIS_FLOOR, errorAgainstTime, inputAssumption, modelTotals, notTimedGroups, pruneAssumption, prunedChannelsText, prunedTotals, timeByBestAlgorithm } from '../../../../renderer/views/modelFigures';
import type { ModelReport } from '../../../../extension/shared/payloads';

test('the totals row sums the rows: parameters, known FLOPs, best times and peer times, counting what is unknown', () => {
  const layers = MODEL_REPORT.layers.map((l, i) => (i === 3 ? { ...l, flops: null } : l));
  // 36864 * 3 + 576 + 513000; FLOPs without fc's 1024000; 2 + 1.5 + 0.5 + 0.125 ms over 4 layers; peer 1.5 + 1.25 + 0.25.
  assert.deepEqual(modelTotals(layers), { layers: 5, params: 624168, flops: 1390878720, flopsUnknown: 1, bestMs: 4.125, timedLayers: 4, peerMs: 3, peerLayers: 3 });
});

test('time per layer: one bar per timed layer, stacked by best algorithm so each bar has one series', () => {
  const { labels, series } = timeByBestAlgorithm(MODEL_REPORT.layers);
  assert.deepEqual(labels, ['1 stem/conv', '2 block1/conv', '3 block1/dw', '4 fc']);
  assert.deepEqual(series, [
    { algo: 'direct', data: [null, null, 0.5, null] },
    { algo: 'im2col', data: [null, null, null, 0.125] },
    { algo: 'winograd-4x3', data: [2, null, null, null] },
    { algo: 'winograd-6x3', data: [null, 1.5, null, null] },
  ]);
});

test('time against error: every result a point, the best marked, an exact result drawn at the axis floor', () => {
  const layers = [{ ...MODEL_REPORT.layers[3]!, results: [{ ...MODEL_REPORT.layers[3]!.results![0]!, errorVsDirect: 0 }, MODEL_REPORT.layers[3]!.results![1]!] }];
  assert.deepEqual(errorAgainstTime(layers), [
    { algo: 'direct', points: [{ x: 0.25, y: ERROR_AXIS_FLOOR, layer: '1 fc', errorVsDirect: 0, best: false }] },
    { algo: 'im2col', points: [{ x: 0.125, y: 1, layer: '1 fc', errorVsDirect: 1, best: true }] },
  ]);
  const all = errorAgainstTime(MODEL_REPORT.layers);
  assert.deepEqual(all.map((s) => [s.algo, s.points.length]), [['direct', 4], ['im2col', 2], ['winograd-4x3', 1], ['winograd-6x3', 1], ['winograd-7x3', 1]]);
});

test('layers not timed are grouped by reason; an unknown input says how many layers need it', () => {
  assert.deepEqual(notTimedGroups(MODEL_REPORT.layers), [{ reason: 'the engine has no transposed convolution', layers: ['up/convT'] }]);
  const open: ModelReport = { ...MODEL_REPORT, input: { name: 'x', dims: ['N', 3, 'H', 'W'], shape: null, from: 'none' }, layers: MODEL_REPORT.layers.map((l) => ({ ...l, flops: null })) };
  assert.equal(inputAssumption(open), "Input 'x' size unknown (stored as [N, 3, H, W]): FLOPs and times of 5 layers need it (give input=N,C,H,W).");
  assert.equal(inputAssumption({ ...MODEL_REPORT, input: { shape: [1, 3, 32, 32], from: 'option' } }), 'Input [1, 3, 32, 32], as given.');
});

test("the pruning what-if's totals are the sums of its rows, as the report's total.pruned", () => {
  // FLOPs: 115605504 + 57802752 + 1806336 + 1024000 pruned of 2 x 231211008 + 3612672 + 1024000; times over the 4 layers timed both ways.
  assert.deepEqual(prunedTotals(MODEL_REPORT.layers), { target: 0.5, flops: 176238592, flopsRemoved: 290820096, flopsBefore: 467058688, msMedian: 1.875, bestMs: 4.125, speedup: 2.2, timedLayers: 4 });
  const total = MODEL_REPORT.total.pruned!;
  const rows = prunedTotals(MODEL_REPORT.layers)!;
  assert.deepEqual([rows.flops, rows.flopsRemoved, rows.msMedian, rows.bestMs, rows.speedup, rows.timedLayers], [total.flops, total.flopsRemoved, total.msMedian, total.bestMs, total.speedup, total.timedLayers]);
  // A layer whose FLOPs are unknown is left out of both sides; one without a pruned time out of the times.
  const layers = MODEL_REPORT.layers.map((l, i) => (i === 0 ? { ...l, flops: null, pruned: { ...l.pruned!, flops: null, flopsRemoved: null } } : i === 1 ? { ...l, pruned: { ...l.pruned!, msMedian: undefined, speedup: undefined } } : l));
  assert.deepEqual(prunedTotals(layers), { target: 0.5, flops: 60633088, flopsRemoved: 175214592, flopsBefore: 235847680, msMedian: 1.375, bestMs: 2.625, speedup: 2.625 / 1.375, timedLayers: 3 });
  assert.equal(prunedTotals(MODEL_REPORT.layers.map(({ pruned: _p, ...l }) => l)), undefined);
});

test('the pruned shape reads input channels kept > filters kept, a count alone where none go', () => {
  assert.deepEqual(MODEL_REPORT.layers.filter((l) => l.pruned).map((l) => prunedChannelsText(l.pruned!)), ['64 > 32/64', '32/64 > 32/64', '32/64 > 32/64', '512 > 1000']);
});

test('the pruning assumption states the target, the ranking, what shrinks, the totals and how to change it', () => {
  const text = pruneAssumption(MODEL_REPORT)!;
  assert.match(text, /^Pruning what-if at 50%: each layer loses round\(0\.5 × K\) of its K filters .* the smallest L1 norms of its real weights first/);
  assert.match(text, /the next layer’s input channels shrink where the graph feeds the output straight in/);
  assert.match(text, / 290\.82M FLOPs removed \(62\.3% of the layers with sizes\)\./);
  assert.match(text, /the 4 layers timed both ways take 1\.88 ms instead of 4\.13 ms \(2\.2×\)/);
  assert.match(text, /deepAccel\.model\.pruneTarget \(prune= in a cell, --prune-target in the CLI; 0 for none\)/);
  const alone = { ...MODEL_REPORT, total: { ...MODEL_REPORT.total, pruned: { ...MODEL_REPORT.total.pruned!, followsGraph: false } } };
  assert.match(pruneAssumption(alone)!, /each layer is pruned alone and no input channels shrink/);
  // A report saved before followsGraph existed: a TFLite graph was not followed.
  const { followsGraph: _f, ...older } = MODEL_REPORT.total.pruned!;
  void _f;
  assert.match(pruneAssumption({ ...MODEL_REPORT, format: 'tflite', total: { ...MODEL_REPORT.total, pruned: older } })!, /each layer is pruned alone/);
  assert.match(pruneAssumption({ ...MODEL_REPORT, format: 'tflite' })!, /input channels shrink where the graph feeds/, 'the report’s own flag decides');
  assert.equal(pruneAssumption({ ...MODEL_REPORT, layers: MODEL_REPORT.layers.map(({ pruned: _p, ...l }) => l) }), undefined);
});
