/**
 * The fuzz sandbox: a child process (caseRunner.ts, through tsx) that runs one case at a time, with
 * a V8 heap limit, a watchdog on its CPU time and a watch on its resident memory. A case that uses
 * more CPU time than the watchdog allows (or ten times that of wall time, for a process that waits
 * instead of working) is a hang, one whose process grows past the memory limit a memory blow-up; both kill
 * the child, which is started again for the next case. A child that dies on its own (V8 out of
 * memory, a fault, an uncaught error) is a crash. A child whose case trapped inside WebAssembly
 * (HDF5 aborting) answers and is then replaced, as the extension's pool replaces such a worker.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { CaseReply, CaseRequest } from './caseRunner';

export type CaseClass = 'clean' | 'parsed' | 'crash' | 'hang' | 'memory';
export const CASE_CLASSES: readonly CaseClass[] = ['clean', 'parsed', 'crash', 'hang', 'memory'];

export interface CaseOutcome {
  class: CaseClass;
  message: string;
  stack?: string;
  ms: number;
  /** Highest resident set seen while the case ran (sampled), in bytes. */
  peakRss: number;
  /** An open trapped inside WebAssembly, so the process that ran it was replaced after answering. */
  retired?: boolean;
}

export interface SandboxOptions {
  /**
   * Watchdog per case (default 10 s) on the CPU time the case's process uses: on a machine shared by
   * many jobs the wall time of the same work varies tenfold, its CPU time hardly. The wall clock
   * stops a case at ten times this.
   */
  timeoutMs?: number;
  /** Resident memory above which a case is a memory blow-up (default 500 MB). */
  rssLimitBytes?: number;
  /** V8 old-space limit of the child, in MB (default 768: above the RSS limit, so RSS decides first). */
  heapLimitMb?: number;
}

const RUNNER = path.join(__dirname, 'caseRunner.ts');
const RSS_SAMPLE_MS = 25;
/** The wall-clock backstop of the watchdog, as a multiple of its CPU time limit. */
const WALL_TIME_FACTOR = 10;
/** Linux reports a process's CPU time in clock ticks of 10 ms (getconf CLK_TCK = 100). */
const MS_PER_CLOCK_TICK = 10;

/** CPU time (user + system) the process has used so far, in ms; 0 once it is gone. */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses: utime and stime are the
    // 12th and 13th of them.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_CLOCK_TICK;
  } catch {
    return 0;
  }
}

function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export class Sandbox {
  private child?: ChildProcess;
  /**
   * The child's temporary folder (its TMPDIR): parsers extract and inflate into it, and a child
   * killed mid-case cannot clean up, so it is emptied whenever a child ends and removed on close.
   * Nothing of a run lands in the machine's temporary folder, where other programs count theirs.
   */
  private readonly tempDir = mkdtempSync(path.join(tmpdir(), 'deep-accel-fuzz-tmp-'));
  private ready?: Promise<void>;
  private nextId = 1;
  private stderrTail = '';
  readonly timeoutMs: number;
  readonly rssLimitBytes: number;
  private readonly heapLimitMb: number;

  constructor(options: SandboxOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.rssLimitBytes = options.rssLimitBytes ?? 500 * 1024 * 1024;
    this.heapLimitMb = options.heapLimitMb ?? 768;
  }

  private start(): Promise<void> {
    const child = fork(RUNNER, [], {
      // tsx's CommonJS hook only: its ESM hook would also transpile h5wasm's 10 MB module, which
      // alone leaves the process at about 900 MB resident (the built extension loads it as is).
      execArgv: ['--require', 'tsx/cjs', `--max-old-space-size=${this.heapLimitMb}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '', TMPDIR: this.tempDir },
    });
    this.child = child;
    this.stderrTail = '';
    child.stderr!.on('data', (data: Buffer) => {
      // HDF5 prints its error stack itself; keep only the end, for crash reports.
      this.stderrTail = (this.stderrTail + data.toString()).slice(-2000);
    });
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if ((message as { ready?: boolean }).ready) {
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) => reject(new Error(`the fuzz case runner exited (${code}) before it was ready: ${this.stderrTail}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return this.ready;
  }

  private kill(): void {
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.emptyTempDir();
  }

  private emptyTempDir(): void {
    for (const name of readdirSync(this.tempDir)) rmSync(path.join(this.tempDir, name), { recursive: true, force: true });
  }

  /** Runs one case: the files are already in `dir`; `entry` is the file the scan opens. */
  async run(request: Omit<CaseRequest, 'id'>): Promise<CaseOutcome> {
    if (!this.child) await this.start();
    else await this.ready;
    const child = this.child!;
    const id = this.nextId++;
    const started = performance.now();
    const cpuAtStart = cpuMsOf(child.pid!);
    let peakRss = 0;
    return new Promise<CaseOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: Omit<CaseOutcome, 'ms' | 'peakRss'>, kill: boolean) => {
        if (settled) return;
        settled = true;
        clearInterval(sampler);
        clearTimeout(watchdog);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (kill) this.kill();
        resolve({ ...outcome, ms: performance.now() - started, peakRss });
      };
      const sampler = setInterval(() => {
        const rss = rssOf(child.pid!);
        if (rss > peakRss) peakRss = rss;
        if (rss > this.rssLimitBytes) finish({ class: 'memory', message: `resident memory reached ${Math.round(rss / 1048576)} MB` }, true);
        const cpuMs = cpuMsOf(child.pid!) - cpuAtStart;
        if (cpuMs > this.timeoutMs) finish({ class: 'hang', message: `no answer after ${this.timeoutMs} ms of CPU time` }, true);
      }, RSS_SAMPLE_MS);
      const wallMs = this.timeoutMs * WALL_TIME_FACTOR;
      const watchdog = setTimeout(() => finish({ class: 'hang', message: `no answer within ${wallMs} ms of wall time` }, true), wallMs);
      const onMessage = (message: CaseReply) => {
        if (message.id !== id) return;
        const retired = message.retire === true;
        finish({ class: message.end, message: message.message, ...(message.stack ? { stack: message.stack } : {}), ...(retired ? { retired } : {}) }, retired);
      };
      const onExit = (code: number | null, signal: string | null) => {
        this.child = undefined;
        this.ready = undefined;
        this.emptyTempDir();
        const outOfMemory = /heap out of memory|Allocation failed/i.test(this.stderrTail);
        finish(
          {
            class: outOfMemory ? 'memory' : 'crash',
            message: `the case runner died (${signal ?? `exit ${code}`})${outOfMemory ? ': V8 heap out of memory' : ''}`,
            stack: this.stderrTail.split('\n').filter((l) => !l.startsWith('HDF5-DIAG') && !/^\s+#\d+/.test(l)).slice(-12).join('\n'),
          },
          false,
        );
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ ...request, id } satisfies CaseRequest);
    });
  }

  close(): void {
    this.kill();
    rmSync(this.tempDir, { recursive: true, force: true });
  }
}
