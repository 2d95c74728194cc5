import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as path from 'node:path';
import { runCli } from '../../../extension/cli/main';

const NM_FIXTURE = path.join(__dirname, '../../fixtures/sparsity/nm_patterns.npz');

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

test('sparsity --nm reports each pattern per tensor and for the model, in JSON and in the table', async () => {
  const json = await cli('sparsity', NM_FIXTURE, '--nm', '2:4,4:8', '--json');
  assert.equal(json.code, 0, json.err);
  const report = JSON.parse(json.out);
  assert.deepEqual(report.nmPatterns, ['2:4', '4:8']);
  const conv = report.tensors.find((t: { name: string }) => t.name === 'conv_14');
  assert.deepEqual(conv.nm, { '2:4': 1, '4:8': 1 });
  assert.deepEqual(conv.retained, { '2:4': 1, '4:8': 1 });
  assert.deepEqual(Object.keys(report.total.retained), ['2:4', '4:8']);
  const table = await cli('sparsity', NM_FIXTURE, '--nm', '2:4');
  assert.equal(table.code, 0);
  assert.match(table.out, /^Name +Layout +2:4 % +Kept 2:4 %$/m);
  assert.match(table.out, /^conv_14 +OIHW +100\.00 +100\.00$/m);
  assert.match(table.out, /^narrow/m);
  assert.doesNotMatch(table.out.split('Kept 2:4 %')[1]!, /^narrow/m, 'three channels: no row in the N:M table');
});

test('sparsity --nm with a bad pattern is a usage error naming the flag', async () => {
  for (const bad of ['4:4', '2-4', '1:64']) {
    const { code, err } = await cli('sparsity', NM_FIXTURE, '--nm', bad);
    assert.equal(code, 2, bad);
    assert.match(err, /--nm: /, bad);
  }
});
