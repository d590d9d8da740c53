/**
 * A small lexer for C-family text (JavaScript and TypeScript first): enough to tell code brackets from brackets
 * inside strings, template literals, regular expressions and comments. It never throws and never backtracks
 * further than one regular expression; unterminated quotes end at the line break, as they do in JavaScript.
 * Filters use it to count brackets; the syntax check uses it to pick the window it parses.
 */
import { lastIndexBefore } from '../../text/lines.js';
import { isWordChar } from './text.js';

export const enum Mode {
  Code = 0,
  LineComment = 1,
  BlockComment = 2,
  Single = 3,
  Double = 4,
  Template = 5,
}

export const enum Tok {
  End = 0,
  /** One punctuation character (brackets included); `ch` holds its code. */
  Punct = 1,
  /** An identifier, keyword or number. */
  Word = 2,
  /** A string, template chunk or regular expression literal (an atom for bracket counting). */
  Str = 3,
}

/** Where a lexer stands: enough to resume lexing at the same point in another string (the answer, the suffix). */
export interface LexState {
  readonly mode: Mode;
  /** Brace depths at which the open template substitutions `${` began. */
  readonly templates: readonly number[];
  readonly braces: number;
  readonly regexAllowed: boolean;
}

export const CODE_STATE: LexState = { mode: Mode.Code, templates: [], braces: 0, regexAllowed: true };

/** 1 for the ASCII characters of identifiers and numbers. */
const WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++) WORD[c] = isWordChar(c) ? 1 : 0;

function wordAt(code: number): boolean {
  return code < 128 ? WORD[code] === 1 : isWordChar(code);
}

const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'yield', 'await', 'instanceof']);

export const OPEN_PAREN = 40; // (
export const CLOSE_PAREN = 41; // )
export const OPEN_SQUARE = 91; // [
export const CLOSE_SQUARE = 93; // ]
export const OPEN_CURLY = 123; // {
export const CLOSE_CURLY = 125; // }

export function isOpener(ch: number): boolean {
  return ch === OPEN_PAREN || ch === OPEN_SQUARE || ch === OPEN_CURLY;
}
export function isCloser(ch: number): boolean {
  return ch === CLOSE_PAREN || ch === CLOSE_SQUARE || ch === CLOSE_CURLY;
}
export function closerFor(opener: number): number {
  return opener === OPEN_PAREN ? CLOSE_PAREN : opener === OPEN_SQUARE ? CLOSE_SQUARE : CLOSE_CURLY;
}

export class Lexer {
  /** The current token. */
  kind: Tok = Tok.End;
  start = 0;
  end = 0;
  ch = 0;
  /** A line break lies between the previous token and this one. */
  newlineBefore = false;

  private pos: number;
  private mode: Mode;
  private templates: number[];
  private braces: number;
  private regexAllowed: boolean;
  /** The current token is a word: `regexAllowed` is to be read from it. */
  private afterWord = false;

  constructor(
    private readonly text: string,
    from = 0,
    private readonly to = text.length,
    state: LexState = CODE_STATE,
  ) {
    this.pos = from;
    this.mode = state.mode;
    this.templates = state.templates.slice();
    this.braces = state.braces;
    this.regexAllowed = state.regexAllowed;
  }

  /** The state after the last token read (at the end of the text when `next()` returned End). */
  state(): LexState {
    const regexAllowed = this.afterWord ? REGEX_AFTER_WORD.has(this.text.slice(this.start, this.end)) : this.regexAllowed;
    return { mode: this.mode, templates: this.templates.slice(), braces: this.braces, regexAllowed };
  }

  /** Inside a string, template or comment at the end of the text. */
  get inLiteral(): boolean {
    return this.mode !== Mode.Code;
  }

  /** Depth of `${` substitutions we are inside. */
  get templateDepth(): number {
    return this.templates.length;
  }

  next(): Tok {
    const text = this.text;
    const to = this.to;
    this.newlineBefore = false;
    if (this.pos >= to) return this.finish();
    // Resume a literal the previous text (or the previous token) left open.
    switch (this.mode) {
      case Mode.LineComment:
        this.skipLineComment();
        break;
      case Mode.BlockComment:
        this.skipBlockComment();
        break;
      case Mode.Single:
      case Mode.Double:
      case Mode.Template: {
        const start = this.pos;
        this.finishLiteral();
        return this.emit(Tok.Str, start, this.pos, 0);
      }
      default:
        break;
    }
    while (this.pos < to) {
      const c = text.charCodeAt(this.pos);
      if (c === 10) {
        this.newlineBefore = true;
        this.pos++;
        continue;
      }
      if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11 || c === 0xa0 || c === 0xfeff) {
        this.pos++;
        continue;
      }
      const start = this.pos;
      if (c === 47 /* / */) {
        const d = this.pos + 1 < to ? text.charCodeAt(this.pos + 1) : 0;
        if (d === 47) {
          this.pos += 2;
          this.mode = Mode.LineComment;
          this.skipLineComment();
          continue;
        }
        if (d === 42) {
          this.pos += 2;
          this.mode = Mode.BlockComment;
          this.skipBlockComment();
          continue;
        }
        if (this.afterWord) this.regexAllowed = REGEX_AFTER_WORD.has(text.slice(this.start, this.end));
        if (this.regexAllowed && this.skipRegex()) return this.emit(Tok.Str, start, this.pos, 0);
        this.pos++;
        this.regexAllowed = true;
        return this.emit(Tok.Punct, start, this.pos, c);
      }
      if (c === 39 || c === 34 || c === 96) {
        this.pos++;
        this.mode = c === 39 ? Mode.Single : c === 34 ? Mode.Double : Mode.Template;
        this.finishLiteral();
        return this.emit(Tok.Str, start, this.pos, 0);
      }
      if (wordAt(c)) {
        let i = this.pos + 1;
        while (i < to && wordAt(text.charCodeAt(i))) i++;
        this.pos = i;
        // Whether a `/` may start a regular expression after this word is decided if a `/` comes (rarely).
        this.regexAllowed = false;
        this.afterWord = true;
        return this.emit(Tok.Word, start, i, 0);
      }
      this.pos++;
      if (c === OPEN_CURLY) {
        this.braces++;
      } else if (c === CLOSE_CURLY) {
        const top = this.templates.length > 0 ? this.templates[this.templates.length - 1] : undefined;
        if (top === this.braces) {
          // The `}` that ends a `${…}` substitution: the template literal goes on.
          this.templates.pop();
          this.mode = Mode.Template;
          this.finishLiteral();
          return this.emit(Tok.Str, start, this.pos, 0);
        }
        this.braces--;
      }
      this.regexAllowed = !(c === CLOSE_PAREN || c === CLOSE_SQUARE || c === CLOSE_CURLY);
      return this.emit(Tok.Punct, start, this.pos, c);
    }
    return this.finish();
  }

  private finish(): Tok {
    if (this.afterWord) this.regexAllowed = REGEX_AFTER_WORD.has(this.text.slice(this.start, this.end));
    return this.emit(Tok.End, this.to, this.to, 0);
  }

  private emit(kind: Tok, start: number, end: number, ch: number): Tok {
    if (kind !== Tok.Word) this.afterWord = false;
    this.kind = kind;
    this.start = start;
    this.end = end;
    this.ch = ch;
    return kind;
  }

  private skipLineComment(): void {
    const nl = this.text.indexOf('\n', this.pos);
    if (nl === -1 || nl >= this.to) {
      this.pos = this.to;
      return; // still in the comment at the end of the text
    }
    this.pos = nl;
    this.mode = Mode.Code;
  }

  private skipBlockComment(): void {
    const close = this.text.indexOf('*/', this.pos);
    if (close === -1 || close + 2 > this.to) {
      if (lastIndexBefore(this.text, '\n', this.to) >= this.pos) this.newlineBefore = true;
      this.pos = this.to;
      return;
    }
    if (this.text.lastIndexOf('\n', close) >= this.pos) this.newlineBefore = true;
    this.pos = close + 2;
    this.mode = Mode.Code;
  }

  /** Consumes the rest of a quoted string or template chunk; the opening quote is behind `pos`. */
  private finishLiteral(): void {
    const text = this.text;
    const to = this.to;
    let i = this.pos;
    this.regexAllowed = false;
    if (this.mode === Mode.Template) {
      while (i < to) {
        const c = text.charCodeAt(i);
        if (c === 92) {
          i += 2;
          continue;
        }
        if (c === 96) {
          this.pos = i + 1;
          this.mode = Mode.Code;
          return;
        }
        if (c === 36 && i + 1 < to && text.charCodeAt(i + 1) === OPEN_CURLY) {
          this.pos = i + 2;
          this.templates.push(this.braces);
          this.mode = Mode.Code;
          this.regexAllowed = true;
          return;
        }
        i++;
      }
      this.pos = to;
      return;
    }
    const quote = this.mode === Mode.Single ? 39 : 34;
    while (i < to) {
      const c = text.charCodeAt(i);
      if (c === 92) {
        i += 2;
        continue;
      }
      if (c === quote) {
        this.pos = i + 1;
        this.mode = Mode.Code;
        return;
      }
      if (c === 10) {
        // An unterminated quote ends at the line break (a syntax error the parser will see; we just recover).
        this.pos = i;
        this.mode = Mode.Code;
        return;
      }
      i++;
    }
    this.pos = Math.min(i, to);
  }

  /** At a `/` where a regular expression may start: consumes it and returns true, or returns false (division). */
  private skipRegex(): boolean {
    const text = this.text;
    let i = this.pos + 1;
    let inClass = false;
    while (i < this.to) {
      const c = text.charCodeAt(i);
      if (c === 10) return false;
      if (c === 92) {
        i += 2;
        continue;
      }
      if (c === OPEN_SQUARE) inClass = true;
      else if (c === CLOSE_SQUARE) inClass = false;
      else if (c === 47 && !inClass) {
        i++;
        while (i < this.to && isWordChar(text.charCodeAt(i))) i++;
        this.pos = i;
        this.regexAllowed = false;
        return true;
      }
      i++;
    }
    return false;
  }
}

/** The lexer state at the end of `text` (e.g. at the cursor, after the prefix). */
export function stateAfter(text: string, from = 0, state: LexState = CODE_STATE): LexState {
  const lexer = new Lexer(text, from, text.length, state);
  while (lexer.next() !== Tok.End) {
    /* advance */
  }
  return lexer.state();
}

/** An unmatched bracket found by `looseBrackets`. */
export interface LooseBracket {
  readonly pos: number;
  readonly ch: number;
}

export interface BracketBalance {
  /** Closers that close nothing opened inside the text, in order (they close what came before it). */
  readonly closers: LooseBracket[];
  /** Openers left open at the end of the text, outermost first. */
  readonly openers: LooseBracket[];
}

/** Brackets that do not pair up inside `text` (strings, comments and regular expressions skipped). */
export function looseBrackets(text: string, state: LexState = CODE_STATE): BracketBalance {
  const lexer = new Lexer(text, 0, text.length, state);
  const closers: LooseBracket[] = [];
  const openers: LooseBracket[] = [];
  while (lexer.next() !== Tok.End) {
    if (lexer.kind !== Tok.Punct) continue;
    const ch = lexer.ch;
    if (isOpener(ch)) openers.push({ pos: lexer.start, ch });
    else if (isCloser(ch)) {
      // Pair with the nearest opener of the same kind; openers above it were left open (half-written code).
      let k = openers.length - 1;
      while (k >= 0 && closerFor(openers[k]!.ch) !== ch) k--;
      if (k >= 0) openers.length = k;
      else closers.push({ pos: lexer.start, ch });
    }
  }
  return { closers, openers };
}
