import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { openWeightFile } from '../../../../extension/core/formats/index';
import { readAllValues } from '../../../../extension/core/formats/source';
import { weightViewOf } from '../../../../extension/core/sparsity/layout';
import { NmPruner } from '../../../../extension/core/sparsity/nmPrune';
import { nmPattern, parseNmPatterns } from '../../../../extension/core/sparsity/nmPattern';
import { pruneToSafetensors, pruneWhatIf } from '../../../../extension/core/sparsity/prune';
import { scanWeightFile } from '../../../../extension/core/sparsity/scan';
import { tempDir } from '../formats/weightFileHelpers';
import { type Layout4, memoryTensor, random, storedIndex4 } from './helpers';
import { runCli } from '../../../../extension/cli/main';

const FIXTURES = path.join(__dirname, '../../../fixtures/sparsity');
const NM_FIXTURE = path.join(FIXTURES, 'nm_patterns.npz');

/** Pruning the slow obvious way on the canonical [K, C, P] view: stable sort of each group by |w|. */
function naivePrune(at: (k: number, c: number, p: number) => number, K: number, C: number, P: number, n: number, m: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let k = 0; k < K; k++) for (let p = 0; p < P; p++) for (let c0 = 0; c0 < C; c0 += m) {
    const members = [];
    for (let c = c0; c < Math.min(C, c0 + m); c++) members.push(c);
    const ranked = members.slice().sort((a, b) => Math.abs(at(k, b, p)) - Math.abs(at(k, a, p)) || a - b);
    for (const [rank, c] of ranked.entries()) out.set(`${k},${c},${p}`, rank < n ? at(k, c, p) : 0);
  }
  return out;
}

test('N:M pruning of every layout and chunking equals the naive pruning, ties keeping the lower channel', async () => {
  const next = random(24);
  const pick = (n: number) => 1 + Math.floor(next() * n);
  for (let trial = 0; trial < 60; trial++) {
    const layout = (['OIHW', 'HWIO', 'OHWI'] as Layout4[])[trial % 3]!;
    const dims = { K: pick(5), C: 3 + pick(14), R: pick(3), S: pick(2) };
    const pattern = [nmPattern(2, 4), nmPattern(1, 4), nmPattern(4, 8), nmPattern(1, 3)].filter((p) => p.m <= dims.C)[trial % 3]!;
    const P = dims.R * dims.S;
    // Few distinct magnitudes, so ties are common.
    const canonical = new Map<string, number>();
    for (let k = 0; k < dims.K; k++) for (let c = 0; c < dims.C; c++) for (let p = 0; p < P; p++) {
      canonical.set(`${k},${c},${p}`, next() < 0.2 ? 0 : (Math.floor(next() * 4) - 1.5) / 2);
    }
    const at = (k: number, c: number, p: number) => canonical.get(`${k},${c},${p}`)!;
    const stored = new Array<number>(dims.K * dims.C * P);
    const indexOf = (k: number, c: number, p: number) => storedIndex4(layout, dims, k, c, Math.floor(p / dims.S), p % dims.S);
    for (const key of canonical.keys()) {
      const [k, c, p] = key.split(',').map(Number) as [number, number, number];
      stored[indexOf(k, c, p)] = at(k, c, p);
    }
    const shape = layout === 'OIHW' ? [dims.K, dims.C, dims.R, dims.S] : layout === 'HWIO' ? [dims.R, dims.S, dims.C, dims.K] : [dims.K, dims.R, dims.S, dims.C];
    const tensor = memoryTensor('w', shape, stored, { chunk: pick(30), layout });
    const pruner = new NmPruner(weightViewOf(tensor)!, pattern);
    const values: number[] = [];
    const keep: number[] = [];
    for await (const chunk of tensor.chunks()) {
      const span = pruner.push(chunk);
      values.push(...span.values);
      keep.push(...span.keep);
    }
    assert.equal(pruner.pending, 0);
    const expected = naivePrune(at, dims.K, dims.C, P, pattern.n, pattern.m);
    const want = new Array<number>(stored.length);
    for (const [key, v] of expected) {
      const [k, c, p] = key.split(',').map(Number) as [number, number, number];
      want[indexOf(k, c, p)] = v;
    }
    const label = `trial ${trial}: ${layout} ${JSON.stringify(dims)} ${pattern.name}`;
    assert.deepEqual(values, want, label);
    // The mask says which positions were kept, whether or not their value was already zero.
    const keptPerGroup = keep.reduce((a, b) => a + b, 0);
    const groupsFull = Math.floor(dims.C / pattern.m) * pattern.n + Math.min(pattern.n, dims.C % pattern.m);
    assert.equal(keptPerGroup, dims.K * P * groupsFull, label);
  }
});

// nm_patterns.pruned_2_4.npz is pruned by numpy (make_nm_fixtures.py): the copy must equal it value for value.
test('prune --nm 2:4 writes the weights numpy prunes, verified, with the retained share of the scan', async () => {
  const dir = tempDir('nm-prune');
  const out = path.join(dir, 'pruned.safetensors');
  const report = await pruneToSafetensors(NM_FIXTURE, out, { sparsity: 0, method: 'nm', nm: '2:4' });
  assert.equal(report.export?.verified, true);
  assert.equal(report.pattern, '2:4');
  assert.equal(report.targetSparsity, 0.5);
  assert.deepEqual(report.tensors.map((t) => t.name), ['linear_24', 'linear_ragged', 'conv_14', 'conv_ragged', 'conv_1x1', 'half_48']);
  assert.match(report.warnings.join('\n'), /fewer than 4 input channels .* left dense: narrow/);
  const scan = await scanWeightFile(NM_FIXTURE, { nm: parseNmPatterns('2:4') });
  for (const plan of report.tensors) {
    const stats = scan.tensors.find((t) => t.name === plan.name)!;
    assert.ok(Math.abs(plan.retained! - stats.retained!['2:4']!) < 1e-12, `${plan.name} retained ${plan.retained} vs scan ${stats.retained!['2:4']}`);
  }
  const [copy, reference] = await Promise.all([openWeightFile(out), openWeightFile(path.join(FIXTURES, 'nm_patterns.pruned_2_4.npz'))]);
  try {
    for (const tensor of reference.tensors) {
      const written = copy.tensors.find((t) => t.name === tensor.name)!;
      assert.equal(written.dtype, tensor.dtype, tensor.name);
      assert.deepEqual(Array.from(await readAllValues(written)), Array.from(await readAllValues(tensor)), tensor.name);
    }
  } finally {
    await Promise.all([copy.close(), reference.close()]);
  }
  const rescanned = await scanWeightFile(out, { nm: parseNmPatterns('2:4') });
  assert.ok(rescanned.tensors.filter((t) => t.name !== 'narrow').every((t) => t.nm!['2:4'] === 1 && t.retained!['2:4'] === 1));
});

test('prune --nm 2:4 --masks keeps the weights and writes ASP masks the scan reads back', async () => {
  const dir = tempDir('nm-prune');
  const out = path.join(dir, 'masked.safetensors');
  const report = await pruneToSafetensors(NM_FIXTURE, out, { sparsity: 0, method: 'nm', nm: '2:4', masks: true });
  assert.equal(report.export?.verified, true);
  assert.equal(report.masks, true);
  assert.equal(report.tensors.find((t) => t.name === 'conv_14')!.mask, '__conv_14_mma_mask');
  const scan = await scanWeightFile(out);
  const pruned = await pruneWhatIf(NM_FIXTURE, { sparsity: 0, method: 'nm', nm: '2:4' });
  assert.equal(scan.masks?.length, 6);
  for (const mask of scan.masks!) {
    assert.equal(mask.kind, 'asp');
    const plan = pruned.tensors.find((t) => t.name === mask.parameter)!;
    assert.equal(mask.effectiveSparsity, plan.sparsityAfter, mask.parameter);
  }
  const opened = await openWeightFile(out);
  try {
    const mask = opened.tensors.find((t) => t.name === '__linear_ragged_mma_mask')!;
    assert.equal(mask.dtype, 'bool');
    const bits = await readAllValues(mask);
    // 18 channels: four groups keep 2 of 4, the short last group keeps both of its 2.
    for (let row = 0; row < 16; row++) assert.equal(bits.subarray(row * 18, row * 18 + 18).reduce((a, b) => a + b, 0), 10);
  } finally {
    await opened.close();
  }
});

test('N:M pruning options are checked: one pattern, uniform profile, masks only with nm', async () => {
  await assert.rejects(pruneWhatIf(NM_FIXTURE, { sparsity: 0, method: 'nm' }), /one pattern such as 2:4/);
  await assert.rejects(pruneWhatIf(NM_FIXTURE, { sparsity: 0, method: 'nm', nm: '2:4,4:8' }), /one pattern/);
  await assert.rejects(pruneWhatIf(NM_FIXTURE, { sparsity: 0, method: 'nm', nm: '2:4', profile: 'sensitivity' }), /profile is uniform/);
  await assert.rejects(pruneWhatIf(NM_FIXTURE, { sparsity: 0.5, masks: true }), /go with method nm/);
});

test('the prune CLI takes --nm and --masks and refuses what does not go with them', async () => {
  const cli = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  };
  const dryRun = await cli('prune', NM_FIXTURE, '--nm', '2:4', '--dry-run');
  assert.equal(dryRun.code, 0, dryRun.err);
  assert.match(dryRun.out, /2:4 pruning \(the 2 largest \|w\| of every 4 input channels\), target 50\.00%/);
  assert.match(dryRun.out, /^conv_14 .* kept 100\.00% \|w\|/m);
  for (const [argv, message] of [
    [['--nm', '2:4', '--sparsity', '0.5', '--dry-run'], /drop --sparsity/],
    [['--nm', '2:4', '--method', 'magnitude', '--dry-run'], /drop --method/],
    [['--sparsity', '0.5', '--masks', '--dry-run'], /--masks goes with --nm/],
    [['--nm', '2:4', '--masks', '--dry-run'], /give --out OUT/],
    [['--nm', '5:4', '--dry-run'], /1 <= N < M/],
  ] as const) {
    const { code, err } = await cli('prune', NM_FIXTURE, ...argv);
    assert.equal(code, 2, argv.join(' '));
    assert.match(err, message, argv.join(' '));
  }
});
