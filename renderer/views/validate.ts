import type { PayloadKind } from '../../extension/shared/payloads';

/**
 * Payloads may come from a Jupyter kernel or an old saved notebook, so check the fields each view
 * reads before drawing, and say which one is wrong.
 */
const REQUIRED: Record<PayloadKind, Record<string, 'number' | 'string' | 'boolean' | 'array' | 'object'>> = {
  winograd: { m: 'number', r: 'number', alpha: 'number', points: 'array', AT: 'array', G: 'array', BT: 'array', verified: 'boolean', multiplications: 'object', transformOps: 'object', error: 'array', verification: 'object', cost: 'object' },
  sparsity: { file: 'string', format: 'string', tensors: 'array', total: 'object' },
  prune: { file: 'string', method: 'string', profile: 'string', targetSparsity: 'number', tensors: 'array', total: 'object', warnings: 'array' },
  bench: { machine: 'object', results: 'array' },
  benchCompare: { a: 'object', b: 'object' },
  model: { file: 'string', format: 'string', input: 'object', layers: 'array', total: 'object', notes: 'array', warnings: 'array' },
  help: { commands: 'array' },
};

export function validatePayload(kind: PayloadKind, data: unknown): void {
  if (typeof data !== 'object' || data === null) throw new Error(`a ${kind} payload must be a JSON object`);
  for (const [field, type] of Object.entries(REQUIRED[kind])) {
    const value = (data as Record<string, unknown>)[field];
    const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
    if (actual !== type) throw new Error(`the ${kind} payload's field '${field}' should be ${type === 'array' ? 'an array' : `a ${type}`}, got ${actual}`);
  }
}
