/**
 * The block structure of the code before the cursor, read with the lexer (no parse): the brackets still open at the
 * cursor with the statement each one ends (the headers of the enclosing blocks), the statement boundaries of the
 * innermost block, and the lexer state at the cursor. The syntax window is built from it; the text filters use the
 * lexer state (is the cursor in a string?). Remembered for the last prefix: every filter and every candidate of one
 * completion asks about the same one.
 */
import { Lexer, Mode, Tok, closerFor, isCloser, isOpener, type LexState } from './scan.js';

/** Words after `}` that continue the statement (`} else {`), so the `}` does not end it. */
const CONTINUES = new Set(['else', 'catch', 'finally', 'while', 'as', 'satisfies', 'instanceof', 'in', 'of', 'from', 'extends', 'implements']);
/** A line ending in one of these words goes on on the next line. */
const OPEN_ENDED_WORDS = new Set(['return', 'typeof', 'new', 'await', 'yield', 'extends', 'implements', 'in', 'of', 'instanceof', 'as', 'satisfies', 'case', 'const', 'let', 'var', 'export', 'import', 'from', 'async', 'function', 'class', 'interface', 'type', 'enum', 'declare', 'public', 'private', 'protected', 'readonly', 'static', 'abstract', 'default', 'else', 'do', 'throw', 'delete', 'void', 'keyof']);

function punctTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const c of chars) table[c.charCodeAt(0)] = 1;
  return table;
}
/** Punctuation that continues an expression after `}`. */
const CONTINUING_PUNCT = punctTable('.)],;?:=+-*/%&|^<>!');
/** A line ending in one of these goes on on the next line. */
const OPEN_ENDED_PUNCT = punctTable('([{,.?:=+-*/%&|^<>!~@');

/** Words whose parenthesised condition may be followed by a line break and the statement it governs. */
const CONTROL = new Set(['if', 'for', 'while', 'with']);

/** The longest word in CONTINUES and OPEN_ENDED_WORDS: longer words are never looked up. */
const LONGEST_KEYWORD = 10;

export interface Frame {
  readonly pos: number;
  readonly ch: number;
  /** Where the statement holding this opener starts (in the enclosing block). */
  readonly stmtStart: number;
  /** Statement boundaries inside this block, ascending. */
  readonly bounds: number[];
  /** The enclosing level's unclosed `<` count when this block opened. */
  readonly angles: number;
  /** The body of a `switch`: statements there start only at `case` and `default`. */
  readonly cases: boolean;
}

/**
 * Tracks statement boundaries while lexing: after `;` and `,`, after a `}` that is not followed by `else` and the
 * like, and at a line break between two tokens that cannot continue one expression (automatic semicolons).
 */
export class BoundaryTracker {
  private pendingBrace = false;
  private prevKind: Tok = Tok.End;
  private prevStart = 0;
  private prevEnd = 0;
  private prevCh = 0;
  /**
   * Unclosed `<` in the current bracket level since its last boundary: inside TypeScript type arguments
   * (`class A<T, U> {`) a comma or line break ends nothing. A comparison only costs a boundary or two.
   */
  angles = 0;
  /** For each open `(`: whether it holds the condition of `if`, `for`, `while` or `with`. */
  private readonly parens: boolean[] = [];
  /** The previous token is the `)` ending such a condition: a line break after it ends nothing. */
  private afterCondition = false;

  constructor(private readonly text: string) {}

  private isKeyword(set: ReadonlySet<string>, start: number, end: number): boolean {
    return end - start <= LONGEST_KEYWORD && set.has(this.text.slice(start, end));
  }

  /** Whether a statement begins at the current token of `lexer` (call once per token, before `after`). */
  startsStatement(lexer: Lexer): boolean {
    if (this.angles > 0) {
      this.pendingBrace = false;
      return false;
    }
    const kind = lexer.kind;
    if (this.pendingBrace) {
      this.pendingBrace = false;
      if (kind === Tok.Word) return !this.isKeyword(CONTINUES, lexer.start, lexer.end);
      if (kind === Tok.Str) return lexer.newlineBefore;
      if (kind === Tok.Punct) {
        const ch = lexer.ch;
        return (ch >= 128 || CONTINUING_PUNCT[ch] === 0) && (lexer.newlineBefore || !isOpener(ch)) && !isCloser(ch);
      }
      return false;
    }
    if (!lexer.newlineBefore || this.prevKind === Tok.End || this.afterCondition) return false;
    const prevKind = this.prevKind;
    const prevEnds =
      prevKind === Tok.Str ||
      (prevKind === Tok.Word && !this.isKeyword(OPEN_ENDED_WORDS, this.prevStart, this.prevEnd)) ||
      (prevKind === Tok.Punct && (this.prevCh >= 128 || OPEN_ENDED_PUNCT[this.prevCh] === 0));
    if (!prevEnds) return false;
    if (kind === Tok.Word) return !this.isKeyword(CONTINUES, lexer.start, lexer.end);
    return kind === Tok.Str && this.text.charCodeAt(lexer.start) !== 96;
  }

  /** Records the current token (call after `startsStatement`). */
  after(lexer: Lexer): void {
    const control = this.prevKind === Tok.Word && this.isKeyword(CONTROL, this.prevStart, this.prevEnd);
    this.afterCondition = false;
    this.prevKind = lexer.kind;
    this.prevStart = lexer.start;
    this.prevEnd = lexer.end;
    this.prevCh = lexer.ch;
    if (lexer.kind !== Tok.Punct) return;
    const ch = lexer.ch;
    if (ch === 40) this.parens.push(control);
    else if (ch === 41) this.afterCondition = this.parens.pop() === true;
    else if (ch === 125) this.pendingBrace = true;
    else if (ch === 60) this.angles++;
    else if (ch === 62 && this.angles > 0) this.angles--;
    else if (ch === 59) this.angles = 0;
  }

  /** A comma here separates statements, properties or arguments (not type arguments). */
  commaSeparates(): boolean {
    return this.angles === 0;
  }

  reset(): void {
    this.pendingBrace = false;
    this.angles = 0;
  }

  /** Where the last token ended. */
  get lastEnd(): number {
    return this.prevEnd;
  }

  /** The last token was a `}` that may end a statement (nothing came after it to say otherwise). */
  get afterBlock(): boolean {
    return this.pendingBrace && this.angles === 0;
  }
}

export interface PrefixShape {
  readonly frames: Frame[];
  /** Boundaries of the innermost block (or the top level). */
  readonly bounds: number[];
  readonly state: LexState;
  readonly inTemplate: boolean;
  /**
   * What the window's top level is when the window starts inside a block: a class body, an object literal, a
   * switch body, or statements indented as in a function body.
   */
  readonly enclosing: 'class' | 'object' | 'switch' | 'block' | undefined;
  /**
   * Where a block that ends right before the cursor ends (-1: none). A boundary, unless the answer goes on with
   * `else`; worth using when the statement it ends started long before.
   */
  readonly blockEnd: number;
}

/** A method header (`async get<T>(a: A): B`): at the top level of the window it means we are in a class body. */
const MEMBER_HEADER =
  /^(?:(?:public|private|protected|static|readonly|async|override|abstract|declare|get|set)\s+)*\*?\s*[#$A-Za-z_][\w$]*\??\s*(?:<[^]*>)?\s*\([^]*\)\s*(?::[^]*)?$/;
const NOT_MEMBER = /^(?:if|for|while|switch|catch|with|function|return|else|do|try|await|new|typeof|void|yield)\b/;
/** A property (`key: value`, `'key': value`, `...spread`) at the start of a top-level statement. */
const PROPERTY_START = /^\s*(?:(?:[#$A-Za-z_][\w$]*|'[^'\n]*'|"[^"\n]*"|\[[^\]\n]*\])\s*\??:(?!:)|\.\.\.)/;

const SWITCH = /^switch\b/;

function isCaseLabel(text: string, start: number, end: number): boolean {
  const n = end - start;
  return (n === 4 && text.startsWith('case', start)) || (n === 7 && text.startsWith('default', start));
}

/** The indentation of the line `pos` is on, when only whitespace precedes `pos` there; else -1. */
function lineIndentAt(text: string, pos: number): number {
  let i = pos - 1;
  let width = 0;
  while (i >= 0) {
    const c = text.charCodeAt(i);
    if (c === 10) return width;
    if (c === 32) width += 1;
    else if (c === 9) width += 4;
    else return -1;
    i--;
  }
  return width;
}

function analysePrefix(prefix: string): PrefixShape {
  const lexer = new Lexer(prefix);
  const tracker = new BoundaryTracker(prefix);
  const frames: Frame[] = [];
  // What the top level looks like (since the last closer of a block opened before the window).
  let rootBounds: number[] = [0];
  let rootCaseBounds: number[] = [];
  let rootIndent = Infinity;
  let memberLike = false;
  let rootCommas = false;
  let rootSemicolons = false;
  let cur = 0;
  while (lexer.next() !== Tok.End) {
    const top = frames.length > 0 ? frames[frames.length - 1] : undefined;
    if (tracker.startsStatement(lexer)) {
      const label = lexer.kind === Tok.Word && isCaseLabel(prefix, lexer.start, lexer.end);
      // In a switch body a statement boundary is only worth keeping at a `case` or `default` label.
      if (!top?.cases || label) {
        cur = lexer.start;
        (top ? top.bounds : rootBounds).push(cur);
      }
      if (!top) {
        if (label) rootCaseBounds.push(lexer.start);
        const indent = lineIndentAt(prefix, lexer.start);
        if (indent !== -1 && indent < rootIndent) rootIndent = indent;
      }
    }
    tracker.after(lexer);
    if (lexer.kind !== Tok.Punct) continue;
    const ch = lexer.ch;
    if (isOpener(ch)) {
      let cases = false;
      if (ch === 123) {
        const header = prefix.slice(skipSpace(prefix, cur, lexer.start), lexer.start).trimEnd();
        cases = SWITCH.test(header);
        if (frames.length === 0 && !memberLike) memberLike = header.length < 400 && MEMBER_HEADER.test(header) && !NOT_MEMBER.test(header);
      }
      frames.push({ pos: lexer.start, ch, stmtStart: cur, bounds: [lexer.end], angles: tracker.angles, cases });
      tracker.angles = 0;
      cur = lexer.end;
    } else if (isCloser(ch)) {
      let k = frames.length - 1;
      while (k >= 0 && closerFor(frames[k]!.ch) !== ch) k--;
      if (k < 0) {
        // Closes a block opened before the window: whatever came before is not structure we can use.
        while (frames.length > 0) frames.pop();
        rootBounds = [lexer.end];
        rootCaseBounds = [];
        rootIndent = Infinity;
        cur = lexer.end;
        tracker.reset();
        memberLike = false;
        rootCommas = false;
        rootSemicolons = false;
        continue;
      }
      cur = frames[k]!.stmtStart;
      tracker.angles = frames[k]!.angles;
      while (frames.length > k) frames.pop();
    } else if (ch === 59 /* ; */ || (ch === 44 /* , */ && tracker.commaSeparates())) {
      if (frames.length === 0) {
        if (ch === 44) rootCommas = true;
        else rootSemicolons = true;
      }
      if (!top?.cases) {
        cur = lexer.end;
        (top ? top.bounds : rootBounds).push(cur);
      }
    }
  }
  const state = lexer.state();
  let enclosing: PrefixShape['enclosing'];
  if (rootCommas && !rootSemicolons) {
    // Entries like `key: value` (the last boundary is often right before the cursor, so look at the first ones).
    const property = rootBounds.slice(0, 3).some((at) => PROPERTY_START.test(prefix.slice(at, at + 200)));
    if (memberLike || property) enclosing = 'object';
  } else if (memberLike) enclosing = 'class';
  else if (rootCaseBounds.length > 0) enclosing = 'switch';
  else if (rootIndent !== Infinity && rootIndent > 0) enclosing = 'block';
  let bounds = frames.length > 0 ? frames[frames.length - 1]!.bounds : rootBounds;
  if (frames.length === 0 && enclosing === 'switch') bounds = rootCaseBounds;
  return {
    frames,
    bounds,
    state,
    inTemplate: state.templates.length > 0 || state.mode === Mode.Template,
    enclosing,
    blockEnd: tracker.afterBlock ? tracker.lastEnd : -1,
  };
}

/** Headers longer than this have the insides of their closed `{…}` and `[…]` groups left out. */
export const COMPACT_OVER = 160;

/**
 * `text[start, end)` with the insides of its complete `{…}` and `[…]` groups left out: `if (a) {…} else if (b) {`
 * becomes `if (a) {} else if (b) {`, `foo((x) => {…}).then(() => {` becomes `foo((x) => {}).then(() => {`; both
 * parse as the original does. Parentheses and indexes (`a[i]`) are kept whole (`if ()`, `a[]` would not parse).
 */
export function compact(text: string, start: number, end: number): string {
  const lexer = new Lexer(text, start, end);
  let out = '';
  let from = start;
  let depth = 0;
  // An index (`a[i]`, `T["k"]`) keeps its inside: `a[]` would not parse.
  let indexable = false;
  while (lexer.next() !== Tok.End) {
    const wasIndexable = indexable;
    indexable = lexer.kind === Tok.Word || lexer.kind === Tok.Str || (lexer.kind === Tok.Punct && (lexer.ch === 41 || lexer.ch === 93 || lexer.ch === 125));
    if (lexer.kind !== Tok.Punct) continue;
    const ch = lexer.ch;
    if (ch === 123 || (ch === 91 && (depth > 0 || !wasIndexable))) {
      if (depth === 0) out += text.slice(from, lexer.end);
      depth++;
    } else if ((ch === 125 || ch === 93) && depth > 0) {
      depth--;
      if (depth === 0) from = lexer.start;
    }
  }
  if (depth === 0) out += text.slice(from, end);
  return out;
}

export function skipSpace(text: string, at: number, to: number): number {
  while (at < to) {
    const c = text.charCodeAt(at);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    at++;
  }
  return at;
}


let memoPrefix: string | undefined;
let memoShape: PrefixShape | undefined;

/** The structure of `prefix` (the last one asked for is remembered). */
export function prefixShape(prefix: string): PrefixShape {
  if (memoShape === undefined || prefix !== memoPrefix) {
    memoShape = analysePrefix(prefix);
    memoPrefix = prefix;
  }
  return memoShape;
}

/** The lexer state at the cursor: whether it sits inside a string, template or comment. */
export function cursorState(prefix: string): LexState {
  return prefixShape(prefix).state;
}
