/**
 * The committed corpus: every distinct failure the fuzzer found (and the crafted hostile files),
 * one folder per case under test/fuzz/corpus/<format>/<id>/ holding `files/` (every file of the
 * model) and `case.json`. npm test replays each through the sandbox and expects a clean error or a
 * parsed file, never a crash, a hang or a memory blow-up.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/**
 * A fresh folder for the fuzz run's case folders. Replays read from the same shape of path as the
 * run did (`<tmp>/deep-accel-fuzz-XXXXXX/<target>-<job>/<file>`): what HDF5 does with some corrupt
 * files after earlier reads depends on the length of the path it was given (its heap layout).
 */
export function makeWorkDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'deep-accel-fuzz-'));
}

export function caseFolder(workDir: string, target: Target, job: number): string {
  return path.join(workDir, `${target}-${job}`);
}

/**
 * The folder a case is read from. Each case's files are written into it; a file whose content is
 * the same array as the last case's (a seed file the mutations left alone) is not written again,
 * and files of the last case that this one lacks are removed, so the folder holds exactly the
 * case's files. It starts empty.
 */
export class CaseFolder {
  private readonly written = new Map<string, Uint8Array>();

  constructor(readonly dir: string) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }

  write(files: Readonly<Record<string, Uint8Array>>): void {
    for (const name of [...this.written.keys()]) {
      if (Object.hasOwn(files, name)) continue;
      rmSync(path.join(this.dir, name), { force: true });
      this.written.delete(name);
    }
    for (const [name, content] of Object.entries(files)) {
      if (this.written.get(name) === content) continue;
      const file = path.join(this.dir, name);
      if (name.includes('/')) mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
      this.written.set(name, content);
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
    this.written.clear();
  }
}

/** Every file of a stored case, by its path relative to files/. */
export function storedFiles(stored: StoredCase): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const entry of readdirSync(stored.dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files[path.relative(stored.dir, full)] = new Uint8Array(readFileSync(full));
  }
  return files;
}
