import { splitLines } from './text.js';
import type { Filter, FilterContext } from './types.js';

/**
 * Whitespace the user would not want:
 * - trailing whitespace-only lines go; when the rest of the cursor line is code (it will follow the answer), one
 *   trailing line break with its indentation is kept, since it puts that code on a line of its own;
 * - trailing spaces go when nothing follows on the cursor line;
 * - spaces at the start of the answer go when the cursor already follows a space in the middle of a line
 *   (`const x = |` + ` 1`); a leading line break and indentation are kept (the cursor at a line's end).
 * A whitespace-only answer gives no item.
 */
export const trim: Filter = (text: string, context: FilterContext): string | null => {
  if (text.trim() === '') return null;
  let result = text;

  const linePrefix = context.linePrefix;
  if (linePrefix.trim() !== '' && /[ \t]$/.test(linePrefix)) result = result.replace(/^[ \t]+/, '');

  const lineSuffixIsCode = context.lineSuffix.replace(/\r$/, '').trim() !== '';
  const lines = splitLines(result);
  let last = lines.length - 1;
  while (last > 0 && lines[last]!.trim() === '') last--;
  if (lineSuffixIsCode && last < lines.length - 1) {
    // Keep one line break, and the indentation of the line that carried the suffix.
    result = lines.slice(0, last + 1).join('\n') + '\n' + lines[lines.length - 1]!;
  } else {
    result = lines.slice(0, last + 1).join('\n');
    if (!lineSuffixIsCode) result = result.trimEnd();
  }
  return result.trim() === '' ? null : result;
};
