/**
 * The committed corpus: every distinct failure the fuzzer found (and the crafted hostile files),
 * one folder per case under test/fuzz/corpus/<format>/<id>/ holding `files/` (every file of the
 * model) and `case.json`. npm test replays each through the sandbox and expects a clean error or a
 * parsed file, never a crash, a hang or a memory blow-up.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { CaseClass } from './sandbox';
import type { Target } from './seeds';

export const CORPUS_DIR = path.join(__dirname, 'corpus');

export interface CorpusCase {
  target: Target;
  /** The seed it was mutated from, or "crafted". */
  seed: string;
  /** The file the scan opens (relative to files/). */
  entry: string;
  /** The file the mutations changed. */
  mutated: string;
  mutations: string[];
  /** How the case ended when it was found. */
  found: CaseClass;
  message: string;
}

export interface StoredCase extends CorpusCase {
  /** The folder holding the model's files. */
  dir: string;
  id: string;
}

export function listCorpus(): StoredCase[] {
  if (!existsSync(CORPUS_DIR)) return [];
  const cases: StoredCase[] = [];
  for (const target of readdirSync(CORPUS_DIR).sort()) {
    for (const id of readdirSync(path.join(CORPUS_DIR, target)).sort()) {
      const folder = path.join(CORPUS_DIR, target, id);
      const meta = JSON.parse(readFileSync(path.join(folder, 'case.json'), 'utf8')) as CorpusCase;
      cases.push({ ...meta, dir: path.join(folder, 'files'), id: `${target}/${id}` });
    }
  }
  return cases;
}
