import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findWinogradSpecs, parseWinogradSpec } from '../../../../extension/core/winograd/index';

test('finds F(4,3), F(4, 3), F(2x2,3x3) and F(2×2, 3×3) with their columns', () => {
  const line = 'use F(4,3) or F(4, 3); tiles F(2x2,3x3) and F(2×2, 3×3) too';
  const matches = findWinogradSpecs(line);
  assert.deepEqual(
    matches.map((match) => [match.text, match.start, match.end]),
    [
      ['F(4,3)', 4, 10],
      ['F(4, 3)', 14, 21],
      ['F(2x2,3x3)', 29, 39],
      ['F(2×2, 3×3)', 44, 55],
    ],
  );
  for (const match of matches) assert.equal(line.slice(match.start, match.end), match.text);
  assert.deepEqual(matches.map((match) => match.request), [{ m: 4, r: 3 }, { m: 4, r: 3 }, { m: 2, r: 3 }, { m: 2, r: 3 }]);
});

test('rectangular specs carry n and s', () => {
  const [match] = findWinogradSpecs('// F(4x2, 3x2) kernel');
  assert.deepEqual(match?.request, { m: 4, r: 3, n: 2, s: 2 });
});

test('ignores lookalikes and impossible sizes', () => {
  assert.deepEqual(findWinogradSpecs('self.F(4,3) is fine? no: xF(4,3), F(0,3), F(40,3), F(4), F(a,b)').map((match) => match.text), ['F(4,3)']);
  assert.deepEqual(findWinogradSpecs(''), []);
});

test('parseWinogradSpec parses one spec and explains bad text', () => {
  assert.deepEqual(parseWinogradSpec(' F(6, 3) '), { m: 6, r: 3 });
  assert.deepEqual(parseWinogradSpec('F(6x4,3x3)'), { m: 6, r: 3, n: 4, s: 3 });
  assert.throws(() => parseWinogradSpec('G(4,3)'), /"G\(4,3\)" is not a Winograd spec: expected F\(m,r\) or F\(m x n, r x s\)/);
  assert.throws(() => parseWinogradSpec('F(4,3) F(2,3)'), /is not a Winograd spec/);
  assert.throws(() => parseWinogradSpec('F(0,3)'), /"F\(0,3\)": m must be >= 1, got 0/);
  assert.throws(() => parseWinogradSpec('F(30,5)'), /alpha = m \+ r - 1 = 34 is too large/);
});
