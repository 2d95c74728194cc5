/** The CLI's model table: the pruning what-if's columns and totals row, as the view shows them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatModelReport } from '../../../../extension/core/model/format';
import { MODEL_REPORT } from '../../../browser/fixtures';

test("the pruned columns: C > K kept, the pruned FLOPs, the FLOPs removed and the pruned time with its speedup; the totals are the rows' sums", () => {
  const text = formatModelReport(MODEL_REPORT);
  assert.match(text, /Pruned 50%: C > K +FLOPs +FLOPs removed +ms \(speedup\)$/m);
  // stem/conv: 32 of 64 filters kept, 231211008 / 2 FLOPs left and removed; 2 ms best against 1 ms pruned.
  assert.match(text, /^1 +stem\/conv .* 64 > 32\/64 +115\.61M +115\.61M +1\.000 \(2\.00x\)$/m);
  // block1/conv also loses half its input channels: a quarter of its FLOPs stay.
  assert.match(text, /^2 +block1\/conv .* 32\/64 > 32\/64 +57\.80M +173\.41M +0\.500 \(3\.00x\)$/m);
  assert.match(text, /^4 +fc .* 512 > 1000 +1\.02M +0 +0\.125 \(1\.00x\)$/m);
  assert.match(text, /^ +total .* 176\.24M +290\.82M +1\.875 \(2\.20x\)$/m);
  assert.match(text, /Pruned 50%: round\(0\.5 x K\) of each layer's K filters removed, the smallest L1 norms first \(--prune-target; 0 for none\); 290\.82M FLOPs removed \(62\.3% of the layers with sizes\)/);
});
