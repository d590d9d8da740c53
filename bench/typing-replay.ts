/**
 * A deterministic typing session over a real TypeScript file: lines inside function bodies are erased and typed
 * again character by character, as a user would, with a completion request after every keystroke.
 */
export interface Keystroke {
  /** Offset where the character is inserted (UTF-16, in the document as it is before the keystroke). */
  readonly offset: number;
  readonly line: number;
  readonly character: number;
  readonly text: string;
  /** The rest of the original line after this keystroke: what a perfect model would answer. */
  readonly restOfLine: string;
}

export interface TypedLine {
  readonly line: number;
  /** Column where the erased text starts (after the indentation). */
  readonly column: number;
  readonly content: string;
}

/** Picks `count` indented code lines of 20–100 characters, spread evenly over the file. */
export function pickLines(text: string, count: number): TypedLine[] {
  const lines = text.split('\n');
  const candidates: TypedLine[] = [];
  lines.forEach((line, index) => {
    const indent = line.match(/^\s+/)?.[0].length ?? 0;
    const content = line.slice(indent);
    if (indent >= 2 && content.length >= 20 && content.length <= 100 && !content.startsWith('//') && !content.startsWith('*'))
      candidates.push({ line: index, column: indent, content });
  });
  const step = Math.max(1, Math.floor(candidates.length / count));
  return candidates.filter((_, i) => i % step === 0).slice(0, count);
}

/** The document with one line's content erased (the starting point for typing it). */
export function eraseLine(text: string, typed: TypedLine): string {
  const lines = text.split('\n');
  lines[typed.line] = lines[typed.line]!.slice(0, typed.column);
  return lines.join('\n');
}

export function keystrokes(text: string, typed: TypedLine): Keystroke[] {
  const lines = text.split('\n');
  let lineStart = 0;
  for (let i = 0; i < typed.line; i++) lineStart += lines[i]!.length + 1;
  const strokes: Keystroke[] = [];
  for (let i = 0; i < typed.content.length; ) {
    const ch = String.fromCodePoint(typed.content.codePointAt(i)!);
    strokes.push({ offset: lineStart + typed.column + i, line: typed.line, character: typed.column + i, text: ch, restOfLine: typed.content.slice(i + ch.length) });
    i += ch.length;
  }
  return strokes;
}
