/** Paths that users write (in notebook cells, in string literals of code), resolved against folders. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The first existing file `file` names: itself when absolute, else relative to each folder in order. */
export function findInFolders(file: string, folders: readonly string[]): string | undefined {
  if (path.isAbsolute(file)) return existsSync(file) ? file : undefined;
  return folders.map((folder) => path.resolve(folder, file)).find((candidate) => existsSync(candidate));
}
