/**
 * N:M structured sparsity patterns: at most N nonzeros in every group of M consecutive input
 * channels (NVIDIA's sparse tensor cores run 2:4; 1:4, 4:8 and other ratios are studied for other
 * hardware). Patterns are written "N:M", e.g. "2:4".
 */

export interface NmPattern {
  n: number;
  m: number;
  /** The canonical text, "N:M". */
  name: string;
}

/** Largest group size accepted: groups are sorted per group, so M stays small. */
export const MAX_NM_GROUP = 32;

export function nmPattern(n: number, m: number): NmPattern {
  if (!(Number.isInteger(n) && Number.isInteger(m) && n >= 1 && m >= 2 && n < m && m <= MAX_NM_GROUP)) {
    throw new RangeError(`an N:M pattern needs integers 1 <= N < M <= ${MAX_NM_GROUP}, got ${n}:${m}`);
  }
  return { n, m, name: `${n}:${m}` };
}

/** "1:4,2:4,4:8" (spaces allowed) -> patterns in the order given, duplicates dropped. */
export function parseNmPatterns(text: string | readonly string[]): NmPattern[] {
  const parts = (typeof text === 'string' ? text.split(',') : text).map((part) => part.trim()).filter((part) => part !== '');
  const patterns: NmPattern[] = [];
  for (const part of parts) {
    const match = /^(\d+)\s*:\s*(\d+)$/.exec(part);
    if (!match) throw new RangeError(`N:M patterns look like 2:4 (several separated by commas), got '${part}'`);
    const pattern = nmPattern(Number(match[1]), Number(match[2]));
    if (!patterns.some((p) => p.name === pattern.name)) patterns.push(pattern);
  }
  return patterns;
}
