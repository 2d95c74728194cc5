// Entry module that VS Code loads in the extension host (`extensionTestsPath`). It is shared by the
// offline runner (scripts/runIntegration.mjs, code-server + Chromium) and the networked one
// (test/integration/runTest.ts, @vscode/test-electron).
//
// Environment read here (both optional):
//   DEEP_ACCEL_TEST_RESULTS   path of a JSON file that receives the final results (IntegrationResults)
//   DEEP_ACCEL_TEST_PROGRESS  path of a file that receives one JSON line per event, so the runner
//                             can print tests live while the suite is still going
//   DEEP_ACCEL_TEST_GREP      only run tests whose full title matches this regular expression
//   DEEP_ACCEL_TEST_TIMEOUT_MS per-test timeout (default 60000)
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export interface IntegrationTestOutcome {
  fullTitle: string;
  durationMs: number;
}

export interface IntegrationTestFailure {
  fullTitle: string;
  message: string;
  stack: string;
}

export interface IntegrationResults {
  passed: IntegrationTestOutcome[];
  failed: IntegrationTestFailure[];
  pending: string[];
  files: string[];
  startedAt: string;
  finishedAt: string;
}

/** One line of the progress file. */
export type IntegrationProgressEvent =
  | { event: 'start'; total: number; files: string[] }
  | { event: 'pass'; fullTitle: string; durationMs: number }
  | { event: 'fail'; fullTitle: string; message: string }
  | { event: 'pending'; fullTitle: string }
  | { event: 'end'; passed: number; failed: number; pending: number };

function findTestFiles(folder: string): string[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.test.js'))
    .map((name) => path.join(folder, name))
    .sort();
}

function describeError(error: unknown): { message: string; stack: string } {
  if (error instanceof Error) return { message: error.message, stack: error.stack ?? error.message };
  return { message: String(error), stack: String(error) };
}

/** Writes to a temporary name and renames, so a polling reader never sees half a file. */
function writeJsonAtomically(file: string, value: unknown): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(value, null, 2));
  fs.renameSync(temporary, file);
}

export async function run(): Promise<void> {
  const resultsPath = process.env.DEEP_ACCEL_TEST_RESULTS;
  const progressPath = process.env.DEEP_ACCEL_TEST_PROGRESS;
  const report = (event: IntegrationProgressEvent): void => {
    if (progressPath) fs.appendFileSync(progressPath, `${JSON.stringify(event)}\n`);
  };

  const timeout = Number(process.env.DEEP_ACCEL_TEST_TIMEOUT_MS ?? 60_000);
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: Number.isFinite(timeout) && timeout > 0 ? timeout : 60_000 });
  // Both styles are accepted (suite/test and describe/it); each test file should keep to one.
  mocha.ui('bdd');
  if (process.env.DEEP_ACCEL_TEST_GREP) mocha.grep(new RegExp(process.env.DEEP_ACCEL_TEST_GREP));

  const suiteFolder = path.join(__dirname, 'suite');
  const files = findTestFiles(suiteFolder);
  const results: IntegrationResults = {
    passed: [],
    failed: [],
    pending: [],
    files: files.map((file) => path.relative(__dirname, file)),
    startedAt: new Date().toISOString(),
    finishedAt: '',
  };
  const finish = (): void => {
    results.finishedAt = new Date().toISOString();
    report({ event: 'end', passed: results.passed.length, failed: results.failed.length, pending: results.pending.length });
    if (resultsPath) writeJsonAtomically(resultsPath, results);
  };

  if (files.length === 0) {
    results.failed.push({
      fullTitle: 'integration suite: loading test files',
      message: `no *.test.js files found under ${suiteFolder} (were the integration tests compiled?)`,
      stack: '',
    });
    finish();
    throw new Error(results.failed[0].message);
  }
  for (const file of files) mocha.addFile(file);

  try {
    // Loads every file first, so a syntax or import error is reported as a failure, not a hang.
    await mocha.loadFilesAsync();
  } catch (error) {
    const { message, stack } = describeError(error);
    results.failed.push({ fullTitle: 'integration suite: loading test files', message, stack });
    finish();
    throw error;
  }

  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run((failureCount) => resolve(failureCount));
    runner.on('start', () => report({ event: 'start', total: runner.total, files: results.files }));
    runner.on('pass', (test) => {
      const outcome = { fullTitle: test.fullTitle(), durationMs: test.duration ?? 0 };
      results.passed.push(outcome);
      report({ event: 'pass', ...outcome });
    });
    // Also fires for failing hooks, whose "test" is the hook itself.
    runner.on('fail', (test, error) => {
      const { message, stack } = describeError(error);
      results.failed.push({ fullTitle: test.fullTitle(), message, stack });
      report({ event: 'fail', fullTitle: test.fullTitle(), message });
    });
    runner.on('pending', (test) => {
      results.pending.push(test.fullTitle());
      report({ event: 'pending', fullTitle: test.fullTitle() });
    });
  });

  finish();
  if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
}
