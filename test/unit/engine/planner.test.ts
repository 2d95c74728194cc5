import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packPanels, panelIndex, roundUp } from '../../../extension/engine/planner';

test('panelIndex is where packPanels puts each element: ragged panels, several depth blocks, a base offset', () => {
  for (const [rows, depth, lanes, kcBlock] of [[13, 300, 4, 256], [8, 7, 4, 3], [1, 1, 4, 256], [26, 40, 8, 16], [5, 9, 2, 9]] as const) {
    const base = 5;
    const out = new Float32Array(base + roundUp(rows, lanes) * depth);
    // Element (row, k) holds 1 + row * depth + k: distinct, exact in fp32, never the zero padding.
    packPanels(rows, depth, lanes, kcBlock, (row, k) => 1 + row * depth + k, out, base);
    const seen = new Set<number>();
    for (let row = 0; row < rows; row++) {
      for (let k = 0; k < depth; k++) {
        const at = panelIndex(rows, depth, lanes, kcBlock, row, k);
        assert.equal(out[base + at], 1 + row * depth + k, `${rows}x${depth} lanes ${lanes} kc ${kcBlock}: (${row}, ${k}) at ${at}`);
        seen.add(at);
      }
    }
    assert.equal(seen.size, rows * depth);
  }
});
