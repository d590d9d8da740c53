import { countErrorsInText, type SyntaxLanguage } from '../../documents/syntax.js';
import { type CommentStyle, commentStyle, familyOf, finish, isBlank } from './answer-text.js';
import type { ExtractOptions } from './extract.js';

/** Bare code (no fence): the prose before and after it dropped, by the parser where there is one, else by line heuristics. */

// ---------------------------------------------------------------------------------------------------------------
// Prose

/** Inline code spans and emphasis markers neutralised, so "`a = b`" in a sentence does not read as code. */
export function plain(line: string): string {
  return line.replace(/`[^`]*`/g, 'x').replace(/\*\*|__/g, '').trim();
}

/** Punctuation natural language does not use: statement ends, braces, assignment, calls with arguments. */
export function hasCodePunctuation(text: string): boolean {
  return /[;{}=]/.test(text) || /\w\((?!\))/.test(text);
}

/**
 * A line that reads as prose, not code: a markdown heading (not in '#'-comment languages), a rule, a bold label,
 * a bullet of words, or a sentence: a capitalised word first, words separated by spaces (or a single "Label:"),
 * ending in '.', ':', '!' or '?', and no code punctuation (;{}= or a call with arguments) outside inline code.
 */
export function isProseLine(line: string, hashComments: boolean): boolean {
  const raw = line.trim();
  if (raw === '') return false;
  if (/^(?:-{3,}|\*{3,}|_{3,})$/.test(raw)) return true;
  if (/^\*\*[^*]+\*\*:?$/.test(raw)) return true;
  if (!hashComments && /^#{1,6}\s+\S/.test(raw)) return true;
  const t = plain(raw);
  if (hasCodePunctuation(t)) return false;
  const bullet = /^(?:[-*+•]|\d{1,2}[.)])\s+(.*)$/.exec(t);
  if (bullet) return !bullet[1]!.startsWith('@') && /\p{L}{2,}[\s,]+\S/u.test(bullet[1]!);
  if (!/^\p{Lu}/u.test(t) || !/[.:!?]["')*_]*$/.test(t)) return false;
  return /\s/.test(t) || /^\p{L}+[.:!?]$/u.test(t);
}

/** Some consecutive lines that read as prose: each one does, or joined together they make one sentence or bullet. */
export function isProseChunk(lines: readonly string[], hashComments: boolean): boolean {
  if (lines.every((l) => isProseLine(l, hashComments))) return true;
  return lines.length > 1 && isProseLine(lines.map((l) => l.trim()).join(' '), hashComments);
}

/** A line of natural language even if it has a ';' in it: "The code is fine; no change is needed." */
export function isSentence(line: string): boolean {
  const t = plain(line);
  return /^\p{Lu}/u.test(t) && /[.!?:]["')*_]*$/.test(t) && (t.match(/\s+/g)?.length ?? 0) >= 2 && !/[{}=]/.test(t);
}

/**
 * A line the parser may judge to be prose: words separated by spaces, not a comment, not a closer or decorator, and
 * not ending the way an unfinished statement does (an opening bracket, a comma, an arrow).
 */
export function mayBeProse(line: string, style: CommentStyle): boolean {
  const t = line.trim();
  if (t === '' || startsComment(t, style) || /^[}\])@]/.test(t)) return false;
  if (/(?:[{([,]|=>)$/.test(t)) return false;
  return isProseLine(t, style.hash) || /\p{L}{2,}[ \t]+\p{L}/u.test(plain(t));
}

export function startsComment(trimmed: string, style: CommentStyle): boolean {
  if (style.slash && /^(?:\/\/|\/\*|\*\/)/.test(trimmed)) return true;
  if (style.hash && trimmed.startsWith('#')) return true;
  return style.dash && trimmed.startsWith('--');
}

/** At most this many lines are judged as one chunk of prose at an edge. */
export const MAX_CHUNK = 12;

export type Edge = 'start' | 'end';

/** Line ranges [start, end) of the text; the edges move inward as prose is dropped. */
export interface Range {
  start: number;
  end: number;
}

export function skipBlank(lines: readonly string[], range: Range): void {
  while (range.start < range.end && isBlank(lines[range.start]!)) range.start++;
  while (range.end > range.start && isBlank(lines[range.end - 1]!)) range.end--;
}

/** The up to MAX_CHUNK consecutive non-blank lines at an edge for which `accept` holds, nearest the edge first. */
export function edgeRun(lines: readonly string[], range: Range, edge: Edge, accept: (line: string) => boolean): string[] {
  const run: string[] = [];
  for (let k = 0; k < MAX_CHUNK && k < range.end - range.start; k++) {
    const line = lines[edge === 'start' ? range.start + k : range.end - 1 - k]!;
    if (isBlank(line) || !accept(line)) break;
    run.push(line);
  }
  return run;
}

/** The first `k` lines of a run, in document order. */
export function chunk(run: readonly string[], k: number, edge: Edge): string[] {
  const part = run.slice(0, k);
  return edge === 'start' ? part : part.reverse();
}

export function drop(range: Range, edge: Edge, k: number): Range {
  return edge === 'start' ? { start: range.start + k, end: range.end } : { start: range.start, end: range.end - k };
}

/** Without a grammar: drops the largest prose chunk at each edge, again and again. */
export function dropProseByLines(lines: readonly string[], range: Range, edge: Edge, style: CommentStyle): Range {
  let current = range;
  for (;;) {
    skipBlank(lines, current);
    const run = edgeRun(lines, current, edge, (l) => !startsComment(l.trim(), style));
    let k = run.length;
    while (k > 0 && !isProseChunk(chunk(run, k, edge), style.hash)) k--;
    if (k === 0) return current;
    current = drop(current, edge, k);
  }
}

/**
 * With a grammar: at each edge, a chunk of lines that may be prose is dropped when the rest parses with fewer errors,
 * or with no more errors when the heuristics call the chunk prose too; of the chunks that qualify, the one leaving
 * the fewest errors (the shortest among equals). Repeated until nothing qualifies.
 */
export function dropProseByParser(
  lines: readonly string[],
  range: Range,
  edge: Edge,
  style: CommentStyle,
  language: SyntaxLanguage,
): Range {
  const errorsIn = (r: Range): number => countErrorsInText(language, lines.slice(r.start, r.end).join('\n')) ?? Infinity;
  let current = range;
  skipBlank(lines, current);
  let errors = errorsIn(current);
  for (;;) {
    const run = edgeRun(lines, current, edge, (l) => mayBeProse(l, style));
    let best: { range: Range; errors: number } | undefined;
    for (let k = 1; k <= run.length; k++) {
      const prose = isProseChunk(chunk(run, k, edge), style.hash);
      if (errors === 0 && !prose) continue;
      const next = drop(current, edge, k);
      skipBlank(lines, next);
      const e = errorsIn(next);
      if ((e < errors || (prose && e <= errors)) && (!best || e < best.errors)) best = { range: next, errors: e };
    }
    if (!best) return current;
    current = best.range;
    errors = best.errors;
  }
}

/**
 * Code written without a fence: the answer minus the prose at its start and end. A first line that only names the
 * language (a fence whose backticks went missing) goes too; an answer that is one inline code span is unwrapped.
 * Undefined when nothing but prose remains.
 */
export function extractBare(lines: readonly string[], options: ExtractOptions): string | undefined {
  const style = commentStyle(options.languageId);
  const inline = /^`([^`\n]+)`$/.exec(lines.join('\n').trim());
  if (inline) return finish([inline[1]!]);
  const range: Range = { start: 0, end: lines.length };
  skipBlank(lines, range);
  const family = familyOf(options.languageId);
  const first = lines[range.start]?.trim().toLowerCase();
  if (first !== undefined && (first === options.languageId.toLowerCase() || family?.tags.includes(first))) range.start++;

  let result: Range;
  if (options.language) {
    const language = options.language;
    result = dropProseByParser(lines, dropProseByParser(lines, range, 'start', style, language), 'end', style, language);
  } else {
    result = dropProseByLines(lines, dropProseByLines(lines, range, 'start', style), 'end', style);
  }
  const kept = lines.slice(result.start, result.end);
  if (kept.every((l) => isBlank(l) || isSentence(l) || isProseLine(l, style.hash))) return undefined;
  const code = finish(kept);
  return code === '' ? undefined : code;
}
