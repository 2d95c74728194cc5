/** Folders the tests read from, so that no test depends on how deep it sits in the tree. */
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..');
/** Files with known contents, committed, with the scripts that wrote them. */
export const FIXTURES_DIR = path.join(REPO_ROOT, 'test', 'fixtures');
/** Real published models, fetched from npm by scripts/fetchTestModels.mjs. */
export const TEST_MODELS_DIR = path.join(REPO_ROOT, '.cache', 'test-models');
/** The worker entry run from sources (through tsx) by the pool tests. */
export const WORKER_SOURCE = path.join(REPO_ROOT, 'extension', 'workers', 'worker.ts');
export const SAMPLES_DIR = path.join(REPO_ROOT, 'samples');

export function fixture(...parts: string[]): string {
  return path.join(FIXTURES_DIR, ...parts);
}
