/**
 * Locating, validating and instantiating the engine's WebAssembly module, and the shared memory it
 * imports. Two builds sit side by side (SIMD128 and relaxed SIMD); {@link detectEngineVariant} picks
 * the one this runtime validates.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type EngineVariant = 'simd' | 'relaxed';

/** WebAssembly page size in bytes. */
export const WASM_PAGE_BYTES = 65536;
/** Must equal asconfig.json maximumMemory: a memory with a larger maximum does not link. */
export const ENGINE_MAX_PAGES = 16384;

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
