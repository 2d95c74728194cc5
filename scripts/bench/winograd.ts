/**
 * Winograd generator benchmarks:
 *   npx tsx scripts/bench/winograd.ts            generation timings
 *   npx tsx scripts/bench/winograd.ts --search   also the point search for F(4,3) and F(6,3)
 *
 * Targets: F(6,3) generated in under 10 ms, F(8,3) under 50 ms, search under 60 s.
 * "Generated" means the exact matrices (generateMatrices); generateWinograd with errorTrials 0
 * adds the exact verification and the cost model, and the default error measurement is timed apart.
 */
import { generateMatrices, generateWinograd, searchPoints } from '../../extension/core/winograd/index';

function time(label: string, runs: number, body: () => void): { label: string; firstMs: number; medianMs: number } {
  const first = performance.now();
  body();
  const firstMs = performance.now() - first;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    body();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const medianMs = samples[Math.floor(samples.length / 2)]!;
  console.log(`${label.padEnd(52)} first ${firstMs.toFixed(2).padStart(8)} ms   median of ${runs} ${medianMs.toFixed(2).padStart(8)} ms`);
  return { label, firstMs, medianMs };
}

async function main(): Promise<void> {
  const results = [
    time('generateMatrices F(2,3)', 50, () => generateMatrices(2, 3)),
    time('generateMatrices F(4,3)', 50, () => generateMatrices(4, 3)),
    time('generateMatrices F(6,3)  [target < 10 ms]', 50, () => generateMatrices(6, 3)),
    time('generateMatrices F(8,3)  [target < 50 ms]', 30, () => generateMatrices(8, 3)),
    time('generateMatrices F(14,3) (alpha 16)', 10, () => generateMatrices(14, 3)),
    time('generateWinograd F(6,3), no error (verify + cost)', 20, () => generateWinograd({ m: 6, r: 3, errorTrials: 0 })),
    time('generateWinograd F(8,3), no error (verify + cost)', 10, () => generateWinograd({ m: 8, r: 3, errorTrials: 0 })),
    time('generateWinograd F(6,3), default error (223 tiles x3)', 3, () => generateWinograd({ m: 6, r: 3 })),
  ];
  const f63 = results[2]!.medianMs;
  const f83 = results[3]!.medianMs;
  console.log(`F(6,3) < 10 ms: ${f63 < 10 ? 'met' : 'NOT met'} (${f63.toFixed(2)} ms); F(8,3) < 50 ms: ${f83 < 50 ? 'met' : 'NOT met'} (${f83.toFixed(2)} ms)`);
  if (process.argv.includes('--search')) {
    for (const m of [4, 6]) {
      const start = performance.now();
      const result = await searchPoints({ m, r: 3, errorTrials: 0 });
      const seconds = (performance.now() - start) / 1000;
      const search = result.search!;
      console.log(
        `searchPoints F(${m},3) fp32: ${seconds.toFixed(1)} s, ${search.candidatesEvaluated} sets, best ${result.points.join(', ')} ` +
          `${search.bestError.toFixed(2)}x vs baseline ${search.baselineError.toFixed(2)}x (${(search.improvement * 100).toFixed(1)}% lower); under 60 s: ${seconds < 60 ? 'met' : 'NOT met'}`,
      );
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
