/**
 * The scan spread over threads (core/sparsity/scan.ts): the units it plans (whole tensors, large
 * ones cut into stretches at whole rows of blocks and whole chunks), and a scan whose tensors are
 * cut into stretches and claimed by several scanners reporting exactly what one scan of the file
 * reports: counts, structured shares, histograms and sums bit for bit, the N:M magnitude shares
 * within their documented error (numel * 2^-53 relative).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { openWeightFile } from '../../../../extension/core/formats/index';
import { writeSafetensors } from '../../../../extension/core/formats/safetensors';
import { parseLayoutOverride } from '../../../../extension/core/sparsity/layout';
import { parseNmPatterns } from '../../../../extension/core/sparsity/nmPattern';
import {
  type ScanOptions,
  type ScanUnit,
  type TensorPartScanner,
  MIN_STRETCH_ELEMENTS,
  planScanUnits,
  scanClaimedUnitsOf,
  scanWeightFile,
} from '../../../../extension/core/sparsity/scan';
import type { SparsityReport } from '../../../../extension/shared/payloads';
import { EngineScanKernel } from '../../../../extension/engine/scanKernel';
import { tempDir } from '../formats/weightFileHelpers';
import { random } from './helpers';

const dir = tempDir('scan-threads');

test('planScanUnits: whole tensors, and large ones cut at multiples of both the chunk and the cut period', () => {
  const M = 1 << 20;
  // 64 M elements on 2 threads: a stretch is max(16 M, 64 M / 8) = 16 M, a multiple of the 2 M chunk and the 4096-element period.
  assert.deepEqual(
    planScanUnits([{ name: 'a', numel: 64 * M }], 2, 2 * M, () => 4096),
    [0, 16, 32, 48].map((m) => ({ index: 0, name: 'a', range: { from: m * M, to: (m + 16) * M } })),
  );
  // A period of 1000 x 4 rows = 2^5 * 125: cuts at multiples of lcm(2^21, 4000) = 125 * 2^21 = 262,144,000; the last stretch is the rest.
  const step = 125 * 2 * M;
  assert.deepEqual(
    planScanUnits([{ name: 'w', numel: 1e9 }], 2, 2 * M, () => 4000).map((u) => u.range),
    [0, 1, 2, 3].map((i) => ({ from: i * step, to: Math.min(1e9, (i + 1) * step) })),
  );
  // Never cut: no cut period, or at most twice the stretch; small tensors stay whole, in file order.
  const small = [
    { name: 'x', numel: 64 * M },
    { name: 'y', numel: 32 * M },
    { name: 'z', numel: 10 },
  ];
  assert.deepEqual(planScanUnits(small, 2, 2 * M, () => undefined), small.map((t, index) => ({ index, name: t.name })));
  assert.deepEqual(
    planScanUnits(small, 2, 2 * M, () => 1).map((u) => [u.index, u.range?.from, u.range?.to]),
    [
      [0, 0, 16 * M],
      [0, 16 * M, 32 * M],
      [0, 32 * M, 48 * M],
      [0, 48 * M, 64 * M],
      [1, undefined, undefined],
      [2, undefined, undefined],
    ],
  );
  assert.equal(MIN_STRETCH_ELEMENTS, 16 * M);
  // A stretch is about a quarter of a thread's share above the minimum: 1 G elements on 4 threads -> 64 M.
  assert.equal(planScanUnits([{ name: 'big', numel: 1024 * M }], 4, 2 * M, () => 1).length, 16);
});

/** Values in [-1, 1) with about `zeros` of them zero, whole zero rows (every 7th) and columns (every 5th), and 2:4-friendly rows. */
function structured(K: number, inner: number, seed: number, zeros: number): Float32Array {
  const next = random(seed);
  const out = new Float32Array(K * inner);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < inner; j++) {
      const zero = k % 7 === 3 || j % 5 === 1 || (k % 3 === 0 && j % 4 < 2) || next() < zeros;
      out[k * inner + j] = zero ? 0 : next() * 2 - 1;
    }
  }
  return out;
}

const file = path.join(dir, 'split.safetensors');
/** NaN, infinities and -0 inside a stretch of the middle of a tensor: the chunk then takes the NaN path. */
const special = structured(300, 64, 5, 0.3);
special.set([Number.NaN, Number.POSITIVE_INFINITY, -0, Number.NaN, Number.NEGATIVE_INFINITY], 150 * 64 + 3);
const fileReady = writeSafetensors(file, [
  { name: 'fc.weight', dtype: 'F32', shape: [512, 96], data: structured(512, 96, 1, 0.4) },
  { name: 'conv.weight', dtype: 'F32', shape: [256, 16, 3, 3], data: structured(256, 16 * 9, 2, 0.35) },
  // Read as OHWI through the layout override: the KPC order.
  { name: 'conv2.weight', dtype: 'F32', shape: [240, 3, 3, 8], data: structured(240, 72, 3, 0.3) },
  { name: 'norm.weight', dtype: 'F32', shape: [20000], data: structured(1, 20000, 4, 0.2) },
  { name: 'odd.weight', dtype: 'F32', shape: [300, 64], data: special },
  // Not read straight from the file: never cut.
  { name: 'half.weight', dtype: 'F16', shape: [64, 48], data: structured(64, 48, 6, 0.5) },
  // K innermost ([I, O] through the override): never cut.
  { name: 'io.weight', dtype: 'F32', shape: [96, 80], data: structured(96, 80, 7, 0.45) },
]);

/** The report with the N:M magnitude shares taken out, and those shares by path. */
function splitRetained(report: SparsityReport): { rest: unknown; retained: Map<string, number> } {
  const retained = new Map<string, number>();
  const rest = structuredClone(report);
  rest.tensors.forEach((t) => {
    for (const [name, share] of Object.entries(t.retained ?? {})) retained.set(`${t.name} ${name}`, share);
    delete t.retained;
  });
  for (const [name, share] of Object.entries(rest.total.retained ?? {})) retained.set(`total ${name}`, share);
  delete rest.total.retained;
  for (const [type, totals] of Object.entries(rest.byLayerType ?? {})) {
    for (const [name, share] of Object.entries(totals.retained ?? {})) retained.set(`${type} ${name}`, share);
    delete totals.retained;
  }
  return { rest, retained };
}

/** Scanners in this thread, each with its own engine (its chunk buffers are its own), that take units as workers do. */
function inThreadScanners(threads: number, options: ScanOptions, engine: boolean, asked: ScanUnit[][]): TensorPartScanner {
  const kernels = Array.from({ length: threads - 1 }, () => new EngineScanKernel({ capacity: 4096 }));
  let started = 0;
  return {
    threads,
    minElements: 0,
    minStretchElements: 0,
    async scan(units, claim, onProgress, signal) {
      asked.push(units);
      const kernel = kernels[started++ % kernels.length]!;
      const opened = await openWeightFile(file);
      try {
        return await scanClaimedUnitsOf(opened, units, claim, { ...options, ...(engine ? { kernel } : {}), ...(signal ? { signal } : {}), onProgress });
      } finally {
        await opened.close();
      }
    },
  };
}

test('a file whose tensors are cut into stretches and scanned by eight scanners reports what one scan reports', async () => {
  await fileReady;
  for (const engine of [false, true]) {
    const options: ScanOptions = {
      threshold: 0.01,
      histogram: true,
      blockSize: [3, 4],
      nm: parseNmPatterns(['2:4', '1:4', '2:8']),
      layout: parseLayoutOverride('conv2.weight=OHWI,io.weight=IO'),
      // Chunks of 256 elements, so that these small tensors span several chunks and stretches.
      maxChunkElements: 256,
    };
    const kernel = engine ? new EngineScanKernel() : undefined;
    const alone = await scanWeightFile(file, { ...options, ...(kernel ? { kernel } : {}) });
    const asked: ScanUnit[][] = [];
    const fractions: number[] = [];
    const spread = await scanWeightFile(file, {
      ...options,
      ...(kernel ? { kernel } : {}),
      parts: inThreadScanners(8, options, engine, asked),
      onProgress: (fraction) => fractions.push(fraction),
    });
    assert.equal(asked.length, 7, 'seven other scanners besides this thread');
    const units = asked[0]!;
    // 153,248 elements on 8 threads: a stretch of about 153,248 / 32 = 4,789, rounded up to a multiple of the cut step.
    // fc: 3 rows of 96 = 288 elements, lcm with the 256-element chunk 2304, a stretch 6912: 8 stretches.
    assert.deepEqual(
      units.filter((u) => u.name === 'fc.weight').map((u) => u.range),
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ from: i * 6912, to: Math.min(512 * 96, (i + 1) * 6912) })),
    );
    // conv (OIHW): 3 filters of 16 x 9 = 432, lcm 6912: 6; conv2 (OHWI): 3 x 72 = 216, lcm 6912: 3; norm (no
    // structure): 19 chunks = 4864: 5; odd: 3 x 64 = 192, lcm 768, 7 steps = 5376: 4; half (float16) and io ([I, O]): whole.
    const stretchesOf = (name: string): number => units.filter((u) => u.name === name).length;
    assert.deepEqual(
      ['conv.weight', 'conv2.weight', 'norm.weight', 'odd.weight', 'half.weight', 'io.weight'].map(stretchesOf),
      [6, 3, 5, 4, 1, 1],
    );
    assert.equal(units.filter((u) => !u.range).length, 2);
    const a = splitRetained(alone);
    const b = splitRetained(spread);
    assert.deepEqual(b.rest, a.rest, engine ? 'engine' : 'JavaScript');
    assert.deepEqual([...b.retained.keys()], [...a.retained.keys()]);
    for (const [key, share] of a.retained) {
      const spreadShare = b.retained.get(key)!;
      // A tensor holding infinities keeps NaN of its infinite magnitude sum, alone or spread.
      assert.ok(Object.is(spreadShare, share) || Math.abs(spreadShare - share) <= 512 * 96 * 2 ** -53 * share, `${key}: ${spreadShare} against ${share}`);
    }
    assert.ok(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]!), `progress never goes back: ${fractions.join(', ')}`);
    assert.equal(fractions.at(-1), 1);
    const odd = alone.tensors.find((t) => t.name === 'odd.weight')!;
    assert.equal(odd.min, Number.NEGATIVE_INFINITY);
    assert.equal(odd.max, Number.POSITIVE_INFINITY);
  }
});

test('a stretch claimed by a scanner whose file changed fails the scan with the file named', async () => {
  await fileReady;
  const options: ScanOptions = { maxChunkElements: 256 };
  const parts: TensorPartScanner = {
    threads: 2,
    minElements: 0,
    minStretchElements: 0,
    async scan(units, claim) {
      const opened = await openWeightFile(file);
      try {
        // As if the tensors had moved: every unit names the tensor before it.
        return await scanClaimedUnitsOf(
          opened,
          units.map((u) => ({ ...u, index: u.index + 1 })),
          claim,
          options,
        );
      } finally {
        await opened.close();
      }
    },
  };
  await assert.rejects(scanWeightFile(file, { ...options, parts }), (error: Error & { file?: string }) => {
    assert.equal(error.file, file);
    assert.match(error.message, /when read again: the file changed during the scan/);
    return true;
  });
});
