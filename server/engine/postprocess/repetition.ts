import { hasWordChar, isBlank, isWordChar, linesAbove, solidLength, splitLines } from './text.js';
import type { Filter, FilterContext } from './types.js';

/**
 * Repetition loops, the typical failure of small models that run to their token limit:
 * - a line or block of up to MAX_BLOCK lines repeated three times in a row (twice, for a block, when the loop runs
 *   on to the end of the answer) is kept once and the answer ends there;
 * - a line whose end repeats a short unit over and over (`a, a, a, a, …`) is dropped with everything after it;
 * - an answer that only writes out again the lines just above the cursor gives no item.
 * Similar but different lines (`x1 = 1; x2 = 2; …`) are left alone: lines must be equal to count as a repeat.
 */
export const repetition: Filter = (text: string, context: FilterContext): string | null => {
  const lines = splitLines(text);
  // The first line continues the cursor line: compare it as the document will show it.
  const full = lines.slice();
  full[0] = context.linePrefix + lines[0]!;

  let keep = lines.length;
  const block = blockLoop(full);
  if (block) keep = Math.min(keep, block.at + block.size);
  const inLine = inLineLoop(full, keep);
  if (inLine !== -1) keep = Math.min(keep, inLine);

  const result = keep < lines.length ? lines.slice(0, keep).join('\n') : text;
  if (result.trim() === '') return null;
  if (echoesPrefix(result, context)) return null;
  return result;
};

/** Longest block (in lines) looked for. */
const MAX_BLOCK = 8;

function sameLine(a: string, b: string): boolean {
  return a.trimEnd() === b.trimEnd();
}

function sameBlock(lines: readonly string[], a: number, b: number, size: number): boolean {
  for (let k = 0; k < size; k++) if (!sameLine(lines[a + k]!, lines[b + k]!)) return false;
  return true;
}

/** The block starting at `start` contains some code (blank lines and lone brackets do not loop). */
function substantive(lines: readonly string[], start: number, size: number): boolean {
  for (let k = 0; k < size; k++) if (hasWordChar(lines[start + k]!)) return true;
  return false;
}

/** The first repeated block: where it starts and its size in lines. */
export function blockLoop(lines: readonly string[]): { at: number; size: number } | null {
  const n = lines.length;
  for (let at = 0; at < n; at++) {
    if (isBlank(lines[at]!)) continue;
    for (let size = 1; size <= MAX_BLOCK && at + 2 * size <= n; size++) {
      if (!sameBlock(lines, at, at + size, size)) continue;
      if (!substantive(lines, at, size)) continue;
      let reps = 2;
      while (at + (reps + 1) * size <= n && sameBlock(lines, at, at + reps * size, size)) reps++;
      if (reps >= 3) return { at, size };
      // Two full copies and a third begun that runs to the end: the model was cut off inside the loop.
      if (size >= 2 && runsToEnd(lines, at, size, at + reps * size)) return { at, size };
    }
  }
  return null;
}

/** Lines from `from` to the end are a non-empty beginning of the block at `at` (the last one possibly cut short). */
function runsToEnd(lines: readonly string[], at: number, size: number, from: number): boolean {
  const rest = lines.length - from;
  if (rest <= 0 || rest > size) return false;
  for (let k = 0; k < rest; k++) {
    const line = lines[from + k]!.trimEnd();
    const model = lines[at + k]!.trimEnd();
    if (k === rest - 1 ? !model.startsWith(line) || line.trim() === '' : line !== model) return false;
  }
  return true;
}

/** Longest repeated unit looked for inside a line. */
const MAX_UNIT = 32;

/**
 * The index of the first line (before `limit`) that ends in a run of one short unit repeated: at least
 * LAST_LINE_REPS times on the answer's last line (the model ran out of tokens inside the loop), LINE_REPS elsewhere.
 * Runs of a bare word or number (`1000000`, `aaaa`) are values, not loops. -1 when none.
 */
export function inLineLoop(lines: readonly string[], limit: number): number {
  for (let i = 0; i < limit; i++) {
    const line = lines[i]!.trimEnd();
    const last = i === limit - 1;
    const reps = tailRepetitions(line);
    if (reps.count >= (last ? LAST_LINE_REPS : LINE_REPS) && reps.length >= 20) return i;
  }
  return -1;
}

const LAST_LINE_REPS = 6;
const LINE_REPS = 10;

/** The best repetition of a unit running to the end of `line`: how many times, over how many characters. */
export function tailRepetitions(line: string): { count: number; length: number } {
  let best = { count: 0, length: 0 };
  const end = line.length;
  for (let p = 2; p <= MAX_UNIT && 2 * p <= end; p++) {
    let k = end - p - 1;
    while (k >= 0 && line.charCodeAt(k) === line.charCodeAt(k + p)) k--;
    const length = end - (k + 1);
    const count = length / p;
    if (count < 2 || count <= best.count) continue;
    const unit = line.slice(end - p, end);
    let word = false;
    let other = false;
    for (let j = 0; j < unit.length; j++) {
      if (isWordChar(unit.charCodeAt(j))) word = true;
      else other = true;
    }
    if (word && other) best = { count: Math.floor(count), length };
  }
  return best;
}

/**
 * The answer only repeats the lines right above it: the lines it produces (the cursor line with the answer's first
 * line, unless the answer starts on a new line; the last one with the rest of the cursor line) equal, one for one,
 * the same number of lines just before them. Short echoes (`}` or `i++;`) can be legitimate and are kept.
 */
export function echoesPrefix(text: string, context: FilterContext): boolean {
  const lines = splitLines(text);
  const startsNewLine = lines.length > 1 && isBlank(lines[0]!);
  let produced: string[];
  if (startsNewLine) produced = lines.slice(1);
  else {
    produced = lines.slice();
    produced[0] = context.linePrefix + produced[0]!;
  }
  produced[produced.length - 1] += context.lineSuffix;
  while (produced.length > 0 && isBlank(produced[produced.length - 1]!)) produced.pop();
  if (produced.length === 0) return false;
  const joined = produced.join('\n');
  if (solidLength(joined) < 10 || !hasWordChar(joined)) return false;
  // The lines just before the produced ones: the cursor line itself is one of them when the answer starts a new line.
  const above = startsNewLine ? linesAbove(context.prefix, produced.length - 1) : linesAbove(context.prefix, produced.length);
  if (startsNewLine) above.push(context.linePrefix);
  if (produced.length > above.length) return false;
  const offset = above.length - produced.length;
  for (let k = 0; k < produced.length; k++) {
    if (produced[k]!.trim() !== above[offset + k]!.trim()) return false;
  }
  return true;
}
