/**
 * Export of a WinogradResult as C, TypeScript, NumPy, LaTeX, Markdown or JSON.
 *
 * C and TypeScript get straight-line transform functions generated from the exact matrices (zero
 * entries dropped, +-1 entries as additions and subtractions), in the same columns-then-rows order
 * the cost model counts and the error simulation rounds. Tiles are row-major: d is alpha x alphaN,
 * g is r x s, the transform-domain tiles are alpha x alphaN and y is m x n.
 */
import type { ExportFormat, WinogradResult } from '../../shared/payloads';
import { type Rational, type RationalMatrix, fromStringMatrix, isNegative, isZero, rationalToNumber } from './rational';

interface Shape {
  m: number;
  n: number;
  r: number;
  s: number;
  alpha: number;
  alphaN: number;
  AT: RationalMatrix;
  G: RationalMatrix;
  BT: RationalMatrix;
  AT2: RationalMatrix;
  G2: RationalMatrix;
  BT2: RationalMatrix;
}

function shapeOf(result: WinogradResult): Shape {
  const AT = fromStringMatrix(result.AT, 'AT');
  const G = fromStringMatrix(result.G, 'G');
  const BT = fromStringMatrix(result.BT, 'BT');
  const second = result.second
    ? {
        AT: fromStringMatrix(result.second.AT, 'second.AT'),
        G: fromStringMatrix(result.second.G, 'second.G'),
        BT: fromStringMatrix(result.second.BT, 'second.BT'),
      }
    : { AT, G, BT };
  return {
    m: AT.length,
    n: second.AT.length,
    r: G[0]?.length ?? 0,
    s: second.G[0]?.length ?? 0,
    alpha: BT.length,
    alphaN: second.BT.length,
    AT,
    G,
    BT,
    AT2: second.AT,
    G2: second.G,
    BT2: second.BT,
  };
}

function title(result: WinogradResult): string {
  const n = result.n ?? result.m;
  const s = result.s ?? result.r;
  return `F(${result.m}x${n}, ${result.r}x${s})`;
}

function identifier(result: WinogradResult): string {
  return `winograd_f${result.m}x${result.n ?? result.m}_${result.r}x${result.s ?? result.r}`;
}

function describePoints(result: WinogradResult): string {
  const points = result.points.join(', ') + (result.infinity ? ', infinity' : '');
  const second = result.second ? `; second dimension: ${result.second.points.join(', ')}${result.infinity ? ', infinity' : ''}` : '';
  return `points ${points}${second}; fractions in ${result.fractionsIn}`;
}

/** c0*x0 + c1*x1 + ... with zero terms dropped and +-1 written as plain additions/subtractions. */
function linearCombination(coefficients: readonly Rational[], operands: readonly string[], literal: (value: Rational) => string, zero: string): string {
  let text = '';
  coefficients.forEach((coefficient, j) => {
    if (isZero(coefficient)) return;
    const negative = isNegative(coefficient);
    const magnitude = coefficient.abs();
    const term = magnitude.equals(1) ? operands[j]! : `${literal(magnitude)} * ${operands[j]!}`;
    if (text === '') text = negative ? `-${term}` : term;
    else text += negative ? ` - ${term}` : ` + ${term}`;
  });
  return text === '' ? zero : text;
}

interface CodeStyle {
  literal: (value: Rational) => string;
  zero: string;
  declareTemp: (name: string, size: number) => string;
}

/** Statements computing out = Left X Right^T, X being rows(Left.columns) x columns(Right.columns). */
function twoSidedTransform(left: RationalMatrix, right: RationalMatrix, input: string, output: string, style: CodeStyle, indent: string): string[] {
  const innerRows = left[0]?.length ?? 0;
  const innerColumns = right[0]?.length ?? 0;
  const lines = [`${indent}${style.declareTemp('t', left.length * innerColumns)}`];
  for (let i = 0; i < left.length; i++) {
    for (let c = 0; c < innerColumns; c++) {
      const operands = Array.from({ length: innerRows }, (_, j) => `${input}[${j * innerColumns + c}]`);
      lines.push(`${indent}t[${i * innerColumns + c}] = ${linearCombination(left[i]!, operands, style.literal, style.zero)};`);
    }
  }
  for (let i = 0; i < left.length; i++) {
    for (let k = 0; k < right.length; k++) {
      const operands = Array.from({ length: innerColumns }, (_, j) => `t[${i * innerColumns + j}]`);
      lines.push(`${indent}${output}[${i * right.length + k}] = ${linearCombination(right[k]!, operands, style.literal, style.zero)};`);
    }
  }
  return lines;
}

function floatLiteralC(value: Rational): string {
  const single = Math.fround(rationalToNumber(value));
  // 9 significant digits identify a binary32 value uniquely.
  return `${Number.isInteger(single) && Math.abs(single) < 1e15 ? single.toFixed(1) : single.toPrecision(9)}f`;
}

function doubleLiteral(value: Rational): string {
  const double = rationalToNumber(value);
  return Number.isInteger(double) && Math.abs(double) < 1e15 ? double.toFixed(1) : String(double);
}

function matrixLiteral(matrix: RationalMatrix, literal: (value: Rational) => string, open: string, close: string, indent: string): string {
  return matrix.map((row) => `${indent}${open}${row.map(literal).join(', ')}${close}`).join(',\n');
}

function exportC(result: WinogradResult): string {
  const shape = shapeOf(result);
  const name = identifier(result);
  const style: CodeStyle = { literal: floatLiteralC, zero: '0.0f', declareTemp: (t, size) => `float ${t}[${size}];` };
  const constants = (label: string, matrix: RationalMatrix): string =>
    `static const float ${name}_${label}[${matrix.length}][${matrix[0]?.length ?? 0}] = {\n${matrixLiteral(matrix, floatLiteralC, '{', '}', '    ')}\n};`;
  const lines: string[] = [
    `/* ${title(result)} Winograd minimal filtering, ${describePoints(result)}.`,
    ` * Generated by Deep Accel from exact rational matrices (verified: ${result.verified}).`,
    ` * Tiles are row-major: d[${shape.alpha}*${shape.alphaN}], g[${shape.r}*${shape.s}], U/V/M[${shape.alpha}*${shape.alphaN}], y[${shape.m}*${shape.n}].`,
    ` * y = AT [(G g G'^T) .* (BT d B')] A' computes correlation y[i][j] = sum_k,l g[k][l] d[i+k][j+l]. */`,
    '',
    constants('AT', shape.AT),
    constants('G', shape.G),
    constants('BT', shape.BT),
  ];
  if (result.second) {
    lines.push(constants('AT2', shape.AT2), constants('G2', shape.G2), constants('BT2', shape.BT2));
  }
  lines.push(
    '',
    `/* V = BT d B' */`,
    `static void ${name}_input_transform(const float *d, float *v) {`,
    ...twoSidedTransform(shape.BT, shape.BT2, 'd', 'v', style, '    '),
    '}',
    '',
    `/* U = G g G'^T */`,
    `static void ${name}_filter_transform(const float *g, float *u) {`,
    ...twoSidedTransform(shape.G, shape.G2, 'g', 'u', style, '    '),
    '}',
    '',
    `/* y = AT M A' */`,
    `static void ${name}_output_transform(const float *mm, float *y) {`,
    ...twoSidedTransform(shape.AT, shape.AT2, 'mm', 'y', style, '    '),
    '}',
    '',
    `/* One output tile: y (${shape.m}x${shape.n}) from input tile d (${shape.alpha}x${shape.alphaN}) and filter g (${shape.r}x${shape.s}). */`,
    `static void ${name}_tile(const float *d, const float *g, float *y) {`,
    `    float u[${shape.alpha * shape.alphaN}], v[${shape.alpha * shape.alphaN}];`,
    `    ${name}_filter_transform(g, u);`,
    `    ${name}_input_transform(d, v);`,
    `    for (int i = 0; i < ${shape.alpha * shape.alphaN}; i++) u[i] *= v[i];`,
    `    ${name}_output_transform(u, y);`,
    '}',
    '',
  );
  return lines.join('\n');
}

function exportTypeScript(result: WinogradResult): string {
  const shape = shapeOf(result);
  const style: CodeStyle = {
    literal: doubleLiteral,
    zero: '0',
    declareTemp: (t, size) => `const ${t} = new Float64Array(${size});`,
  };
  const constants = (label: string, matrix: RationalMatrix): string =>
    `export const ${label}: readonly (readonly number[])[] = [\n${matrixLiteral(matrix, doubleLiteral, '[', ']', '  ')},\n];`;
  const lines: string[] = [
    `// ${title(result)} Winograd minimal filtering, ${describePoints(result)}.`,
    `// Generated by Deep Accel from exact rational matrices (verified: ${result.verified}).`,
    `// Tiles are row-major: d ${shape.alpha}x${shape.alphaN}, g ${shape.r}x${shape.s}, U/V/M ${shape.alpha}x${shape.alphaN}, y ${shape.m}x${shape.n}.`,
    '',
    `export const TILE = { m: ${shape.m}, n: ${shape.n}, r: ${shape.r}, s: ${shape.s}, alpha: ${shape.alpha}, alphaN: ${shape.alphaN} } as const;`,
    constants('AT', shape.AT),
    constants('G', shape.G),
    constants('BT', shape.BT),
  ];
  if (result.second) lines.push(constants('AT2', shape.AT2), constants('G2', shape.G2), constants('BT2', shape.BT2));
  const fn = (signature: string, body: string[]): string[] => [`export function ${signature}: void {`, ...body, '}', ''];
  lines.push(
    '',
    `/** V = BT d B' */`,
    ...fn('inputTransform(d: ArrayLike<number>, v: { [index: number]: number })', twoSidedTransform(shape.BT, shape.BT2, 'd', 'v', style, '  ')),
    `/** U = G g G'^T */`,
    ...fn('filterTransform(g: ArrayLike<number>, u: { [index: number]: number })', twoSidedTransform(shape.G, shape.G2, 'g', 'u', style, '  ')),
    `/** y = AT M A' */`,
    ...fn('outputTransform(mm: ArrayLike<number>, y: { [index: number]: number })', twoSidedTransform(shape.AT, shape.AT2, 'mm', 'y', style, '  ')),
    `/** One output tile: y (${shape.m}x${shape.n}) = correlation of d (${shape.alpha}x${shape.alphaN}) with g (${shape.r}x${shape.s}). */`,
    ...fn('tile(d: ArrayLike<number>, g: ArrayLike<number>, y: { [index: number]: number })', [
      `  const u = new Float64Array(${shape.alpha * shape.alphaN});`,
      `  const v = new Float64Array(${shape.alpha * shape.alphaN});`,
      '  filterTransform(g, u);',
      '  inputTransform(d, v);',
      `  for (let i = 0; i < ${shape.alpha * shape.alphaN}; i++) u[i] *= v[i];`,
      '  outputTransform(u, y);',
    ]),
  );
  return lines.join('\n');
}

function pythonFraction(value: Rational): string {
  const text = value.toFraction();
  const [numerator, denominator] = text.split('/');
  return denominator ? `Fraction(${numerator}, ${denominator})` : `Fraction(${numerator})`;
}

function exportNumpy(result: WinogradResult): string {
  const shape = shapeOf(result);
  const exact = (label: string, matrix: RationalMatrix): string =>
    `${label}_exact = [\n${matrixLiteral(matrix, pythonFraction, '[', ']', '    ')},\n]`;
  const floats = (label: string): string => `${label} = np.array([[float(x) for x in row] for row in ${label}_exact], dtype=np.float64)`;
  const labels = result.second ? ['AT', 'G', 'BT', 'AT2', 'G2', 'BT2'] : ['AT', 'G', 'BT'];
  const matrices: Record<string, RationalMatrix> = { AT: shape.AT, G: shape.G, BT: shape.BT, AT2: shape.AT2, G2: shape.G2, BT2: shape.BT2 };
  const lines = [
    `# ${title(result)} Winograd minimal filtering, ${describePoints(result)}.`,
    `# Generated by Deep Accel from exact rational matrices (verified: ${result.verified}).`,
    'from fractions import Fraction',
    '',
    'import numpy as np',
    '',
    ...labels.map((label) => exact(label, matrices[label]!)),
    '',
    ...labels.map(floats),
    ...(result.second ? [] : ['AT2, G2, BT2 = AT, G, BT']),
    '',
    '',
    'def winograd_tile(d, g):',
    `    """Correlation of a ${shape.alpha}x${shape.alphaN} input tile d with an ${shape.r}x${shape.s} filter g: a ${shape.m}x${shape.n} output tile."""`,
    '    U = G @ g @ G2.T',
    '    V = BT @ d @ BT2.T',
    '    return AT @ (U * V) @ AT2.T',
    '',
  ];
  return lines.join('\n');
}

function latexEntry(value: Rational): string {
  const text = value.toFraction();
  const slash = text.indexOf('/');
  if (slash < 0) return text;
  const sign = text.startsWith('-') ? '-' : '';
  const numerator = text.slice(sign.length, slash);
  return `${sign}\\frac{${numerator}}{${text.slice(slash + 1)}}`;
}

function latexMatrix(label: string, matrix: RationalMatrix): string {
  const body = matrix.map((row) => row.map(latexEntry).join(' & ')).join(' \\\\\n  ');
  return `\\[\n${label} = \\begin{bmatrix}\n  ${body}\n\\end{bmatrix}\n\\]`;
}

function exportLatex(result: WinogradResult): string {
  const shape = shapeOf(result);
  const parts = [
    `% ${title(result)} Winograd minimal filtering, ${describePoints(result)}.`,
    `% Y = A^T [ (G g G^T) \\odot (B^T d B) ] A  (verified: ${result.verified})`,
    latexMatrix('A^T', shape.AT),
    latexMatrix('G', shape.G),
    latexMatrix('B^T', shape.BT),
  ];
  if (result.second) parts.push(latexMatrix("A'^T", shape.AT2), latexMatrix("G'", shape.G2), latexMatrix("B'^T", shape.BT2));
  return parts.join('\n\n') + '\n';
}

function markdownMatrix(label: string, matrix: string[][]): string {
  const columns = matrix[0]?.length ?? 0;
  const header = `| ${label} | ${Array.from({ length: columns }, (_, j) => String(j)).join(' | ')} |`;
  const rule = `|---|${Array.from({ length: columns }, () => '---:').join('|')}|`;
  const rows = matrix.map((row, i) => `| **${i}** | ${row.join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}

function exportMarkdown(result: WinogradResult): string {
  const lines = [
    `## ${title(result)} Winograd transform`,
    '',
    `- Points: ${result.points.join(', ')}${result.infinity ? ', infinity' : ''}${result.second ? ` (second dimension: ${result.second.points.join(', ')})` : ''}`,
    `- Fractions in: ${result.fractionsIn}`,
    `- Verified exactly: ${result.verified ? 'yes' : '**no**'}`,
    `- Multiplications per tile: ${result.multiplications.winograd} vs ${result.multiplications.direct} direct (${result.multiplications.saving.toFixed(2)}x fewer)`,
    '',
    markdownMatrix('AT', result.AT),
    '',
    markdownMatrix('G', result.G),
    '',
    markdownMatrix('BT', result.BT),
    '',
  ];
  if (result.second) {
    lines.push(markdownMatrix("AT'", result.second.AT), '', markdownMatrix("G'", result.second.G), '', markdownMatrix("BT'", result.second.BT), '');
  }
  const ops = result.transformOps;
  lines.push(
    '| transform | adds | muls |',
    '|---|---:|---:|',
    `| input | ${ops.input.adds} | ${ops.input.muls} |`,
    `| filter | ${ops.filter.adds} | ${ops.filter.muls} |`,
    `| output | ${ops.output.adds} | ${ops.output.muls} |`,
    '',
  );
  if (result.error.length > 0) {
    lines.push('| precision | mean abs error | x direct | max abs error | x direct | max transform magnitude |', '|---|---:|---:|---:|---:|---:|');
    for (const e of result.error) {
      lines.push(`| ${e.precision} | ${e.meanAbs.toExponential(3)} | ${e.meanMultiple.toFixed(2)} | ${e.maxAbs.toExponential(3)} | ${e.maxMultiple.toFixed(2)} | ${e.maxTransformMagnitude.toPrecision(4)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

function exportJson(result: WinogradResult): string {
  const { exports: _omitted, ...rest } = result;
  void _omitted;
  return JSON.stringify(rest, null, 2) + '\n';
}

export function exportWinograd(result: WinogradResult, format: ExportFormat): string {
  switch (format) {
    case 'c':
      return exportC(result);
    case 'ts':
      return exportTypeScript(result);
    case 'numpy':
      return exportNumpy(result);
    case 'latex':
      return exportLatex(result);
    case 'markdown':
      return exportMarkdown(result);
    case 'json':
      return exportJson(result);
    default:
      throw new Error(`unknown export format "${String(format)}": expected c, numpy, ts, latex, markdown or json`);
  }
}
