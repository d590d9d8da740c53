/**
 * Golden cases for post-processing: one `.txt` file per case under cases/ (any depth), in sections:
 *
 *   # what the case shows (lines starting with '#' before the first section)
 *   --- language          typescript | tsx | javascript | jsx; anything else (or no section) means no grammar
 *   --- code              the text around the cursor, the cursor marked with █
 *                         (or `--- prefix` and `--- suffix`: the text before and after the cursor)
 *   --- answer            what the model returned
 *   --- expected          what the whole pipeline gives; `<null>` when it gives no item
 *   --- filter NAME       what the filter NAME alone gives for the answer (any number of these)
 *   --- stop              the model's stop tokens, one per line
 *
 * A section's text is every line between its header and the next header; the line break before the next header
 * is not part of it (add an empty line for a trailing line break). A case needs `expected` or a `filter` section.
 */
import { loadGoldenFiles, splitSections } from '../../support/golden-files.js';
import { languageByName } from '../../../server/documents/syntax.js';
import type { FilterContext } from '../../../server/engine/postprocess/types.js';

export const CURSOR = '█';
export const NULL_MARK = '<null>';

export interface GoldenCase {
  readonly name: string;
  readonly file: string;
  readonly description: string;
  readonly language: string | undefined;
  readonly context: FilterContext;
  readonly answer: string;
  /** undefined: not checked; null: no item. */
  readonly expected: string | null | undefined;
  /** Expected output of single filters, by name. */
  readonly filters: ReadonlyMap<string, string | null>;
}


export function parseCase(text: string, file: string, name: string): GoldenCase {
  const { description, sections } = splitSections(text, name);

  const get = (kind: string): string | undefined => {
    const found = sections.filter((s) => s.kind === kind);
    if (found.length > 1) throw new Error(`${name}: more than one '--- ${kind}' section`);
    return found[0]?.lines.join('\n');
  };
  const known = new Set(['language', 'code', 'prefix', 'suffix', 'answer', 'expected', 'filter', 'stop']);
  for (const s of sections) if (!known.has(s.kind)) throw new Error(`${name}: unknown section '--- ${s.kind}'`);

  let prefix: string;
  let suffix: string;
  const code = get('code');
  if (code !== undefined) {
    const at = code.indexOf(CURSOR);
    if (at === -1 || code.indexOf(CURSOR, at + 1) !== -1) throw new Error(`${name}: the code needs exactly one ${CURSOR}`);
    prefix = code.slice(0, at);
    suffix = code.slice(at + CURSOR.length);
  } else {
    prefix = get('prefix') ?? '';
    suffix = get('suffix') ?? '';
  }
  const answer = get('answer');
  if (answer === undefined) throw new Error(`${name}: no '--- answer' section`);
  const language = get('language')?.trim() || undefined;
  const syntax = language ? languageByName(language) : undefined;
  const stop = get('stop');

  const expectedText = get('expected');
  const filters = new Map<string, string | null>();
  for (const s of sections) {
    if (s.kind !== 'filter') continue;
    if (!s.arg) throw new Error(`${name}: '--- filter' needs a filter name`);
    const value = s.lines.join('\n');
    filters.set(s.arg, value === NULL_MARK ? null : value);
  }
  if (expectedText === undefined && filters.size === 0) throw new Error(`${name}: nothing expected`);

  const linePrefix = prefix.slice(prefix.lastIndexOf('\n') + 1);
  const nl = suffix.indexOf('\n');
  const lineSuffix = nl === -1 ? suffix : suffix.slice(0, nl);
  const context: FilterContext = {
    prefix,
    suffix,
    linePrefix,
    lineSuffix,
    indent: /^[ \t]*/.exec(linePrefix + lineSuffix)![0],
    stopTokens: stop ? stop.split('\n').filter((t) => t !== '') : [],
    syntax,
  };
  return {
    name,
    file,
    description,
    language,
    context,
    answer,
    expected: expectedText === undefined ? undefined : expectedText === NULL_MARK ? null : expectedText,
    filters,
  };
}

/** Every case under `dir`, sorted by path. */
export function loadCases(dir: string): GoldenCase[] {
  return loadGoldenFiles(dir, parseCase);
}
