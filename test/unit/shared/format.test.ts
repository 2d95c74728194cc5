import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from '../../../extension/cli/main';
import { formatBytes, threadsLabel } from '../../../extension/shared/format';

test('sizes are in binary units everywhere: B, KiB, MiB, GiB', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1.0 KiB');
  assert.equal(formatBytes(14029), '13.7 KiB'); // 14029 / 1024 = 13.70
  assert.equal(formatBytes(3.5 * 2 ** 20), '3.5 MiB');
  assert.equal(formatBytes(1.5 * 2 ** 30), '1.5 GiB');
  assert.equal(threadsLabel(1), '1 thread');
  assert.equal(threadsLabel(2), '2 threads');
});

test('the CLI says file sizes in KiB, as the views do', async () => {
  const file = 'samples/models/tiny-cnn.safetensors';
  let out = '';
  const code = await runCli(['sparsity', file], { out: (text) => (out += text), err: () => undefined });
  assert.equal(code, 0);
  const bytes = statSync(file).size;
  const first = out.split('\n')[0];
  assert.ok(first.includes(`${(bytes / 1024).toFixed(1)} KiB`), `header "${first}" gives the size of ${bytes} bytes in KiB`);
  assert.doesNotMatch(out, /\dK?B\b(?!\/)/, 'no decimal "KB" or bare "B" suffix glued to a number');
});
