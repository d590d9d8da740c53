import { isCloser, looseBrackets } from './scan.js';
import { cursorState } from './structure.js';
import { hasWordChar, isBlank, isWordChar, linesAfter, solidLength, splitLines } from './text.js';
import type { Filter, FilterContext } from './types.js';

/**
 * Code the model wrote again although it already follows the cursor:
 * 1. the answer reaches a copy of the suffix's first lines (two or more, or its trailing lines equal the suffix's
 *    first ones): the copy and what follows it are removed;
 * 2. the answer's end repeats the start of the rest of the cursor line (`lineSuffix`): the repeated part is removed,
 *    so accepting does not write it twice. A closing bracket in that part counts as a repeat only when it closes
 *    nothing the answer opened (`foo(|)` + `a, b)` → `a, b`, but `foo(x)` stays). When the first line of a
 *    multi-line answer already ends that way, the answer is that first line (the model wrote on as if the rest of
 *    the cursor line were not there).
 * Lines are compared with their indentation: `  }` closing the answer's own `if` is not the suffix's `}`.
 */
export const suffixOverlap: Filter = (text: string, context: FilterContext): string | null => {
  let result = removeSuffixLines(text, context);
  result = removeLineSuffixOverlap(result, context);
  return result.trim() === '' ? null : result;
};

/** How many suffix lines a copy in the answer is compared against, at most. */
const MAX_LINES = 24;

export function removeSuffixLines(text: string, context: FilterContext): string {
  const lines = splitLines(text);
  if (lines.length < 2 && context.linePrefix.trim() !== '') return text;
  const after = linesAfter(context.suffix, MAX_LINES, (l) => !isBlank(l));
  if (after.length === 0) return text;
  // The answer's lines as the document will show them; its first line continues the cursor line.
  const full = lines.slice();
  full[0] = context.linePrefix + lines[0]!;
  // Only whole lines of the answer can be a copy of suffix lines; the first is one when the cursor line was blank.
  const firstWhole = context.linePrefix.trim() === '' ? 0 : 1;
  const rows: number[] = [];
  for (let i = firstWhole; i < full.length; i++) if (!isBlank(full[i]!)) rows.push(i);

  // (1a) A copy of at least two suffix lines, with more after it: the model re-wrote the suffix and went on.
  const first = after[0]!.trimEnd();
  for (let r = 0; r + 1 < rows.length; r++) {
    if (full[rows[r]!]!.trimEnd() !== first) continue;
    let m = 1;
    while (m < after.length && r + m < rows.length && full[rows[r + m]!]!.trimEnd() === after[m]!.trimEnd()) m++;
    const copy = after.slice(0, m).join('\n');
    if (m >= 2 && hasWordChar(copy) && solidLength(copy) >= 10) return cutAtLine(lines, rows[r]!);
  }

  // (1b) The answer ends with the first k suffix lines (k as large as possible).
  for (let k = Math.min(rows.length, after.length); k >= 1; k--) {
    let same = true;
    for (let j = 0; j < k && same; j++) same = full[rows[rows.length - k + j]!]!.trimEnd() === after[j]!.trimEnd();
    if (!same) continue;
    const at = rows[rows.length - k]!;
    const removed = lines.slice(at).join('\n');
    // Lone closing lines are a repeat only if the answer has closers to spare (it did not open what they close).
    if (!hasWordChar(removed) && !closesWhatItDidNotOpen(text, context, removed)) continue;
    return cutAtLine(lines, at);
  }
  return text;
}

/** The text before line `at` (the line break before it included, as the suffix starts on a new line anyway). */
function cutAtLine(lines: readonly string[], at: number): string {
  if (at === 0) return '';
  return lines.slice(0, at).join('\n');
}

function closesWhatItDidNotOpen(text: string, context: FilterContext, removed: string): boolean {
  let closers = 0;
  for (let i = 0; i < removed.length; i++) if (isCloser(removed.charCodeAt(i))) closers++;
  return looseBrackets(text, cursorState(context.prefix)).closers.length >= closers;
}

/** Single characters that may be a whole overlap: most punctuation that ends a line is never meant twice. */
const SINGLE_CHAR_OVERLAP = new Set([';', ',', ')', ']', '}', ':', "'", '"', '`', '>']);

export function removeLineSuffixOverlap(text: string, context: FilterContext): string {
  const lineSuffix = context.lineSuffix.replace(/\r$/, '');
  if (lineSuffix.trim() === '') return text;
  const nl = text.indexOf('\n');
  if (nl !== -1) {
    // A multi-line answer whose first line already ends the cursor line (`find(id);` before `);`): the model wrote
    // past the cursor line as if its rest were not there. Only that first line is meant.
    const first = text.slice(0, nl);
    const start = overlapStart(first, lineSuffix, context);
    if (start !== -1) return first.slice(0, start);
  }
  const start = overlapStart(text, lineSuffix, context);
  return start === -1 ? text : text.slice(0, start);
}

/** Where the longest overlap of the end of `text` with the start of `lineSuffix` begins in `text`, or -1. */
function overlapStart(text: string, lineSuffix: string, context: FilterContext): number {
  const max = Math.min(lineSuffix.length, text.length);
  let loose: Set<number> | undefined;
  for (let len = max; len >= 1; len--) {
    const overlap = lineSuffix.slice(0, len);
    if (!text.endsWith(overlap)) continue;
    const solid = solidLength(overlap);
    if (solid === 0) continue;
    if (solid === 1 && !SINGLE_CHAR_OVERLAP.has(overlap.trim())) continue;
    // Do not split a word of the line suffix (`na` of `name`); a word the answer started is fine (`user.na|me`).
    if (len < lineSuffix.length && isWordChar(lineSuffix.charCodeAt(len)) && isWordChar(lineSuffix.charCodeAt(len - 1))) continue;
    const start = text.length - len;
    loose ??= new Set(looseBrackets(text, cursorState(context.prefix)).closers.map((b) => b.pos));
    let own = false;
    for (let i = start; i < text.length && !own; i++) if (isCloser(text.charCodeAt(i)) && !loose.has(i)) own = true;
    if (own) continue;
    return start;
  }
  return -1;
}
