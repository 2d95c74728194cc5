/** Helpers shared by the measurement scripts in scripts/bench (not shipped, not tests). */

/** The value after `--name` on the command line, if given. */
export function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** Best-of timing: one untimed call, then repeated calls for `seconds`; the fastest in ms. */
export function bestOfMs(fn: () => void, seconds: number): number {
  fn();
  let best = Infinity;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}
