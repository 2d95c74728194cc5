import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  convShapeProblem,
  filterSizeProblem,
  finitePointsNeeded,
  inputSizeProblem,
  parseConvShapeText,
  parseInputSize,
  pointsPlaceholder,
  pointsProblem,
  sparsityTargetProblem,
  splitPoints,
  tileSizeProblem,
  wholeNumberProblem,
} from '../../../extension/core/inputChecks';
import { generateWinograd } from '../../../extension/core/winograd';

test('tile and filter sizes: whole numbers, and alpha = m + r - 1 at most 32', () => {
  assert.equal(tileSizeProblem('4'), undefined);
  assert.equal(tileSizeProblem(' 6 '), undefined);
  assert.match(tileSizeProblem('4.5') ?? '', /whole number/);
  assert.match(tileSizeProblem('') ?? '', /whole number from 1 to 31/);
  assert.match(tileSizeProblem('0') ?? '', /from 1 to 31, not 0/);
  assert.match(tileSizeProblem('x') ?? '', /not 'x'/);
  // F(30, 3): alpha = 32 is the largest; F(30, 4) would be 33.
  assert.equal(filterSizeProblem('3', 30), undefined);
  assert.match(filterSizeProblem('4', 30) ?? '', /from 1 to 3, not 4/);
  assert.equal(filterSizeProblem('3', 4), undefined);
  assert.match(filterSizeProblem('three', 4) ?? '', /r must be a whole number/);
});

test('points: how many F(m, r) needs, with and without the point at infinity', () => {
  // alpha = m + r - 1; with infinity alpha - 1 finite points.
  assert.equal(finitePointsNeeded(2, 3), 3);
  assert.equal(finitePointsNeeded(4, 3), 5);
  assert.equal(finitePointsNeeded(6, 3), 7);
  assert.equal(finitePointsNeeded(4, 3, false), 6);
});

test('points are checked as typed: a bad number, then a repeat, then the count', () => {
  assert.equal(pointsProblem('0, 1, -1, 1/2, -1/2', 4, 3), undefined);
  assert.equal(pointsProblem('0,1,-1,1/2,-1/2,', 4, 3), undefined, 'a trailing comma while typing is not a point');
  assert.match(pointsProblem('0, 1, -1, 1/0', 4, 3) ?? '', /point 4 "1\/0" divides by zero/);
  assert.match(pointsProblem('0, 1, a', 4, 3) ?? '', /point 3 "a" is not a number/);
  // 1/2 and 0.5 are the same point, found before the count is complained about.
  assert.match(pointsProblem('0, 1/2, 0.5', 4, 3) ?? '', /"1\/2" and "0.5" are equal/);
  assert.match(pointsProblem('0, 1, 1', 4, 3) ?? '', /"1" appears twice/);
  assert.equal(pointsProblem('0, 1, -1', 4, 3), 'F(4, 3) needs 5 distinct points (the point at infinity is added): 3 given');
  assert.equal(pointsProblem('0, 1, -1, 2, -2, 3', 4, 3), 'F(4, 3) needs 5 distinct points (the point at infinity is added): 6 given');
  assert.equal(pointsProblem('', 2, 3), 'F(2, 3) needs 3 distinct points (the point at infinity is added): 0 given');
  assert.deepEqual(splitPoints(' 0 ,1/2,, -3 '), ['0', '1/2', '-3']);
});

test('the points placeholder has as many points as the size needs, and is accepted as typed', () => {
  assert.equal(pointsPlaceholder(2, 3), '0, 1, -1');
  assert.equal(pointsPlaceholder(4, 3), '0, 5/8, -5/8, 3/2, -3/2');
  assert.equal(pointsPlaceholder(6, 3), '0, 1, -1, 2, -2, 1/2, -1/2');
  for (const [m, r] of [[2, 3], [3, 2], [4, 3], [6, 3], [8, 3], [4, 5]]) {
    const placeholder = pointsPlaceholder(m, r);
    assert.equal(splitPoints(placeholder).length, finitePointsNeeded(m, r), `F(${m},${r})`);
    assert.equal(pointsProblem(placeholder, m, r), undefined);
    assert.ok(generateWinograd({ m, r, points: splitPoints(placeholder), errorTrials: 0 }).verified);
  }
});

test('benchmark shapes: 7, 9, 10 or 11 integers and a kernel that fits the padded input', () => {
  assert.equal(convShapeProblem('1,64,56,56,64,3,3,1,1'), undefined);
  assert.deepEqual(parseConvShapeText('1, 16, 14, 14, 32, 3, 3'), { N: 1, C: 16, H: 14, W: 14, K: 32, R: 3, S: 3, stride: 1, pad: 0 });
  assert.deepEqual(parseConvShapeText('1,32,112,112,32,3,3,1,1,32'), { N: 1, C: 32, H: 112, W: 112, K: 32, R: 3, S: 3, stride: 1, pad: 1, groups: 32 });
  assert.deepEqual(parseConvShapeText('1,8,33,33,8,3,3,1,6,1,6'), { N: 1, C: 8, H: 33, W: 33, K: 8, R: 3, S: 3, stride: 1, pad: 6, dilation: 6 });
  assert.match(convShapeProblem('1,64,56,56,64,3') ?? '', /7, 9, 10 or 11 integers/);
  assert.match(convShapeProblem('1,64,56,56,64,3,3,1,x') ?? '', /item 9 \('x'\)/);
  assert.match(convShapeProblem('1,64,2,2,64,3,3,1,0') ?? '', /kernel 3x3 is larger than the padded input 2x2/);
  assert.match(convShapeProblem('1,0,56,56,64,3,3') ?? '', /shape\.C must be a positive integer/);
});

test('threads, sparsity targets and input sizes', () => {
  assert.equal(wholeNumberProblem('2', 1, 2, 'threads'), undefined);
  assert.equal(wholeNumberProblem('3', 1, 2, 'threads'), 'threads must be from 1 to 2, not 3');
  assert.equal(sparsityTargetProblem('0.5'), undefined);
  assert.equal(sparsityTargetProblem('0'), undefined);
  assert.match(sparsityTargetProblem('1') ?? '', /up to \(not including\) 1/);
  assert.match(sparsityTargetProblem('half') ?? '', /not 'half'/);
  assert.deepEqual(parseInputSize('224x224'), { height: 224, width: 224 });
  assert.deepEqual(parseInputSize('56 × 28'), { height: 56, width: 28 });
  assert.deepEqual(parseInputSize('32'), { height: 32, width: 32 });
  assert.match(inputSizeProblem('224x') ?? '', /HxW such as 224x224/);
  assert.match(inputSizeProblem('0x224') ?? '', /from 1 to 65536, not 0/);
});
