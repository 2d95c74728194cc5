import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformSync } from 'esbuild';
import { exportWinograd, generateWinograd } from '../../../../extension/core/winograd/index';
import { SeededRandom } from '../../../../extension/core/winograd/error';
import type { WinogradResult } from '../../../../extension/shared/payloads';

const f43 = generateWinograd({ m: 4, r: 3, points: ['0', '1', '-1', '2', '-2'], errorTrials: 20 });
const f63 = generateWinograd({ m: 6, r: 3, errorTrials: 0 });
const rectangular = generateWinograd({ m: 4, r: 3, n: 2, s: 2, errorTrials: 0 });

function shape(result: WinogradResult): { m: number; n: number; r: number; s: number; alpha: number; alphaN: number } {
  const n = result.n ?? result.m;
  const s = result.s ?? result.r;
  return { m: result.m, n, r: result.r, s, alpha: result.alpha, alphaN: n + s - 1 };
}

/** fp64 direct 2-D correlation y[i][j] = sum g[k][l] d[i+k][j+l], row-major. */
function directCorrelation(result: WinogradResult, d: Float64Array, g: Float64Array): Float64Array {
  const { m, n, r, s, alphaN } = shape(result);
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let k = 0; k < r; k++) for (let l = 0; l < s; l++) sum += g[k * s + l]! * d[(i + k) * alphaN + j + l]!;
    y[i * n + j] = sum;
  }
  return y;
}

function randomTiles(result: WinogradResult, seed: number): { d: Float64Array; g: Float64Array } {
  const { r, s, alpha, alphaN } = shape(result);
  const random = new SeededRandom(seed);
  return {
    d: Float64Array.from({ length: alpha * alphaN }, () => random.symmetric()),
    g: Float64Array.from({ length: r * s }, () => random.symmetric()),
  };
}

type Tile = (d: ArrayLike<number>, g: ArrayLike<number>, y: Float64Array) => void;

function loadTypeScript(source: string): { tile: Tile; AT: number[][] } {
  const { code } = transformSync(source, { loader: 'ts', format: 'cjs' });
  const module = { exports: {} as Record<string, unknown> };
  new Function('module', 'exports', code)(module, module.exports);
  return module.exports as unknown as { tile: Tile; AT: number[][] };
}

test('exported TypeScript computes correlation (square, rectangular, fractions in A and B)', () => {
  const cases = [
    f43,
    f63,
    rectangular,
    generateWinograd({ m: 4, r: 3, fractionsIn: 'A', errorTrials: 0 }),
    generateWinograd({ m: 3, r: 2, fractionsIn: 'B', infinity: false, errorTrials: 0 }),
  ];
  for (const result of cases) {
    const source = exportWinograd(result, 'ts');
    const module = loadTypeScript(source);
    const { m, n } = shape(result);
    for (let trial = 0; trial < 5; trial++) {
      const { d, g } = randomTiles(result, trial + 1);
      const y = new Float64Array(m * n);
      module.tile(d, g, y);
      const expected = directCorrelation(result, d, g);
      for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i]! - expected[i]!) < 1e-12, `F(${result.m},${result.r}) y[${i}] ${y[i]} vs ${expected[i]}`);
    }
  }
});

test('exported TypeScript is straight-line code without zero terms and with exact small constants', () => {
  const source = exportWinograd(generateWinograd({ m: 2, r: 3, points: ['0', '1', '-1'], errorTrials: 0 }), 'ts');
  // First input row of BT = [1, 0, -1, 0]: t[0] = d[0] - d[8].
  assert.match(source, /t\[0\] = d\[0\] - d\[8\];/);
  assert.match(source, /export const G: readonly \(readonly number\[\]\)\[\] = \[\n {2}\[1\.0, 0\.0, 0\.0\],\n {2}\[0\.5, 0\.5, 0\.5\],/);
  // Zero entries are dropped and +-1 entries need no multiplication.
  assert.doesNotMatch(source, /\b0\.0 \* /);
  assert.doesNotMatch(source, /\b1\.0 \* /);
});

const gcc = spawnSync('gcc', ['--version']).status === 0;

test('exported C compiles with gcc and computes correlation in float', { skip: gcc ? false : 'gcc not installed' }, () => {
  const directory = mkdtempSync(join(tmpdir(), 'deep-accel-winograd-c-'));
  try {
    for (const result of [f43, f63, rectangular]) {
      const { m, n, r, s, alpha, alphaN } = shape(result);
      const name = `winograd_f${result.m}x${n}_${result.r}x${s}`;
      const { d, g } = randomTiles(result, 11);
      const harness = `${exportWinograd(result, 'c')}
#include <stdio.h>
int main(void) {
    float d[${alpha * alphaN}], g[${r * s}], y[${m * n}];
    for (int i = 0; i < ${alpha * alphaN}; i++) if (scanf("%f", &d[i]) != 1) return 2;
    for (int i = 0; i < ${r * s}; i++) if (scanf("%f", &g[i]) != 1) return 2;
    ${name}_tile(d, g, y);
    for (int i = 0; i < ${m * n}; i++) printf("%.9g\\n", y[i]);
    return 0;
}
`;
      const sourcePath = join(directory, `${name}.c`);
      const binary = join(directory, name);
      writeFileSync(sourcePath, harness);
      execFileSync('gcc', ['-std=c99', '-O1', '-Wall', '-Werror', '-Wno-unused-function', '-Wno-unused-const-variable', '-o', binary, sourcePath]);
      const input = [...d, ...g].map((value) => Math.fround(value).toPrecision(9)).join('\n');
      const output = execFileSync(binary, { input }).toString().trim().split('\n').map(Number);
      const expected = directCorrelation(result, d.map(Math.fround), g.map(Math.fround));
      assert.equal(output.length, m * n);
      // float arithmetic: tolerance from the measured fp32 error scale of these tiles
      output.forEach((value, i) => assert.ok(Math.abs(value - expected[i]!) < 5e-5, `${name} y[${i}] ${value} vs ${expected[i]}`));
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

const numpy = spawnSync('python3', ['-c', 'import numpy']).status === 0;

test('exported NumPy defines exact Fractions and a correct winograd_tile', { skip: numpy ? false : 'python3 with numpy not installed' }, () => {
  for (const result of [f43, rectangular]) {
    const { d, g } = randomTiles(result, 21);
    const { r, s, alpha, alphaN } = shape(result);
    const script = `${exportWinograd(result, 'numpy')}
d = np.array(${JSON.stringify(Array.from(d))}).reshape(${alpha}, ${alphaN})
g = np.array(${JSON.stringify(Array.from(g))}).reshape(${r}, ${s})
print(" ".join(repr(float(v)) for v in winograd_tile(d, g).flatten()))
print(str(G_exact[1][0]))
`;
    const output = execFileSync('python3', ['-'], { input: script }).toString().trim().split('\n');
    const values = output[0]!.split(' ').map(Number);
    const expected = directCorrelation(result, d, g);
    values.forEach((value, i) => assert.ok(Math.abs(value - expected[i]!) < 1e-12, `y[${i}]`));
    assert.equal(output[1], result.G[1]![0]);
  }
});

test('LaTeX export writes bmatrix environments with \\frac entries', () => {
  const latex = exportWinograd(generateWinograd({ m: 2, r: 3, points: ['0', '1', '-1'], errorTrials: 0 }), 'latex');
  assert.ok(latex.includes('G = \\begin{bmatrix}\n  1 & 0 & 0 \\\\\n  \\frac{1}{2} & \\frac{1}{2} & \\frac{1}{2} \\\\\n  \\frac{1}{2} & -\\frac{1}{2} & \\frac{1}{2} \\\\\n  0 & 0 & 1\n\\end{bmatrix}'));
  assert.ok(latex.includes('B^T = \\begin{bmatrix}\n  1 & 0 & -1 & 0 \\\\'));
});

test('Markdown export has matrix tables, the verdict and the error table', () => {
  const markdown = exportWinograd(f43, 'markdown');
  assert.ok(markdown.startsWith('## F(4x4, 3x3) Winograd transform'));
  assert.ok(markdown.includes('| **1** | -1/6 | -1/6 | -1/6 |'));
  assert.ok(markdown.includes('- Verified exactly: yes'));
  assert.ok(markdown.includes('| fp16 |'));
});

test('JSON export is the result without the exports field', () => {
  const withExports = generateWinograd({ m: 2, r: 3, errorTrials: 0, exports: ['json', 'c'] });
  assert.ok(withExports.exports?.c?.includes('winograd_f2x2_3x3_tile'));
  const parsed = JSON.parse(withExports.exports!.json!) as WinogradResult;
  assert.equal(parsed.exports, undefined);
  assert.deepEqual(parsed.BT, withExports.BT);
  assert.equal(parsed.verified, true);
});

test('unknown export format is rejected', () => {
  assert.throws(() => exportWinograd(f43, 'pdf' as 'c'), /unknown export format "pdf"/);
  assert.throws(() => generateWinograd({ m: 2, r: 3, exports: ['pdf' as 'c'] }), /unknown export format "pdf"/);
});
