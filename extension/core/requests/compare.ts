/** The compare request: two saved benchmark runs side by side. */
import type { BenchComparison } from '../../shared/payloads';
import type { CompareRequest } from '../../shared/requests';
import { compareBenchFiles } from '../bench/saved';

export function runCompare(request: CompareRequest): Promise<BenchComparison> {
  return compareBenchFiles(request.a, request.b);
}
