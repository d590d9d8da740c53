/**
 * Fitting code from a chat model into the document: models answer at column 0 with their own indentation habit
 * (two or four spaces, sometimes tabs), while the code replaces a method indented inside a class of a file that
 * indents with tabs. Levels are converted from the code's own unit to the document's; indentation that is not a
 * whole number of levels (the one extra space of JSDoc ` * ` lines, alignment) is kept as spaces, so it stays
 * aligned. Lines inside multi-line strings are reindented like any other line.
 */

/** Indentation steps considered (larger differences are alignment or continuation, not a unit). */
const MAX_STEP = 8;

/** Columns a tab counts for when the code's unit is a tab (only its remainder spaces depend on it). */
const TAB_COLUMNS = 4;

const DEFAULT_UNIT = '  ';

function toLines(text: string): string[] {
  return text.replace(/\r\n?/g, '\n').split('\n');
}

function leadingWhitespace(line: string): string {
  return /^[ \t]*/.exec(line)![0];
}

/**
 * The indentation unit of some code, as editors guess it: '\t' when more lines are indented with tabs than with
 * (two or more) spaces; otherwise the most frequent difference, 2 to 8 spaces, between the indentation of
 * consecutive non-blank lines (the smaller one among equals). Differences of one space (JSDoc ` * ` lines) never
 * make a unit. Two spaces when nothing tells.
 */
export function detectIndentUnit(text: string): string {
  let tabLines = 0;
  let spaceLines = 0;
  const steps = new Map<number, number>();
  let previous: number | undefined;
  for (const line of toLines(text)) {
    if (line.trim() === '') continue;
    const ws = leadingWhitespace(line);
    if (ws.startsWith('\t')) tabLines++;
    else if (ws.length >= 2) spaceLines++;
    if (ws.includes('\t')) {
      previous = undefined;
      continue;
    }
    if (previous !== undefined) {
      const step = Math.abs(ws.length - previous);
      if (step >= 2 && step <= MAX_STEP) steps.set(step, (steps.get(step) ?? 0) + 1);
    }
    previous = ws.length;
  }
  if (tabLines > spaceLines) return '\t';
  let best = 0;
  let bestCount = 0;
  for (const [step, count] of steps) {
    if (count > bestCount || (count === bestCount && step < best)) {
      best = step;
      bestCount = count;
    }
  }
  return best > 0 ? ' '.repeat(best) : DEFAULT_UNIT;
}

export interface ReindentOptions {
  /** Put in front of every non-blank line: the indentation where the code goes. */
  readonly baseIndent: string;
  /** One level in the document: '\t' or some spaces. */
  readonly unit: string;
  /** False when the first line goes after text already on the line (the cursor is past its indentation). */
  readonly indentFirstLine: boolean;
}

/**
 * `code` re-indented for the document: its common leading indentation removed, each line's level (in the code's
 * own unit, detected) written in `unit` with the remainder kept as spaces, `baseIndent` in front of every non-blank
 * line (of the first one only when `indentFirstLine`). Blank lines come out empty. Line breaks come out as '\n'.
 */
export function reindent(code: string, options: ReindentOptions): string {
  const lines = toLines(code);
  const source = detectIndentUnit(code);
  const step = source === '\t' ? TAB_COLUMNS : source.length;
  const width = (ws: string): number => {
    let w = 0;
    for (const c of ws) w += c === '\t' ? step : 1;
    return w;
  };
  let common = Infinity;
  for (const line of lines) if (line.trim() !== '') common = Math.min(common, width(leadingWhitespace(line)));
  if (common === Infinity) return lines.map(() => '').join('\n');
  // Code copied out of a nested place keeps its first line at column 0 and the rest at their old depth
  // (`add() {` / `    return 1;` / `  }`): when its closing bracket is at the rest's common indentation, the
  // first line belongs there too. (A JSDoc block's ` */` is not a closer: its alignment space stays.)
  let rest = Infinity;
  for (const line of lines.slice(1)) if (line.trim() !== '') rest = Math.min(rest, width(leadingWhitespace(line)));
  const last = [...lines].reverse().find((line) => line.trim() !== '') ?? '';
  const closesAtRest = lines.length > 1 && /^[}\])]/.test(last.trim()) && width(leadingWhitespace(last)) === rest;
  const firstShift = lines[0]!.trim() !== '' && width(leadingWhitespace(lines[0]!)) === 0 && rest !== Infinity && rest > 0 && closesAtRest ? rest : 0;
  if (firstShift > 0) common = rest;
  return lines
    .map((line, i) => {
      if (line.trim() === '') return '';
      const ws = leadingWhitespace(line);
      const relative = Math.max(0, width(ws) + (i === 0 ? firstShift : 0) - common);
      const indent = options.unit.repeat(Math.floor(relative / step)) + ' '.repeat(relative % step);
      const base = i === 0 && !options.indentFirstLine ? '' : options.baseIndent;
      return base + indent + line.slice(ws.length);
    })
    .join('\n');
}

/** `text` with every line break (`\n`, `\r\n`, a lone `\r`) written as `eol`. */
export function withLineEndings(text: string, eol: '\n' | '\r\n'): string {
  return text.replace(/\r\n|\r|\n/g, eol);
}
