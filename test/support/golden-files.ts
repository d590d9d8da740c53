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

export interface GoldenSection {
  readonly kind: string;
  readonly arg: string | undefined;
  readonly lines: string[];
}

const HEADER = /^--- ([a-z-]+)(?: (\S+))?\s*$/;

/**
 * A golden case file split into its `--- kind arg` sections. `#` lines before the first section are its description;
 * the file's own final line break ends the last section and is not part of it. With `known`, other kinds fail.
 */
export function splitSections(text: string, name: string, known?: ReadonlySet<string>): { description: string; sections: GoldenSection[] } {
  const description: string[] = [];
  const sections: GoldenSection[] = [];
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      if (known && !known.has(header[1]!)) throw new Error(`${name}: unknown section '--- ${header[1]}'`);
      sections.push({ kind: header[1]!, arg: header[2], lines: [] });
      continue;
    }
    const current = sections[sections.length - 1];
    if (current) current.lines.push(line);
    else if (line.startsWith('#')) description.push(line.replace(/^#\s?/, ''));
    else if (line.trim() !== '') throw new Error(`${name}: text before the first section: ${line}`);
  }
  const last = sections[sections.length - 1];
  if (last && last.lines[last.lines.length - 1] === '') last.lines.pop();
  return { description: description.join('\n'), sections };
}
