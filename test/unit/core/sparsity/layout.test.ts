import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWeightFile } from '../../../../extension/core/formats/index';
import { WeightFileError } from '../../../../extension/core/formats/types';
import { parseLayoutOverride } from '../../../../extension/core/sparsity/layout';
import { scanOpenedWeightFile, scanWeightFile } from '../../../../extension/core/sparsity/scan';
import type { TensorStats } from '../../../../extension/shared/payloads';
import { fixture } from '../../../paths';

// Written by h5py (test/fixtures/hdf5/make_fixtures.py, layout_evidence()): a plain HDF5 file with
// PyTorch-style and TensorFlow-style names and shapes; the expected shares are numpy's, computed on
// the canonical [K, C, R, S] / [O, I] arrays before they were stored.
const FILE = join(fixture('hdf5'), 'layout_evidence.h5');
const EXPECTED = JSON.parse(readFileSync(join(fixture('hdf5'), 'layout_evidence.expected.json'), 'utf8')) as Record<
  string,
  { layout: string; basis: string; filters?: number; channels?: number; kernels?: number; rows?: number; cols?: number }
>;

function byName(tensors: TensorStats[], name: string): TensorStats {
  const tensor = tensors.find((t) => t.name === name);
  assert.ok(tensor, `${name} scanned`);
  return tensor;
}

test('HDF5 without Keras attributes: each tensor read in the layout its name or shape shows, and the basis said', async () => {
  const report = await scanWeightFile(FILE);
  for (const [name, expected] of Object.entries(EXPECTED)) {
    const stats = byName(report.tensors, name);
    assert.deepEqual([stats.layout, stats.layoutBasis], [expected.layout, expected.basis], name);
    for (const key of ['filters', 'channels', 'kernels', 'rows', 'cols'] as const) {
      if (expected[key] !== undefined) assert.equal(stats[key], expected[key], `${name} ${key}`);
    }
  }
  // The figures: conv1.weight [16, 8, 3, 3] is 25 / 12.5 / 34.4 %, not 0 / 0 / 0.
  const conv = byName(report.tensors, 'conv1.weight');
  assert.deepEqual([conv.filters, conv.channels, conv.kernels], [0.25, 0.125, 44 / 128]);
});

test('a layout override wins over the evidence: file-wide, per tensor by name or pattern, a 4-D order implying the matrix one', async () => {
  const opened = await openWeightFile(FILE);
  try {
    // Reading the PyTorch conv as HWIO (what every .h5 got before) finds no all-zero filter.
    const report = await scanOpenedWeightFile(opened, { layout: parseLayoutOverride('conv1.weight=HWIO,fc.*=IO') });
    const conv = byName(report.tensors, 'conv1.weight');
    assert.deepEqual([conv.layout, conv.layoutBasis, conv.filters, conv.channels, conv.kernels], ['HWIO', 'override', 0, 0, 0]);
    const fc = byName(report.tensors, 'fc.weight');
    // Read as [I, O] the zero rows and columns swap: 4 of 32 "rows", 2 of 10 "columns".
    assert.deepEqual([fc.layout, fc.layoutBasis, fc.rows, fc.cols], ['IO', 'override', EXPECTED['fc.weight']!.cols, EXPECTED['fc.weight']!.rows]);
    const untouched = byName(report.tensors, 'block/w');
    assert.deepEqual([untouched.layout, untouched.layoutBasis], ['OIHW', 'shape']);
  } finally {
    await opened.close();
  }
  const all = await scanWeightFile(FILE, { layout: parseLayoutOverride('oihw') });
  assert.deepEqual(
    all.tensors.map((t) => [t.name, t.layout, t.layoutBasis]).sort(),
    Object.keys(EXPECTED).sort().map((name) => [name, EXPECTED[name]!.layout.length === 2 ? 'OI' : 'OIHW', 'override']),
  );
  assert.equal(byName(all.tensors, 'tf_dense/kernel:0').rows, EXPECTED['tf_dense/kernel:0']!.cols, 'a Keras kernel read as [O, I] swaps rows and columns');
});

test('layout overrides: parse errors say what is wrong; a name matching nothing or a matrix order for a kernel names the file', async () => {
  assert.throws(() => parseLayoutOverride('NCHW'), /unknown layout 'NCHW' \(choose OIHW, OHWI, HWIO, OI, IO\)/);
  assert.throws(() => parseLayoutOverride('OIHW,HWIO'), /two layouts for every 4-D kernel/);
  assert.throws(() => parseLayoutOverride('OI,IO'), /two layouts for every matrix/);
  assert.throws(() => parseLayoutOverride('=OI'), /names no tensor/);
  assert.throws(() => parseLayoutOverride('OIHW,'), /separated by commas/);
  assert.deepEqual(parseLayoutOverride('a.b=oi').byName.map((e) => [e.pattern, e.layout, e.match.test('a.b'), e.match.test('axb')]), [['a.b', 'OI', true, false]]);
  await assert.rejects(scanWeightFile(FILE, { layout: parseLayoutOverride('conv9.weight=OIHW') }), (error: unknown) => {
    assert.ok(error instanceof WeightFileError);
    assert.equal(error.file, FILE);
    assert.match(error.message, /no 2-D or 4-D tensor named "conv9\.weight"/);
    return true;
  });
  await assert.rejects(scanWeightFile(FILE, { layout: parseLayoutOverride('conv1.weight=OI') }), /"conv1\.weight" is 4-D \[16, 8, 3, 3\], which a matrix order cannot describe/);
});
