import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWinograd } from '../../../../extension/core/winograd/index';

test("multiplication savings match Lavin & Gray: 2.25x, 4x, 5.06x for F(2x2,3x3), F(4x4,3x3), F(6x6,3x3)", () => {
  const saving = (m: number): number => generateWinograd({ m, r: 3, errorTrials: 0 }).multiplications.saving;
  assert.equal(saving(2), 36 / 16);
  assert.equal(saving(4), 144 / 36);
  assert.equal(saving(6), 324 / 64);
  assert.equal(saving(6).toFixed(2), '5.06');
  const f43 = generateWinograd({ m: 4, r: 3, errorTrials: 0 });
  assert.equal(f43.cost.winogradMultiplications, 36);
  assert.equal(f43.cost.directMultiplications, 144);
});

test('transform operation counts of F(2x2,3x3) counted by hand', () => {
  // BT rows each hold two +-1 entries: 1 add per row, 4 per 1-D pass; 2-D = 4 columns + 4 rows = 32 adds
  // (Lavin & Gray: "the data transform uses 32 additions").
  // G rows: [1 0 0] free, [1/2 1/2 1/2] and [1/2 -1/2 1/2] 2 adds + 3 muls each, [0 0 1] free:
  // 4 adds 6 muls per pass; 2-D = 3 columns (G g) + 4 rows (.. G^T) = 28 adds, 42 muls.
  // AT rows [1 1 1 0], [0 1 -1 1]: 2 adds each, 4 per pass; 2-D = 4 columns + 2 rows = 24 adds
  // (Lavin & Gray: "the inverse transform uses 24 additions").
  const result = generateWinograd({ m: 2, r: 3, points: ['0', '1', '-1'], errorTrials: 0 });
  assert.deepEqual(result.transformOps, {
    input: { adds: 32, muls: 0 },
    filter: { adds: 28, muls: 42 },
    output: { adds: 24, muls: 0 },
  });
  assert.deepEqual(result.cost.transformOps, result.transformOps);
});

test('rectangular transform counts use each dimension: F(2x1, 3x1)', () => {
  // Second dimension F(1,1): alpha 1, all matrices [1]: its passes cost nothing.
  // input: alphaN (1) columns of BT (4 adds) + alpha (4) rows of BT' (0) = 4 adds.
  const result = generateWinograd({ m: 2, r: 3, n: 1, s: 1, points: ['0', '1', '-1'], errorTrials: 0 });
  assert.deepEqual(result.transformOps.input, { adds: 4, muls: 0 });
  assert.deepEqual(result.transformOps.output, { adds: 4, muls: 0 });
  assert.deepEqual(result.transformOps.filter, { adds: 4, muls: 6 });
  assert.equal(result.multiplications.saving, 6 / 4);
});

test('layer cost: hand-computed small layer and the amortised reduction of a large one', () => {
  // F(2,3), C=2, K=3, H=W=4: tiles 2*2 = 4.
  // direct 2*C*K*H*W*9 = 1728; Winograd: input 4*2*32 = 256, filter 3*2*(28+42) = 420,
  // products 2*4*3*2*16 = 768, output 4*3*24 = 288; total 1732.
  const small = generateWinograd({ m: 2, r: 3, points: ['0', '1', '-1'], layer: { C: 2, K: 3, H: 4, W: 4 }, errorTrials: 0 }).cost.layer!;
  assert.equal(small.tiles, 4);
  assert.equal(small.directFlops, 1728);
  assert.equal(small.winogradFlops, 1732);
  assert.equal(small.effectiveReduction, 1728 / 1732);
  // A large layer amortises the filter transform over the image and the input transform over K:
  // the reduction approaches the 4x multiplication saving of F(4,3) from below.
  const large = generateWinograd({ m: 4, r: 3, layer: { C: 256, K: 256, H: 56, W: 56 }, errorTrials: 0 }).cost.layer!;
  assert.equal(large.tiles, 14 * 14);
  assert.ok(large.effectiveReduction > 3.5 && large.effectiveReduction < 4, String(large.effectiveReduction));
  // Partial tiles round up: H = W = 5 with m = 4 needs 2 x 2 tiles.
  assert.equal(generateWinograd({ m: 4, r: 3, layer: { C: 1, K: 1, H: 5, W: 5 }, errorTrials: 0 }).cost.layer!.tiles, 4);
});
