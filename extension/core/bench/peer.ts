/**
 * Peer benchmark: the same convolution timed through onnxruntime-node, an optional dependency.
 * It runs in a CHILD PROCESS, so a native crash or abort of the runtime cannot take the extension
 * host or the CLI down; the child reports its samples as JSON on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchResult, ConvShape } from '../../shared/payloads';
import { convDirectFlops } from '../conv/reference';
import { encodeConvModel } from './onnxConvModel';
import { summarizeSamples } from './stats';

export interface PeerOptions {
  threads?: number;
  /** Peer warm-up (default 1000 ms). */
  warmupMs?: number;
  budgetMs?: number;
  minIterations?: number;
  maxIterations?: number;
  signal?: AbortSignal;
  /** Input to feed (default: uniform random in [-1, 1)); with returnOutput, for correctness checks. */
  input?: Float32Array;
  returnOutput?: boolean;
  /** Where to resolve onnxruntime-node from (default: this module's location, then the cwd). */
  resolveFrom?: string;
}

export interface PeerTiming {
  name: string;
  msMin: number;
  msMedian: number;
  msP90: number;
  gflops: number;
  iterations: number;
  output?: Float32Array;
}

/** The child's program: plain CommonJS, so it needs neither tsx nor the bundle. */
const CHILD_SOURCE = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const dir = process.argv[1];
const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
(async () => {
  const ort = require(config.ortPath);
  const session = await ort.InferenceSession.create(config.modelPath || path.join(dir, 'model.onnx'), {
    intraOpNumThreads: config.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const count = config.inputDims.reduce((a, b) => a * b, 1);
  let x;
  if (config.hasInput) {
    const bytes = fs.readFileSync(path.join(dir, 'input.f32'));
    x = new Float32Array(bytes.buffer, bytes.byteOffset, count);
  } else {
    x = new Float32Array(count);
    for (let i = 0; i < count; i++) x[i] = Math.random() * 2 - 1;
  }
  const feeds = { [config.inputName || 'X']: new ort.Tensor('float32', x, config.inputDims) };
  let warmupIterations = 0;
  const warmupStart = performance.now();
  do {
    await session.run(feeds);
    warmupIterations++;
  } while (performance.now() - warmupStart < config.warmupMs);
  const samples = [];
  let spent = 0;
  while (samples.length < config.maxIterations && (samples.length < config.minIterations || spent < config.budgetMs)) {
    const start = performance.now();
    await session.run(feeds);
    const elapsed = performance.now() - start;
    samples.push(elapsed);
    spent += elapsed;
  }
  let output;
  if (config.returnOutput) {
    const result = await session.run(feeds);
    output = Buffer.from(result.Y.data.buffer, result.Y.data.byteOffset, result.Y.data.byteLength).toString('base64');
  }
  process.stdout.write(JSON.stringify({ samples, warmupIterations, output }));
})().catch((error) => {
  // The message alone: the parent shows stderr's last lines, and a stack would push it out.
  process.stderr.write(String((error && error.message) || error));
  process.exit(2);
});
`;

/** Said once for a run that asked for the peer when it is not installed. */
export const PEER_NOT_INSTALLED =
  'onnxruntime-node is not installed, so no peer was timed. It is optional; to time it beside the engine: ' +
  'ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node (in this repository, or next to the installed extension)';

/** Path of onnxruntime-node's entry and its version, or undefined when it is not installed. */
export function findOnnxRuntime(resolveFrom?: string): { entry: string; version: string } | undefined {
  const bases = [resolveFrom, __filename, path.join(process.cwd(), 'package.json')].filter((b): b is string => !!b);
  for (const base of bases) {
    try {
      const require = createRequire(base);
      const entry = require.resolve('onnxruntime-node');
      let version = 'unknown';
      try {
        version = (require('onnxruntime-node/package.json') as { version: string }).version;
      } catch {
        // Not every version exports package.json; the name alone will do.
      }
      return { entry, version };
    } catch {
      // Try the next base.
    }
  }
  return undefined;
}

/** Times `Conv(X, weight)` in onnxruntime-node in a child process. Throws when it is not installed or fails. */
export async function runOnnxRuntimePeer(shape: ConvShape, weight: Float32Array, options: PeerOptions = {}): Promise<PeerTiming> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-peer-'));
  try {
    const runtime = findOnnxRuntime(options.resolveFrom);
    if (!runtime) throw new Error(PEER_NOT_INSTALLED);
    writeFileSync(path.join(dir, 'model.onnx'), encodeConvModel(shape, weight));
    if (options.input) {
      const expected = shape.N * shape.C * shape.H * shape.W;
      if (options.input.length !== expected) throw new Error(`peer input has ${options.input.length} values, expected ${expected}`);
      writeFileSync(path.join(dir, 'input.f32'), new Uint8Array(options.input.buffer, options.input.byteOffset, options.input.byteLength));
    }
    return await timeInChild(dir, runtime, { inputDims: [shape.N, shape.C, shape.H, shape.W], hasInput: !!options.input }, convDirectFlops(shape), options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Times a whole ONNX model file end to end in onnxruntime-node (random input in [-1, 1) of
 * `inputDims` fed to `inputName`), in a child process; `flops` gives the GFLOP/s figure.
 */
export async function runOnnxRuntimeModel(file: string, inputName: string, inputDims: number[], flops: number, options: Omit<PeerOptions, 'input' | 'returnOutput'> = {}): Promise<PeerTiming> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-peer-'));
  try {
    const runtime = findOnnxRuntime(options.resolveFrom);
    if (!runtime) throw new Error(PEER_NOT_INSTALLED);
    return await timeInChild(dir, runtime, { modelPath: path.resolve(file), inputName, inputDims, hasInput: false }, flops, options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function timeInChild(
  dir: string,
  runtime: { entry: string; version: string },
  model: { modelPath?: string; inputName?: string; inputDims: number[]; hasInput: boolean },
  flops: number,
  options: PeerOptions,
): Promise<PeerTiming> {
  const threads = options.threads ?? 1;
  const warmupMs = options.warmupMs ?? 1000;
  const budgetMs = options.budgetMs ?? 2000;
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      ortPath: runtime.entry,
      threads,
      warmupMs,
      budgetMs,
      minIterations: options.minIterations ?? 3,
      maxIterations: options.maxIterations ?? 10000,
      ...model,
      returnOutput: !!options.returnOutput,
    }),
  );
  // Generous: a slow first session creation plus warm-up and budget, then the last run.
  const timeoutMs = 60_000 + 3 * (warmupMs + budgetMs);
  const stdout = await runChild(dir, timeoutMs, options.signal);
  const report = JSON.parse(stdout) as { samples: number[]; output?: string };
  const stats = summarizeSamples(report.samples);
  const timing: PeerTiming = {
    name: `onnxruntime-node ${runtime.version} (${threads} thread${threads === 1 ? '' : 's'})`,
    ...stats,
    gflops: flops / (stats.msMedian * 1e6),
    iterations: report.samples.length,
  };
  if (report.output !== undefined) {
    const bytes = Buffer.from(report.output, 'base64');
    timing.output = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  return timing;
}

function runChild(dir: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD_SOURCE, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    let why: string | undefined;
    const timer = setTimeout(() => {
      why = `timed out after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    const onAbort = (): void => {
      why = 'cancelled';
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(new Error(`onnxruntime-node peer could not start: ${error.message}`));
    });
    child.on('close', (code, killedBy) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (code === 0) {
        resolve(Buffer.concat(out).toString('utf8'));
        return;
      }
      const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-5).join('\n');
      const how = why ?? (killedBy ? `was killed by ${killedBy}` : `exited with code ${code}`);
      const error = new Error(`onnxruntime-node peer ${how}${stderr ? `: ${stderr}` : ''}`);
      if (why === 'cancelled') error.name = 'AbortError';
      reject(error);
    });
  });
}

/** The peer field of a BenchResult, with the peer output's max abs error against the reference when one was computed. */
export function peerField(timing: PeerTiming, maxAbsErr?: number): NonNullable<BenchResult['peer']> {
  return { name: timing.name, msMedian: timing.msMedian, msMin: timing.msMin, gflops: timing.gflops, ...(maxAbsErr === undefined ? {} : { maxAbsErr }) };
}
