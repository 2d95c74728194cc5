/**
 * The long fuzz run: `npm run fuzz -- --format onnx --cases 100000` (run it with `nice -n 10`).
 *
 *   --format F[,G]   targets (default: all of them; see seeds.ts)
 *   --cases N        mutated cases per target (default 1000)
 *   --seed S         PRNG seed (default 1); the same seed gives the same cases
 *   --jobs J         sandboxes run side by side (default 1)
 *   --timeout MS     watchdog per case (default 10000)
 *   --rss MB         resident memory that counts as a blow-up (default 500)
 *   --save           write each new distinct failure into test/fuzz/corpus/ (replayed by npm test)
 *
 * SIGINT or SIGTERM stops the run after the cases in flight; the table then covers the cases that ran.
 *
 * Prints, per target, the mutations run and how many ended as clean errors, parsed files, crashes,
 * hangs and memory blow-ups, how many cases retired their sandbox (an open trapped inside
 * WebAssembly), the slowest case and the highest resident memory, and lists every distinct failure
 * (by class and message with the numbers taken out).
 */
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CORPUS_DIR, CaseFolder, type CorpusCase, caseFolder, makeWorkDir } from './corpus';
import { Random, fixZipCrcs, mutate } from './mutators';
import { CASE_CLASSES, type CaseClass, type CaseOutcome, Sandbox } from './sandbox';
import { OPEN_TWICE, TARGETS, type Seed, type Target, seedsFor } from './seeds';

interface Options {
  targets: Target[];
  cases: number;
  seed: number;
  jobs: number;
  timeoutMs: number;
  rssMb: number;
  save: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { targets: [...TARGETS], cases: 1000, seed: 1, jobs: 1, timeoutMs: 10_000, rssMb: 500, save: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const integer = (): number => {
      const v = Number(value());
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${flag} needs a non-negative integer`);
      return v;
    };
    if (flag === '--format') {
      const names = value().split(',').map((s) => s.trim());
      for (const name of names) if (!(TARGETS as readonly string[]).includes(name)) throw new Error(`unknown format ${name}; one of ${TARGETS.join(', ')}`);
      options.targets = names as Target[];
    } else if (flag === '--cases') options.cases = integer();
    else if (flag === '--seed') options.seed = integer();
    else if (flag === '--jobs') options.jobs = Math.max(1, integer());
    else if (flag === '--timeout') options.timeoutMs = integer();
    else if (flag === '--rss') options.rssMb = integer();
    else if (flag === '--save') options.save = true;
    else throw new Error(`unknown option ${flag}`);
  }
  return options;
}

const ZIP_TARGETS = new Set<Target>(['npz', 'pytorch', 'keras']);

let stopRequested = false;

/** A failure's identity: its class and message with paths and numbers taken out. */
export function signatureOf(target: Target, outcome: CaseOutcome): string {
  const firstLine = outcome.message.split('\n')[0]!.replace(/'[^']*'|"[^"]*"/g, "'_'").replace(/\d+/g, 'N');
  return `${target} ${outcome.class}: ${firstLine}`;
}

interface Tally {
  counts: Record<CaseClass, number>;
  slowestMs: number;
  peakRss: number;
  failures: Map<string, { count: number; example: string }>;
  seconds: number;
  /** Cases after which the sandbox process was replaced because an open trapped inside WebAssembly. */
  retired: number;
}

async function fuzzTarget(target: Target, seeds: Seed[], options: Options, workDir: string): Promise<Tally> {
  const tally: Tally = { counts: { clean: 0, parsed: 0, crash: 0, hang: 0, memory: 0 }, slowestMs: 0, peakRss: 0, failures: new Map(), seconds: 0, retired: 0 };
  const started = performance.now();
  const random = new Random(options.seed * 1_000_003 + TARGETS.indexOf(target));
  let next = 0;
  const runner = async (job: number): Promise<void> => {
    const sandbox = new Sandbox({ timeoutMs: options.timeoutMs, rssLimitBytes: options.rssMb * 1024 * 1024 });
    const folder = new CaseFolder(caseFolder(workDir, target, job));
    try {
      while (next < options.cases && !stopRequested) {
        const index = next++;
        const seed = seeds[index % seeds.length]!;
        const files = { ...seed.files };
        const chosen = random.next() < 0.6 ? seed.entry : random.pick(seed.mutable);
        const others = Object.values(seed.files);
        let bytes = files[chosen]!;
        const steps: string[] = [];
        for (let i = 0, n = 1 + (random.next() < 0.3 ? random.int(3) : 0); i < n; i++) {
          const mutation = mutate(target, bytes, random, others);
          bytes = mutation.bytes;
          steps.push(mutation.what);
        }
        if (ZIP_TARGETS.has(target) && random.next() < 0.5) bytes = fixZipCrcs(new Uint8Array(bytes));
        files[chosen] = bytes;
        folder.write(files);
        const outcome = await sandbox.run({ dir: folder.dir, entry: seed.entry, twice: OPEN_TWICE.has(target) });
        tally.counts[outcome.class]++;
        tally.slowestMs = Math.max(tally.slowestMs, outcome.ms);
        tally.peakRss = Math.max(tally.peakRss, outcome.peakRss);
        if (outcome.retired) tally.retired++;
        if (outcome.class === 'crash' || outcome.class === 'hang' || outcome.class === 'memory') {
          const signature = signatureOf(target, outcome);
          const known = tally.failures.get(signature);
          if (known) known.count++;
          else {
            tally.failures.set(signature, { count: 1, example: `${seed.name}/${chosen}: ${steps.join('; ')}` });
            process.stderr.write(`[${target}] new ${outcome.class}: ${outcome.message.split('\n')[0]} (${seed.name}/${chosen}: ${steps.join('; ')})\n`);
            if (options.save) saveCase(target, seed, files, chosen, steps, outcome, signature);
          }
        }
        if ((index + 1) % 1000 === 0) {
          const c = tally.counts;
          const seconds = ((performance.now() - started) / 1000).toFixed(0);
          process.stderr.write(`[${target}] ${index + 1}/${options.cases}: clean ${c.clean}, parsed ${c.parsed}, crash ${c.crash}, hang ${c.hang}, memory ${c.memory}, retired ${tally.retired}, ${seconds} s\n`);
        }
      }
    } finally {
      sandbox.close();
      folder.remove();
    }
  };
  await Promise.all(Array.from({ length: options.jobs }, (_, job) => runner(job)));
  tally.seconds = (performance.now() - started) / 1000;
  return tally;
}

function saveCase(target: Target, seed: Seed, files: Record<string, Uint8Array>, entry: string, steps: string[], outcome: CaseOutcome, signature: string): void {
  const id = createHash('sha256').update(signature).digest('hex').slice(0, 12);
  const dir = path.join(CORPUS_DIR, target, id);
  // Every file of the model, the mutated one included.
  new CaseFolder(path.join(dir, 'files')).write(files);
  const meta: CorpusCase = { target, seed: seed.name, entry: seed.entry, mutated: entry, mutations: steps, found: outcome.class, message: outcome.message.split('\n')[0]! };
  writeFileSync(path.join(dir, 'case.json'), `${JSON.stringify(meta, null, 2)}\n`);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  // SIGINT or SIGTERM ends the run after the cases in flight, and the table covers what ran.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (stopRequested = true));
  const workDir = makeWorkDir();
  const rows: string[] = [];
  const header = ['format', 'seeds', 'cases', ...CASE_CLASSES, 'retired', 'seconds', 'slowest ms', 'peak RSS MB'];
  try {
    for (const target of options.targets) {
      if (stopRequested) break;
      const seeds = await seedsFor(target);
      if (seeds.length === 0) {
        rows.push([target, '0', 'no seeds (run node scripts/fetchTestModels.mjs)'].join('\t'));
        continue;
      }
      const tally = await fuzzTarget(target, seeds, options, workDir);
      const ran = CASE_CLASSES.reduce((sum, c) => sum + tally.counts[c], 0);
      rows.push([target, seeds.length, ran, ...CASE_CLASSES.map((c) => tally.counts[c]), tally.retired, tally.seconds.toFixed(1), Math.round(tally.slowestMs), Math.round(tally.peakRss / 1048576)].join('\t'));
      for (const [signature, { count, example }] of tally.failures) rows.push(`  ${count} x ${signature}\n      e.g. ${example}`);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  process.stdout.write(`seed ${options.seed}, watchdog ${options.timeoutMs} ms, memory limit ${options.rssMb} MB\n${header.join('\t')}\n${rows.join('\n')}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`fuzz: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  });
}
