import { dedentBy, isBlank, tagScore } from './answer-text.js';

/** Markdown code fences in an answer, and which one holds the code the action asked for. */

export interface Fence {
  /** Line index of the opening fence. */
  readonly open: number;
  /** Line index of the closing fence; the number of lines when the answer ends inside the block. */
  readonly close: number;
  /** First word of the info string, lower case ('' when none). */
  readonly tag: string;
  /** The content, the fence's own indentation removed. */
  readonly lines: readonly string[];
}

export const FENCE = /^([ \t]*)(`{3,}|~{3,})(.*)$/;

/** The language word of an info string: "typescript", "ts title=a.ts", "typescript:src/a.ts", "{.python}". */
export function fenceTag(info: string): string {
  return (info.trim().replace(/^\{?\.?/, '').split(/[\s:{},]/)[0] ?? '').toLowerCase();
}

/**
 * Markdown code blocks, CommonMark-style: ``` or ~~~ (three or more), closed by a line of at least as many of the
 * same character; indented fences (inside list items) are fine and their indentation is removed from the content;
 * a block still open at the end of the answer runs to the end (the model ran out of tokens).
 */
export function findFences(lines: readonly string[]): Fence[] {
  const fences: Fence[] = [];
  let i = 0;
  while (i < lines.length) {
    const m = FENCE.exec(lines[i]!);
    if (!m || (m[2]![0] === '`' && m[3]!.includes('`'))) {
      i++;
      continue;
    }
    const indent = m[1]!.length;
    const marker = m[2]!;
    const closer = new RegExp(`^[ \\t]*${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
    let j = i + 1;
    while (j < lines.length && !closer.test(lines[j]!)) j++;
    fences.push({ open: i, close: j, tag: fenceTag(m[3]!), lines: lines.slice(i + 1, j).map((l) => dedentBy(l, indent)) });
    i = j + 1;
  }
  return fences;
}

/** The lines that are not part of any fence (fence lines included). */
export function outsideFences(lines: readonly string[], fences: readonly Fence[]): string[] {
  const out: string[] = [];
  let next = 0;
  for (const f of fences) {
    out.push(...lines.slice(next, f.open));
    next = f.close + 1;
  }
  out.push(...lines.slice(next));
  return out;
}

/** A label that announces old code ("Before:", "Original code:", "The problem is here:") and not new code. */
export const BEFORE_LABEL = /\b(before|original|old|current|existing|previous|problem|problematic|buggy|broken|wrong|incorrect)\b/i;
export const AFTER_LABEL =
  /\b(after|refactor\w*|updat\w*|fix\w*|new\w*|improv\w*|correct\w*|revis\w*|rewrit\w*|modif\w*|final|result\w*|solution|applied|instead|better|clean\w*|simplif\w*|optimi\w*)\b/i;
export const COMMENT_LINE = /^\s*(?:\/\/+|\/\*+|#+|--)\s*(.*)$/;

/** The block shows the code as it was: by the prose line just above it, or by a comment on its own first line. */
export function showsOldCode(lines: readonly string[], fence: Fence): boolean {
  const labels: string[] = [];
  for (let i = fence.open - 1; i >= 0 && i >= fence.open - 3; i--) {
    const line = lines[i]!;
    if (isBlank(line)) continue;
    if (!FENCE.test(line)) labels.push(line);
    break;
  }
  const first = fence.lines.find((l) => !isBlank(l));
  const comment = first === undefined ? undefined : COMMENT_LINE.exec(first);
  if (comment) labels.push(comment[1]!);
  return labels.some((l) => BEFORE_LABEL.test(l) && !AFTER_LABEL.test(l));
}

export interface RankedFence extends Fence {
  readonly score: number;
}

/**
 * Non-empty fences, best first: by tag (the document's language, a related one, none, another), then blocks not
 * labelled as the old code, then the longest (non-whitespace characters), then the first.
 */
export function rankFences(lines: readonly string[], fences: readonly Fence[], languageId: string): RankedFence[] {
  const solid = (f: Fence): number => f.lines.join('').replace(/\s+/g, '').length;
  return fences
    .filter((f) => solid(f) > 0)
    .map((f, index) => ({ ...f, score: tagScore(f.tag, languageId), old: showsOldCode(lines, f), size: solid(f), index }))
    .sort((a, b) => b.score - a.score || Number(a.old) - Number(b.old) || b.size - a.size || a.index - b.index);
}
