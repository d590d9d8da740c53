import { lineStartOf } from '../../text/lines.js';
import { looseBrackets } from './scan.js';
import { cursorState } from './structure.js';
import { indentWidth } from './text.js';
import type { Filter, FilterContext } from './types.js';

const TAIL = /[)\]}\s;,]/;

/**
 * The indentation of the line holding `pos` when only whitespace precedes `pos` on it, else -1. With
 * `notFirstLine`, a position on the text's first line (the cursor line, for the suffix) gives -1.
 */
function lineIndentOf(text: string, pos: number, notFirstLine = false): number {
  const lineStart = lineStartOf(text, pos);
  if (notFirstLine && lineStart === 0) return -1;
  const before = text.slice(lineStart, pos);
  return before.trim() === '' ? indentWidth(before) : -1;
}

/**
 * Closing brackets at the end of the answer that close something opened before the cursor, when the suffix closes
 * the same brackets already: they are dropped, with the `;`/`,` after them (cursor in `foo(|)`, answer `a, b)` →
 * `a, b`). Brackets inside strings, comments and regular expressions do not count, and the cursor may itself sit in
 * a string. A closer that starts its line is only the suffix's when the suffix's starts a line at the same
 * indentation. An answer with such closers in its middle is left to the syntax check.
 */
export const bracketBalance: Filter = (text: string, context: FilterContext): string | null => {
  const state = cursorState(context.prefix);
  const answer = looseBrackets(text, state);
  if (answer.closers.length === 0) return text;
  let tail = text.length;
  while (tail > 0 && TAIL.test(text[tail - 1]!)) tail--;
  if (answer.closers[0]!.pos < tail) return text;
  const suffix = looseBrackets(context.suffix, state).closers;
  if (suffix.length < answer.closers.length) return text;
  for (let k = 0; k < answer.closers.length; k++) {
    const mine = answer.closers[k]!;
    const theirs = suffix[k]!;
    if (mine.ch !== theirs.ch) return text;
    // Both open their lines: at different indentations they close different blocks (the suffix's `}` at column 0
    // closes the function, the answer's `  }` the method it wrote).
    const mineIndent = lineIndentOf(context.linePrefix + text, context.linePrefix.length + mine.pos);
    const theirsIndent = lineIndentOf(context.suffix, theirs.pos, true);
    if (mineIndent !== -1 && theirsIndent !== -1 && mineIndent !== theirsIndent) return text;
  }
  const result = text.slice(0, answer.closers[0]!.pos);
  return result.trim() === '' ? null : result;
};
