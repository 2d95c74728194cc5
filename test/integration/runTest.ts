// Runs the integration suite in VS Code desktop through @vscode/test-electron, for machines with a
// network (it downloads VS Code into .vscode-test/). Offline machines use scripts/runIntegration.mjs,
// which runs the same compiled suite (out/test/integration/index.js) in VS Code's server build.
//
// Usage: npx tsx test/integration/runTest.ts   (after node scripts/build.mjs)
// Environment: DEEP_ACCEL_VSCODE_VERSION (default 1.100.3, the version code-server hosts, so both
// runners test the same VS Code), DEEP_ACCEL_TEST_GREP (regular expression on full test titles).
// Ends with `N passed, N failed`; exit code 1 on any failure.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import type { IntegrationResults } from './index';

const repoRoot = path.resolve(__dirname, '..', '..');

async function main(): Promise<number> {
  const extensionTestsPath = path.join(repoRoot, 'out', 'test', 'integration', 'index.js');
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'extension.js'))) throw new Error('dist/extension.js is missing: run node scripts/build.mjs first');
  if (!fs.existsSync(extensionTestsPath)) throw new Error(`${extensionTestsPath} is missing: run node scripts/build.mjs (it compiles the integration tests)`);

  const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'deep-accel-electron-'));
  try {
    // A scratch copy of samples/, so tests may write into their workspace without touching the repo.
    const workspace = path.join(tempRoot, 'workspace');
    const samples = path.join(repoRoot, 'samples');
    if (fs.existsSync(samples)) fs.cpSync(samples, workspace, { recursive: true });
    else fs.mkdirSync(workspace);
    const resultsFile = path.join(tempRoot, 'results.json');

    await runTests({
      version: process.env.DEEP_ACCEL_VSCODE_VERSION ?? '1.100.3',
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath,
      extensionTestsEnv: {
        DEEP_ACCEL_TEST_RESULTS: resultsFile,
        ...(process.env.DEEP_ACCEL_TEST_GREP ? { DEEP_ACCEL_TEST_GREP: process.env.DEEP_ACCEL_TEST_GREP } : {}),
      },
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', path.join(tempRoot, 'user-data')],
    }).catch((error: unknown) => {
      // A non-zero exit means failing tests; the results file says which. Without it, the run itself broke.
      if (!fs.existsSync(resultsFile)) throw error;
    });

    if (!fs.existsSync(resultsFile)) throw new Error('VS Code exited without writing test results');
    const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as IntegrationResults;
    for (const failure of results.failed) console.log(`  ✘ ${failure.fullTitle}\n      ${failure.stack.split('\n').join('\n      ')}`);
    if (results.pending.length > 0) console.log(`  ${results.pending.length} skipped (they need the offline runner's browser page)`);
    console.log(`${results.passed.length} passed, ${results.failed.length} failed`);
    return results.failed.length > 0 ? 1 : 0;
  } finally {
    fs.rmSync(tempRoot, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    const offline = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH/.test(message);
    console.error(`runTest: ${message}${offline ? '\n  (downloading VS Code failed; without a network run the same suite with: node scripts/runIntegration.mjs)' : ''}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
