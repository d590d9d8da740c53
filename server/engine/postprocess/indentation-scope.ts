import { findLineAfter, indentWidth, isBlank, lineAboveNotBlank, splitLines } from './text.js';
import type { Filter, FilterContext } from './types.js';

/**
 * The answer stays inside the block the cursor is in: it is cut before the first line indented less than that block
 * (the model closing the block and going on with the next function). A dedented line that starts with the closing
 * bracket the block needs is kept when the suffix does not already close the block at that indentation; the answer
 * then ends after it (or, for `} else {` and the like, goes on one level out until that closes too).
 * At the top level (indentation 0, and not right after a `{`) nothing is cut.
 */
export const indentationScope: Filter = (text: string, context: FilterContext): string | null => {
  const ref = blockIndent(context);
  if (ref <= 0) return text;
  const lines = splitLines(text);
  const cursorLineBlank = context.linePrefix.trim() === '';

  let min = ref;
  for (let i = cursorLineBlank ? 0 : 1; i < lines.length; i++) {
    const line = i === 0 ? context.linePrefix + lines[0]! : lines[i]!;
    if (isBlank(line)) continue;
    const width = indentWidth(line);
    if (width >= min) continue;
    const trimmed = line.trim();
    const first = trimmed[0]!;
    if (!'}])'.includes(first) || suffixCloses(context.suffix, ref, width, first)) return cut(lines, i);
    if (/^[}\])\s;,]*$/.test(trimmed)) return cut(lines, i + 1); // the block is closed: the answer is complete
    min = width + 1; // `} else {`: the next lines belong to the new block, one level out
  }
  return text;
};

function cut(lines: readonly string[], at: number): string | null {
  const kept = lines.slice(0, at).join('\n');
  return kept.trim() === '' ? null : kept;
}

const OPENS_BLOCK = /[{([:]$|=>$/;

/**
 * The indentation a line must have to belong to the cursor's block. A cursor line with code: its indentation (one
 * more when the cursor follows a `{`, `(`, `[`, `:` or `=>` that ends it). A blank cursor line: its indentation
 * when the editor indented it, capped by the line above (one more than that line's when it opens a block); else
 * the lesser of what the lines around it say (one more than an opening line above, one more than a closing line
 * below).
 */
export function blockIndent(context: FilterContext): number {
  const lineSuffix = context.lineSuffix.replace(/\r$/, '');
  const cursorLine = context.linePrefix + lineSuffix;
  if (!isBlank(cursorLine)) {
    const opens = isBlank(lineSuffix) && OPENS_BLOCK.test(context.linePrefix.trimEnd());
    return indentWidth(cursorLine) + (opens ? 1 : 0);
  }
  const column = indentWidth(context.linePrefix);
  const above = lineAboveNotBlank(context.prefix);
  const fromAbove = above === undefined ? -1 : indentWidth(above) + (OPENS_BLOCK.test(above.trimEnd()) ? 1 : 0);
  const below = findLineAfter(context.suffix, (line) => !isBlank(line));
  const fromBelow = below === undefined ? -1 : indentWidth(below) + (/^\s*[}\])]/.test(below) ? 1 : 0);
  // An indented blank line (the editor indented it): that is the block, as far as the line above allows.
  if (column > 0) return fromAbove >= 0 ? Math.min(column, fromAbove) : column;
  if (fromAbove >= 0 && fromBelow >= 0) return Math.min(fromAbove, fromBelow);
  if (fromAbove >= 0) return fromAbove;
  return Math.max(fromBelow, 0);
}

/** The suffix closes the block itself: its first line outside the cursor's block starts with the same bracket there. */
function suffixCloses(suffix: string, ref: number, width: number, bracket: string): boolean {
  const outside = findLineAfter(suffix, (line) => !isBlank(line) && indentWidth(line) < ref);
  return outside !== undefined && indentWidth(outside) === width && outside.trim().startsWith(bracket);
}
