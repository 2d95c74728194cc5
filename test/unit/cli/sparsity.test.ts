import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CliUsageError } from '../../../extension/cli/io';
import { runCli } from '../../../extension/cli/main';
import { reportingFileErrors } from '../../../extension/cli/sparsity';
import { writeSafetensors } from '../../../extension/core/formats/safetensors';
import { OptionError } from '../../../extension/core/optionError';
import type { PruneReport, SparsityReport } from '../../../extension/shared/payloads';
import { tempDir } from '../core/formats/weightFileHelpers';
import { openWeightFile } from '../../../extension/core/formats/index';
import { readAllValues } from '../../../extension/core/formats/source';

const NM_FIXTURE = path.join(__dirname, '../../fixtures/sparsity/nm_patterns.npz');
const dir = tempDir('cli-sparsity');

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

test('histograms and the threshold curve only with --histogram, as the help says', async () => {
  const plain = JSON.parse((await cli('sparsity', NM_FIXTURE, '--json')).out) as SparsityReport;
  assert.ok(plain.tensors.every((t) => t.histogram === undefined), 'no histogram without --histogram');
  assert.equal(plain.thresholdCurve, undefined);
  const asked = JSON.parse((await cli('sparsity', NM_FIXTURE, '--json', '--histogram')).out) as SparsityReport;
  assert.ok(asked.tensors.every((t) => t.histogram !== undefined), 'a histogram per tensor with --histogram');
  assert.ok(asked.thresholdCurve, 'the threshold curve with --histogram');
});

test('sparsity --nm with a bad pattern is a usage error naming the flag', async () => {
  for (const bad of ['4:4', '2-4', '1:64']) {
    const { code, err } = await cli('sparsity', NM_FIXTURE, '--nm', bad);
    assert.equal(code, 2, bad);
    assert.match(err, /--nm: /, bad);
  }
});

test('the 2:4 share pads a short last group of input channels with zeros, and the table and --help say so', async () => {
  const file = path.join(dir, 'six-inputs.safetensors');
  // Rows of 6 input channels: groups [0..3] and [4, 5, pad, pad]. Row 0: [0,0,1,1 | 1,1] complies in
  // its first group (2 zeros) and, with two zeros of padding, in its second; row 1: [1,1,1,0 | 1,1]
  // fails the first (1 zero) and passes the padded second. 3 of 4 groups comply.
  await writeSafetensors(file, [{ name: 'fc.weight', dtype: 'F32', shape: [2, 6], data: [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1] }]);
  const json = await cli('sparsity', file, '--json');
  assert.equal(json.code, 0);
  assert.equal((JSON.parse(json.out) as SparsityReport).tensors[0]!.nm24, 3 / 4);
  const table = await cli('sparsity', file);
  assert.match(table.out, /fc\.weight .* 75\.00 /);
  assert.match(table.out, /last group is padded with zeros, as ASP pads it/);
  const help = await cli('sparsity', '--help');
  assert.match(help.out, /last group is padded\s+with zeros, as ASP pads it/);
});

test('a failure while reading the file names the file (exit 2); only option mistakes are usage errors', async () => {
  const lines: string[] = [];
  const io = { out: () => {}, err: (text: string) => void lines.push(text) };
  // What a parser bug or an engine limit met on hostile input looks like: a raw RangeError.
  const code = await reportingFileErrors(io, 'model.bin', async () => {
    throw new RangeError('Invalid typed array length: -1');
  });
  assert.equal(code, 2);
  assert.deepEqual(lines, ['deep-accel: model.bin: could not be read: RangeError: Invalid typed array length: -1\n']);
  await assert.rejects(
    reportingFileErrors(io, 'model.bin', async () => {
      throw new OptionError('--out model.bin is the input file itself');
    }),
    (e: unknown) => e instanceof CliUsageError && e.message === '--out model.bin is the input file itself',
  );

  const missing = path.join(dir, 'missing.safetensors');
  const gone = await cli('sparsity', missing);
  assert.equal(gone.code, 2);
  assert.ok(gone.err.startsWith(`deep-accel: ${missing}: `), gone.err);
  const weights = path.join(dir, 'w.npy');
  writeFileSync(weights, readFileSync(path.join(__dirname, '../../fixtures/numpy/c_f4.npy')));
  const same = await cli('prune', weights, '--sparsity', '0.5', '--out', weights);
  assert.equal(same.code, 2);
  assert.match(same.err, /^deep-accel prune: --out .* is the input file itself/);
});

test('sparsity shows each tensor layout and what it rests on; --layout overrides it, a bad one is a usage error', async () => {
  // h5py wrote it (test/fixtures/hdf5/make_fixtures.py): conv1.weight is PyTorch's [16, 8, 3, 3]
  // with filters 0-3 and input channel 7 zero (numpy: 25 / 12.5 / 34.375 %).
  const file = path.join(__dirname, '../../fixtures/hdf5/layout_evidence.h5');
  const table = await cli('sparsity', file);
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, /^Name +Shape +Layout +Numel/m);
  assert.match(table.out, /^conv1\.weight +\[16, 8, 3, 3\] +OIHW \(name\) +1152 +.* 25\.00 +12\.50 +34\.38 /m);
  assert.match(table.out, /^fc\.weight +\[10, 32\] +OI \(name\) +320 +.* 20\.00 +12\.50 +- /m);
  assert.match(table.out, /^square +\[3, 3, 3, 3\] +HWIO \(assumed\) /m);
  assert.match(table.out, /Layout = the axis order .* change it with --layout/);
  const overridden = await cli('sparsity', file, '--layout', 'conv1.weight=HWIO', '--json');
  assert.equal(overridden.code, 0, overridden.err);
  const conv = (JSON.parse(overridden.out) as SparsityReport).tensors.find((t) => t.name === 'conv1.weight')!;
  assert.deepEqual([conv.layout, conv.layoutBasis, conv.filters], ['HWIO', 'override', 0]);
  const bad = await cli('sparsity', file, '--layout', 'NCHW');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--layout: unknown layout 'NCHW'/);
  const missing = await cli('sparsity', file, '--layout', 'conv9.weight=OIHW');
  assert.equal(missing.code, 2);
  assert.match(missing.err, /layout_evidence\.h5: layout: no 2-D or 4-D tensor named "conv9\.weight"/);
  const help = await cli('sparsity', '--help');
  assert.match(help.out, /--layout L/);
});

test('sparsity reads HDF5 in a watched worker: the same report as on the CLI thread, and a read past --timeout is a file error', { timeout: 300_000 }, async () => {
  const file = path.join(__dirname, '../../fixtures/hdf5/generic.h5');
  const watched = await cli('sparsity', file, '--json', '--histogram');
  assert.equal(watched.code, 0, watched.err);
  // The same scan on this thread (the worker's report crossed a structured clone).
  const { openWeightFile } = await import('../../../extension/core/formats/index');
  const { scanOpenedWeightFile } = await import('../../../extension/core/sparsity/scan');
  const opened = await openWeightFile(file);
  const direct = await scanOpenedWeightFile(opened, { threshold: 0, histogram: true }).finally(() => opened.close());
  assert.deepEqual(JSON.parse(watched.out), JSON.parse(JSON.stringify(direct)));
  // A limit no worker can meet (it must load the HDF5 library first): the read is stopped, the
  // file named, exit 2, no hang.
  const stalled = await cli('sparsity', file, '--timeout', '0.001');
  assert.equal(stalled.code, 2);
  assert.equal(stalled.out, '');
  assert.match(stalled.err, /^deep-accel: .*generic\.h5: reading stopped after 0\.001 s without progress \(the limit is --timeout\); the worker reading it was stopped\. /);
  const bad = await cli('sparsity', file, '--timeout', '0');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--timeout must be a number of seconds > 0, got '0'/);
});

test('prune reads HDF5 in a watched worker: the same report and file as on the CLI thread, and a read past --timeout is a file error that writes nothing', { timeout: 300_000 }, async () => {
  const file = path.join(__dirname, '../../fixtures/hdf5/keras2_model.h5');
  const out = path.join(dir, 'keras2_pruned.safetensors');
  const watched = await cli('prune', file, '--sparsity', '0.5', '--out', out, '--json');
  assert.equal(watched.code, 0, watched.err);
  const report = JSON.parse(watched.out) as PruneReport;
  assert.equal(report.export?.verified, true);
  // The same request on this thread, into another file: the same report and the same bytes.
  const { runPrune } = await import('../../../extension/core/requests/weightFile');
  const directOut = path.join(dir, 'keras2_pruned_direct.safetensors');
  const direct = await runPrune({ file, sparsity: 0.5, out: directOut });
  assert.deepEqual(JSON.parse(watched.out.replaceAll(JSON.stringify(out).slice(1, -1), 'OUT')), JSON.parse(JSON.stringify(direct).replaceAll(JSON.stringify(directOut).slice(1, -1), 'OUT')));
  assert.ok(readFileSync(out).equals(readFileSync(directOut)));
  // A limit no worker can meet (it must load the HDF5 library first).
  const stalledOut = path.join(dir, 'never_written.safetensors');
  const stalled = await cli('prune', file, '--sparsity', '0.5', '--out', stalledOut, '--timeout', '0.001');
  assert.equal(stalled.code, 2);
  assert.equal(stalled.out, '');
  assert.match(stalled.err, /^deep-accel: .*keras2_model\.h5: reading stopped after 0\.001 s without progress \(the limit is --timeout\); the worker reading it was stopped\. /);
  assert.equal(existsSync(stalledOut), false);
  const bad = await cli('prune', file, '--sparsity', '0.5', '--dry-run', '--timeout', '-1');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--timeout must be a number of seconds > 0, got '-1'/);
});

const PERMUTE_FIXTURE = path.join(__dirname, '../../fixtures/sparsity/permute_planted.npz');

test('sparsity --permute 2:4 finds perfect orders for weights that have one, in JSON and in the table', async () => {
  const expected = JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/sparsity/permute_planted.expected.json'), 'utf8'));
  const json = await cli('sparsity', PERMUTE_FIXTURE, '--permute', '2:4', '--permute-seconds', '60', '--json');
  assert.equal(json.code, 0, json.err);
  const report = JSON.parse(json.out);
  assert.deepEqual(report.permute, { pattern: '2:4', secondsPerTensor: 60 });
  assert.deepEqual(report.nmPatterns, ['2:4'], '--permute reports its pattern too');
  const opened = await openWeightFile(PERMUTE_FIXTURE);
  try {
    for (const name of ['conv.weight', 'fc.weight']) {
      const stats = report.tensors.find((t: { name: string }) => t.name === name);
      const p = stats.permutation;
      assert.equal(p.pattern, '2:4');
      assert.ok(Math.abs(p.retainedBefore - expected[name]) < 1e-9, `${name}: before ${p.retainedBefore} vs numpy ${expected[name]}`);
      assert.ok(Math.abs(p.retainedBefore - stats.retained['2:4']) < 1e-9, 'before = the scan\'s kept share');
      assert.equal(p.retainedAfter, 1);
      assert.equal(p.perfect, true);
      // In the order found every group of 4 channels holds 2 zeros at every (k, r, s).
      const values = await readAllValues(opened.tensors.find((t) => t.name === name)!);
      const [K, C] = stats.shape;
      const P = stats.numel / (K * C);
      for (let k = 0; k < K; k++) for (let q = 0; q < P; q++) for (let g = 0; g < C; g += 4) {
        const zeros = p.order.slice(g, g + 4).filter((c: number) => values[(k * C + c) * P + q] === 0).length;
        assert.ok(zeros >= 2, `${name} k=${k} p=${q} group ${g / 4}`);
      }
    }
  } finally {
    await opened.close();
  }
  const dense = report.tensors.find((t: { name: string }) => t.name === 'dense.weight').permutation;
  assert.ok(Math.abs(dense.retainedBefore - expected['dense.weight']) < 1e-9);
  assert.ok(dense.retainedAfter > dense.retainedBefore && !dense.perfect);
  assert.equal(report.tensors.find((t: { name: string }) => t.name === 'odd.weight').permutation, undefined);
  assert.match(report.warnings.join('\n'), /1 conv\/linear weight not permuted for 2:4, input channels not a multiple of 4: odd\.weight/);
  assert.equal(report.total.permutation.tensors, 3);
  const table = await cli('sparsity', PERMUTE_FIXTURE, '--permute', '2:4');
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, /^Name +Kept 2:4 before % +Kept 2:4 after % +Search +Seconds$/m);
  assert.match(table.out, new RegExp(`^conv\\.weight +${(expected['conv.weight'] * 100).toFixed(2)} +100\\.00 +perfect 2:4 +\\d+\\.\\d\\d$`, 'm'));
});

test('sparsity --permute refuses what it cannot do, naming the flag', async () => {
  for (const [argv, message] of [
    [['--permute', '2:4,4:8'], /--permute takes one pattern such as 2:4/],
    [['--permute', '5:4'], /--permute: an N:M pattern needs integers/],
    [['--permute-seconds', '5'], /--permute-seconds S goes with --permute N:M/],
    [['--permute', '2:4', '--permute-seconds', '0'], /--permute-seconds must be a number of seconds/],
  ] as const) {
    const { code, err } = await cli('sparsity', PERMUTE_FIXTURE, ...argv);
    assert.equal(code, 2, argv.join(' '));
    assert.match(err, message, argv.join(' '));
  }
});

test('sparsity --threads takes a thread count from 1 to 256; a small file gives the same report on any count', async () => {
  for (const bad of ['0', '1.5', '257', 'two']) {
    const { code, err } = await cli('sparsity', NM_FIXTURE, '--threads', bad);
    assert.equal(code, 2, bad);
    assert.match(err, /--threads/, bad);
  }
  const one = await cli('sparsity', NM_FIXTURE, '--threads', '1', '--json');
  const two = await cli('sparsity', NM_FIXTURE, '--threads', '2', '--json');
  assert.equal(one.code, 0, one.err);
  assert.equal(two.out, one.out);
});
