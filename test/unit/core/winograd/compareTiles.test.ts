import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateWinograd } from '../../../../extension/core/winograd';
import { errorByTileSize } from '../../../../extension/core/winograd/compareTiles';

test('error against tile size: one row per size, the same figures as generating each tile alone', () => {
  const rows = errorByTileSize(3, { sizes: [2, 4, 6] });
  assert.deepEqual(rows.map((row) => [row.m, row.r]), [[2, 3], [4, 3], [6, 3]]);
  for (const row of rows) {
    const alone = generateWinograd({ m: row.m, r: 3 });
    assert.deepEqual(row.points, alone.points);
    assert.deepEqual(row.error, alone.error, `F(${row.m},3) measured as when generated alone`);
  }
  // Larger tiles are less accurate with their best points (POINTS.md): 1.6x, about 5x, about 20x direct.
  const fp32 = rows.map((row) => row.error.find((e) => e.precision === 'fp32')!.meanMultiple);
  assert.ok(fp32[0] < fp32[1] && fp32[1] < fp32[2], `fp32 multiples grow with the tile: ${fp32.join(', ')}`);
});

test('error against tile size stops when cancelled', () => {
  const controller = new AbortController();
  controller.abort();
  assert.throws(() => errorByTileSize(3, { signal: controller.signal }), { name: 'AbortError' });
});
