/**
 * The child process of the fuzz sandbox (sandbox.ts forks it): runs one case at a time through the
 * same path `deep-accel sparsity --json` and the explorer badges take (open, then the full scan with
 * histograms and pruning masks) and answers how it ended. It never decides about hangs or memory:
 * the parent watches the clock and this process's resident memory, and kills it.
 */
import * as path from 'node:path';
import { openWeightFile } from '../../extension/core/formats/index';
import { WeightFileError } from '../../extension/core/formats/types';
import { scanOpenedWeightFile } from '../../extension/core/sparsity/scan';

export interface CaseRequest {
  id: number;
  /** The case folder and the file in it the scan opens. */
  dir: string;
  entry: string;
  /** Open and scan twice in this process (HDF5: a first open must not spoil a second). */
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
}

/** One open-and-scan; a WeightFileError naming a file of the case folder is a clean error. */
async function runOnce(request: CaseRequest): Promise<{ end: CaseEnd; message: string; stack?: string }> {
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
      if (named) return { end: 'clean', message: error.message.slice(request.dir.length + 1) };
      return { end: 'crash', message: `a WeightFileError that does not name a file of the model: ${error.message}`, stack: error.stack };
    }
    const err = error instanceof Error ? error : new Error(String(error));
    return { end: 'crash', message: `${err.name}: ${err.message}`, stack: err.stack };
  }
}

async function run(request: CaseRequest): Promise<CaseReply> {
  const started = performance.now();
  const first = await runOnce(request);
  if (request.twice && first.end !== 'crash') {
    const second = await runOnce(request);
    if (second.end !== first.end) {
      return {
        id: request.id,
        end: 'crash',
        message: `a second open in the same process ended differently: ${first.end} (${first.message}) then ${second.end} (${second.message})`,
        stack: second.stack,
        ms: performance.now() - started,
      };
    }
  }
  return { id: request.id, ...first, ms: performance.now() - started };
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
  process.on('message', (request: CaseRequest) => {
    void run(request).then(send);
  });
  // The HDF5 library (WebAssembly) takes seconds to compile on a loaded machine: that is start-up,
  // not the first HDF5 case's time, so it is loaded before the runner says it is ready.
  void import('h5wasm/node')
    .then((h5) => h5.ready)
    .then(() => send({ ready: true }));
}
