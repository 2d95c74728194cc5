/**
 * Sparsity scan benchmark (records figures; nothing here is a test).
 *
 *   npx tsx scripts/bench/sparsity.ts make FILE [GiB]      write a float32 safetensors file of conv + linear layers
 *   npx tsx scripts/bench/sparsity.ts make-matrices FILE [GiB]  16 float32 [16384, 1024] matrices per GiB, half of the values zero
 *   npx tsx scripts/bench/sparsity.ts make-tensor FILE [GiB]    one float32 [262144 * GiB, 1024] matrix, half of the values zero
 *   npx tsx scripts/bench/sparsity.ts scan FILE [--histogram] [--engine]  full statistics scan, prints seconds and GB/s
 *                                              (--engine: per-chunk statistics on the WebAssembly engine)
 *   npx tsx scripts/bench/sparsity.ts make-sparse FILE GB  header of a GB-sized model, data as a hole (truncate)
 *   npx tsx scripts/bench/sparsity.ts summary FILE         header-only summary, prints milliseconds
 *
 * Compare with numpy over a memory map: /usr/bin/python3 scripts/bench/sparsity_numpy.py FILE
 * Peak memory: /usr/bin/time -v npx tsx scripts/bench/sparsity.ts scan FILE (Maximum resident set size).
 */
import { promises as fs } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { writeSafetensors, type SafetensorsTensorInput } from '../../extension/core/formats/safetensors';
import { scanWeightFile, summarizeWeightFile } from '../../extension/core/sparsity/scan';
import { EngineScanKernel } from '../../extension/engine/scanKernel';

const CONV: number[] = [512, 512, 3, 3];
const LINEAR: number[] = [4096, 4096];

/** Layers adding up to about `gib` GiB of float32: half 3x3 convs, half 4096x4096 linears. */
function layers(gib: number): { name: string; shape: number[] }[] {
  const target = (gib * 2 ** 30) / 4;
  const out: { name: string; shape: number[] }[] = [];
  let total = 0;
  for (let i = 0; total < target / 2; i++) {
    out.push({ name: `features.${i}.conv.weight`, shape: CONV });
    total += 512 * 512 * 9;
  }
  for (let i = 0; total < target; i++) {
    out.push({ name: `classifier.${i}.weight`, shape: LINEAR });
    total += 4096 * 4096;
  }
  return out;
}

/** Values in [-1, 1) with about 30% exact zeros and every 16th filter/row zeroed, xorshift32-generated. */
async function* randomFloats(numel: number, rowLength: number, seed: number): AsyncGenerator<Uint8Array> {
  let state = seed >>> 0 || 1;
  const chunk = 1 << 20;
  for (let done = 0; done < numel; done += chunk) {
    const n = Math.min(chunk, numel - done);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const u = (state >>> 0) / 4294967296;
      const row = Math.floor((done + i) / rowLength);
      values[i] = u < 0.3 || row % 16 === 0 ? 0 : u * 2 - 1.3;
    }
    yield new Uint8Array(values.buffer);
  }
}

async function make(file: string, gib: number): Promise<void> {
  const specs = layers(gib);
  const inputs: SafetensorsTensorInput[] = specs.map((spec, i) => {
    const numel = spec.shape.reduce((a, b) => a * b, 1);
    return { name: spec.name, dtype: 'F32', shape: spec.shape, data: () => randomFloats(numel, numel / spec.shape[0]!, i + 1) };
  });
  await writeSafetensors(file, inputs);
  const stat = await fs.stat(file);
  console.log(`wrote ${file}: ${specs.length} tensors, ${(stat.size / 2 ** 30).toFixed(3)} GiB`);
}

/** Values in [-1, 1) with half of them exact zeros (independently), xorshift32-generated. */
async function* halfZeros(numel: number, seed: number): AsyncGenerator<Uint8Array> {
  let state = seed >>> 0 || 1;
  const chunk = 1 << 20;
  for (let done = 0; done < numel; done += chunk) {
    const values = new Float32Array(Math.min(chunk, numel - done));
    for (let i = 0; i < values.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const u = (state >>> 0) / 4294967296;
      values[i] = u < 0.5 ? 0 : u * 4 - 3;
    }
    yield new Uint8Array(values.buffer);
  }
}

async function makeMatrices(file: string, gib: number): Promise<void> {
  const shape = [16384, 1024];
  const inputs: SafetensorsTensorInput[] = Array.from({ length: Math.max(1, Math.round(16 * gib)) }, (_, i) => ({ name: `layers.${i}.weight`, dtype: 'F32' as const, shape, data: () => halfZeros(16384 * 1024, i + 1) }));
  await writeSafetensors(file, inputs);
  const stat = await fs.stat(file);
  console.log(`wrote ${file}: ${inputs.length} tensors [16384, 1024], ${(stat.size / 2 ** 30).toFixed(3)} GiB`);
}

async function makeTensor(file: string, gib: number): Promise<void> {
  const rows = Math.max(1, Math.round(262144 * gib));
  await writeSafetensors(file, [{ name: 'huge.weight', dtype: 'F32', shape: [rows, 1024], data: () => halfZeros(rows * 1024, 1) }]);
  const stat = await fs.stat(file);
  console.log(`wrote ${file}: one tensor [${rows}, 1024], ${(stat.size / 2 ** 30).toFixed(3)} GiB`);
}

async function makeSparse(file: string, gb: number): Promise<void> {
  // A header describing gb GB of float32 tensors; the data region is a hole made by truncate.
  const header: Record<string, unknown> = {};
  const numel = 4096 * 4096;
  let offset = 0;
  for (let i = 0; offset + numel * 4 <= gb * 1e9; i++) {
    header[`layers.${i}.weight`] = { dtype: 'F32', shape: [4096, 4096], data_offsets: [offset, offset + numel * 4] };
    offset += numel * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  await fs.writeFile(file, Buffer.concat([prefix, Buffer.from(json)]));
  await fs.truncate(file, 8 + json.length + offset);
  console.log(`wrote ${file}: ${(8 + json.length + offset) / 1e9} GB apparent size, header ${json.length} bytes`);
}

async function main(): Promise<void> {
  const [command, file, size] = process.argv.slice(2);
  if (!command || !file) throw new Error('usage: sparsity.ts make|make-matrices|make-tensor|scan|make-sparse|summary FILE [size]');
  if (command === 'make') return make(file, Number(size ?? 1));
  if (command === 'make-sparse') return makeSparse(file, Number(size ?? 10));
  if (command === 'make-matrices') return makeMatrices(file, Number(size ?? 1));
  if (command === 'make-tensor') return makeTensor(file, Number(size ?? 1));
  if (command === 'scan') {
    const bytes = (await fs.stat(file)).size;
    const kernel = process.argv.includes('--engine') ? new EngineScanKernel() : undefined;
    const start = performance.now();
    const cpu = process.cpuUsage();
    const report = await scanWeightFile(file, { histogram: process.argv.includes('--histogram'), ...(kernel ? { kernel } : {}) });
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    console.log(
      `scan${kernel ? ` (engine, ${kernel.variant})` : ' (JavaScript)'}: ${report.tensors.length} tensors, ${report.total.numel} values, sparsity ${report.total.sparsity.toFixed(6)}, ` +
        `${seconds.toFixed(3)} s wall, ${((used.user + used.system) / 1e6).toFixed(3)} s CPU, ${(bytes / seconds / 1e9).toFixed(2)} GB/s`,
    );
    const first = report.tensors[0]!;
    console.log(`first tensor: mean ${first.mean} std ${first.std} min ${first.min} max ${first.max} absMean ${first.absMean} nonzero ${first.numel - first.zeros}`);
    return;
  }
  if (command === 'summary') {
    const start = performance.now();
    const summary = await summarizeWeightFile(file);
    const ms = performance.now() - start;
    console.log(`summary: ${summary.tensors.length} tensors, ${summary.parameters} parameters, ${(summary.fileBytes / 1e9).toFixed(2)} GB, ${ms.toFixed(1)} ms`);
    return;
  }
  throw new Error(`unknown command ${command}`);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
