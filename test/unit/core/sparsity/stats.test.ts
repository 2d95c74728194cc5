import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeTensorStats } from '../../../../extension/core/sparsity/scan';
import { type Layout4, f32, memoryTensor, naiveStructure, random, storedIndex4 } from './helpers';

const close = (actual: number, expected: number, relative: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= relative * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

test('value statistics match a two-pass float64 reference whatever the chunking', async () => {
  const next = random(1);
  // A large offset against a small spread: the case where sum-of-squares formulas cancel.
  const values = f32(Array.from({ length: 10007 }, () => 1000 + (next() - 0.5) * 0.01));
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let m2 = 0;
  for (const v of values) m2 += (v - mean) ** 2;
  const std = Math.sqrt(m2 / values.length);
  // Two halves far apart against their spread: chunks whose first value is far from the mean.
  const halves = f32(Array.from({ length: 4000 }, (_, i) => (i < 2000 ? 1000 : -1000) + (next() - 0.5) * 0.01));
  let halvesM2 = 0;
  let halvesMean = 0;
  for (const v of halves) halvesMean += v;
  halvesMean /= halves.length;
  for (const v of halves) halvesM2 += (v - halvesMean) ** 2;
  for (const chunk of [3, 1500, 4000]) {
    const stats = await computeTensorStats(memoryTensor('h', [halves.length], halves, { chunk }));
    close(stats.std, Math.sqrt(halvesM2 / halves.length), 1e-12, `halves std chunk ${chunk}`);
    close(stats.mean, halvesMean, 1e-12, `halves mean chunk ${chunk}`);
  }
  for (const chunk of [1, 7, 4096, 1 << 20]) {
    for (const float64 of [false, true]) {
      const stats = await computeTensorStats(memoryTensor('v', [values.length], values, { chunk, float64 }));
      close(stats.mean, mean, 1e-15, `mean chunk ${chunk}`);
      close(stats.std, std, 1e-9, `std chunk ${chunk}`);
      assert.equal(stats.min, Math.min(...values));
      assert.equal(stats.max, Math.max(...values));
      close(stats.absMean, mean, 1e-15, 'absMean');
      assert.equal(stats.zeros, 0);
    }
  }
});

test('zeros, threshold, absMean and population std on hand-checked values', async () => {
  // values: 0, -0, 0.5, -0.5, 2, -2, 1e-3, -1e-3 ; mean = 0; abs sum = 5.002; sum of squares = 8.5 + 2e-6.
  const values = [0, -0, 0.5, -0.5, 2, -2, 1e-3, -1e-3];
  const exact = await computeTensorStats(memoryTensor('t', [8], values, { float64: true, chunk: 3 }));
  assert.equal(exact.zeros, 2);
  assert.equal(exact.sparsity, 0.25);
  close(exact.absMean, 5.002 / 8, 1e-15, 'absMean');
  close(exact.std, Math.sqrt((8.5 + 2e-6) / 8), 1e-15, 'std');
  assert.equal(exact.mean, 0);
  assert.equal(exact.min, -2);
  assert.equal(exact.max, 2);
  const thresholded = await computeTensorStats(memoryTensor('t', [8], values, { float64: true }), { threshold: 1e-3 });
  assert.equal(thresholded.zeros, 4);
  const wide = await computeTensorStats(memoryTensor('t', [8], values, { float64: true }), { threshold: 0.5 });
  assert.equal(wide.zeros, 6);
});

test('NaN elements are neither zero nor part of the moments', async () => {
  const stats = await computeTensorStats(memoryTensor('t', [5], [1, Number.NaN, 3, 0, Number.NaN], { float64: true }));
  assert.equal(stats.zeros, 1);
  assert.equal(stats.mean, 4 / 3);
  close(stats.std, Math.sqrt(((1 - 4 / 3) ** 2 + (3 - 4 / 3) ** 2 + (4 / 3) ** 2) / 3), 1e-15, 'std');
  assert.equal(stats.min, 0);
  assert.equal(stats.max, 3);
});

test('bad thresholds are refused', async () => {
  await assert.rejects(computeTensorStats(memoryTensor('t', [1], [1]), { threshold: -1 }), /threshold must be a finite number >= 0/);
  await assert.rejects(computeTensorStats(memoryTensor('t', [1], [1]), { threshold: Number.NaN }), /threshold/);
});

/** A 4-D tensor with a dead filter, a dead input channel, dead kernels, 2:4-style pairs and noise. */
function plantedConv(dims: { K: number; C: number; R: number; S: number }, seed: number): (k: number, c: number, r: number, s: number) => number {
  const next = random(seed);
  const table = new Map<string, number>();
  for (let k = 0; k < dims.K; k++) for (let c = 0; c < dims.C; c++) {
    const deadKernel = next() < 0.2;
    for (let r = 0; r < dims.R; r++) for (let s = 0; s < dims.S; s++) {
      let v = Math.fround((next() - 0.5) * 2);
      if (k === 1 || c === 2 || deadKernel || next() < 0.3) v = 0;
      if (next() < 0.05) v = Math.fround(1e-4); // zero only under a threshold
      table.set(`${k},${c},${r},${s}`, v);
    }
  }
  return (k, c, r, s) => table.get(`${k},${c},${r},${s}`)!;
}

for (const layout of ['OIHW', 'HWIO', 'OHWI'] as Layout4[]) {
  test(`structured statistics of a ${layout} conv kernel match the naive computation`, async () => {
    for (const dims of [
      { K: 6, C: 7, R: 3, S: 3 },
      { K: 9, C: 8, R: 1, S: 2 },
      { K: 5, C: 4, R: 1, S: 1 },
      { K: 3, C: 6, R: 5, S: 5 },
    ]) {
      const at = plantedConv(dims, dims.K * 31 + dims.C);
      const stored = new Array<number>(dims.K * dims.C * dims.R * dims.S);
      for (let k = 0; k < dims.K; k++) for (let c = 0; c < dims.C; c++) for (let r = 0; r < dims.R; r++) for (let s = 0; s < dims.S; s++) {
        stored[storedIndex4(layout, dims, k, c, r, s)] = at(k, c, r, s);
      }
      const shape =
        layout === 'OIHW' ? [dims.K, dims.C, dims.R, dims.S] : layout === 'HWIO' ? [dims.R, dims.S, dims.C, dims.K] : [dims.K, dims.R, dims.S, dims.C];
      for (const threshold of [0, 1e-3]) {
        for (const block of [[4, 4], [1, 4], [3, 5]] as [number, number][]) {
          const expected = naiveStructure(at, dims, threshold, block);
          for (const chunk of [1, 5, 13, 1 << 20]) {
            const stats = await computeTensorStats(memoryTensor('conv.weight', shape, stored, { chunk, layout }), { threshold, blockSize: block });
            const label = `${layout} ${JSON.stringify(dims)} t=${threshold} block=${block} chunk=${chunk}`;
            assert.equal(stats.layout, layout, label);
            assert.equal(stats.zeros, expected.zeros, `${label} zeros`);
            assert.equal(stats.filters, expected.filters, `${label} filters`);
            assert.equal(stats.channels, expected.channels, `${label} channels`);
            assert.equal(stats.kernels, expected.kernels, `${label} kernels`);
            assert.equal(stats.nm24, expected.nm24, `${label} nm24`);
            assert.equal(stats.nm24Full, expected.nm24Full, `${label} nm24Full`);
            assert.deepEqual(stats.block, { size: block, sparsity: expected.block }, `${label} block`);
            assert.equal(stats.rows, undefined);
          }
        }
      }
    }
  });
}

for (const layout of ['OI', 'IO'] as const) {
  test(`rows, columns, 2:4 and blocks of a ${layout} matrix match the naive computation`, async () => {
    const K = 10;
    const C = 11;
    const next = random(layout === 'OI' ? 5 : 6);
    const canonical = Array.from({ length: K }, (_, k) =>
      Array.from({ length: C }, (_, c) => (k === 3 || c === 4 || c === 7 || next() < 0.45 ? 0 : Math.fround(next() + 0.1))),
    );
    const stored = layout === 'OI' ? canonical.flat() : Array.from({ length: C }, (_, c) => canonical.map((row) => row[c]!)).flat();
    const shape = layout === 'OI' ? [K, C] : [C, K];
    const expected = naiveStructure((k, c) => canonical[k]![c]!, { K, C, R: 1, S: 1 }, 0, [4, 4]);
    for (const chunk of [1, 3, 64, 1 << 20]) {
      const stats = await computeTensorStats(memoryTensor('fc.weight', shape, stored, { chunk }), { format: layout === 'IO' ? 'keras' : 'safetensors' });
      assert.equal(stats.layout, layout);
      assert.equal(stats.rows, expected.filters, 'rows');
      assert.equal(stats.cols, expected.channels, 'cols');
      assert.equal(stats.nm24, expected.nm24, 'nm24');
      assert.deepEqual(stats.block, { size: [4, 4], sparsity: expected.block });
      assert.equal(stats.filters, undefined);
      assert.equal(stats.kernels, undefined);
    }
  });
}

test('2:4 compliance on hand-made rows, including the zero-padded tail group', async () => {
  // Row 0: groups [0,0,1,1] ok, [1,0,1,1] not, tail [5,6] padded with two zeros ok.
  // Row 1: [0,2,0,3] ok, [0,0,0,0] ok, tail [0,7] ok.
  const values = [0, 0, 1, 1, 1, 0, 1, 1, 5, 6, 0, 2, 0, 3, 0, 0, 0, 0, 0, 7];
  const stats = await computeTensorStats(memoryTensor('w', [2, 10], values, { chunk: 3 }));
  assert.equal(stats.nm24, 5 / 6);
  assert.equal(stats.nm24Full, false);
  const full = await computeTensorStats(memoryTensor('w', [1, 8], [0, 1, 0, 2, 3, 0, 0, 4]));
  assert.equal(full.nm24, 1);
  assert.equal(full.nm24Full, true);
  // OIHW [1, 4, 1, 2]: groups run across channels at each of the 2 spatial positions.
  // position 0 sees channels (1, 0, 0, 1): ok; position 1 sees (2, 3, 0, 4): not ok.
  const conv = await computeTensorStats(memoryTensor('conv.weight', [1, 4, 1, 2], [1, 2, 0, 3, 0, 0, 1, 4]));
  assert.equal(conv.nm24, 0.5);
});

test('block sparsity on a hand-made 8x8 matrix with one nonzero 4x4 block', async () => {
  const values = new Array<number>(64).fill(0);
  values[5 * 8 + 2] = 1; // row 5, column 2: block (1, 0)
  const stats = await computeTensorStats(memoryTensor('w', [8, 8], values));
  assert.deepEqual(stats.block, { size: [4, 4], sparsity: 3 / 4 });
  assert.equal(stats.rows, 7 / 8);
  assert.equal(stats.cols, 7 / 8);
  const rowBlocks = await computeTensorStats(memoryTensor('w', [8, 8], values), { blockSize: [1, 4] });
  assert.deepEqual(rowBlocks.block, { size: [1, 4], sparsity: 15 / 16 });
});

test('empty and one-dimensional tensors get value statistics only', async () => {
  const bias = await computeTensorStats(memoryTensor('fc.bias', [4], [0, 1, 2, 0]));
  assert.equal(bias.layerType, 'bias');
  assert.equal(bias.sparsity, 0.5);
  assert.equal(bias.nm24, undefined);
  assert.equal(bias.block, undefined);
  const empty = await computeTensorStats(memoryTensor('e', [0, 3], []));
  assert.equal(empty.numel, 0);
  assert.equal(empty.sparsity, 0);
  assert.equal(empty.mean, 0);
});

test('cancellation stops a scan', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(computeTensorStats(memoryTensor('t', [4], [1, 2, 3, 4]), { signal: controller.signal }), { name: 'AbortError' });
});

test('TFLite depthwise kernels [1, H, W, C] (IHWO) read like HWIO with one input channel; index tensors get no structure', async () => {
  const values = [0, 1, 0, 2, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 5, 6, 0, 0]; // [1, 3, 3, 2]: channel 0 = 0,0,0,0,4,0,0,5,0
  const depthwise = await computeTensorStats(memoryTensor('dw.weight', [1, 3, 3, 2], values, { layout: 'IHWO' }));
  const hwio = await computeTensorStats(memoryTensor('dw.weight', [3, 3, 1, 2], values, { layout: 'HWIO' }));
  assert.equal(depthwise.layout, 'IHWO');
  assert.deepEqual({ ...depthwise, layout: 'HWIO', shape: [3, 3, 1, 2] }, hwio);
  assert.equal(depthwise.kernels, 0);
  assert.equal(depthwise.nm24, undefined, 'one input channel: no 2:4 share');
  const paddings = await computeTensorStats(memoryTensor('pad/paddings', [4, 2], [0, 0, 1, 1, 1, 1, 0, 0], { dtype: 'int32' }));
  assert.equal(paddings.layerType, 'other');
  assert.equal(paddings.rows, undefined);
  assert.equal(paddings.sparsity, 0.5);
});

test('magnitude histogram matches a naive classification against the edges, float32 and float64, whichever edges were used before in the process', async () => {
  const { MagnitudeHistogram } = await import('../../../../extension/core/sparsity/accumulator');
  const next = random(99);
  const values: number[] = [0, -0, 1, 10, 100, 1e-8, -1e2, 1e3, 1e-40, Number.NaN, Infinity, -Infinity, 1e-3, 0.5];
  for (let i = 0; i < 3000; i++) values.push((next() < 0.5 ? -1 : 1) * 10 ** (next() * 14 - 11));
  for (const float64 of [false, true]) {
    const data = float64 ? Float64Array.from(values) : Float32Array.from(values);
    // The category tables are shared per set of edges: other edges in between must not leak in.
    for (const [threshold, edges] of [[0, []], [1e-3, []], [0, [-3, 1, 4]], [1e-3, []], [1e-3, [-3, 1, 4]]] as [number, number[]][]) {
      const histogram = new MagnitudeHistogram(...edges);
      const mask = Uint8Array.from(data, (v) => (Math.abs(v) <= threshold ? 1 : 0));
      histogram.add(data.subarray(0, 1000), 1000, mask.subarray(0, 1000));
      histogram.add(data.subarray(1000), data.length - 1000, mask.subarray(1000));
      const bounds = histogram.log10Edges.map((e) => 10 ** e);
      const expected = { zeros: 0, below: 0, above: 0, nan: 0, counts: new Array<number>(bounds.length - 1).fill(0) };
      for (const v of data) {
        const a = Math.abs(v);
        if (a <= threshold) expected.zeros++;
        else if (Number.isNaN(a)) expected.nan++;
        else if (a <= bounds[0]!) expected.below++;
        else if (a > bounds.at(-1)!) expected.above++;
        else expected.counts[bounds.findIndex((e) => a <= e) - 1]!++;
      }
      const json = histogram.toJSON();
      assert.deepEqual({ zeros: json.zeros, below: json.below, above: json.above, nan: json.nan, counts: json.counts }, expected, `float64=${float64} t=${threshold} edges=${edges}`);
    }
  }
});

test('randomised shapes, layouts, block sizes and chunkings all agree with the naive computation', async () => {
  const next = random(2024);
  const pick = (n: number) => 1 + Math.floor(next() * n);
  for (let trial = 0; trial < 120; trial++) {
    const dims = { K: pick(9), C: pick(13), R: pick(3), S: pick(4) };
    const layout = (['OIHW', 'HWIO', 'OHWI'] as Layout4[])[trial % 3]!;
    const density = next();
    const at = new Map<string, number>();
    for (let k = 0; k < dims.K; k++) for (let c = 0; c < dims.C; c++) for (let r = 0; r < dims.R; r++) for (let s = 0; s < dims.S; s++) {
      at.set(`${k},${c},${r},${s}`, next() < density ? Math.fround(next() - 0.5) : 0);
    }
    const value = (k: number, c: number, r: number, s: number) => at.get(`${k},${c},${r},${s}`)!;
    const stored = new Array<number>(dims.K * dims.C * dims.R * dims.S);
    for (const [key, v] of at) {
      const [k, c, r, s] = key.split(',').map(Number) as [number, number, number, number];
      stored[storedIndex4(layout, dims, k, c, r, s)] = v;
    }
    const shape =
      layout === 'OIHW' ? [dims.K, dims.C, dims.R, dims.S] : layout === 'HWIO' ? [dims.R, dims.S, dims.C, dims.K] : [dims.K, dims.R, dims.S, dims.C];
    const block: [number, number] = [pick(5), pick(9)];
    const threshold = next() < 0.5 ? 0 : 0.1;
    const chunk = pick(40);
    const expected = naiveStructure(value, dims, threshold, block);
    const stats = await computeTensorStats(memoryTensor('conv.weight', shape, stored, { chunk, layout }), { threshold, blockSize: block });
    const label = `trial ${trial}: ${layout} ${JSON.stringify(dims)} block ${block} chunk ${chunk} t ${threshold}`;
    assert.equal(stats.zeros, expected.zeros, label);
    assert.deepEqual(stats.block, { size: block, sparsity: expected.block }, label);
    if (dims.R * dims.S > 1) {
      assert.deepEqual([stats.filters, stats.channels, stats.kernels], [expected.filters, expected.channels, expected.kernels], label);
    } else {
      assert.deepEqual([stats.filters, stats.channels], [expected.filters, expected.channels], label);
    }
    if (dims.C >= 4) assert.deepEqual([stats.nm24, stats.nm24Full], [expected.nm24, expected.nm24Full], label);
    else assert.equal(stats.nm24, undefined, label);
  }
});
