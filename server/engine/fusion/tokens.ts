/**
 * A small lexer for token-level fusion (ROVER alignment, consensus prefixes): identifiers/keywords, numbers,
 * string and template literals (one token each), comments (one token each), multi-character operators, and single
 * punctuation characters. Each token carries the whitespace before it, so a sequence of tokens taken from several
 * candidates can be reassembled with their original spacing; the text's trailing whitespace is kept apart.
 * Made for C-family code (JavaScript/TypeScript first); other languages still lex into words and punctuation.
 * It never throws and always advances; unterminated literals end at the line break (strings) or the end (others).
 * Regular expression literals are not recognised: they lex as punctuation and words, the same way in every candidate.
 */

export type TokenKind = 'word' | 'number' | 'string' | 'comment' | 'punct';

export interface Token {
  /** Whitespace before the token. */
  readonly ws: string;
  readonly text: string;
  readonly kind: TokenKind;
  /** Offset just past the token in the source text. */
  readonly end: number;
}

export interface Lexed {
  readonly tokens: readonly Token[];
  /** Whitespace after the last token (all of the text if it has no token). */
  readonly trailing: string;
}

const WORD_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  WORD_CHAR[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 ? 1 : 0;
}
const NON_ASCII_WORD = /[\p{ID_Continue}\u200c\u200d]/u;

function isWordCode(code: number, text: string, at: number): boolean {
  if (code < 128) return WORD_CHAR[code] === 1;
  return NON_ASCII_WORD.test(String.fromCodePoint(text.codePointAt(at) ?? code));
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isSpace(code: number): boolean {
  if (code > 32) return code > 127 && (code === 0xa0 || code === 0xfeff || /\s/.test(String.fromCharCode(code)));
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 11 || code === 12;
}

/** Multi-character operators by first character, longest first. */
const OPERATORS = new Map<number, string[]>();
for (const op of [
  '>>>=', '...', '===', '!==', '**=', '<<=', '>>=', '>>>', '&&=', '||=', '??=',
  '=>', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=',
  '**', '<<', '>>', '::', '->',
].sort((a, b) => b.length - a.length)) {
  const first = op.charCodeAt(0);
  OPERATORS.set(first, [...(OPERATORS.get(first) ?? []), op]);
}

export function lex(text: string): Lexed {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    const wsStart = i;
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) return { tokens, trailing: text.slice(wsStart) };
    const ws = text.slice(wsStart, i);
    const start = i;
    const code = text.charCodeAt(i);
    let kind: TokenKind;
    if (isDigit(code) || (code === 46 /* . */ && isDigit(text.charCodeAt(i + 1)))) {
      kind = 'number';
      i = scanNumber(text, i);
    } else if (isWordCode(code, text, i)) {
      kind = 'word';
      i += code >= 0xd800 && code <= 0xdbff ? 2 : 1;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (!isWordCode(c, text, i)) break;
        i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
      }
    } else if (code === 39 /* ' */ || code === 34 /* " */) {
      kind = 'string';
      i = scanQuoted(text, i, code);
    } else if (code === 96 /* ` */) {
      kind = 'string';
      i = scanTemplate(text, i);
    } else if (code === 47 /* / */ && text.charCodeAt(i + 1) === 47) {
      kind = 'comment';
      i += 2;
      while (i < n && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
    } else if (code === 47 && text.charCodeAt(i + 1) === 42 /* * */) {
      kind = 'comment';
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
    } else {
      kind = 'punct';
      let length = code >= 0xd800 && code <= 0xdbff && i + 1 < n ? 2 : 1;
      const operators = code === 46 && text.charCodeAt(i + 1) !== 46 ? undefined : OPERATORS.get(code);
      if (operators !== undefined) {
        for (const op of operators) {
          if (text.startsWith(op, i)) {
            length = op.length;
            break;
          }
        }
      }
      i += length;
    }
    tokens.push({ ws, text: text.slice(start, i), kind, end: i });
  }
}

function scanNumber(text: string, i: number): number {
  const n = text.length;
  const first = text.charCodeAt(i);
  const second = text.charCodeAt(i + 1) | 0x20;
  if (first === 48 && (second === 0x78 || second === 0x6f || second === 0x62) /* 0x 0o 0b */) {
    i += 2;
    while (i < n && WORD_CHAR[text.charCodeAt(i)] === 1) i++;
    return i;
  }
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isDigit(c) || c === 95 /* _ */) i++;
    else if (c === 46 /* . */ && isDigit(text.charCodeAt(i + 1))) i++;
    else if ((c | 0x20) === 0x65 /* e */ && (isDigit(text.charCodeAt(i + 1)) || ((text.charCodeAt(i + 1) === 43 || text.charCodeAt(i + 1) === 45) && isDigit(text.charCodeAt(i + 2))))) i += 2;
    else if (c < 128 && WORD_CHAR[c] === 1) i++; // suffixes: 10n, 1f, 2L
    else break;
  }
  return i;
}

/** A '…' or "…" literal; unterminated ones end before the line break. */
function scanQuoted(text: string, i: number, quote: number): number {
  const n = text.length;
  i++;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */) i += 2;
    else if (c === quote) return i + 1;
    else if (c === 10 || c === 13) return i;
    else i++;
  }
  return n;
}

/** A template literal with its substitutions, as one token; braces inside substitutions are counted. */
function scanTemplate(text: string, i: number): number {
  const n = text.length;
  i++;
  let depth = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 92) i += 2;
    else if (depth === 0 && c === 96) return i + 1;
    else if (c === 36 /* $ */ && text.charCodeAt(i + 1) === 123 /* { */) {
      depth++;
      i += 2;
    } else if (depth > 0 && c === 123) {
      depth++;
      i++;
    } else if (depth > 0 && c === 125 /* } */) {
      depth--;
      i++;
    } else i++;
  }
  return n;
}

/** Word-like tokens (not punctuation or comments): what makes a prefix worth answering. */
export function isSubstantive(token: Token): boolean {
  return token.kind === 'word' || token.kind === 'number' || token.kind === 'string';
}

/** True when the last character of `a` and the first of `b` would fuse into one word if written side by side. */
export function wouldGlue(a: string, b: string): boolean {
  if (a.length === 0 || b.length === 0) return false;
  const last = a.charCodeAt(a.length - 1);
  const first = b.charCodeAt(0);
  return isWordCode(last, a, a.length - 1) && isWordCode(first, b, 0);
}
