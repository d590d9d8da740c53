import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Every `.txt` golden case under `dir` (recursively, sorted by path), parsed by `parse(text, file, name)` where
 * `name` is the path below `dir` without `.txt`.
 */
export function loadGoldenFiles<T>(dir: string, parse: (text: string, file: string, name: string) => T): T[] {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.txt')) files.push(path);
    }
  };
  walk(dir);
  return files.map((file) => parse(readFileSync(file, 'utf8'), file, relative(dir, file).replace(/\.txt$/, '')));
}
