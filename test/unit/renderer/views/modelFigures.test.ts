/** The model view's figures, from the rows alone: the totals row, the bars by best algorithm and the scatter's points. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL_REPORT } from '../../../browser/fixtures';
import { ERROR_AXIS_FLOOR, errorAgainstTime, inputAssumption, modelTotals, notTimedGroups, timeByBestAlgorithm } from '../../../../renderer/views/modelFigures';
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
