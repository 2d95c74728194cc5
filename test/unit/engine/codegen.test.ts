import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateDirectKernels, generateWinogradTransforms } from '../../../scripts/engineCodegen';
import { REPO_ROOT } from '../../paths';

const generatedDir = join(REPO_ROOT, 'extension', 'engine', 'assembly', 'generated');

test('the committed generated Winograd transforms match generateMatrices()', () => {
  const path = join(generatedDir, 'winogradTransforms.ts');
  assert.equal(readFileSync(path, 'utf8'), generateWinogradTransforms(), 'run node scripts/buildEngine.mjs --force');
});

test('the committed generated direct-convolution kernels match the generator', () => {
  assert.equal(readFileSync(join(generatedDir, 'directKernels.ts'), 'utf8'), generateDirectKernels());
});

test('generated code carries the exact constants of F(4,3) as fp32 literals', () => {
  const code = generateWinogradTransforms();
  // BT of F(4,3) with the generator's points 0, +-5/8, +-3/2 has 225/256 and -169/64, both exact in fp32.
  assert.match(code, /f32x4\.splat\(<f32>0\.87890625\)/);
  assert.match(code, /f32x4\.splat\(<f32>-2\.640625\)/);
  assert.match(code, /export const WINOGRAD4_INPUT_FLOPS: i32 = \d+;/);
});
