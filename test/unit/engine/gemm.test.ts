import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Engine, engineWasmPath, type EngineVariant } from '../../../extension/engine/engine';
import { ensureEngineBuilt, seededValues } from './helpers';

ensureEngineBuilt();

const variants: EngineVariant[] = ['simd'];
if (WebAssembly.validate(readFileSync(engineWasmPath('relaxed')))) variants.push('relaxed');

/** How gemmBlock's accumulators start (assembly/gemm.ts). */
const INIT = { zero: 0, load: 1, rowBias: 2, colBias: 3 } as const;
const MR = 4;
const NR = 8;

/**
 * C (rows x cols, leading dimension ldc) = init + A B through gemmPacked with depth blocks of kcBlock,
 * A packed [panel][depth][MR] and B [panel][depth][NR]; returns C with its padding columns, which
 * start as NaN and must stay so.
 */
function engineGemm(
  variant: EngineVariant, rows: number, cols: number, depth: number, kcBlock: number, init: number,
  a: Float32Array, b: Float32Array, c0: Float32Array, bias: Float32Array, ldc: number,
): Float32Array {
  const engine = Engine.create({ variant });
  const arena = engine.arena;
  const aPanels = Math.ceil(rows / MR);
  const bPanels = Math.ceil(cols / NR);
  const aPtr = arena.alloc(aPanels * depth * MR * 4, 'A', true);
  const bPtr = arena.alloc(bPanels * depth * NR * 4, 'B', true);
  const cPtr = arena.alloc(rows * ldc * 4, 'C');
  const biasPtr = arena.alloc(Math.max(rows, cols) * 4 + 64, 'bias', true);
  const tmpPtr = arena.alloc(4096, 'tmp');
  const A = engine.f32(aPtr, aPanels * depth * MR);
  for (let i = 0; i < rows; i++) for (let k = 0; k < depth; k++) A[(Math.floor(i / MR) * depth + k) * MR + (i % MR)] = a[i * depth + k];
  const B = engine.f32(bPtr, bPanels * depth * NR);
  for (let k = 0; k < depth; k++) for (let j = 0; j < cols; j++) B[(Math.floor(j / NR) * depth + k) * NR + (j % NR)] = b[k * cols + j];
  engine.f32(cPtr, rows * ldc).set(c0);
  engine.f32(biasPtr, bias.length).set(bias);
  engine.call('gemmPacked', aPtr, 0, bPtr, 0, depth, cPtr, ldc, rows, cols, init, biasPtr, tmpPtr, kcBlock);
  return engine.f32(cPtr, rows * ldc).slice();
}

describe('packed GEMM against an fp64 reference', () => {
  for (const variant of variants) {
    // Column counts 1-15: the narrow 8-row tiles of 1-3 and 4 columns and their combinations with
    // whole 8-column panels; row counts with and without a last partial 4-row panel.
    for (const rows of [8, 13, 16]) {
      test(`${variant}: ${rows} rows, 1-15 columns, every init mode, two depth blocks`, () => {
        const depth = 37;
        const ldc = 19;
        for (let cols = 1; cols <= 15; cols++) {
          for (const [mode, init] of Object.entries(INIT)) {
            const seed = rows * 1000 + cols * 10 + init;
            const a = seededValues(rows * depth, seed);
            const b = seededValues(depth * cols, seed + 1);
            const bias = seededValues(Math.max(rows, cols), seed + 2);
            const c0 = new Float32Array(rows * ldc).fill(NaN);
            const start = seededValues(rows * cols, seed + 3);
            for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) c0[i * ldc + j] = start[i * cols + j];
            const out = engineGemm(variant, rows, cols, depth, 16, init, a, b, c0, bias, ldc);
            for (let i = 0; i < rows; i++) {
              for (let j = 0; j < ldc; j++) {
                const got = out[i * ldc + j];
                if (j >= cols) {
                  assert.ok(Number.isNaN(got), `${mode} ${rows}x${cols}: C[${i}][${j}] outside the block was written`);
                  continue;
                }
                let expected = init === INIT.load ? start[i * cols + j] : init === INIT.rowBias ? bias[i] : init === INIT.colBias ? bias[j] : 0;
                let magnitude = Math.abs(expected);
                for (let k = 0; k < depth; k++) {
                  expected += a[i * depth + k] * b[k * cols + j];
                  magnitude += Math.abs(a[i * depth + k] * b[k * cols + j]);
                }
                // fp32 sums of depth + 1 terms: at most (depth + 1) roundings of the magnitude.
                const bound = (depth + 1) * 2 ** -24 * magnitude * 2;
                assert.ok(Math.abs(got - expected) <= bound, `${mode} ${rows}x${cols}: C[${i}][${j}] = ${got}, fp64 ${expected}`);
              }
            }
          }
        }
      });
    }
  }
});
