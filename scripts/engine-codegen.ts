/**
 * Generates extension/engine/assembly/generated/winogradTransforms.ts from the project's Winograd
 * generator, so the engine's input and output transforms are exactly the matrices `generateMatrices`
 * produces (one source of truth). Run by scripts/build-engine.mjs:
 *   npx tsx scripts/engine-codegen.ts <output dir>
 *
 * Each 1-D transform y = M x becomes straight-line f32x4 code over 4 tiles at once: +-1 entries are
 * adds/subtracts, other constants multiply-adds, and pairs of rows that differ only in the sign of
 * some entries (y_i = e + o, y_j = e - o, as for the points +-p) share their partial sums.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateMatrices, type GeneratedMatrices } from '../extension/core/winograd/index';
import { generateStride2Matrices } from '../extension/core/winograd/strided';

/**
 * The engine's Winograd variants: F(m x m, 3 x 3) for stride 1 (m = 2, 4, 6, 7), and the stride-2 algorithm built from
 * F(4, 2) (extension/core/winograd/strided.ts). `id` names the generated functions and constants.
 */
export const ENGINE_WINOGRAD_VARIANTS: { id: string; m: number; title: string; matrices: () => GeneratedMatrices }[] = [
  ...[2, 4, 6, 7].map((m) => ({ id: String(m), m, title: `F(${m}x${m}, 3x3)`, matrices: () => generateMatrices(m, 3) })),
  { id: '4s2', m: 4, title: 'F(4x4, 3x3) stride 2 from F(4, 2)', matrices: () => generateStride2Matrices(4) },
];

function parseRational(text: string): number {
  const match = /^\s*(-?\d+)(?:\s*\/\s*(\d+))?\s*$/.exec(text);
  if (!match) throw new Error(`engine-codegen: cannot parse matrix entry "${text}"`);
  return Number(match[1]) / Number(match[2] ?? '1');
}

/** fp32 literal, exact: the shortest double that equals the fp32 value. */
function f32Literal(value: number): string {
  const rounded = Math.fround(value);
  const text = String(rounded);
  return text.includes('.') || text.includes('e') ? text : `${text}.0`;
}

interface Emitted {
  code: string[];
  flops: number;
}

/** Code computing `sum_l coefs[l] * x_l` into a new const `name`; returns flops used. */
function emitSum(name: string, coefs: number[], out: string[]): number {
  let expr = '';
  let flops = 0;
  // Start from a positive term where there is one, so no negation is needed.
  const order = coefs.map((_, l) => l).filter((l) => coefs[l] !== 0);
  const first = order.findIndex((l) => coefs[l] === 1);
  const firstPositive = first >= 0 ? first : order.findIndex((l) => coefs[l] > 0);
  if (firstPositive > 0) order.unshift(...order.splice(firstPositive, 1));
  order.forEach((l) => {
    const coef = coefs[l];
    const x = `x${l}`;
    if (expr === '') {
      if (coef === 1) expr = x;
      else if (coef === -1) { expr = `f32x4.neg(${x})`; flops += 1; }
      else { expr = `f32x4.mul(${x}, f32x4.splat(<f32>${f32Literal(coef)}))`; flops += 1; }
    } else if (coef === 1) { expr = `f32x4.add(${expr}, ${x})`; flops += 1; }
    else if (coef === -1) { expr = `f32x4.sub(${expr}, ${x})`; flops += 1; }
    else { expr = `madd(${x}, f32x4.splat(<f32>${f32Literal(coef)}), ${expr})`; flops += 2; }
  });
  out.push(`  const ${name} = ${expr === '' ? 'f32x4.splat(0)' : expr};`);
  return flops;
}

/** A 1-D transform: `rows` outputs from `cols` inputs, v128 loads/stores at stepped addresses. */
function emitTransform1d(fnName: string, matrix: number[][], fromRegisters = false): Emitted {
  const rows = matrix.length;
  const cols = matrix[0].length;
  const code: string[] = [];
  let flops = 0;
  code.push('// @ts-ignore: decorator');
  if (fromRegisters) {
    // Inputs arrive as values (already in registers), e.g. straight from the patch gather.
    const params = Array.from({ length: cols }, (_, l) => `x${l}: v128`).join(', ');
    code.push(`@inline function ${fnName}(${params}, dst: usize, dstStep: usize): void {`);
  } else {
    code.push(`@inline function ${fnName}(src: usize, srcStep: usize, dst: usize, dstStep: usize): void {`);
    for (let l = 0; l < cols; l++) {
      if (matrix.some((row) => row[l] !== 0)) code.push(`  const x${l} = v128.load(src + ${l} * srcStep);`);
    }
  }
  const done = new Set<number>();
  for (let i = 0; i < rows; i++) {
    if (done.has(i)) continue;
    let partner = -1;
    for (let j = i + 1; j < rows && partner < 0; j++) {
      if (done.has(j)) continue;
      let equal = 0;
      let opposite = 0;
      let compatible = true;
      for (let l = 0; l < cols; l++) {
        const a = matrix[i][l];
        const b = matrix[j][l];
        if (a === 0 && b === 0) continue;
        if (a === b) equal++;
        else if (a === -b) opposite++;
        else compatible = false;
      }
      if (compatible && equal > 0 && opposite > 0 && equal + opposite > 2) partner = j;
    }
    if (partner >= 0) {
      const even = matrix[i].map((a, l) => (a === matrix[partner][l] ? a : 0));
      const odd = matrix[i].map((a, l) => (a !== matrix[partner][l] ? a : 0));
      flops += emitSum(`e${i}`, even, code);
      flops += emitSum(`o${i}`, odd, code);
      code.push(`  v128.store(dst + ${i} * dstStep, f32x4.add(e${i}, o${i}));`);
      code.push(`  v128.store(dst + ${partner} * dstStep, f32x4.sub(e${i}, o${i}));`);
      flops += 2;
      done.add(partner);
    } else {
      flops += emitSum(`y${i}`, matrix[i], code);
      code.push(`  v128.store(dst + ${i} * dstStep, y${i});`);
    }
    done.add(i);
  }
  code.push('}');
  return { code, flops };
}

export function generateWinogradTransforms(): string {
  const lines: string[] = [
    '// GENERATED by scripts/engine-codegen.ts from the generator in extension/core/winograd (ENGINE_WINOGRAD_VARIANTS).',
    '// Do not edit: run `node scripts/build-engine.mjs`.',
    '//',
    '// Tiles are alpha x alpha arrays of v128, each v128 holding the same element of 4 tiles.',
    "import { madd } from '../simd';",
    "import { loadPatch4 } from '../patch';",
    '',
  ];
  for (const { id, m: outputs, title, matrices: make } of ENGINE_WINOGRAD_VARIANTS) {
    const matrices = make();
    const alpha = matrices.BT.length;
    const BT = matrices.BT.map((row) => row.map(parseRational));
    const AT = matrices.AT.map((row) => row.map(parseRational));
    if (AT.length !== outputs || AT[0].length !== alpha) throw new Error(`engine-codegen: unexpected ${title} matrix sizes`);
    const bt = emitTransform1d(`bt${id}`, BT);
    const at = emitTransform1d(`at${id}`, AT);
    lines.push(`// ${title}, alpha = ${alpha}, points ${matrices.points.join(', ')}, infinity`);
    lines.push(`// BT = ${JSON.stringify(matrices.BT)}`);
    lines.push(`// AT = ${JSON.stringify(matrices.AT)}`);
    lines.push(...bt.code, '', ...at.code, '');
    const inputFlops = 2 * alpha * bt.flops;
    const outputFlops = (alpha + outputs) * at.flops;
    lines.push(`/** Flops of the input transform, per tile and channel. */`);
    lines.push(`export const WINOGRAD${id.toUpperCase()}_INPUT_FLOPS: i32 = ${inputFlops};`);
    lines.push(`/** Flops of the output transform, per tile and output channel. */`);
    lines.push(`export const WINOGRAD${id.toUpperCase()}_OUTPUT_FLOPS: i32 = ${outputFlops};`);
    lines.push('');
    // Gather fused with the first (row) pass: each patch row of 4 tiles is loaded, transposed so lane
    // i holds tile i, and transformed in registers; only the column pass goes through memory.
    lines.push(...emitTransform1d(`bt${id}r`, BT, true).code, '');
    const blocks = Math.ceil(alpha / 4);
    const transposeBlock = (jb: number, load: (lane: number, offset: number) => string): string[] => {
      const out: string[] = [];
      for (let lane = 0; lane < 4; lane++) out.push(`      const v${jb}_${lane} = ${load(lane, jb * 4)};`);
      out.push(`      const lo01_${jb} = v128.shuffle<f32>(v${jb}_0, v${jb}_1, 0, 4, 1, 5);`);
      out.push(`      const lo23_${jb} = v128.shuffle<f32>(v${jb}_2, v${jb}_3, 0, 4, 1, 5);`);
      out.push(`      const hi01_${jb} = v128.shuffle<f32>(v${jb}_0, v${jb}_1, 2, 6, 3, 7);`);
      out.push(`      const hi23_${jb} = v128.shuffle<f32>(v${jb}_2, v${jb}_3, 2, 6, 3, 7);`);
      const names = [
        `v128.shuffle<f32>(lo01_${jb}, lo23_${jb}, 0, 1, 4, 5)`,
        `v128.shuffle<f32>(lo01_${jb}, lo23_${jb}, 2, 3, 6, 7)`,
        `v128.shuffle<f32>(hi01_${jb}, hi23_${jb}, 0, 1, 4, 5)`,
        `v128.shuffle<f32>(hi01_${jb}, hi23_${jb}, 2, 3, 6, 7)`,
      ];
      for (let c = 0; c < 4 && jb * 4 + c < alpha; c++) out.push(`      const r${jb * 4 + c} = ${names[c]};`);
      return out;
    };
    const rowArgs = Array.from({ length: alpha }, (_, l) => `r${l}`).join(', ');
    lines.push(`/**`);
    lines.push(` * V = BT d B for the 4 tiles whose patch origins (y, x) are the i32 pairs at origins; lanes >= valid`);
    lines.push(` * and positions outside the H x W plane read as zero. V(i,j) at dst + (i*${alpha}+j)*dstStride.`);
    lines.push(` */`);
    lines.push(`export function winogradGatherInput${id}(`);
    lines.push('  plane: usize, H: i32, W: i32, origins: usize, valid: i32, tmp: usize, dst: usize, dstStride: usize,');
    lines.push('): void {');
    lines.push('  const y0 = load<i32>(origins), x0 = load<i32>(origins, 4);');
    lines.push('  const y1 = load<i32>(origins, 8), x1 = load<i32>(origins, 12);');
    lines.push('  const y2 = load<i32>(origins, 16), x2 = load<i32>(origins, 20);');
    lines.push('  const y3 = load<i32>(origins, 24), x3 = load<i32>(origins, 28);');
    lines.push(`  const rowStep: usize = ${alpha * 16};`);
    lines.push('  if (');
    lines.push(`    valid == 4 && min(min(y0, y1), min(y2, y3)) >= 0 && max(max(y0, y1), max(y2, y3)) + ${alpha} <= H &&`);
    lines.push(`    min(min(x0, x1), min(x2, x3)) >= 0 && max(max(x0, x1), max(x2, x3)) + ${blocks * 4} <= W`);
    lines.push('  ) {');
    lines.push('    const rowBytes = <usize>W << 2;');
    for (let lane = 0; lane < 4; lane++) lines.push(`    let p${lane} = plane + (<usize>(y${lane} * W + x${lane}) << 2);`);
    lines.push(`    for (let a = 0; a < ${alpha}; a++) {`);
    for (let jb = 0; jb < blocks; jb++) lines.push(...transposeBlock(jb, (lane, offset) => `v128.load(p${lane}, ${offset * 4})`));
    lines.push(`      bt${id}r(${rowArgs}, tmp + <usize>a * rowStep, 16);`);
    lines.push('      p0 += rowBytes; p1 += rowBytes; p2 += rowBytes; p3 += rowBytes;');
    lines.push('    }');
    lines.push('  } else {');
    lines.push(`    for (let a = 0; a < ${alpha}; a++) {`);
    for (let jb = 0; jb < blocks; jb++) {
      lines.push(...transposeBlock(jb, (lane, offset) => `loadPatch4(plane, H, W, y${lane} + a, x${lane} + ${offset}, valid > ${lane})`));
    }
    lines.push(`      bt${id}r(${rowArgs}, tmp + <usize>a * rowStep, 16);`);
    lines.push('    }');
    lines.push('  }');
    for (let j = 0; j < alpha; j++) lines.push(`  bt${id}(tmp + ${j * 16}, ${alpha * 16}, dst + ${j} * dstStride, ${alpha} * dstStride);`);
    lines.push('}');
    lines.push('');
    lines.push(`/** Y = AT M A for 4 tiles: M(i,j) at src + (i*${alpha}+j)*srcStride, Y at dst (${outputs} x ${outputs} v128, row-major). */`);
    lines.push(`export function winogradOutput${id}(src: usize, srcStride: usize, tmp: usize, dst: usize): void {`);
    for (let j = 0; j < alpha; j++) lines.push(`  at${id}(src + ${j} * srcStride, ${alpha} * srcStride, tmp + ${j * 16}, ${alpha * 16});`);
    for (let i = 0; i < outputs; i++) lines.push(`  at${id}(tmp + ${i * alpha * 16}, 16, dst + ${i * outputs * 16}, 16);`);
    lines.push('}');
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * Direct convolution micro-kernels on nchw{B}c. One call computes `pixels` consecutive output pixels of
 * one output row for KO output channels, with pixels * KO/4 f32x4 accumulators (12: within x64's 16
 * vector registers next to KO/4 weight vectors and one broadcast input). With B = 4, KO = 8 spans two
 * output blocks, so each input broadcast feeds two weight vectors as with B = 8.
 */
export const DIRECT_BLOCKS: Record<number, { pixels: number; ko: number }> = {
  4: { pixels: 6, ko: 8 },
  8: { pixels: 6, ko: 8 },
  16: { pixels: 3, ko: 16 },
};

export function generateDirectKernels(): string {
  const lines: string[] = [
    '// GENERATED by scripts/engine-codegen.ts. Do not edit: run `node scripts/build-engine.mjs`.',
    '//',
    '// Kernels for nchw{B}c: input [CB][H][W][B], weights [K/KO][CB][R][S][B ci][KO ko]; `out` points at',
    '// out[block][p][q0][0] in [P][Q][B]; output vectors past the first B channels go `blockStride` bytes',
    '// further (the next output block), and only when `second` (that block exists).',
    "import { madd } from '../simd';",
    '',
  ];
  for (const [blockText, { pixels: wt, ko: KO }] of Object.entries(DIRECT_BLOCKS)) {
    const B = Number(blockText);
    const V = KO / 4;
    const acc = (i: number, v: number): string => `a${i}_${v}`;
    const params = [
      '  input: usize, CB: i32, H: i32, W: i32, weights: usize, R: i32, S: i32, stride: i32, pad: i32,',
      '  p: i32, q0: i32, count: i32, out: usize, bias: usize, blockStride: usize, second: bool,',
    ];
    const storeOf = (i: number, v: number, name: string): string => {
      const block = Math.floor((v * 4) / B);
      const offset = i * B * 4 + ((v * 4) % B) * 4;
      const address = block === 0 ? 'out' : 'out + blockStride';
      return `v128.store(${address}, ${name}, ${offset});`;
    };
    const storeTile = (count: number, guardCount: boolean): string[] => {
      const out: string[] = [];
      for (let i = 0; i < count; i++) {
        const first = Array.from({ length: V }, (_, v) => v).filter((v) => Math.floor((v * 4) / B) === 0);
        const rest = Array.from({ length: V }, (_, v) => v).filter((v) => Math.floor((v * 4) / B) > 0);
        const body = first.map((v) => storeOf(i, v, acc(i, v))).join(' ') +
          (rest.length > 0 ? ` if (second) { ${rest.map((v) => storeOf(i, v, acc(i, v))).join(' ')} }` : '');
        out.push(`  ${guardCount && i > 0 ? `if (count > ${i}) ` : ''}{ ${body} }`);
      }
      return out;
    };
    const wStepCi = KO * 4; // bytes of weights per input channel
    const wStepS = B * KO * 4;
    lines.push(`export const DIRECT${B}_PIXELS: i32 = ${wt};`);
    lines.push(`export const DIRECT${B}_OUT_CHANNELS: i32 = ${KO};`);
    // Generic checked kernel: any stride, columns checked (used for strides other than 1 and 2).
    lines.push(`export function directTile${B}(`, ...params, '): void {');
    for (let v = 0; v < V; v++) lines.push(`  const b${v} = bias != 0 ? v128.load(bias, ${v * 16}) : f32x4.splat(0);`);
    for (let i = 0; i < wt; i++) for (let v = 0; v < V; v++) lines.push(`  let ${acc(i, v)} = b${v};`);
    lines.push('  for (let cb = 0; cb < CB; cb++) {');
    lines.push('    for (let r = 0; r < R; r++) {');
    lines.push('      const y = p * stride - pad + r;');
    lines.push('      if (y < 0 || y >= H) continue;');
    lines.push(`      const row = input + (<usize>((cb * H + y) * W) * ${B * 4});`);
    lines.push(`      const wRow = weights + (<usize>((cb * R + r) * S) * ${wStepS});`);
    lines.push('      for (let s = 0; s < S; s++) {');
    lines.push('        const x0 = q0 * stride - pad + s;');
    lines.push(`        let w = wRow + <usize>s * ${wStepS};`);
    lines.push(`        for (let ci = 0; ci < ${B}; ci++) {`);
    for (let v = 0; v < V; v++) lines.push(`          const w${v} = v128.load(w, ${v * 16});`);
    for (let i = 0; i < wt; i++) {
      lines.push(`          const xi${i} = x0 + ${i} * stride;`);
      lines.push(`          if (xi${i} >= 0 && xi${i} < W) {`);
      lines.push(`            const in${i} = v128.load32_splat(row + (<usize>(xi${i} * ${B} + ci) << 2));`);
      for (let v = 0; v < V; v++) lines.push(`            ${acc(i, v)} = madd(in${i}, w${v}, ${acc(i, v)});`);
      lines.push('          }');
    }
    lines.push(`          w += ${wStepCi};`);
    lines.push('        }');
    lines.push('      }');
    lines.push('    }');
    lines.push('  }');
    lines.push(...storeTile(wt, true));
    lines.push('}');
    lines.push('');
    // One output pixel with bounds checks (image borders): the B input channels of each (r, s) are
    // split over `chains` accumulator sets so the multiply-adds do not wait on each other.
    const chains = V >= 4 ? 2 : 4;
    lines.push(`/** Output pixel q of row p, KO output channels, input columns checked against the image. */`);
    lines.push(`export function directPixel${B}(`, ...params, '): void {');
    for (let c = 0; c < chains; c++) {
      for (let v = 0; v < V; v++) {
        lines.push(`  let c${c}_${v} = ${c === 0 ? `bias != 0 ? v128.load(bias, ${v * 16}) : f32x4.splat(0)` : 'f32x4.splat(0)'};`);
      }
    }
    lines.push('  const q = q0;');
    lines.push('  for (let cb = 0; cb < CB; cb++) {');
    lines.push('    for (let r = 0; r < R; r++) {');
    lines.push('      const y = p * stride - pad + r;');
    lines.push('      if (y < 0 || y >= H) continue;');
    lines.push('      for (let s = 0; s < S; s++) {');
    lines.push('        const x = q * stride - pad + s;');
    lines.push('        if (x < 0 || x >= W) continue;');
    lines.push(`        let src = input + (<usize>((cb * H + y) * W + x) * ${B * 4});`);
    lines.push(`        let w = weights + (<usize>(((cb * R + r) * S) + s) * ${wStepS});`);
    lines.push(`        for (let ci = 0; ci < ${B}; ci += ${chains}) {`);
    for (let c = 0; c < chains; c++) {
      lines.push(`          const in${c} = v128.load32_splat(src, ${c * 4});`);
      for (let v = 0; v < V; v++) lines.push(`          c${c}_${v} = madd(in${c}, v128.load(w, ${c * wStepCi + v * 16}), c${c}_${v});`);
    }
    lines.push(`          src += ${chains * 4};`);
    lines.push(`          w += ${chains * wStepCi};`);
    lines.push('        }');
    lines.push('      }');
    lines.push('    }');
    lines.push('  }');
    for (let v = 0; v < V; v++) {
      let sum = `c0_${v}`;
      for (let c = 1; c < chains; c++) sum = `f32x4.add(${sum}, c${c}_${v})`;
      lines.push(`  const a0_${v} = ${sum};`);
    }
    lines.push(...storeTile(1, false));
    lines.push('}');
    lines.push('');
    // Interior variants: every input column in range, so no checks; one per (stride 1 or 2, pixel
    // count), so every input load has a constant offset and needs no address arithmetic.
    for (const stride of [1, 2]) {
      for (let count = 1; count <= wt; count++) {
        lines.push('// @ts-ignore: decorator');
        lines.push(`@inline function directInterior${B}s${stride}n${count}(`);
        lines.push('  input: usize, CB: i32, H: i32, W: i32, weights: usize, R: i32, S: i32, pad: i32,');
        lines.push('  p: i32, q0: i32, out: usize, bias: usize, blockStride: usize, second: bool,');
        lines.push('): void {');
        for (let v = 0; v < V; v++) lines.push(`  const b${v} = bias != 0 ? v128.load(bias, ${v * 16}) : f32x4.splat(0);`);
        for (let i = 0; i < count; i++) for (let v = 0; v < V; v++) lines.push(`  let ${acc(i, v)} = b${v};`);
        lines.push('  for (let cb = 0; cb < CB; cb++) {');
        lines.push('    for (let r = 0; r < R; r++) {');
        lines.push(`      const y = p * ${stride} - pad + r;`);
        lines.push('      if (y < 0 || y >= H) continue;');
        lines.push(`      let src = input + (<usize>((cb * H + y) * W + q0 * ${stride} - pad) * ${B * 4});`);
        lines.push(`      let w = weights + (<usize>((cb * R + r) * S) * ${wStepS});`);
        lines.push(`      const end = w + (<usize>S * ${wStepS});`);
        lines.push('      // (s, ci) run contiguously in both the input row ([W][B]) and the weights ([S][B][KO]).');
        lines.push('      while (w < end) {');
        for (let v = 0; v < V; v++) lines.push(`        const w${v} = v128.load(w, ${v * 16});`);
        for (let i = 0; i < count; i++) {
          lines.push(`        const in${i} = v128.load32_splat(src, ${i * stride * B * 4});`);
          for (let v = 0; v < V; v++) lines.push(`        ${acc(i, v)} = madd(in${i}, w${v}, ${acc(i, v)});`);
        }
        lines.push(`        w += ${wStepCi};`);
        lines.push('        src += 4;');
        lines.push('      }');
        lines.push('    }');
        lines.push('  }');
        lines.push(...storeTile(count, false));
        lines.push('}');
        lines.push('');
      }
    }
    lines.push(`/** Output pixels q0 .. q0 + count - 1 (1 <= count <= ${wt}) whose input columns are all inside the image. */`);
    lines.push(`export function directInterior${B}(`, ...params, '): void {');
    for (const stride of [1, 2]) {
      lines.push(`  if (stride == ${stride}) {`);
      for (let count = wt; count >= 1; count--) {
        const call = `directInterior${B}s${stride}n${count}(input, CB, H, W, weights, R, S, pad, p, q0, out, bias, blockStride, second)`;
        lines.push(count === 1 ? `    else ${call};` : `    ${count === wt ? '' : 'else '}if (count == ${count}) ${call};`);
      }
      lines.push('    return;');
      lines.push('  }');
    }
    lines.push('  // Other strides: the generic kernel (its bounds checks always pass here).');
    lines.push(`  directTile${B}(input, CB, H, W, weights, R, S, stride, pad, p, q0, count, out, bias, blockStride, second);`);
    lines.push('}');
    lines.push('');
  }
  return lines.join('\n');
}

if (require.main === module) {
  const outDir = process.argv[2];
  if (!outDir) throw new Error('usage: tsx scripts/engine-codegen.ts <output dir>');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'winogradTransforms.ts'), generateWinogradTransforms());
  writeFileSync(join(outDir, 'directKernels.ts'), generateDirectKernels());
}
