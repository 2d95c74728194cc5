/**
 * The child process of the fuzz sandbox (sandbox.ts forks it): runs one case at a time through the
 * same path `deep-accel sparsity --json` and the explorer badges take (open, then the full scan with
 * histograms and pruning masks) and answers how it ended. It never decides about hangs or memory:
 * the parent watches the clock and this process's resident memory, and kills it. After an open that
 * trapped inside WebAssembly (HDF5 aborting) it asks to be retired, as the extension's pool and the
 * CLI replace such a worker before its next task: HDF5's state after an abort belongs to no file.
 */
import * as path from 'node:path';
import { openWeightFile } from '../../extension/core/formats/index';
import { WeightFileError } from '../../extension/core/formats/types';
import { scanOpenedWeightFile } from '../../extension/core/sparsity/scan';
import { trappedWithin } from '../../extension/core/wasmTrap';

export interface CaseRequest {
  id: number;
  /** The case folder and the file in it the scan opens. */
  dir: string;
  entry: string;
  /**
   * Open and scan twice in this process (HDF5: a first open must not spoil a second). An open that
   * trapped is not followed by another: the process is retired instead.
   */
  twice?: boolean;
}

export type CaseEnd = 'clean' | 'parsed' | 'crash';

export interface CaseReply {
  id: number;
  end: CaseEnd;
  /** The error message (clean, crash) or a one-line summary of what was read (parsed). */
  message: string;
  /** For crashes: the error's name and the first frames of its stack. */
  stack?: string;
  ms: number;
  /** An open trapped inside WebAssembly: the parent ends this process and starts a fresh one. */
  retire?: boolean;
}

interface OpenOutcome {
  end: CaseEnd;
  message: string;
  stack?: string;
  /** The failure came from a WebAssembly trap (in its cause chain). */
  trapped?: boolean;
}

/** One open-and-scan; a WeightFileError naming a file of the case folder is a clean error. */
async function runOnce(request: CaseRequest): Promise<OpenOutcome> {
  const file = path.join(request.dir, request.entry);
  try {
    const opened = await openWeightFile(file);
    try {
      const report = await scanOpenedWeightFile(opened, { histogram: true });
      return { end: 'parsed', message: `${report.format}: ${report.tensors.length} tensors, ${report.total.numel} values, ${report.total.zeros} zeros` };
    } finally {
      await opened.close();
    }
  } catch (error) {
    if (error instanceof WeightFileError) {
      const named = path.resolve(error.file).startsWith(path.resolve(request.dir) + path.sep) && error.message.startsWith(error.file);
      if (named) return { end: 'clean', message: error.message.slice(request.dir.length + 1), ...(trappedWithin(error) ? { trapped: true } : {}) };
      return { end: 'crash', message: `a WeightFileError that does not name a file of the model: ${error.message}`, stack: error.stack };
    }
    const err = error instanceof Error ? error : new Error(String(error));
    return { end: 'crash', message: `${err.name}: ${err.message}`, stack: err.stack, ...(trappedWithin(error) ? { trapped: true } : {}) };
  }
}

async function run(request: CaseRequest): Promise<CaseReply> {
  const started = performance.now();
  const reply = ({ trapped, ...outcome }: OpenOutcome): CaseReply => ({ id: request.id, ...outcome, ...(trapped ? { retire: true } : {}), ms: performance.now() - started });
  const first = await runOnce(request);
  // A trapped open ends the case with its file error, and the process is retired: the extension
  // replaces such a worker before its next task, so no second open ever shares HDF5's state after
  // an abort. (Which open traps depends on what the process read before, not on this file alone.)
  if (first.trapped || !request.twice || first.end === 'crash') return reply(first);
  const second = await runOnce(request);
  if (second.trapped) return reply(second);
  if (second.end !== first.end) {
    return reply({
      end: 'crash',
      message: `a second open in the same process ended differently: ${first.end} (${first.message}) then ${second.end} (${second.message})`,
      ...(second.stack ? { stack: second.stack } : {}),
    });
  }
  return reply(first);
}

if (process.send) {
  const send = (reply: CaseReply | { ready: true }): void => {
    process.send!(reply);
  };
  // Anything that escapes the case (a rejection nobody awaited, a throw from a callback) is a crash
  // of the case in flight; the parent sees the exit and records it.
  process.on('uncaughtException', (error) => {
    process.stderr.write(`uncaught: ${error.stack ?? error.message}\n`);
    process.exit(70);
  });
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`);
    process.exit(71);
  });
  // The parent decides when this process ends: a Ctrl-C meant for the run (it reaches the whole
  // process group) lets the case in flight finish, and a parent that is gone takes this one along.
  process.on('SIGINT', () => {});
  process.on('disconnect', () => process.exit(0));
  process.on('message', (request: CaseRequest) => {
    void run(request).then(send);
  });
  // The HDF5 library (WebAssembly) takes seconds to compile on a loaded machine: that is start-up,
  // not the first HDF5 case's time, so it is loaded before the runner says it is ready.
  void import('h5wasm/node')
    .then((h5) => h5.ready)
    .then(() => send({ ready: true }));
}
