/**
 * Generates extension/engine/assembly/generated/winogradTransforms.ts from the project's Winograd
 * generator, so the engine's input and output transforms are exactly the matrices `generateMatrices`
 * produces (one source of truth). Run by scripts/buildEngine.mjs:
 *   npx tsx scripts/engineCodegen.ts <output dir>
 *
 * Each 1-D transform y = M x becomes straight-line f32x4 code over 4 tiles at once: +-1 entries are
 * adds/subtracts, other constants multiply-adds, and pairs of rows that differ only in the sign of
 * some entries (y_i = e + o, y_j = e - o, as for the points +-p) share their partial sums.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toNumericMatrices, type GeneratedMatrices } from '../extension/core/winograd/index';
import { engineWinogradMatrices } from '../extension/core/winograd/engineVariants';

/**
 * The engine's Winograd variants: F(m x m, 3 x 3) for stride 1 (m = 2, 4, 5, 6, 7), and the stride-2 algorithms built from
 * F(m, 2) (m = 4, 7) (extension/core/winograd/strided.ts). `id` names the generated functions and constants.
 */
export const ENGINE_WINOGRAD_VARIANTS: { id: string; m: number; title: string; matrices: () => GeneratedMatrices }[] = [
  ...[2, 4, 5, 6, 7].map((m) => ({ id: String(m), m, title: `F(${m}x${m}, 3x3)`, matrices: () => engineWinogradMatrices(m, 1) })),
  ...[4, 7].map((m) => ({
    id: `${m}s2`, m, title: `F(${m}x${m}, 3x3) stride 2 from F(${m}, 2)`, matrices: () => engineWinogradMatrices(m, 2),
  })),
];

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
    '// GENERATED by scripts/engineCodegen.ts from the generator in extension/core/winograd (ENGINE_WINOGRAD_VARIANTS).',
    '// Do not edit: run `node scripts/buildEngine.mjs`.',
    '//',
    '// Tiles are alpha x alpha arrays of v128, each v128 holding the same element of 4 tiles.',
    "import { madd } from '../simd';",
    "import { loadPatch4 } from '../patch';",
    '',
  ];
  for (const { id, m: outputs, title, matrices: make } of ENGINE_WINOGRAD_VARIANTS) {
    const matrices = make();
    const alpha = matrices.BT.length;
    const { BT, AT } = toNumericMatrices(matrices);
    if (AT.length !== outputs || AT[0].length !== alpha) throw new Error(`engineCodegen: unexpected ${title} matrix sizes`);
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
 * Direct convolution micro-kernels. They read the unit's own zero-padded copy of the input in
 * [CBi][rows][Wp][Bi] (Bi = 4, 8 or 16 input channels per block, chosen by the host per shape and
 * independent of the tensor layout) and write any nchw{B}c output through two runtime addresses. One
 * call computes `pixels` consecutive output pixels of one row for 8 output channels: pixels * 2 f32x4
 * accumulators. V8 on x64 allocates 15 of the 16 vector registers (one is its scratch), so accumulators
 * + 2 weight vectors + one broadcast input (+ one product temporary without relaxed multiply-add) must
 * stay within 15. Measured on the ResNet-18 3x3 layers (scripts/bench/kernels.ts, relaxed build):
 * 4 x 8 beats 3 x 16 (17 live vectors: spills) by ~30% and 6 x 8 by ~30%; 2 x 16 is about as fast,
 * 5 x 8 slower; unrolling the channel loop 2 or 4 times is 25% slower; a 12-step inner loop (Bi = 4,
 * S = 3) is ~20% slower than 24 or 48 steps. A 3-pixel run (6 accumulators) is ~15% slower than a
 * 4-pixel one, so rows of 7 or 14 pixels are joined into one sequence whose runs may cross a row end;
 * such a run reads the next row through a second pointer (constant offsets): per-pixel runtime
 * offsets (one add per load) were ~20% slower than the 3-pixel runs they replaced.
 */
export const DIRECT_PIXELS = 4;
export const DIRECT_OUT_CHANNELS = 8;
/** Channel blocks of the nchw{B}c layouts. */
export const LAYOUT_BLOCKS = [4, 8, 16] as const;
/**
 * Input channels per block of the direct kernels' padded copy: the layouts' blocks, and 3 for RGB
 * stems, whose 4-channel block would multiply a zero channel in every fourth step.
 */
export const DIRECT_INPUT_BLOCKS = [3, ...LAYOUT_BLOCKS] as const;

export function generateDirectKernels(): string {
  const wt = DIRECT_PIXELS;
  const KO = DIRECT_OUT_CHANNELS;
  const V = KO / 4;
  const lines: string[] = [
    '// GENERATED by scripts/engineCodegen.ts. Do not edit: run `node scripts/buildEngine.mjs`.',
    '//',
    '// Kernels over a zero-padded copy of the input rows: src [CBi][rows][Wp][Bi] (Wp covers every column',
    '// the output row reads, so no column is ever checked), weights [K/8][CBi][R][S][Bi ci][8 ko].',
    '// Output pixel i of the call: channels 0-3 at out0 + i * outPixelBytes, channels 4-7 at',
    '// out1 + i * outPixelBytes, skipped when out1 is 0 (K ends after channel 3 of the group).',
    "import { madd } from '../simd';",
    '',
    `export const DIRECT_PIXELS: i32 = ${wt};`,
    `export const DIRECT_OUT_CHANNELS: i32 = ${KO};`,
    '',
  ];
  const acc = (i: number, v: number): string => `a${i}_${v}`;
  /** Accumulators of `count` pixels, each starting from the group's bias (or zero). */
  const accumulatorsFromBias = (count: number): string[] => [
    ...Array.from({ length: V }, (_, v) => `  const b${v} = bias != 0 ? v128.load(bias, ${v * 16}) : f32x4.splat(0);`),
    ...Array.from({ length: count * V }, (_, n) => `  let ${acc(Math.floor(n / V), n % V)} = b${n % V};`),
  ];
  /** One (s, ci) step: the weight vectors, then each pixel's input broadcast (`load(i)`) times them. */
  const multiplyAddStep = (count: number, load: (i: number) => string): string[] => [
    ...Array.from({ length: V }, (_, v) => `        const w${v} = v128.load(w, ${v * 16});`),
    ...Array.from({ length: count }, (_, i) => [
      `        const in${i} = ${load(i)};`,
      ...Array.from({ length: V }, (_, v) => `        ${acc(i, v)} = madd(in${i}, w${v}, ${acc(i, v)});`),
    ]).flat(),
  ];
  /** Stores of `count` pixels: channels 0-3 through out0, 4-7 through out1 unless it is 0. */
  const storePixels = (count: number): string[] => {
    const stores = (out: string, v: number): string =>
      Array.from({ length: count }, (_, i) => `v128.store(${out}${i > 0 ? ` + ${i} * outPixelBytes` : ''}, ${acc(i, v)});`).join(' ');
    return [`  ${stores('out0', 0)}`, `  if (out1 != 0) { ${stores('out1', 1)} }`];
  };
  for (const B of DIRECT_INPUT_BLOCKS) {
    const wStepCi = KO * 4; // bytes of weights per input channel
    const wStepS = B * KO * 4;
    // One variant per (stride 1, 2 or any, pixel count): with a constant stride every input load has a
    // constant offset and needs no address arithmetic.
    for (const stride of [1, 2, 0]) {
      for (let count = 1; count <= wt; count++) {
        lines.push('// @ts-ignore: decorator');
        lines.push(`@inline function directRun${B}s${stride === 0 ? 'x' : stride}n${count}(`);
        lines.push('  src: usize, cbBytes: usize, rowBytes: usize, CB: i32, R: i32, S: i32, pixelBytes: usize,');
        lines.push('  yRow: i32, rLo: i32, rHi: i32, weights: usize, out0: usize, out1: usize, outPixelBytes: usize, bias: usize,');
        lines.push('): void {');
        lines.push(...accumulatorsFromBias(count));
        lines.push('  for (let cb = 0; cb < CB; cb++) {');
        lines.push('    for (let r = rLo; r < rHi; r++) {');
        lines.push('      let x = src + <usize>cb * cbBytes + <usize>(yRow + r) * rowBytes;');
        lines.push(`      let w = weights + (<usize>((cb * R + r) * S) * ${wStepS});`);
        lines.push(`      const end = w + (<usize>S * ${wStepS});`);
        lines.push('      // (s, ci) run contiguously in both the padded input row ([Wp][Bi]) and the weights ([S][Bi][8]).');
        lines.push('      while (w < end) {');
        lines.push(...multiplyAddStep(count, (i) => (stride === 0
          ? (i === 0 ? 'v128.load32_splat(x)' : `v128.load32_splat(x + ${i} * pixelBytes)`)
          : `v128.load32_splat(x, ${i * stride * B * 4})`)));
        lines.push(`        w += ${wStepCi};`);
        lines.push('        x += 4;');
        lines.push('      }');
        lines.push('    }');
        lines.push('  }');
        lines.push(...storePixels(count));
        lines.push('}');
        lines.push('');
      }
    }
    // Runs that continue on the next output row: pixels [0, split) on one row, [split, count) at
    // the start of the next, read through a second pointer so every load keeps a constant offset.
    for (const stride of [1, 2]) {
      for (let count = 2; count <= wt; count++) {
        for (let split = 1; split < count; split++) {
          lines.push('// @ts-ignore: decorator');
          lines.push(`@inline function directRun${B}s${stride}n${count}w${split}(`);
          lines.push('  src: usize, next: usize, cbBytes: usize, rowBytes: usize, CB: i32, R: i32, S: i32,');
          lines.push('  yRow: i32, rLo: i32, rHi: i32, weights: usize, out0: usize, out1: usize, outPixelBytes: usize, bias: usize,');
          lines.push('): void {');
          lines.push(...accumulatorsFromBias(count));
          lines.push('  for (let cb = 0; cb < CB; cb++) {');
          lines.push('    for (let r = rLo; r < rHi; r++) {');
          lines.push('      const rowOffset = <usize>cb * cbBytes + <usize>(yRow + r) * rowBytes;');
          lines.push('      let x = src + rowOffset;');
          lines.push('      let z = next + rowOffset;');
          lines.push(`      let w = weights + (<usize>((cb * R + r) * S) * ${wStepS});`);
          lines.push(`      const end = w + (<usize>S * ${wStepS});`);
          lines.push('      while (w < end) {');
          lines.push(...multiplyAddStep(count, (i) => (i < split
            ? `v128.load32_splat(x, ${i * stride * B * 4})`
            : `v128.load32_splat(z, ${(i - split) * stride * B * 4})`)));
          lines.push(`        w += ${wStepCi};`);
          lines.push('        x += 4;');
          lines.push('        z += 4;');
          lines.push('      }');
          lines.push('    }');
          lines.push('  }');
          lines.push(...storePixels(count));
          lines.push('}');
          lines.push('');
        }
      }
    }
    // Dilated runs: the taps of a kernel row are `dilation` pixels apart in the padded row, so the Bi
    // channels of one tap run contiguously and the next tap starts tapBytes further. Only the taps
    // [sLo, sHi) that some pixel of the run reads inside the image are computed (the others would
    // multiply the zero padding); kernel row r of the run reads padded row yRow + r * rowStep.
    for (const stride of [1, 2, 0]) {
      for (let count = 1; count <= wt; count++) {
        lines.push('// @ts-ignore: decorator');
        lines.push(`@inline function directDilated${B}s${stride === 0 ? 'x' : stride}n${count}(`);
        lines.push('  src: usize, cbBytes: usize, rowBytes: usize, CB: i32, R: i32, S: i32, pixelBytes: usize, tapBytes: usize,');
        lines.push('  yRow: i32, rowStep: i32, rLo: i32, rHi: i32, sLo: i32, sHi: i32,');
        lines.push('  weights: usize, out0: usize, out1: usize, outPixelBytes: usize, bias: usize,');
        lines.push('): void {');
        lines.push(...accumulatorsFromBias(count));
        lines.push(`  const tapGap = tapBytes - ${B * 4};`);
        lines.push('  for (let cb = 0; cb < CB; cb++) {');
        lines.push('    for (let r = rLo; r < rHi; r++) {');
        lines.push('      let x = src + <usize>cb * cbBytes + <usize>(yRow + r * rowStep) * rowBytes + <usize>sLo * tapBytes;');
        lines.push(`      let w = weights + (<usize>((cb * R + r) * S + sLo) * ${wStepS});`);
        lines.push('      for (let s = sLo; s < sHi; s++) {');
        lines.push(`        const end = w + ${wStepS};`);
        lines.push('        while (w < end) {');
        lines.push(...multiplyAddStep(count, (i) => (stride === 0
          ? (i === 0 ? 'v128.load32_splat(x)' : `v128.load32_splat(x + ${i} * pixelBytes)`)
          : `v128.load32_splat(x, ${i * stride * B * 4})`)).map((line) => `  ${line}`));
        lines.push(`          w += ${wStepCi};`);
        lines.push('          x += 4;');
        lines.push('        }');
        lines.push('        x += tapGap;');
        lines.push('      }');
        lines.push('    }');
        lines.push('  }');
        lines.push(...storePixels(count));
        lines.push('}');
        lines.push('');
      }
    }
    lines.push('/**');
    lines.push(` * One output row of Q pixels for one group of ${KO} output channels, input blocks of ${B} channels, with`);
    lines.push(' * kernel taps `dilation` pixels apart: src holds padded rows at column 0 of block 0 (image column x at');
    lines.push(' * padded column x + padLeft); kernel row r reads padded row yRow + r * rowStep, for r in [rLo, rHi).');
    lines.push(` * The row is cut into balanced runs of at most ${wt} pixels; each run skips the taps that read only padding.`);
    lines.push(' */');
    lines.push(`export function directRowDilated${B}(`);
    lines.push('  src: usize, cbBytes: usize, rowBytes: usize, CB: i32, R: i32, S: i32, stride: i32, dilation: i32, Q: i32,');
    lines.push('  padLeft: i32, W: i32, yRow: i32, rowStep: i32, rLo: i32, rHi: i32,');
    lines.push('  weights: usize, out0: usize, out1: usize, outPixelBytes: usize, bias: usize,');
    lines.push('): void {');
    lines.push(`  const runs = (Q + ${wt - 1}) / ${wt};`);
    lines.push('  const base = Q / runs;');
    lines.push('  const longer = Q - base * runs;');
    lines.push(`  const pixelBytes = <usize>stride * ${B * 4};`);
    lines.push(`  const tapBytes = <usize>dilation * ${B * 4};`);
    lines.push('  let q = 0;');
    lines.push('  let o0 = out0;');
    lines.push('  let o1 = out1;');
    lines.push('  for (let j = 0; j < runs; j++) {');
    lines.push('    const count = j < longer ? base + 1 : base;');
    lines.push('    const x = src + <usize>q * pixelBytes;');
    lines.push('    // Image columns of tap 0 for the run\'s first and last pixels; tap s reads dilation * s further.');
    lines.push('    const first = q * stride - padLeft;');
    lines.push('    const last = first + (count - 1) * stride;');
    lines.push('    const sLo = last >= 0 ? 0 : (dilation - 1 - last) / dilation;');
    lines.push('    const sHi = first >= W ? 0 : min(S, (W - 1 - first) / dilation + 1);');
    for (const stride of [1, 2, 0]) {
      const cond = stride === 0 ? '} else {' : stride === 1 ? 'if (stride == 1) {' : '} else if (stride == 2) {';
      lines.push(`    ${cond}`);
      for (let count = wt; count >= 1; count--) {
        const call = `directDilated${B}s${stride === 0 ? 'x' : stride}n${count}(x, cbBytes, rowBytes, CB, R, S, pixelBytes, tapBytes, yRow, rowStep, rLo, rHi, sLo, sHi, weights, o0, o1, outPixelBytes, bias)`;
        lines.push(count === 1 ? `      else ${call};` : `      ${count === wt ? '' : 'else '}if (count == ${count}) ${call};`);
      }
    }
    lines.push('    }');
    lines.push('    q += count;');
    lines.push('    o0 += <usize>count * outPixelBytes;');
    lines.push('    if (o1 != 0) o1 += <usize>count * outPixelBytes;');
    lines.push('  }');
    lines.push('}');
    lines.push('');
    lines.push('/**');
    lines.push(` * \`rows\` consecutive output rows of Q pixels (rows p, p + 1, ...) for one group of ${KO} output channels,`);
    lines.push(` * input blocks of ${B} channels. src: padded rows at column 0 of block 0; kernel row r of output row`);
    lines.push(' * p + i reads row yRow + i * stride + r, for r in [rLo, rHi) (the same for all these rows). The rows');
    lines.push(` * are one sequence of rows * Q pixels cut into balanced runs (lengths differ by at most one, none above`);
    lines.push(` * ${wt}), so that no row ends in a short, slow run; a run may continue on the next row. rows > 1 only`);
    lines.push(` * for stride 1 or 2 and Q >= ${wt}, so that a run spans at most two rows.`);
    lines.push(' */');
    lines.push(`export function directRows${B}(`);
    lines.push('  src: usize, cbBytes: usize, rowBytes: usize, CB: i32, R: i32, S: i32, stride: i32, Q: i32, rows: i32,');
    lines.push('  yRow: i32, rLo: i32, rHi: i32, weights: usize, out0: usize, out1: usize, outPixelBytes: usize, bias: usize,');
    lines.push('): void {');
    lines.push('  const total = rows * Q;');
    lines.push(`  const runs = (total + ${wt - 1}) / ${wt};`);
    lines.push('  const base = total / runs;');
    lines.push('  const longer = total - base * runs;');
    lines.push(`  const pixelBytes = <usize>stride * ${B * 4};`);
    lines.push('  let row = 0;');
    lines.push('  let q = 0;');
    lines.push('  let o0 = out0;');
    lines.push('  let o1 = out1;');
    lines.push('  for (let j = 0; j < runs; j++) {');
    lines.push('    const count = j < longer ? base + 1 : base;');
    lines.push('    const y = yRow + row * stride;');
    lines.push('    const x = src + <usize>q * pixelBytes;');
    lines.push('    if (q + count <= Q) {');
    for (const stride of [1, 2, 0]) {
      const cond = stride === 0 ? '} else {' : stride === 1 ? 'if (stride == 1) {' : '} else if (stride == 2) {';
      lines.push(`      ${cond}`);
      for (let count = wt; count >= 1; count--) {
        const call = `directRun${B}s${stride === 0 ? 'x' : stride}n${count}(x, cbBytes, rowBytes, CB, R, S, pixelBytes, y, rLo, rHi, weights, o0, o1, outPixelBytes, bias)`;
        lines.push(count === 1 ? `        else ${call};` : `        ${count === wt ? '' : 'else '}if (count == ${count}) ${call};`);
      }
    }
    lines.push('      }');
    lines.push('    } else {');
    lines.push('      // The run continues at the start of the next row (rows > 1 only for stride 1 or 2 and Q >= pixels).');
    lines.push('      const split = Q - q;');
    lines.push('      const next = src + <usize>stride * rowBytes;');
    for (const stride of [1, 2]) {
      lines.push(`      ${stride === 1 ? 'if (stride == 1) {' : '} else {'}`);
      const cases: string[] = [];
      for (let count = 2; count <= wt; count++) {
        for (let split = 1; split < count; split++) {
          cases.push(`if (count == ${count} && split == ${split}) directRun${B}s${stride}n${count}w${split}(x, next, cbBytes, rowBytes, CB, R, S, y, rLo, rHi, weights, o0, o1, outPixelBytes, bias);`);
        }
      }
      lines.push(`        ${cases.join('\n        else ')}`);
    }
    lines.push('      }');
    lines.push('    }');
    lines.push('    q += count;');
    lines.push('    while (q >= Q) { q -= Q; row++; }');
    lines.push('    o0 += <usize>count * outPixelBytes;');
    lines.push('    if (o1 != 0) o1 += <usize>count * outPixelBytes;');
    lines.push('  }');
    lines.push('}');
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * Depthwise 3x3 kernels (channel multiplier 1, dilation 1, stride 1 or 2) on nchw{B}c: four channels
 * per v128 straight from the layout (one block's quad of channels is contiguous at every pixel), and
 * DEPTHWISE_PIXELS output pixels of one row per call. Each kernel row loads its three weight vectors
 * once and streams the input columns in order, each used at once by the (up to 3) pixels that read it:
 * accumulators + 3 weights + one input (+ a product temporary without relaxed multiply-add) stay
 * within V8's 15 vector registers, and the pixels' chains are independent, so multiply-add latency is
 * hidden. One variant per (B, stride), so that every load has a constant offset, and an edge variant
 * of each for runs that touch the padding or end the row: it skips the columns outside the image and
 * stores only the pixels the row has, so no pixel is ever computed one at a time.
 */
export const DEPTHWISE_PIXELS = 8;

function depthwiseRunLines(B: number, stride: number, edge: boolean): string[] {
  const T = DEPTHWISE_PIXELS;
  const pixel = B * 4;
  const columns = (T - 1) * stride + 3;
  const lines: string[] = [];
  const name = `depthwise${edge ? 'Edge' : 'Run'}${B}s${stride}`;
  const edgeArgs = edge ? ', x0: i32, W: i32, count: i32' : '';
  lines.push(`export function ${name}(row0: usize, row1: usize, row2: usize, w: usize, bias: usize, out: usize${edgeArgs}): void {`);
  lines.push('  const b = bias != 0 ? v128.load(bias) : f32x4.splat(0);');
  lines.push(`  let ${Array.from({ length: T }, (_, t) => `a${t} = b`).join(', ')};`);
  if (edge) {
    // Columns j of the run read input column x0 + j: only lo <= j < hi are inside the image.
    lines.push('  const lo = max(0, -x0), hi = min(' + columns + ', W - x0);');
  }
  for (let r = 0; r < 3; r++) {
    lines.push(`  if (row${r} != 0) {`);
    lines.push(`    const wa = v128.load(w, ${r * 48}), wb = v128.load(w, ${r * 48 + 16}), wc = v128.load(w, ${r * 48 + 32});`);
    for (let j = 0; j < columns; j++) {
      const madds: string[] = [];
      for (let t = 0; t < T; t++) {
        const s = j - t * stride;
        if (s >= 0 && s < 3) madds.push(`a${t} = madd(${['wa', 'wb', 'wc'][s]}, i${j}, a${t});`);
      }
      if (edge) {
        lines.push(`    if (lo <= ${j} && ${j} < hi) {`);
        lines.push(`      const i${j} = v128.load(row${r} + (<usize>(x0 + ${j}) * ${pixel}));`);
        for (const line of madds) lines.push(`      ${line}`);
        lines.push('    }');
      } else {
        lines.push(`    const i${j} = v128.load(row${r}, ${j * pixel});`);
        for (const line of madds) lines.push(`    ${line}`);
      }
    }
    lines.push('  }');
  }
  for (let t = 0; t < T; t++) {
    lines.push(edge ? `  if (count > ${t}) v128.store(out, a${t}, ${t * pixel});` : `  v128.store(out, a${t}, ${t * pixel});`);
  }
  lines.push('}');
  lines.push('');
  return lines;
}

export function generateDepthwiseKernels(): string {
  const lines: string[] = [
    '// GENERATED by scripts/engineCodegen.ts. Do not edit: run `node scripts/buildEngine.mjs`.',
    '//',
    '// Depthwise 3x3 runs: DEPTHWISE_PIXELS output pixels of one row for one quad of channels of an nchw{B}c',
    '// image; w: the quad\'s 9 weight vectors [r][s]; bias: the quad\'s 4 biases (0: none); a row',
    '// address of 0 is a kernel row outside the image. depthwiseRun: rows are the addresses of input',
    '// column x0 of the three kernel rows, and every column the run reads is inside the image.',
    '// depthwiseEdge: rows are the addresses of column 0; columns outside 0..W-1 are skipped (zero',
    '// padding) and only the first `count` pixels are stored.',
    "import { madd } from '../simd';",
    '',
    `export const DEPTHWISE_PIXELS: i32 = ${DEPTHWISE_PIXELS};`,
    '',
  ];
  for (const B of LAYOUT_BLOCKS) {
    for (const stride of [1, 2]) {
      lines.push(...depthwiseRunLines(B, stride, false), ...depthwiseRunLines(B, stride, true));
    }
  }
  return lines.join('\n');
}

if (require.main === module) {
  const outDir = process.argv[2];
  if (!outDir) throw new Error('usage: tsx scripts/engineCodegen.ts <output dir>');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'winogradTransforms.ts'), generateWinogradTransforms());
  writeFileSync(join(outDir, 'directKernels.ts'), generateDirectKernels());
  writeFileSync(join(outDir, 'depthwiseKernels.ts'), generateDepthwiseKernels());
}
