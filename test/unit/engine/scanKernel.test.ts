import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { writeSafetensors } from '../../../extension/core/formats/safetensors';
import { parseNmPatterns } from '../../../extension/core/sparsity/nmPattern';
import { type ScanOptions, scanWeightFile } from '../../../extension/core/sparsity/scan';
import { EngineScanKernel, float32AtOrBelow } from '../../../extension/engine/scanKernel';
import type { SparsityReport, TensorStats } from '../../../extension/shared/payloads';
import { FIXTURES_DIR, TEST_MODELS_DIR } from '../../paths';
import { tempDir } from '../core/formats/weightFileHelpers';

const kernel = new EngineScanKernel();
const dir = tempDir('scan-kernel');

/** Relative bound on mean, std and mean |w|: the rounding of 4096-term float64 block sums. */
const SUM_TOLERANCE = 4096 * 2 ** -53 * 4;

const EXACT: (keyof TensorStats)[] = ['numel', 'zeros', 'sparsity', 'min', 'max', 'filters', 'channels', 'kernels', 'rows', 'cols', 'nm24', 'nm24Full', 'block', 'nm', 'retained', 'layout', 'histogram'];

function near(a: number, b: number, scale: number): boolean {
  return Object.is(a, b) || Math.abs(a - b) <= SUM_TOLERANCE * Math.max(scale, Number.MIN_VALUE);
}

/** The engine's report equals the JavaScript one: counts exactly, sums within SUM_TOLERANCE. */
function assertSameReport(engine: SparsityReport, js: SparsityReport, label: string): void {
  assert.equal(engine.tensors.length, js.tensors.length, label);
  engine.tensors.forEach((e, i) => {
    const j = js.tensors[i]!;
    const where = `${label}: ${j.name}`;
    for (const key of EXACT) assert.deepEqual(e[key], j[key], `${where} ${key}`);
    // The sums are scaled by what they sum: |w| for the mean and mean |w|, the spread for std.
    assert.ok(near(e.mean, j.mean, j.absMean + Math.abs(j.mean)), `${where} mean ${e.mean} vs ${j.mean}`);
    assert.ok(near(e.absMean, j.absMean, j.absMean), `${where} absMean ${e.absMean} vs ${j.absMean}`);
    assert.ok(near(e.std, j.std, j.std + j.absMean), `${where} std ${e.std} vs ${j.std}`);
  });
  assert.deepEqual(engine.total, js.total, label);
  assert.deepEqual(engine.byLayerType, js.byLayerType, label);
  assert.deepEqual(engine.masks, js.masks, label);
  assert.deepEqual(engine.thresholdCurve, js.thresholdCurve, label);
}

async function bothWays(file: string, options: ScanOptions = {}): Promise<void> {
  const js = await scanWeightFile(file, options);
  const engine = await scanWeightFile(file, { ...options, kernel });
  assertSameReport(engine, js, path.basename(file));
}

function weightFiles(root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const full = path.join(root, name);
    if (statSync(full).isDirectory()) out.push(...weightFiles(full));
    else if (!/\.(py|json|md)$/.test(name) || name.endsWith('manifest.json')) out.push(full);
  }
  return out;
}

test('float32AtOrBelow: the largest float32 not above t, so |x| <= it exactly when |x| <= t', () => {
  assert.equal(float32AtOrBelow(0), 0);
  assert.equal(float32AtOrBelow(0.5), 0.5);
  // 0.1 rounds up to float32 0.100000001490116...: the float32 below is the one at or below 0.1.
  const up = Math.fround(0.1);
  assert.ok(up > 0.1);
  const down = float32AtOrBelow(0.1);
  assert.ok(down < 0.1 && Math.fround(down) === down);
  const bits = new Uint32Array(Float32Array.of(up, down).buffer);
  assert.equal(bits[0]! - bits[1]!, 1);
  assert.equal(float32AtOrBelow(1e300), 3.4028234663852886e38);
});

test('every fixture and test model: the engine scan reports what the JavaScript scan reports', async () => {
  const files = [...weightFiles(FIXTURES_DIR), ...weightFiles(TEST_MODELS_DIR).filter((f) => !f.endsWith('.bin'))];
  let scanned = 0;
  for (const file of files) {
    let js: SparsityReport;
    try {
      js = await scanWeightFile(file, { nm: parseNmPatterns('2:4,1:4'), histogram: true });
    } catch {
      continue; // files that are not weight files, or that tests expect to be refused
    }
    const engine = await scanWeightFile(file, { nm: parseNmPatterns('2:4,1:4'), histogram: true, kernel });
    assertSameReport(engine, js, path.relative(FIXTURES_DIR, file));
    scanned++;
  }
  assert.ok(scanned >= 25, `scanned ${scanned} files`);
});

/** Float32 values with exact zeros, signed zeros in every lane position, and zero rows and columns. */
function matrix(K: number, C: number, seed: number, special: (values: Float32Array) => void = () => {}): Float32Array {
  const values = new Float32Array(K * C);
  let s = seed;
  for (let i = 0; i < values.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const u = (s >>> 0) / 2 ** 32;
    values[i] = u < 0.5 ? 0 : (u - 0.75) * 8 + 1000;
  }
  for (let k = 0; k < K; k += 7) values.fill(0, k * C, (k + 1) * C);
  for (let c = 3; c < C; c += 11) for (let k = 0; k < K; k++) values[k * C + c] = 0;
  special(values);
  return values;
}

async function writeMatrices(name: string, tensors: Record<string, { shape: number[]; values: Float32Array }>): Promise<string> {
  const file = path.join(dir, name);
  await writeSafetensors(
    file,
    Object.entries(tensors).map(([tensorName, t]) => ({ name: tensorName, dtype: 'F32' as const, shape: t.shape, data: new Uint8Array(t.values.buffer) })),
  );
  return file;
}

test('matrices read straight from the file and through the parser, chunks ending anywhere in a row, thresholds between float32s', async () => {
  const file = await writeMatrices('matrices.safetensors', {
    'fc.weight': { shape: [300, 1024], values: matrix(300, 1024, 1) },
    'odd.weight': { shape: [97, 70], values: matrix(97, 70, 2) },
    'conv.weight': { shape: [32, 16, 3, 3], values: matrix(32, 144, 3) },
    'pointwise.weight': { shape: [64, 48, 1, 1], values: matrix(64, 48, 4) },
    // A -0 in each of the 16 lanes of a step, below +0 for min; the JavaScript min says -0 too.
    'signed.weight': { shape: [16, 64], values: matrix(16, 64, 5, (v) => { v.fill(0); for (let i = 0; i < 16; i++) v[i * 65] = -0; }) },
    bias: { shape: [1000], values: matrix(1, 1000, 6) },
  });
  for (const threshold of [0, 0.1, 998.5, 1e300]) {
    await bothWays(file, { threshold, nm: parseNmPatterns('2:4'), histogram: true });
    await bothWays(file, { threshold, noDirectRead: true, maxChunkElements: 1000 } as ScanOptions);
  }
  for (const blockSize of [[4, 4], [3, 8], [2, 5]] as [number, number][]) await bothWays(file, { blockSize, maxChunkElements: 4099 } as ScanOptions);
  const signed = (await scanWeightFile(file, { kernel })).tensors.find((t) => t.name === 'signed.weight')!;
  assert.ok(Object.is(signed.min, -0) && Object.is(signed.max, 0) && signed.zeros === 1024);
});

test('a chunk holding NaN or infinity is redone without the NaNs, as the JavaScript scan does', async () => {
  const file = await writeMatrices('nan.safetensors', {
    nan: { shape: [64, 64], values: matrix(64, 64, 7, (v) => { v[5] = NaN; v[100] = NaN; }) },
    inf: { shape: [64, 64], values: matrix(64, 64, 8, (v) => { v[9] = Infinity; }) },
  });
  await bothWays(file, { histogram: true });
  const report = await scanWeightFile(file, { kernel });
  assert.equal(report.tensors[1]!.max, Infinity);
});

test('the mean and std keep their accuracy with a large mean against a small spread', async () => {
  // 1e6 + small steps: the sums run on deviations from the chunk's first value.
  const values = Float32Array.from({ length: 1 << 16 }, (_, i) => 1e6 + (i % 17) / 16);
  const file = await writeMatrices('offset.safetensors', { w: { shape: [64, 1024], values } });
  const engine = (await scanWeightFile(file, { kernel })).tensors[0]!;
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let m2 = 0;
  for (const v of values) m2 += (v - mean) ** 2;
  assert.ok(Math.abs(engine.mean - mean) <= 1e-9 * mean, `${engine.mean} vs ${mean}`);
  assert.ok(Math.abs(engine.std - Math.sqrt(m2 / values.length)) <= 1e-9, `${engine.std}`);
});

/** The float32 `steps` bit patterns away from the float32 nearest x (x > 0). */
function float32Step(x: number, steps: number): number {
  const bits = new Uint32Array(Float32Array.of(x).buffer);
  bits[0] = bits[0]! + steps;
  return new Float32Array(bits.buffer)[0]!;
}

test('histogram bins on the engine: every edge and its float32 neighbours, NaN, infinities, -0 and subnormals, counted by hand', async () => {
  const edges = Array.from({ length: 101 }, (_, i) => 10 ** (-8 + i / 10));
  const special: number[] = [0, -0, NaN, -NaN, Infinity, -Infinity, 1.4e-45, -1.4e-45, 1.1754942e-38, 3.4028234663852886e38, 1e-9, 1e3, -1e3, 100, -100];
  // NaN payloads: the smallest and largest NaN bit patterns, positive and negative.
  const nanBits = new Uint32Array([0x7f800001, 0x7fffffff, 0xff800001, 0xffc00000]);
  special.push(...new Float32Array(nanBits.buffer));
  const values: number[] = [...special];
  for (const edge of edges) for (const steps of [-2, -1, 0, 1, 2]) values.push(float32Step(edge, steps), -float32Step(edge, steps));
  // Prefix boundaries: the last and first float32 of neighbouring 16-bit prefixes near each edge.
  for (const edge of edges) {
    const bits = new Uint32Array(Float32Array.of(edge).buffer)[0]! & 0xffff0000;
    values.push(...new Float32Array(new Uint32Array([bits - 1, bits, bits + 0xffff, bits + 0x10000]).buffer));
  }
  // Some lengths not a multiple of 4 (the kernel's scalar tail), and runs of one category.
  for (let i = 0; i < 37; i++) values.push(0.5, 0);
  const data = Float32Array.from(values);
  const file = await writeMatrices('histogram-edges.safetensors', { edges: { shape: [data.length], values: data } });
  for (const threshold of [0, 1e-3]) {
    const expected = { counts: new Array<number>(100).fill(0), zeros: 0, below: 0, above: 0, nan: 0 };
    for (const x of data) {
      const a = Math.abs(x);
      if (Number.isNaN(a)) expected.nan++;
      else if (a <= threshold) expected.zeros++;
      else if (a <= edges[0]!) expected.below++;
      else if (a > edges[100]!) expected.above++;
      else expected.counts[edges.findIndex((e, i) => i > 0 && a <= e) - 1]!++;
    }
    for (const direct of [true, false]) {
      const report = await scanWeightFile(file, { threshold, histogram: true, kernel, ...(direct ? {} : { noDirectRead: true, maxChunkElements: 1001 }) } as ScanOptions);
      const h = report.tensors[0]!.histogram!;
      assert.deepEqual({ counts: h.counts, zeros: h.zeros, below: h.below, above: h.above, nan: h.nan }, expected, `threshold ${threshold}, ${direct ? 'direct' : 'parser'} read`);
    }
  }
});
