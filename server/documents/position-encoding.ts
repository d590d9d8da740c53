import type { TextDocument } from 'vscode-languageserver-textdocument';

/**
 * LSP positions count characters in the encoding negotiated at initialize (utf-16 is the default, utf-8 and
 * utf-32 are optional). Documents are stored as JS strings, i.e. UTF-16; these functions convert at the boundary.
 */
export type PositionEncoding = 'utf-8' | 'utf-16' | 'utf-32';

export interface Position {
  line: number;
  character: number;
}

/**
 * Offset in the document (UTF-16 code units) of a client position. Out-of-range positions are clamped as
 * vscode-languageserver-textdocument clamps them (editors follow it): a line past the last is the end of the
 * document, a negative line its start, a character past the line's end that end.
 */
export function offsetOf(doc: TextDocument, position: Position, encoding: PositionEncoding): number {
  if (position.line >= doc.lineCount) return doc.getText().length;
  if (position.line < 0) return 0;
  const line = position.line;
  if (encoding === 'utf-16') return doc.offsetAt({ line, character: Math.max(0, position.character) });
  const lineStart = doc.offsetAt({ line, character: 0 });
  const lineEnd = line + 1 < doc.lineCount ? doc.offsetAt({ line: line + 1, character: 0 }) : doc.getText().length;
  const text = doc.getText();
  let units = Math.max(0, position.character);
  let offset = lineStart;
  while (units > 0 && offset < lineEnd) {
    const code = text.codePointAt(offset)!;
    if (code === 0x0a || code === 0x0d) break;
    const width = encoding === 'utf-8' ? utf8Width(code) : 1;
    if (width > units) break; // a position inside a character lands before it
    units -= width;
    offset += code > 0xffff ? 2 : 1;
  }
  return offset;
}

/** Client position of a document offset. */
export function positionOf(doc: TextDocument, offset: number, encoding: PositionEncoding): Position {
  const pos = doc.positionAt(offset);
  if (encoding === 'utf-16') return pos;
  const lineStart = offset - pos.character;
  return { line: pos.line, character: measure(doc.getText(), lineStart, lineStart + pos.character, encoding) };
}

/** Length of text[from, to) in the given encoding's units. */
export function measure(text: string, from: number, to: number, encoding: PositionEncoding): number {
  if (encoding === 'utf-16') return to - from;
  let units = 0;
  for (let i = from; i < to; ) {
    const code = text.codePointAt(i)!;
    units += encoding === 'utf-8' ? utf8Width(code) : 1;
    i += code > 0xffff ? 2 : 1;
  }
  return units;
}

function utf8Width(code: number): number {
  return code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
}

/** Picks the encoding: utf-16 when offered or when nothing is said (the LSP default), else the first we know. */
export function negotiateEncoding(offered: readonly string[] | undefined): PositionEncoding {
  if (!offered || offered.length === 0 || offered.includes('utf-16')) return 'utf-16';
  for (const e of offered) if (e === 'utf-8' || e === 'utf-32') return e;
  return 'utf-16';
}
