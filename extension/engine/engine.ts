/**
 * TypeScript wrapper around one instance of the Deep Accel WebAssembly engine.
 *
 * Memory model. The module imports one SHARED WebAssembly.Memory and keeps no state of its own in it,
 * so any number of instances (one per worker thread) can run over the same memory. All allocation is
 * host-side: the thread that owns the memory allocates tensors with a bump {@link Arena} and builds a
 * {@link ConvPlan}. A plan's {@link ConvPlanDescriptor} is plain data (numbers and strings): post it
 * with the Module and the Memory to workers, build an {@link Engine} there with
 * `Engine.instantiate(module, memory)`, and call {@link Engine.runPart} with a private scratch area.
 *
 * Threading contract, per plan:
 *  1. once, on the owning thread: `plan.setWeights(w, bias)` (packs / transforms the weights) and
 *     `plan.setInput(x)` (writes NCHW, then converts to the plan's layout: `writeInput` +
 *     `convertInput` when the conversion is timed apart);
 *  2. for each phase in `descriptor.phases`, in order: split [0, phase.units) into ranges and call
 *     `engine.runPart(descriptor, phaseIndex, begin, end, scratchPtr)` on any instance; ranges write
 *     disjoint outputs; each concurrent caller needs its own scratch area of
 *     `descriptor.scratchBytes` (from `plan.allocateScratch(threads)`); wait for all before the next phase;
 *  3. `plan.readOutput()` (converts back to NCHW and copies out).
 *
 * Algorithms (all fp32, cross-correlation, groups = 1; every plan has one phase today, but callers
 * must loop over `descriptor.phases`). "Setup" is what `setWeights` does once per plan; "unit" is what
 * one index of runPart's [begin, end) covers; scratch is per concurrent caller.
 *  - im2col (nchw, nhwc): setup packs W into depth-block-major GEMM panels. Unit = (image, pixel chunk,
 *    output-channel chunk). Scratch: one packed im2col depth block (KC x chunk floats).
 *  - direct (nchw4c, nchw8c, nchw16c): setup packs W as [K/8][C/Bi][R][S][Bi][8] (Bi from
 *    directInputBlock(C), independent of the layout). Unit = (image, block of output rows). Scratch: the
 *    block's input rows in blocks of Bi channels, zero-padded left and right (at most ~2 MiB; more units
 *    when larger). Any kernel, stride, pad.
 *  - winograd-2x3/4x3/6x3/7x3 (nchw; 3x3 stride 1) and winograd-4x3s2/7x3s2 (nchw; 3x3 stride 2,
 *    alpha = 2m + 1 = 9 or 15, from F(m, 2): core/winograd/strided.ts): setup computes U = G g G^T
 *    (fp64, matrices from the generator) packed per (xi, nu). Unit = (image, chunk of TB output tiles, output-channel
 *    chunk). Scratch: alpha^2 (C + chunk K) TB floats (transformed input and GEMM output of the chunk).
 *  - fft (nchw; stride 1, kernels up to 16x16): setup computes the filters' T x (T/2+1) spectra (fp64).
 *    Unit = (image, chunk of tiles, output-channel chunk). Scratch: bins (2C + 2 chunk K) TB floats.
 *  - strassen (nchw): setup stores W row-major, zero-padded. Unit = (image, pixel chunk). Scratch:
 *    im2col block, product block and the recursion's temporaries.
 * `plan.realFlops` counts what the algorithm computes (transforms, padding, Strassen additions);
 * `plan.directFlops` = 2 N K C R S P Q, the numerator of effective GFLOP/s; `plan.workspaceBytes(t)`
 * counts packed weights, layout copies and t scratch areas.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ConvAlgorithm, ConvLayout, ConvShape } from '../shared/payloads';
import { convDirectFlops, convOutputSize, validateConvShape } from '../core/conv/reference';
import { generateMatrices } from '../core/winograd/index';
import { generateStride2Matrices } from '../core/winograd/strided';

export type EngineVariant = 'simd' | 'relaxed';

/** WebAssembly page size in bytes. */
export const WASM_PAGE_BYTES = 65536;
/** Must equal asconfig.json maximumMemory: a memory with a larger maximum does not link. */
export const ENGINE_MAX_PAGES = 16384;
/** Bytes at the bottom of memory never handed out, so that address 0 can mean "none". */
const RESERVED_LOW_BYTES = WASM_PAGE_BYTES;
const ALIGN = 64;

// ---------------------------------------------------------------------------------------------
// Locating, validating and instantiating the module
// ---------------------------------------------------------------------------------------------

/**
 * Directory holding deep-accel.{simd,relaxed}.wasm: `dist/engine` next to a bundled `dist/*.js`, or
 * `<repo>/dist/engine` when running from TypeScript sources (tsx, tests).
 */
export function engineWasmDir(): string {
  const candidates = [
    join(__dirname, 'engine'), // bundled: __dirname is dist/
    resolve(__dirname, '..', '..', 'dist', 'engine'), // sources: extension/engine/
    resolve(__dirname, '..', 'dist', 'engine'),
    resolve(process.cwd(), 'dist', 'engine'),
  ];
  for (const dir of candidates) {
    if (existsSync(join(dir, 'deep-accel.simd.wasm'))) return dir;
  }
  throw new Error(
    `engine: deep-accel.simd.wasm not found (looked in ${candidates.join(', ')}); run 'node scripts/buildEngine.mjs'`,
  );
}

export function engineWasmPath(variant: EngineVariant, dir = engineWasmDir()): string {
  return join(dir, `deep-accel.${variant}.wasm`);
}

const bytesCache = new Map<string, Uint8Array<ArrayBuffer>>();
function readWasm(path: string): Uint8Array<ArrayBuffer> {
  let bytes = bytesCache.get(path);
  if (!bytes) {
    bytes = new Uint8Array(readFileSync(path));
    bytesCache.set(path, bytes);
  }
  return bytes;
}

/**
 * 'relaxed' when this runtime validates the relaxed-SIMD build (Electron; Node 20 only with
 * --experimental-wasm-relaxed-simd), else 'simd'.
 */
export function detectEngineVariant(dir?: string): EngineVariant {
  const relaxed = engineWasmPath('relaxed', dir ?? engineWasmDir());
  return existsSync(relaxed) && WebAssembly.validate(readWasm(relaxed)) ? 'relaxed' : 'simd';
}

const moduleCache = new Map<string, WebAssembly.Module>();

/** The compiled module of a variant ('auto' = {@link detectEngineVariant}); cached per file. */
export function loadEngineModule(variant: EngineVariant | 'auto' = 'auto', dir?: string): {
  module: WebAssembly.Module;
  variant: EngineVariant;
} {
  const wasmDir = dir ?? engineWasmDir();
  const chosen = variant === 'auto' ? detectEngineVariant(wasmDir) : variant;
  const path = engineWasmPath(chosen, wasmDir);
  let module = moduleCache.get(path);
  if (!module) {
    const bytes = readWasm(path);
    if (!WebAssembly.validate(bytes)) {
      throw new Error(
        `engine: ${path} does not validate in this runtime` +
          (chosen === 'relaxed' ? ' (relaxed SIMD needs --experimental-wasm-relaxed-simd on Node 20)' : ''),
      );
    }
    module = new WebAssembly.Module(bytes);
    moduleCache.set(path, module);
  }
  return { module, variant: chosen };
}

/** A new shared memory the engine can import. */
export function createEngineMemory(initialBytes = 16 * WASM_PAGE_BYTES): WebAssembly.Memory {
  const initial = Math.max(2, Math.ceil(initialBytes / WASM_PAGE_BYTES));
  if (initial > ENGINE_MAX_PAGES) {
    throw new Error(`engine: ${initialBytes} bytes exceed the engine's ${ENGINE_MAX_PAGES * WASM_PAGE_BYTES}-byte memory`);
  }
  return new WebAssembly.Memory({ initial, maximum: ENGINE_MAX_PAGES, shared: true });
}

// ---------------------------------------------------------------------------------------------
// Arena allocator over the shared memory (used only by the owning thread)
// ---------------------------------------------------------------------------------------------

/** Bump allocator; `mark()`/`release(mark)` free in LIFO order. Grows the memory on demand. */
export class Arena {
  private top = RESERVED_LOW_BYTES;

  constructor(readonly memory: WebAssembly.Memory) {}

  /** Address of `bytes` fresh bytes aligned to 64 (zero-filled when `zero`). */
  alloc(bytes: number, what = 'buffer', zero = false): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`engine: bad size ${bytes} for ${what}`);
    const start = Math.ceil(this.top / ALIGN) * ALIGN;
    const end = start + Math.max(bytes, 1);
    const limit = ENGINE_MAX_PAGES * WASM_PAGE_BYTES;
    if (end > limit) {
      throw new Error(
        `engine: out of memory allocating ${what} (${bytes} bytes; ${start} in use, limit ${limit} bytes)`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / WASM_PAGE_BYTES));
    this.top = end;
    if (zero) new Uint8Array(this.memory.buffer, start, bytes).fill(0);
    return start;
  }

  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    if (mark < RESERVED_LOW_BYTES || mark > this.top) throw new Error(`engine: bad arena mark ${mark}`);
    this.top = mark;
  }

  get used(): number {
    return this.top - RESERVED_LOW_BYTES;
  }
}

// ---------------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------------

/** Slots of the 32 x i32 plan block; mirrors extension/engine/assembly/params.ts. */
export const PLAN_SLOT = {
  N: 0, C: 1, H: 2, W: 3, K: 4, R: 5, S: 6, stride: 7, pad: 8, P: 9, Q: 10,
  input: 11, output: 12, weights: 13, bias: 14,
  colChunk: 15, colChunks: 16, rowChunk: 17, rowChunks: 18, kc: 19,
  x0: 20, x1: 21, x2: 22, x3: 23, x4: 24, x5: 25, x6: 26, x7: 27,
} as const;
const PLAN_BLOCK_BYTES = 128;

/** One parallel phase of a plan: units [0, units) split across callers, outputs disjoint. */
export interface PlanPhase {
  /** Exported kernel run by runPart. */
  kernel: string;
  units: number;
  /** What one unit is, for logs and docs. */
  unit: string;
}

/** Everything a worker needs to run its share of a plan. Plain data: structured-clone safe. */
export interface ConvPlanDescriptor {
  algo: ConvAlgorithm;
  layout: ConvLayout;
  shape: ConvShape;
  P: number;
  Q: number;
  /** Address of the plan block the kernels read. */
  planPtr: number;
  /** Bytes of private scratch each concurrent runPart caller needs. */
  scratchBytes: number;
  phases: PlanPhase[];
}

export type AppliesResult = { ok: true } | { ok: false; reason: string };

export interface PlanOptions {
  /** Threads the plan will be split across; shapes the work units (default 1). */
  threads?: number;
  /** Reserve a bias vector (default true). */
  bias?: boolean;
  /**
   * strassen only: recurse while every dimension of the halves stays >= this (default
   * STRASSEN_DEFAULT_CUTOFF); below it the product runs on the packed SGEMM.
   */
  strassenCutoff?: number;
}

/** Per-algorithm planning: chosen block sizes and the work split. */
interface AlgorithmPlan {
  kernel: string;
  units: number;
  unit: string;
  slots: Partial<Record<keyof typeof PLAN_SLOT, number>>;
  scratchBytes: number;
  /** Bytes of the packed / transformed weights. */
  weightBytes: number;
  realFlops: number;
  /** Fills the packed weights from OIHW weights (host side, fp64 where it matters). */
  packWeights?: (weights: Float32Array, packed: Float32Array) => void;
  /** Or: a kernel that packs/transforms weights (plan, raw OIHW ptr, scratch). */
  weightKernel?: string;
  /** Strassen recursion levels chosen (strassen only). */
  levels?: number;
}

interface AlgorithmSpec {
  layouts: readonly ConvLayout[];
  applies?: (shape: ConvShape) => string | undefined;
  plan: (shape: ConvShape, layout: ConvLayout, threads: number, engine: Engine, options: PlanOptions) => AlgorithmPlan;
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
const roundUp = (a: number, b: number): number => ceilDiv(a, b) * b;

/**
 * Work units each image should at least be cut into: none for one thread (splitting only re-reads the
 * weights), else two per thread so that uneven units still balance.
 */
function minUnitsPerImageFor(threads: number, N: number): number {
  return threads === 1 ? 1 : ceilDiv(2 * threads, N);
}

/** Depth block: at most `max`, blocks of equal size. */
function depthBlock(depth: number, max = 256): number {
  return ceilDiv(depth, ceilDiv(depth, max));
}

/**
 * Packs a rows x depth operand (element get(row, k)) into depth-block-major panels of `lanes` rows:
 * [depth block of kcBlock][panel][kc][lanes], rows padded with zeros to a multiple of lanes. This is
 * the layout the kernels read pre-packed weights in (see gemmPacked in assembly/gemm.ts).
 */
function packPanels(
  rows: number, depth: number, lanes: number, kcBlock: number,
  get: (row: number, k: number) => number, out: Float32Array, base = 0,
): void {
  const rowsPad = roundUp(rows, lanes);
  for (let k0 = 0; k0 < depth; k0 += kcBlock) {
    const kc = Math.min(kcBlock, depth - k0);
    const block = base + k0 * rowsPad;
    for (let row = 0; row < rows; row++) {
      const start = block + Math.floor(row / lanes) * kc * lanes + (row % lanes);
      for (let kk = 0; kk < kc; kk++) out[start + kk * lanes] = get(row, k0 + kk);
    }
  }
}

/**
 * Splits `extent` into chunks (multiples of `multiple`, at most `maxChunk`) so that there are at least
 * `minUnits` chunks when the extent allows it.
 */
function chunking(extent: number, multiple: number, maxChunk: number, minUnits: number): { chunk: number; chunks: number } {
  let chunk = Math.min(roundUp(extent, multiple), Math.max(multiple, Math.floor(maxChunk / multiple) * multiple));
  const wanted = Math.max(1, minUnits);
  if (ceilDiv(extent, chunk) < wanted) chunk = Math.max(multiple, roundUp(ceilDiv(extent, wanted), multiple));
  return { chunk, chunks: ceilDiv(extent, chunk) };
}

function parseRational(text: string): number {
  const match = /^\s*(-?\d+)(?:\s*\/\s*(\d+))?\s*$/.exec(text);
  if (!match) throw new Error(`engine: cannot parse Winograd matrix entry "${text}"`);
  return Number(match[1]) / Number(match[2] ?? '1');
}

const winogradGCache = new Map<string, number[][]>();
/**
 * G of the engine's Winograd variant (F(m, 3), or the stride-2 algorithm from F(4, 2)) from the
 * project's generator: the same source the generated input/output transforms use.
 */
function winogradG(m: number, stride: 1 | 2): number[][] {
  const key = `${m}s${stride}`;
  let G = winogradGCache.get(key);
  if (!G) {
    const matrices = stride === 1 ? generateMatrices(m, 3) : generateStride2Matrices(m);
    G = matrices.G.map((row) => row.map(parseRational));
    winogradGCache.set(key, G);
  }
  return G;
}

/** Bytes of per-unit working set a Winograd unit aims for (V and M buffers), about half of L2. */
const WINOGRAD_UNIT_TARGET_BYTES = 640 * 1024;
/** Fewest output channels per Winograd work unit when a layer is split for several threads. */
const WINOGRAD_MIN_K_CHUNK = 64;

/**
 * Winograd with m x m output tiles: F(m x m, 3 x 3) for stride 1 (alpha = m + 2), or, for stride 2,
 * the algorithm nesting F(m, 2) on the even input samples with plain products on the odd ones
 * (alpha = 2m + 1: 9 for m = 4, 15 for m = 7; see extension/core/winograd/strided.ts).
 */
function winogradSpec(m: 2 | 4 | 6 | 7, stride: 1 | 2 = 1): AlgorithmSpec {
  const alpha = stride === 1 ? m + 2 : 2 * m + 1;
  const name = stride === 1 ? `winograd-${m}x3` : `winograd-${m}x3s2`;
  const flopsId = stride === 1 ? `${m}` : `${m}S2`;
  return {
    layouts: ['nchw'],
    applies: (shape) =>
      shape.R === 3 && shape.S === 3 && shape.stride === stride
        ? undefined
        : `${name} needs a 3x3 kernel with stride ${stride}, got ${shape.R}x${shape.S} stride ${shape.stride}`,
    plan: (shape, _layout, threads, engine) => {
      const { N, C, K } = shape;
      const { P, Q } = convOutputSize(shape);
      const tilesY = ceilDiv(P, m);
      const tilesX = ceilDiv(Q, m);
      const tiles = tilesX * tilesY;
      const alpha2 = alpha * alpha;
      const { MR, NR } = engine;
      const minUnitsPerImage = minUnitsPerImageFor(threads, N);
      const perTileBytes = alpha2 * (C + K) * 4;
      let maxTB = Math.min(64, Math.max(NR, Math.floor(WINOGRAD_UNIT_TARGET_BYTES / perTileBytes / NR) * NR));
      // Every tile chunk streams all of U (alpha^2 K C floats); when U outweighs the chunk's own data,
      // take all tiles at once so that U is read once.
      if (alpha2 * K * C * 4 > 4 * perTileBytes * maxTB) maxTB = Math.min(256, roundUp(tiles, NR));
      const cols = chunking(tiles, NR, maxTB, minUnitsPerImage);
      // Every output-channel chunk of a tile chunk repeats that chunk's input transform, so chunks keep
      // at least WINOGRAD_MIN_K_CHUNK channels even if fewer units than asked for result (the input
      // transform of F(7,3) costs a quarter of the GEMM at 16 channels per chunk).
      const kSplits = Math.min(ceilDiv(minUnitsPerImage, cols.chunks), Math.max(1, Math.floor(K / WINOGRAD_MIN_K_CHUNK)));
      const rows = chunking(K, MR, K, kSplits);
      const Kpad = roundUp(K, MR);
      const kc = depthBlock(C);
      const inputFlops = engine.constant(`WINOGRAD${flopsId}_INPUT_FLOPS`);
      const outputFlops = engine.constant(`WINOGRAD${flopsId}_OUTPUT_FLOPS`);
      return {
        kernel: 'convWinograd',
        units: N * cols.chunks * rows.chunks,
        unit: `(image, ${cols.chunk}-tile chunk, ${rows.chunk}-output-channel chunk)`,
        slots: {
          colChunk: cols.chunk, colChunks: cols.chunks, rowChunk: rows.chunk, rowChunks: rows.chunks,
          kc, x0: m, x1: alpha, x2: tilesY, x3: tilesX,
        },
        scratchBytes:
          engine.constant('WINOGRAD_FIXED_SCRATCH') +
          alpha2 * ((C + rows.chunk) * cols.chunk * 4 + 2 * engine.constant('PANEL_BUFFER_SKEW')),
        weightBytes: alpha2 * Kpad * C * 4,
        realFlops: N * tiles * (2 * alpha2 * K * C + C * inputFlops + K * outputFlops),
        packWeights: (w, packed) => {
          // U = G g GT in fp64, rounded once to fp32; per (xi, nu) a depth-block-major A operand.
          const G = winogradG(m, stride);
          const U = new Float64Array(alpha2 * K * C);
          const Gg = new Float64Array(alpha * 3);
          for (let k = 0; k < K; k++) {
            for (let c = 0; c < C; c++) {
              const g = (k * C + c) * 9;
              for (let i = 0; i < alpha; i++) {
                for (let j = 0; j < 3; j++) {
                  Gg[i * 3 + j] = G[i][0] * w[g + j] + G[i][1] * w[g + 3 + j] + G[i][2] * w[g + 6 + j];
                }
              }
              for (let i = 0; i < alpha; i++) {
                for (let j = 0; j < alpha; j++) {
                  U[((i * alpha + j) * K + k) * C + c] = Gg[i * 3] * G[j][0] + Gg[i * 3 + 1] * G[j][1] + Gg[i * 3 + 2] * G[j][2];
                }
              }
            }
          }
          for (let e = 0; e < alpha2; e++) {
            packPanels(K, C, MR, kc, (k, c) => U[(e * K + k) * C + c], packed, e * Kpad * C);
          }
        },
      };
    },
  };
}

const DIRECT_LAYOUTS = ['nchw4c', 'nchw8c', 'nchw16c'] as const;

/** Bytes of padded input rows one direct-convolution unit may copy into its scratch, at most. */
const DIRECT_MAX_ROWS_BYTES = 2 * 2 ** 20;

/**
 * Input channels per block of the direct kernels' padded input copy: the kernels' inner loop runs
 * S * Bi steps per (block, kernel row), so small blocks pay the outer loops' overhead more often, large
 * ones pad C further. Cost model: ceil(C / Bi) blocks of Bi + 2 steps' worth each (the overhead
 * measured on the ResNet-18 layers, S = 3: Bi = 4 ~20% slower than 8 or 16).
 */
export function directInputBlock(C: number): number {
  let best = 16;
  for (const Bi of [16, 8, 4]) if (ceilDiv(C, Bi) * (Bi + 2) < ceilDiv(C, best) * (best + 2)) best = Bi;
  return best;
}

const directSpec: AlgorithmSpec = {
  layouts: DIRECT_LAYOUTS,
  plan: (shape, layout, threads, engine) => {
    const { N, C, H, K, R, S, stride } = shape;
    const { P, Q } = convOutputSize(shape);
    const B = blockOfLayout(layout);
    const Bi = directInputBlock(C);
    // Output channels per kernel call.
    const KO = engine.constant('DIRECT_OUT_CHANNELS');
    const CBi = ceilDiv(C, Bi);
    const groups = ceilDiv(K, KO);
    // A unit copies the input rows of its output rows, zero-padded to every column they read.
    const paddedRowBytes = CBi * ((Q - 1) * stride + S) * Bi * 4;
    const spanOf = (rows: number): number => Math.min(H, (rows - 1) * stride + R);
    const maxRows = Math.max(1, Math.floor((Math.floor(DIRECT_MAX_ROWS_BYTES / paddedRowBytes) - R) / stride) + 1);
    const rows = chunking(P, 1, maxRows, minUnitsPerImageFor(threads, N));
    return {
      kernel: 'convDirectBlocked',
      units: N * rows.chunks,
      unit: `(image, ${rows.chunk}-output-row block)`,
      slots: { x0: B, x1: Bi, rowChunk: rows.chunk, rowChunks: rows.chunks },
      scratchBytes: spanOf(rows.chunk) * paddedRowBytes + 64,
      weightBytes: groups * CBi * R * S * Bi * KO * 4,
      realFlops: convDirectFlops(shape),
      packWeights: (w, packed) => {
        // [K/KO][C/Bi][R][S][Bi ci][KO ko]: for each input channel, the KO output channels' weights are
        // one contiguous run of f32x4 vectors.
        for (let k = 0; k < K; k++) {
          const g = Math.floor(k / KO);
          const ko = k % KO;
          for (let c = 0; c < C; c++) {
            const cb = Math.floor(c / Bi);
            const ci = c % Bi;
            for (let r = 0; r < R; r++) {
              for (let s = 0; s < S; s++) {
                packed[((((g * CBi + cb) * R + r) * S + s) * Bi + ci) * KO + ko] = w[((k * C + c) * R + r) * S + s];
              }
            }
          }
        }
      },
    };
  },
};

/** Smallest FFT tile edge for a kernel: the smallest power of two >= 2 max(R, S), at least 8. */
function fftMinTileSize(shape: ConvShape): number {
  let T = 8;
  while (T < 2 * Math.max(shape.R, shape.S)) T *= 2;
  return T;
}
const FFT_MAX_TILE = 32;
const FFT_MAX_WEIGHT_BYTES = 512 * 2 ** 20;
/** Larger tiles are taken only while their transformed weights stay about cache-sized. */
const FFT_LARGER_TILE_WEIGHT_BYTES = 16 * 2 ** 20;

function fftWeightBytes(shape: ConvShape, T: number, MR: number): number {
  return T * (T / 2 + 1) * roundUp(2 * shape.K, MR) * 2 * shape.C * 4;
}

/** Flops of the tiled FFT convolution with tile edge T: forward FFTs, per-bin complex MACs, inverse FFTs. */
function fftFlopsFor(shape: ConvShape, T: number): number {
  const { P, Q } = convOutputSize(shape);
  const half = T / 2 + 1;
  const tiles = ceilDiv(P, T - shape.R + 1) * ceilDiv(Q, T - shape.S + 1);
  const fftFlops = (T + half) * 5 * T * Math.log2(T);
  return shape.N * tiles * (shape.C * fftFlops + T * half * 8 * shape.K * shape.C + shape.K * fftFlops);
}

/**
 * FFT tile edge: the power of two (from the smallest that fits the kernel up to 32) with the fewest
 * flops, larger than the smallest only while its transformed weights stay within
 * FFT_LARGER_TILE_WEIGHT_BYTES (bigger spectra stream from memory on every tile chunk).
 */
function fftTileSize(shape: ConvShape): number {
  let best = fftMinTileSize(shape);
  for (let T = best * 2; T <= FFT_MAX_TILE; T *= 2) {
    if (fftWeightBytes(shape, T, 4) > FFT_LARGER_TILE_WEIGHT_BYTES) break;
    if (fftFlopsFor(shape, T) < fftFlopsFor(shape, best)) best = T;
  }
  return best;
}

const fftSpec: AlgorithmSpec = {
  layouts: ['nchw'],
  applies: (shape) => {
    if (shape.stride !== 1) return `fft needs stride 1, got stride ${shape.stride}`;
    const T = fftMinTileSize(shape);
    if (T > FFT_MAX_TILE) return `fft supports kernels up to 16x16, got ${shape.R}x${shape.S}`;
    const bytes = fftWeightBytes(shape, T, 4);
    if (bytes > FFT_MAX_WEIGHT_BYTES) {
      return `fft would need ${(bytes / 2 ** 20).toFixed(0)} MiB of transformed weights (limit ${FFT_MAX_WEIGHT_BYTES / 2 ** 20} MiB)`;
    }
    return undefined;
  },
  plan: (shape, _layout, threads, engine) => {
    const { N, C, K, R, S } = shape;
    const { P, Q } = convOutputSize(shape);
    const { MR, NR } = engine;
    const T = fftTileSize(shape);
    const half = T / 2 + 1;
    const bins = T * half;
    const mY = T - R + 1;
    const mX = T - S + 1;
    const tilesY = ceilDiv(P, mY);
    const tilesX = ceilDiv(Q, mX);
    const tiles = tilesX * tilesY;
    const minUnitsPerImage = minUnitsPerImageFor(threads, N);
    const perTileBytes = bins * (2 * C + 2 * K) * 4;
    const maxTB = Math.min(64, Math.max(NR, Math.floor((1024 * 1024) / perTileBytes / NR) * NR));
    const cols = chunking(tiles, NR, maxTB, minUnitsPerImage);
    // Row chunks count output channels; 2 rows each, so an even count keeps panels aligned to MR = 4.
    const rows = chunking(K, 2, K, ceilDiv(minUnitsPerImage, cols.chunks));
    const depth = 2 * C;
    const kc = depthBlock(depth);
    const rowsPad = roundUp(2 * K, MR);
    const packedBytes = fftWeightBytes(shape, T, MR);
    return {
      kernel: 'convFft',
      units: N * cols.chunks * rows.chunks,
      unit: `(image, ${cols.chunk}-tile chunk, ${rows.chunk}-output-channel chunk)`,
      slots: {
        colChunk: cols.chunk, colChunks: cols.chunks, rowChunk: rows.chunk, rowChunks: rows.chunks,
        kc, x0: T, x1: tilesY, x2: tilesX, x3: packedBytes,
      },
      scratchBytes:
        engine.constant('FFT_FIXED_SCRATCH') +
        bins * ((2 * C + 2 * rows.chunk) * cols.chunk * 4 + 2 * engine.constant('PANEL_BUFFER_SKEW')),
      weightBytes: packedBytes + (T / 2) * 8,
      realFlops: fftFlopsFor(shape, T),
      packWeights: (w, packed) => {
        // Wf[a][b] = sum_{r,s} w[r][s] exp(-2 pi i (a r + b s) / T) in fp64; per bin a real GEMM operand
        // with rows (re k, im k) and depth (re c, im c): [[Wr, Wi], [-Wi, Wr]] applies conj(Wf).
        const cosTable = Float64Array.from({ length: T }, (_, j) => Math.cos((2 * Math.PI * j) / T));
        const sinTable = Float64Array.from({ length: T }, (_, j) => Math.sin((2 * Math.PI * j) / T));
        const spectrum = new Float64Array(bins * K * C * 2);
        for (let k = 0; k < K; k++) {
          for (let c = 0; c < C; c++) {
            const base = (k * C + c) * R * S;
            for (let a = 0; a < T; a++) {
              for (let b = 0; b < half; b++) {
                let sumRe = 0;
                let sumIm = 0;
                for (let r = 0; r < R; r++) {
                  for (let s = 0; s < S; s++) {
                    const phase = (a * r + b * s) % T;
                    const value = w[base + r * S + s];
                    sumRe += value * cosTable[phase];
                    sumIm -= value * sinTable[phase];
                  }
                }
                const at = (((a * half + b) * K + k) * C + c) * 2;
                spectrum[at] = sumRe;
                spectrum[at + 1] = sumIm;
              }
            }
          }
        }
        for (let f = 0; f < bins; f++) {
          packPanels(2 * K, depth, MR, kc, (row, d) => {
            const at = ((f * K + (row >> 1)) * C + (d >> 1)) * 2;
            const wr = spectrum[at];
            const wi = spectrum[at + 1];
            if ((row & 1) === 0) return (d & 1) === 0 ? wr : wi;
            return (d & 1) === 0 ? -wi : wr;
          }, packed, f * rowsPad * depth);
        }
        const twiddles = packedBytes / 4;
        for (let j = 0; j < T / 2; j++) {
          packed[twiddles + 2 * j] = cosTable[j];
          packed[twiddles + 2 * j + 1] = sinTable[j];
        }
      },
    };
  },
};

/** Strassen recursion stops when a dimension would drop below this (default of PlanOptions.strassenCutoff). */
export const STRASSEN_DEFAULT_CUTOFF = 64;

function strassenWorkspace(levels: number, m: number, k: number, n: number, MR: number, NR: number, tileTmp: number): number {
  if (levels === 0) return (roundUp(m, MR) * k + roundUp(n, NR) * k) * 4 + tileTmp;
  const [m2, k2, n2] = [m / 2, k / 2, n / 2];
  return (4 * m2 * k2 + 4 * k2 * n2 + 7 * m2 * n2) * 4 + strassenWorkspace(levels - 1, m2, k2, n2, MR, NR, tileTmp);
}

/** Flops of Strassen-Winograd: 7 products per level, 15 quarter-size additions per level. */
function strassenFlops(levels: number, m: number, k: number, n: number): number {
  if (levels === 0) return 2 * m * k * n;
  const [m2, k2, n2] = [m / 2, k / 2, n / 2];
  return 4 * m2 * k2 + 4 * k2 * n2 + 7 * m2 * n2 + 7 * strassenFlops(levels - 1, m2, k2, n2);
}

const strassenSpec: AlgorithmSpec = {
  layouts: ['nchw'],
  plan: (shape, _layout, threads, engine, options) => {
    const { N, C, K, R, S } = shape;
    const { P, Q } = convOutputSize(shape);
    const PQ = P * Q;
    const D = C * R * S;
    const cutoff = options.strassenCutoff ?? STRASSEN_DEFAULT_CUTOFF;
    if (!Number.isInteger(cutoff) || cutoff < 1) throw new Error(`engine: strassenCutoff must be a positive integer, got ${cutoff}`);
    const cols = chunking(PQ, engine.NR, 1024, minUnitsPerImageFor(threads, N));
    let levels = 0;
    while (Math.min(K, D, cols.chunk) / 2 ** (levels + 1) >= cutoff) levels++;
    const unit = 2 ** levels;
    const [Kp, Dp, NCp] = [roundUp(K, unit), roundUp(D, unit), roundUp(cols.chunk, unit)];
    const kc = depthBlock(Dp / unit);
    return {
      kernel: 'convStrassen',
      units: N * cols.chunks,
      unit: `(image, ${cols.chunk}-pixel chunk)`,
      slots: { colChunk: cols.chunk, colChunks: cols.chunks, kc, x0: levels, x1: Kp, x2: Dp, x3: NCp },
      scratchBytes: (Dp * NCp + Kp * NCp) * 4 + strassenWorkspace(levels, Kp, Dp, NCp, engine.MR, engine.NR, engine.tileTmpBytes),
      weightBytes: Kp * Dp * 4,
      realFlops: N * cols.chunks * strassenFlops(levels, Kp, Dp, NCp),
      // Row-major K x D, zero-padded to Kp x Dp.
      packWeights: (w, packed) => {
        for (let k = 0; k < K; k++) packed.set(w.subarray(k * D, (k + 1) * D), k * Dp);
      },
      levels,
    };
  },
};

const ALGORITHMS: Record<ConvAlgorithm, AlgorithmSpec | undefined> = {
  im2col: {
    layouts: ['nchw', 'nhwc'],
    plan: (shape, layout, threads, engine) => {
      const { MR, NR } = engine;
      const { N, C, K, R, S } = shape;
      const { P, Q } = convOutputSize(shape);
      const PQ = P * Q;
      const depth = C * R * S;
      const kc = depthBlock(depth);
      const realFlops = convDirectFlops(shape);
      const minUnitsPerImage = minUnitsPerImageFor(threads, N);
      if (layout === 'nchw') {
        // Columns = pixels (B panels built by im2col), rows = output channels (pre-packed A panels).
        const cols = chunking(PQ, NR, 384, minUnitsPerImage);
        const rows = chunking(K, MR, K, ceilDiv(minUnitsPerImage, cols.chunks));
        return {
          kernel: 'convIm2colNchw',
          units: N * cols.chunks * rows.chunks,
          unit: `(image, ${cols.chunk}-pixel chunk, ${rows.chunk}-output-channel chunk)`,
          slots: { colChunk: cols.chunk, colChunks: cols.chunks, rowChunk: rows.chunk, rowChunks: rows.chunks, kc },
          // tile tmp, packed B (kc x chunk), panel origins (2 x i32 per panel)
          scratchBytes: engine.tileTmpBytes + kc * cols.chunk * 4 + (cols.chunk / NR) * 8,
          weightBytes: roundUp(K, MR) * depth * 4,
          realFlops,
          packWeights: (w, packed) => packPanels(K, depth, MR, kc, (k, d) => w[k * depth + d], packed),
        };
      }
      // NHWC: rows = pixels (A panels built by im2col), columns = output channels (pre-packed B panels).
      const rows = chunking(PQ, MR, 192, minUnitsPerImage);
      const cols = chunking(K, NR, K, ceilDiv(minUnitsPerImage, rows.chunks));
      return {
        kernel: 'convIm2colNhwc',
        units: N * cols.chunks * rows.chunks,
        unit: `(image, ${cols.chunk}-output-channel chunk, ${rows.chunk}-pixel chunk)`,
        slots: { colChunk: cols.chunk, colChunks: cols.chunks, rowChunk: rows.chunk, rowChunks: rows.chunks, kc },
        scratchBytes: engine.tileTmpBytes + kc * rows.chunk * 4,
        weightBytes: roundUp(K, NR) * depth * 4,
        realFlops,
        packWeights: (w, packed) => {
          // Depth order (r, s, c): d = rs * C + c.
          const RS = R * S;
          packPanels(K, depth, NR, kc, (k, d) => w[(k * C + (d % C)) * RS + Math.floor(d / C)], packed);
        },
      };
    },
  },
  direct: directSpec,
  'winograd-2x3': winogradSpec(2),
  'winograd-4x3': winogradSpec(4),
  'winograd-6x3': winogradSpec(6),
  'winograd-7x3': winogradSpec(7),
  'winograd-4x3s2': winogradSpec(4, 2),
  'winograd-7x3s2': winogradSpec(7, 2),
  fft: fftSpec,
  strassen: strassenSpec,
};

function blockOfLayout(layout: ConvLayout): number {
  return layout === 'nchw4c' ? 4 : layout === 'nchw8c' ? 8 : layout === 'nchw16c' ? 16 : 1;
}

/**
 * Whether `algo` can compute `shape` in `layout`, and if not, why. Never silently substitutes another
 * computation.
 */
export function applies(algo: ConvAlgorithm, shape: ConvShape, layout: ConvLayout): AppliesResult {
  const spec = ALGORITHMS[algo];
  if (spec === undefined) return { ok: false, reason: `${algo} is not implemented in this engine build` };
  try {
    validateConvShape(shape);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (!spec.layouts.includes(layout)) {
    return { ok: false, reason: `${algo} supports layouts ${spec.layouts.join(', ')}, not ${layout}` };
  }
  const reason = spec.applies?.(shape);
  return reason === undefined ? { ok: true } : { ok: false, reason };
}

/** Algorithms and layouts implemented by this build. */
export function supportedLayouts(algo: ConvAlgorithm): readonly ConvLayout[] {
  return ALGORITHMS[algo]?.layouts ?? [];
}

// ---------------------------------------------------------------------------------------------
// Engine instance
// ---------------------------------------------------------------------------------------------

type KernelFn = (...args: number[]) => void;

export interface EngineCreateOptions {
  variant?: EngineVariant | 'auto';
  /** Share an existing engine memory (a worker's view of the owner's memory). */
  memory?: WebAssembly.Memory;
  /** Directory of the .wasm files (default: {@link engineWasmDir}). */
  wasmDir?: string;
}

export class Engine {
  readonly MR: number;
  readonly NR: number;
  readonly tileTmpBytes: number;
  private readonly exports: Record<string, unknown>;
  private arenaInstance: Arena | undefined;

  private constructor(
    readonly module: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    readonly variant: EngineVariant,
  ) {
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    this.exports = instance.exports as Record<string, unknown>;
    this.MR = this.constant('MR');
    this.NR = this.constant('NR');
    this.tileTmpBytes = this.constant('TILE_TMP_BYTES');
  }

  /** A new engine; with no memory given, it creates (and owns) a fresh shared memory. */
  static create(options: EngineCreateOptions = {}): Engine {
    const { module, variant } = loadEngineModule(options.variant ?? 'auto', options.wasmDir);
    return new Engine(module, options.memory ?? createEngineMemory(), variant);
  }

  /** An engine over an already compiled module and memory (what a worker does with what it was posted). */
  static instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory, variant: EngineVariant): Engine {
    return new Engine(module, memory, variant);
  }

  /** The allocator; only the thread that owns the memory may use it. */
  get arena(): Arena {
    this.arenaInstance ??= new Arena(this.memory);
    return this.arenaInstance;
  }

  /** An exported constant of the module (block sizes, flop counts of generated transforms). */
  constant(name: string): number {
    const value = this.exports[name];
    if (!(value instanceof WebAssembly.Global)) throw new Error(`engine: export ${name} missing`);
    return value.value as number;
  }

  /** Calls an exported function, turning a trap into an Error naming the kernel and its arguments. */
  call(name: string, ...args: number[]): void {
    const fn = this.exports[name];
    if (typeof fn !== 'function') throw new Error(`engine: no exported kernel '${name}'`);
    try {
      (fn as KernelFn)(...args);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) {
        throw new Error(`engine: kernel ${name}(${args.join(', ')}) trapped: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  /** A Float32Array view of `length` floats at `ptr` (re-create after the memory grows). */
  f32(ptr: number, length: number): Float32Array {
    this.checkRange(ptr, length * 4, 'f32 view');
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  checkRange(ptr: number, bytes: number, what: string): void {
    const size = this.memory.buffer.byteLength;
    if (!Number.isSafeInteger(ptr) || ptr < 0 || ptr % 4 !== 0 || bytes < 0 || ptr + bytes > size) {
      throw new Error(`engine: ${what} [${ptr}, ${ptr + bytes}) is outside the ${size}-byte memory`);
    }
  }

  /**
   * Runs units [begin, end) of phase `phaseIndex` of a plan, with `scratchPtr` private to this caller
   * (at least descriptor.scratchBytes).
   */
  runPart(descriptor: ConvPlanDescriptor, phaseIndex: number, begin: number, end: number, scratchPtr: number): void {
    const phase = descriptor.phases[phaseIndex];
    if (!phase) throw new Error(`engine: plan has no phase ${phaseIndex}`);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > phase.units || begin > end) {
      throw new Error(`engine: unit range [${begin}, ${end}) is outside [0, ${phase.units}) of ${phase.kernel}`);
    }
    this.checkRange(descriptor.planPtr, PLAN_BLOCK_BYTES, 'plan block');
    this.checkRange(scratchPtr, descriptor.scratchBytes, 'scratch area');
    if (begin < end) this.call(phase.kernel, descriptor.planPtr, begin, end, scratchPtr);
  }

  /**
   * Allocates and describes a convolution. Throws with the reason when the algorithm does not apply.
   */
  plan(shape: ConvShape, algo: ConvAlgorithm, layout: ConvLayout, options: PlanOptions = {}): ConvPlan {
    const verdict = applies(algo, shape, layout);
    if (!verdict.ok) throw new Error(`engine: ${algo} cannot run ${describeShape(shape)} in ${layout}: ${verdict.reason}`);
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`engine: threads must be a positive integer, got ${threads}`);
    const spec = ALGORITHMS[algo] as AlgorithmSpec;
    return new ConvPlan(this, shape, algo, layout, spec.plan(shape, layout, threads, this, options), options.bias ?? true);
  }
}

function describeShape(s: ConvShape): string {
  return `N${s.N} C${s.C} ${s.H}x${s.W} K${s.K} ${s.R}x${s.S}/s${s.stride}p${s.pad}`;
}

/** Bytes one tensor of the layout takes (blocked layouts pad channels to the block). */
function tensorBytes(n: number, channels: number, hw: number, layout: ConvLayout): number {
  const block = blockOfLayout(layout);
  return n * roundUp(channels, block) * hw * 4;
}

/** A convolution laid out in engine memory: buffers, packed weights, plan block. */
export class ConvPlan {
  readonly descriptor: ConvPlanDescriptor;
  readonly P: number;
  readonly Q: number;
  /** NCHW staging buffers the host reads and writes. */
  readonly nchwInputPtr: number;
  readonly nchwOutputPtr: number;
  /** Buffers in the plan's layout (the same as the NCHW ones when layout is nchw). */
  readonly inputPtr: number;
  readonly outputPtr: number;
  readonly weightsPtr: number;
  readonly biasPtr: number;
  /** Flops the algorithm really performs, and the direct count used for effective GFLOP/s. */
  readonly realFlops: number;
  readonly directFlops: number;
  /** Recursion levels of strassen plans (0 = plain packed SGEMM); undefined for other algorithms. */
  readonly strassenLevels: number | undefined;
  private readonly arenaMark: number;
  private readonly algoPlan: AlgorithmPlan;
  private weightsSet = false;
  private scratchPtrs: number[] = [];
  private released = false;

  constructor(
    readonly engine: Engine,
    readonly shape: ConvShape,
    readonly algo: ConvAlgorithm,
    readonly layout: ConvLayout,
    algoPlan: AlgorithmPlan,
    hasBias: boolean,
  ) {
    const arena = engine.arena;
    this.arenaMark = arena.mark();
    this.algoPlan = algoPlan;
    const { N, C, H, W, K } = shape;
    const { P, Q } = convOutputSize(shape);
    this.P = P;
    this.Q = Q;
    this.realFlops = algoPlan.realFlops;
    this.strassenLevels = algoPlan.levels;
    this.directFlops = convDirectFlops(shape);
    const needed =
      N * C * H * W * 4 + N * K * P * Q * 4 + algoPlan.weightBytes + algoPlan.scratchBytes +
      (layout === 'nchw' ? 0 : tensorBytes(N, C, H * W, layout) + tensorBytes(N, K, P * Q, layout));
    const limit = ENGINE_MAX_PAGES * WASM_PAGE_BYTES;
    if (needed > limit - arena.used - RESERVED_LOW_BYTES) {
      throw new Error(`engine: ${describeShape(shape)} with ${algo} needs ${needed} bytes, more than the engine's free memory`);
    }
    try {
      const planPtr = arena.alloc(PLAN_BLOCK_BYTES, 'plan block', true);
      this.nchwInputPtr = arena.alloc(N * C * H * W * 4, 'input');
      this.nchwOutputPtr = arena.alloc(N * K * P * Q * 4, 'output');
      this.inputPtr = layout === 'nchw' ? this.nchwInputPtr : arena.alloc(tensorBytes(N, C, H * W, layout), 'input in layout', true);
      this.outputPtr = layout === 'nchw' ? this.nchwOutputPtr : arena.alloc(tensorBytes(N, K, P * Q, layout), 'output in layout', true);
      this.weightsPtr = arena.alloc(algoPlan.weightBytes, 'packed weights', true);
      this.biasPtr = hasBias ? arena.alloc(roundUp(K, 16) * 4, 'bias', true) : 0;
      const slots = new Int32Array(engine.memory.buffer, planPtr, PLAN_BLOCK_BYTES / 4);
      const values: Record<string, number> = {
        N, C, H: shape.H, W: shape.W, K, R: shape.R, S: shape.S, stride: shape.stride, pad: shape.pad, P, Q,
        input: this.inputPtr, output: this.outputPtr, weights: this.weightsPtr, bias: this.biasPtr,
        ...algoPlan.slots,
      };
      for (const [name, value] of Object.entries(values)) slots[PLAN_SLOT[name as keyof typeof PLAN_SLOT]] = value;
      this.descriptor = {
        algo, layout, shape: { ...shape }, P, Q, planPtr,
        scratchBytes: roundUp(algoPlan.scratchBytes, ALIGN),
        phases: [{ kernel: algoPlan.kernel, units: algoPlan.units, unit: algoPlan.unit }],
      };
    } catch (error) {
      arena.release(this.arenaMark);
      throw error;
    }
  }

  /**
   * Bytes of engine memory the algorithm needs beyond the NCHW input and output: packed weights, the
   * layout copies and `threads` scratch areas.
   */
  workspaceBytes(threads = 1): number {
    const { N, C, H, W, K } = this.shape;
    const layoutCopies =
      this.layout === 'nchw' ? 0 : tensorBytes(N, C, H * W, this.layout) + tensorBytes(N, K, this.P * this.Q, this.layout);
    return this.algoPlan.weightBytes + layoutCopies + threads * this.descriptor.scratchBytes;
  }

  private assertLive(): void {
    if (this.released) throw new Error('engine: plan used after release()');
  }

  /** Packs / transforms OIHW weights and copies the bias: the once-per-plan setup. */
  setWeights(weights: Float32Array, bias?: Float32Array): void {
    this.assertLive();
    const { K, C, R, S } = this.shape;
    if (weights.length !== K * C * R * S) {
      throw new Error(`engine: weights have ${weights.length} elements, expected K*C*R*S = ${K * C * R * S}`);
    }
    if (bias !== undefined) {
      if (this.biasPtr === 0) throw new Error('engine: plan was made with bias: false');
      if (bias.length !== K) throw new Error(`engine: bias has ${bias.length} elements, expected K = ${K}`);
      this.engine.f32(this.biasPtr, K).set(bias);
    } else if (this.biasPtr !== 0) {
      this.engine.f32(this.biasPtr, K).fill(0);
    }
    const packed = this.engine.f32(this.weightsPtr, this.algoPlan.weightBytes / 4);
    packed.fill(0);
    if (this.algoPlan.packWeights) {
      this.algoPlan.packWeights(weights, packed);
    } else if (this.algoPlan.weightKernel) {
      const mark = this.engine.arena.mark();
      try {
        const raw = this.engine.arena.alloc(weights.length * 4, 'raw weights');
        const scratch = this.engine.arena.alloc(this.descriptor.scratchBytes, 'weight scratch');
        this.engine.f32(raw, weights.length).set(weights);
        this.engine.call(this.algoPlan.weightKernel, this.descriptor.planPtr, raw, scratch);
      } finally {
        this.engine.arena.release(mark);
      }
    }
    this.weightsSet = true;
  }

  /** Copies an NCHW input into engine memory (no layout conversion). */
  writeInput(input: Float32Array): void {
    this.assertLive();
    const { N, C, H, W } = this.shape;
    if (input.length !== N * C * H * W) {
      throw new Error(`engine: input has ${input.length} elements, expected N*C*H*W = ${N * C * H * W}`);
    }
    this.engine.f32(this.nchwInputPtr, input.length).set(input);
  }

  /** Converts the written NCHW input to the plan's layout (no-op for nchw). Timed apart from the kernel. */
  convertInput(): void {
    this.assertLive();
    const { N, C, H, W } = this.shape;
    this.convert(this.nchwInputPtr, this.inputPtr, C, H * W, N, 'to');
  }

  /** writeInput + convertInput. */
  setInput(input: Float32Array): void {
    this.writeInput(input);
    this.convertInput();
  }

  /** Converts the output from the plan's layout back to NCHW (no-op for nchw). */
  convertOutput(): void {
    this.assertLive();
    this.convert(this.outputPtr, this.nchwOutputPtr, this.shape.K, this.P * this.Q, this.shape.N, 'from');
  }

  private convert(src: number, dst: number, channels: number, hw: number, n: number, direction: 'to' | 'from'): void {
    if (this.layout === 'nchw') return;
    if (this.layout === 'nhwc') {
      this.engine.call(direction === 'to' ? 'nchwToNhwc' : 'nhwcToNchw', src, dst, channels, hw, 0, n);
    } else {
      const block = blockOfLayout(this.layout);
      this.engine.call(direction === 'to' ? 'nchwToBlocked' : 'blockedToNchw', src, dst, channels, hw, block, 0, n);
    }
  }

  /** convertOutput + a copy of the NCHW output [N,K,P,Q]. */
  readOutput(): Float32Array {
    this.convertOutput();
    const { N, K } = this.shape;
    return this.engine.f32(this.nchwOutputPtr, N * K * this.P * this.Q).slice();
  }

  /** `threads` private scratch areas (allocated once per plan, reused). */
  allocateScratch(threads: number): number[] {
    this.assertLive();
    while (this.scratchPtrs.length < threads) {
      this.scratchPtrs.push(this.engine.arena.alloc(this.descriptor.scratchBytes, 'scratch'));
    }
    return this.scratchPtrs.slice(0, threads);
  }

  /** Runs units [begin, end) of a phase on this thread. */
  runPart(phaseIndex: number, begin: number, end: number, scratchPtr: number): void {
    this.assertLive();
    if (!this.weightsSet) throw new Error('engine: setWeights() must run before the kernel');
    this.engine.runPart(this.descriptor, phaseIndex, begin, end, scratchPtr);
  }

  /** Runs every phase on this thread (kernel only: no layout conversion). */
  run(): void {
    const [scratch] = this.allocateScratch(1);
    for (let i = 0; i < this.descriptor.phases.length; i++) this.runPart(i, 0, this.descriptor.phases[i].units, scratch);
  }

  /** Frees this plan's memory and everything allocated after it (the arena is LIFO). */
  release(): void {
    if (this.released) return;
    this.engine.arena.release(this.arenaMark);
    this.released = true;
  }
}

/**
 * One-shot convenience: NCHW in, NCHW out, single thread. Allocates and releases a plan.
 */
export function convolve(
  engine: Engine,
  algo: ConvAlgorithm,
  layout: ConvLayout,
  shape: ConvShape,
  input: Float32Array,
  weights: Float32Array,
  bias?: Float32Array,
  options: PlanOptions = {},
): Float32Array {
  const plan = engine.plan(shape, algo, layout, { ...options, bias: bias !== undefined });
  try {
    plan.setWeights(weights, bias);
    plan.setInput(input);
    plan.run();
    return plan.readOutput();
  } finally {
    plan.release();
  }
}
