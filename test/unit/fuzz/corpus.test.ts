import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { CaseFolder, caseFolder, listCorpus, makeWorkDir, storedFiles } from '../../fuzz/corpus';
import { Sandbox } from '../../fuzz/sandbox';
import { OPEN_TWICE } from '../../fuzz/seeds';

// Each case once, in a sandbox with the fuzzer's watchdog (10 s) and memory limit (500 MB), read from
// a folder shaped like the fuzz run's.
test('every case of the fuzz corpus ends in a clean error or a parsed file', { timeout: 600_000 }, async () => {
  const cases = listCorpus();
  assert.ok(cases.length > 0, 'the corpus is committed under test/fuzz/corpus');
  const sandbox = new Sandbox();
  const workDir = makeWorkDir();
  const failures: string[] = [];
  try {
    for (const stored of cases) {
      const folder = new CaseFolder(caseFolder(workDir, stored.target, 0));
      folder.write(storedFiles(stored));
      const outcome = await sandbox.run({ dir: folder.dir, entry: stored.entry, twice: OPEN_TWICE.has(stored.target) });
      if (outcome.class !== 'clean' && outcome.class !== 'parsed') {
        failures.push(`${stored.id} (found as ${stored.found}: ${stored.message}) is now ${outcome.class}: ${outcome.message}${outcome.stack ? `\n${outcome.stack}` : ''}`);
      }
    }
  } finally {
    sandbox.close();
    rmSync(workDir, { recursive: true, force: true });
  }
  assert.deepEqual(failures, []);
});
