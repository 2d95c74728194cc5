/**
 * Timing of a kernel: warm up for a time, then iterate within a time budget, and summarise the
 * samples. The clock is injectable so the statistics are tested on a fake clock.
 */

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
}

export const realClock: Clock = { now: () => performance.now() };

export interface TimingOptions {
  /** Warm up for at least this long (default 500 ms); at least one warm-up run is always made. */
  warmupMs?: number;
  /** Keep timing while the summed sample time is below this (default 2000 ms). */
  budgetMs?: number;
  /** Always take at least this many samples, even past the budget (default 3). */
  minIterations?: number;
  /** Never take more than this many samples (default 10000). */
  maxIterations?: number;
  clock?: Clock;
  signal?: AbortSignal;
  /** Called after each timed sample with the share of the budget used, for progress bars. */
  onSample?(fractionOfBudget: number): void;
}

export interface TimingSummary {
  msMin: number;
  msMedian: number;
  msP90: number;
  iterations: number;
  warmupIterations: number;
}

/** min, median (mean of the two middle samples for an even count) and nearest-rank 90th percentile. */
export function summarizeSamples(samples: readonly number[]): { msMin: number; msMedian: number; msP90: number } {
  if (samples.length === 0) throw new Error('summarizeSamples: no samples');
  const sorted = samples.slice().sort((a, b) => a - b);
  const n = sorted.length;
  const middle = n >> 1;
  const msMedian = n % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  const msP90 = sorted[Math.max(0, Math.ceil(0.9 * n) - 1)];
  return { msMin: sorted[0], msMedian, msP90 };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const error = new Error('benchmark cancelled');
    error.name = 'AbortError';
    throw error;
  }
}

/**
 * Runs `run` for the warm-up, then samples it; returns the summary and the raw samples. When `run`
 * returns a number, that is the sample in ms (a time measured where the work ran, e.g. inside a
 * worker); otherwise the sample is the clock time around the call.
 */
export async function timeIterations(
  run: () => void | number | Promise<void | number>,
  options: TimingOptions = {},
): Promise<TimingSummary & { samples: number[] }> {
  const clock = options.clock ?? realClock;
  const warmupMs = options.warmupMs ?? 500;
  const budgetMs = options.budgetMs ?? 2000;
  const minIterations = options.minIterations ?? 3;
  const maxIterations = options.maxIterations ?? 10000;
  if (!(warmupMs >= 0) || !(budgetMs >= 0) || minIterations < 1 || maxIterations < minIterations) {
    throw new Error(`timeIterations: bad options (warmupMs ${warmupMs}, budgetMs ${budgetMs}, iterations ${minIterations}..${maxIterations})`);
  }

  let warmupIterations = 0;
  const warmupStart = clock.now();
  do {
    throwIfAborted(options.signal);
    await run();
    warmupIterations++;
  } while (clock.now() - warmupStart < warmupMs);

  const samples: number[] = [];
  let spent = 0;
  while (samples.length < maxIterations && (samples.length < minIterations || spent < budgetMs)) {
    throwIfAborted(options.signal);
    const start = clock.now();
    const reported = await run();
    const elapsed = typeof reported === 'number' ? reported : clock.now() - start;
    samples.push(elapsed);
    spent += elapsed;
    options.onSample?.(Math.min(1, budgetMs > 0 ? spent / budgetMs : 1));
  }
  return { ...summarizeSamples(samples), iterations: samples.length, warmupIterations, samples };
}
