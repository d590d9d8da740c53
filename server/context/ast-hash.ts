import { createHash, hash as oneShotHash } from 'node:crypto';
import type { OpenDocument } from '../documents/document-store.js';
import type { SyntaxLanguage, Tree } from '../documents/syntax.js';
import type { CompletionContext } from './types.js';

/**
 * The cache key of a completion: what the model sees, up to formatting, plus everything else that changes the
 * answer. Two requests get the same key when their windows hold the same tokens (whitespace between tokens
 * ignored outside the cursor line), their cursor lines are identical, and their fingerprints match.
 *
 * Key = sha1, base64url (27 chars), of these fields, each written `length:text;`, in this order:
 *   AST_HASH_SCHEMA, TEMPLATE_VERSION, strategy, language (registry name, '' without a grammar), languageId,
 *   fingerprint (config.ts answerFingerprint: models, ensemble, options), indent of the cursor line,
 *   header (normalised), window before the cursor line (normalised), cursor line before the cursor (exact),
 *   cursor line after the cursor (exact), window after the cursor line (normalised).
 * The exact cursor line fixes the cursor's place in the token sequence, including the offset inside a token
 * (`retu|` vs `ret|`) and the whitespace just typed (`return |` vs `return|`).
 *
 * How a window is normalised — the strategy, chosen per document (strategyFor):
 * - 'lexical' (the JavaScript family: typescript, tsx, javascript, jsx): one pass over the window text that
 *   keeps every token's text and drops the whitespace between tokens, except one space where dropping it would
 *   join two tokens (`a b`, `- -`, `/ /`). Whitespace inside string, template and regex literals is content, kept
 *   exactly. A comment is a token: its words count, runs of blanks in it count as one space and its indentation
 *   not at all. The tree is the oracle for what the text alone cannot tell: the state where the window starts
 *   (inside a template literal or block comment that began above it) and whether a `/` opens a regex. This is the
 *   window's leaf-token sequence written without layout, and it costs a fraction of a walk over the leaves.
 * - 'leaves' (a grammar without a lexical profile): a TreeCursor walk over the leaves from the first one at
 *   windowStart to windowEnd, hashing each leaf's depth, type and text (comments' whitespace collapsed; ERROR
 *   nodes' leaves are leaves; text between leaves that is not whitespace is kept as a gap token). Exact for any
 *   grammar, and the reference the tests hold 'lexical' to. Its header is hashed as plain text.
 * - 'text' (no tree: no grammar, too large, binary): each line outside the cursor line with runs of spaces/tabs
 *   collapsed to one space and trailing blanks dropped; blank lines dropped; the cursor line exact.
 *
 * Cost (6,000-char windows at 400 positions of zod's types.ts, 5,136 lines; a shared 2-core VM): 'lexical'
 * p50 ≈ 65 µs, p99 ≈ 90 µs (per-position medians; single calls p99 ≈ 250 µs with GC and neighbours' noise);
 * 'leaves' p50 ≈ 860 µs, because every TreeCursor step in node-tree-sitter is a native call of ~100 ns and a
 * window holds ~1,200 leaves under ~1,000 inner nodes (APIs that return many nodes at once cost more: each node
 * is wrapped and registered with the tree). Hashing: one crypto.hash('sha1') over the assembled string, ~7–9 µs
 * for 6 KB; no xxhash package is installed, and feeding a Hash piece by piece costs more (~80 µs for ~1,300
 * pieces) than building the string. No path parses: `doc.tree` is read as it is.
 *
 * Limitations:
 * - The window is cut by characters, so a whitespace edit inside a window clipped at its start moves the cut
 *   and can change the key (the model sees other text then).
 * - 'lexical' does not see layout the grammar reads: automatic semicolon insertion (`a\n++b` vs `a ++b`), and
 *   whitespace-only JSX text between elements on one line (`<b/> <i/>` vs `<b/><i/>`). 'leaves' sees both through
 *   the tree's shape. A `/` after `)` or a name is taken for a division without asking the tree
 *   (`if (x) /re/.test(s)` then hashes the regex as code).
 * - 'text' keeps whether a line is indented, not how deep (what the brief asks; for an indentation-sensitive
 *   language without a grammar, a re-indented block above keeps the key).
 */

/** Bump when the recipe below changes: old keys then miss instead of answering wrongly. */
export const AST_HASH_SCHEMA = 'xencode-ast-hash/1';

/** Bump when the prompt a context turns into changes (FIM templates, header/prefix/suffix assembly). */
export const TEMPLATE_VERSION = 1;

export type AstHashStrategy = 'lexical' | 'leaves' | 'text';

export interface AstHashOptions {
  /** Forces a strategy (tests and benchmarks); by default it follows the document (see strategyFor). */
  readonly strategy?: AstHashStrategy;
}

/** Grammars whose tokens the lexical pass reproduces (registry names, grammars/languages.ts). */
const LEXICAL_LANGUAGES: ReadonlySet<string> = new Set(['typescript', 'tsx', 'javascript', 'jsx']);

export function strategyFor(doc: OpenDocument): AstHashStrategy {
  if (!doc.tree || !doc.syntax) return 'text';
  return LEXICAL_LANGUAGES.has(doc.syntax.entry.name) ? 'lexical' : 'leaves';
}

/** The cache key of a completion in `doc` described by `context` (built from the same document version). */
export function astHash(
  doc: OpenDocument,
  context: CompletionContext,
  fingerprint: string,
  options: AstHashOptions = {},
): string {
  return sha1(keyMaterial(doc, context, fingerprint, options));
}

/**
 * The text the key is the hash of, for diagnosing misses (two requests with different keys: compare these).
 * Each field is written as `length:text;`.
 */
export function keyMaterial(
  doc: OpenDocument,
  context: CompletionContext,
  fingerprint: string,
  options: AstHashOptions = {},
): string {
  let strategy = options.strategy ?? strategyFor(doc);
  if (strategy !== 'text' && !doc.tree) strategy = 'text';
  const text = doc.textDocument.getText();
  const { windowStart, windowEnd, cursorOffset } = context;
  // The cursor line inside the window, hashed exactly.
  const lineFrom = cursorOffset - context.linePrefix.length;
  const lineTo = cursorOffset + context.lineSuffix.length;

  let header: string;
  let before: string;
  let after: string;
  if (strategy === 'lexical') {
    const oracle = new TreeOracle(doc.tree!);
    const { from, state } = oracle.stateAt(text, windowStart);
    let i = lex(text, from, windowStart, state, null, oracle);
    state.last = NONE;
    state.pendingSpace = false;
    const out: Sink = { text: '' };
    i = lex(text, Math.max(i, windowStart), lineFrom, state, out, oracle);
    before = out.text;
    i = lex(text, Math.max(i, lineFrom), lineTo, state, null, oracle);
    state.last = NONE;
    state.pendingSpace = false;
    out.text = '';
    lex(text, Math.max(i, lineTo), windowEnd, state, out, oracle);
    after = out.text;
    header = lexicalHeader(context.header);
  } else if (strategy === 'leaves') {
    [before, after] = leafTokens(doc.syntax!, doc.tree!, text, windowStart, windowEnd, lineFrom, lineTo);
    header = normalisePlainText(context.header, 0, context.header.length);
  } else {
    before = normalisePlainText(text, windowStart, lineFrom);
    after = normalisePlainText(text, lineTo, windowEnd);
    header = normalisePlainText(context.header, 0, context.header.length);
  }

  const fields = [
    AST_HASH_SCHEMA,
    String(TEMPLATE_VERSION),
    strategy,
    context.language ?? '',
    context.languageId,
    fingerprint,
    context.indent,
    header,
    before,
    context.linePrefix,
    context.lineSuffix,
    after,
  ];
  let material = '';
  for (const f of fields) material += f.length + ':' + f + ';';
  return material;
}

/** Node 20.12+ has the one-shot `crypto.hash` (a little cheaper: no Hash object); older 20.x falls back. */
function sha1(material: string): string {
  return typeof oneShotHash === 'function'
    ? oneShotHash('sha1', material, 'base64url')
    : createHash('sha1').update(material).digest('base64url');
}

// --- the lexical pass (JavaScript family) ------------------------------------------------------------------------

const CODE = 0;
const STRING = 1;
const TEMPLATE = 2;
const REGEX = 3;
const REGEX_CLASS = 4;
const LINE_COMMENT = 5;
const BLOCK_COMMENT = 6;

/** `last` when nothing was written yet: no separator is needed before the first token. */
const NONE = -1;
const LF = 0x0a;

interface LexState {
  mode: number;
  /** The quote that closes the string being read. */
  quote: number;
  /** One entry per open `${`: how many `{` are open inside it (the `}` that brings it to 0 closes it). */
  braces: number[];
  /** The last character written outside whitespace, or NONE, or LF after a line comment. */
  last: number;
  /** Whitespace was seen since `last`. */
  pendingSpace: boolean;
  /** `last` closed a regex: a word right after it would read as its flags. */
  afterRegex: boolean;
}

function newState(): LexState {
  return { mode: CODE, quote: 0, braces: [], last: NONE, pendingSpace: false, afterRegex: false };
}

/** Where the normal form is written: appending to one string is cheaper here than joining an array of pieces. */
interface Sink {
  text: string;
}

/** Decides whether a `/` in code at `pos` starts a regex. */
interface RegexOracle {
  isRegexAt(text: string, pos: number): boolean;
}

/** ASCII characters in code: PLAIN ones only extend the token being copied; ACT ones may change the mode. */
const PLAIN = 0;
const SPACE = 1;
const ACT = 2;
const CODE_CLASS = new Uint8Array(0x80);
for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]) CODE_CLASS[c] = SPACE;
for (const ch of '"\'`/{}') CODE_CLASS[ch.charCodeAt(0)] = ACT;

function codeClass(c: number): number {
  return c < 0x80 ? CODE_CLASS[c] : isSpace(c) ? SPACE : PLAIN;
}

/**
 * Lexes text[from, to) from `state`, writing the normal form to `out` (or only tracking the state when `out` is
 * null). Returns where it stopped: `to`, or one past it when an escape pair straddles `to`.
 * The state lives in locals while the loop runs (this is the hot loop of a completion request).
 */
function lex(text: string, from: number, to: number, state: LexState, out: Sink | null, oracle: RegexOracle): number {
  let { mode, quote, last, pendingSpace, afterRegex } = state;
  const braces = state.braces;
  let i = from;
  let run = -1; // start of the text being copied as it is
  while (i < to) {
    let c = text.charCodeAt(i);
    if (mode === CODE) {
      const cls = codeClass(c);
      if (cls === SPACE) {
        if (run >= 0 && out) out.text += text.slice(run, i);
        run = -1;
        pendingSpace = true;
        do i++;
        while (i < to && codeClass(text.charCodeAt(i)) === SPACE);
        continue;
      }
      if (pendingSpace) {
        pendingSpace = false;
        if (out && needsSpace(last, afterRegex, c)) out.text += ' ';
      }
      if (run < 0) run = i;
      afterRegex = false;
      if (cls === PLAIN) {
        do i++;
        while (i < to && codeClass(text.charCodeAt(i)) === PLAIN);
        last = text.charCodeAt(i - 1);
        continue;
      }
      last = c;
      if (c === 0x22 || c === 0x27) {
        mode = STRING;
        quote = c;
      } else if (c === 0x60) {
        mode = TEMPLATE;
      } else if (c === 0x2f) {
        const next = text.charCodeAt(i + 1);
        if (next === 0x2f) {
          mode = LINE_COMMENT;
          i++;
        } else if (next === 0x2a) {
          mode = BLOCK_COMMENT;
          i++;
        } else if (oracle.isRegexAt(text, i)) {
          mode = REGEX;
        }
      } else if (c === 0x7b) {
        if (braces.length) braces[braces.length - 1]++;
      } else if (c === 0x7d && braces.length) {
        if (--braces[braces.length - 1] === 0) {
          braces.pop();
          mode = TEMPLATE;
        }
      }
      i++;
    } else if (mode <= REGEX_CLASS) {
      // STRING, TEMPLATE, REGEX, REGEX_CLASS: copied as they are; only their ends are looked for.
      if (run < 0) run = i;
      for (; i < to; c = text.charCodeAt(i)) {
        if (c === 0x5c) {
          i += 2; // an escape: the next character is content whatever it is
          if (i >= to) break;
          continue;
        }
        if (mode === TEMPLATE) {
          if (c === 0x60) {
            mode = CODE;
            last = c;
            i++;
            break;
          }
          if (c === 0x24 && text.charCodeAt(i + 1) === 0x7b) {
            braces.push(1);
            mode = CODE;
            last = 0x7b;
            i += 2;
            break;
          }
        } else if (c === 0x0a || c === 0x0d) {
          mode = CODE; // unterminated string or regex: the line break ends it, and is read as whitespace
          break;
        } else if (mode === STRING) {
          if (c === quote) {
            mode = CODE;
            last = c;
            i++;
            break;
          }
        } else if (mode === REGEX_CLASS) {
          if (c === 0x5d) mode = REGEX;
        } else if (c === 0x5b) {
          mode = REGEX_CLASS;
        } else if (c === 0x2f) {
          mode = CODE;
          last = c;
          afterRegex = true;
          i++;
          break;
        }
        i++;
        if (i >= to) break;
      }
    } else if (mode === LINE_COMMENT) {
      if (isLineBreak(c)) {
        if (run >= 0 && out) out.text += text.slice(run, i);
        run = -1;
        if (out) out.text += '\n'; // a line comment ends with its line; whatever follows is not part of it
        mode = CODE;
        last = LF;
        pendingSpace = false;
        i++;
      } else if (isSpace(c)) {
        if (run >= 0 && out) out.text += text.slice(run, i);
        run = -1;
        do i++;
        while (i < to && isSpace(text.charCodeAt(i)) && !isLineBreak(text.charCodeAt(i)));
        if (out && i < to && !isLineBreak(text.charCodeAt(i))) out.text += ' ';
      } else {
        if (run < 0) run = i;
        do i++;
        while (i < to && !isSpace(text.charCodeAt(i)));
      }
    } else {
      // BLOCK_COMMENT: words kept, each run of blanks one space, each run with a line break one line break.
      if (isSpace(c)) {
        if (run >= 0 && out) out.text += text.slice(run, i);
        run = -1;
        let lineBreak = false;
        do {
          if (isLineBreak(c)) lineBreak = true;
          i++;
        } while (i < to && isSpace((c = text.charCodeAt(i))));
        if (out) out.text += lineBreak ? '\n' : ' ';
        continue;
      }
      if (run < 0) run = i;
      for (; i < to && !isSpace(c); c = text.charCodeAt(i)) {
        if (c === 0x2a && text.charCodeAt(i + 1) === 0x2f) {
          mode = CODE;
          last = 0x2f;
          i += 2;
          break;
        }
        i++;
      }
    }
  }
  if (run >= 0 && out) out.text += text.slice(run, Math.min(i, text.length));
  state.mode = mode;
  state.quote = quote;
  state.last = last;
  state.pendingSpace = pendingSpace;
  state.afterRegex = afterRegex;
  return i;
}

/** Pairs of characters that would read as one token if the whitespace between them were dropped. */
const JOINING_PAIRS: ReadonlySet<number> = new Set(
  [
    '==', '!=', '<=', '>=', '<<', '>>', '++', '--', '**', '&&', '||', '??', '?.', '..', '=>', '+=', '-=', '*=',
    '/=', '%=', '&=', '|=', '^=', '//', '/*', '*/', '</', '/>', '->', '::',
  ].map((p) => p.charCodeAt(0) * 0x80 + p.charCodeAt(1)),
);

/** Whether the whitespace between the token ending with `a` and the one starting with `c` must stay (one space). */
function needsSpace(a: number, afterRegex: boolean, c: number): boolean {
  if (a === NONE || a === LF) return false;
  if (isWordChar(c)) return isWordChar(a) || afterRegex || (a === 0x2e && isDigit(c));
  if (a < 0x80 && c < 0x80 && JOINING_PAIRS.has(a * 0x80 + c)) return true;
  return c === 0x2e && isDigit(a); // `1 .toString()` is not `1.toString()`
}

function isWordChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x24 ||
    c >= 0x80 // identifiers outside ASCII (whitespace outside ASCII is taken out before this is asked)
  );
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** ECMAScript WhiteSpace and LineTerminator. */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0xfeff || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000
  );
}

function isLineBreak(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}

/** How far back lexing may start to learn the state at the window's start (about 30 µs of lexing). */
const MAX_RELEX_CHARS = 16 * 1024;

/** Node types whose start opens a lexical context the window may start inside. */
const LEXICAL_CONTEXT_TYPES: ReadonlySet<string> = new Set(['template_string', 'string', 'comment', 'regex']);

/** The tree, asked only what the text alone cannot tell. */
class TreeOracle implements RegexOracle {
  constructor(private readonly tree: Tree) {}

  /**
   * Where to start lexing, and in which state, to arrive at `offset` in the right state: at the start of the
   * outermost template, string, comment or regex containing `offset` (in code, nothing open), else at `offset`.
   * Found in one descent of a fresh cursor along the path to `offset`. When that start lies more than
   * MAX_RELEX_CHARS back (a huge template literal), the innermost such node is used instead, and past that limit
   * too the state is set from its type at `offset` (what encloses it is then not known: an approximation).
   */
  stateAt(text: string, offset: number): { from: number; state: LexState } {
    const state = newState();
    let outer: string | undefined;
    let inner: string | undefined;
    let innerStart = offset;
    const cursor = this.tree.walk();
    for (;;) {
      // The first child ending at or after `offset` (tree-sitter's rule); step past one that ends exactly there.
      if ((cursor.gotoFirstChildForIndex(offset) as unknown) == null) break;
      let inside = true;
      while (inside && cursor.endIndex <= offset) inside = cursor.gotoNextSibling();
      if (!inside) break;
      const start = cursor.startIndex;
      if (start >= offset) break;
      const type = cursor.nodeType;
      if (!LEXICAL_CONTEXT_TYPES.has(type)) continue;
      if (outer === undefined) {
        if (offset - start <= MAX_RELEX_CHARS) return { from: start, state };
        outer = type;
      }
      inner = type;
      innerStart = start;
    }
    if (inner === undefined || offset - innerStart <= MAX_RELEX_CHARS) return { from: innerStart, state };
    if (inner === 'comment') state.mode = text.startsWith('/*', innerStart) ? BLOCK_COMMENT : LINE_COMMENT;
    else if (inner === 'string') {
      state.mode = STRING;
      state.quote = text.charCodeAt(innerStart);
    } else state.mode = inner === 'regex' ? REGEX : TEMPLATE;
    return { from: offset, state };
  }

  /**
   * Whether the `/` at `pos` opens a regex. Where the token before it says division (after a name, a number, a
   * closing bracket or quote, or `<` as in `</div>`), that is the answer; otherwise the tree says, by the smallest
   * node spanning the `/` and the character after it. Regex literals are rare, so the tree is rarely asked.
   */
  isRegexAt(text: string, pos: number): boolean {
    const guess = slashByContext(text, pos);
    if (guess === DIVISION) return false;
    const node = this.tree.rootNode.descendantForIndex(pos, Math.min(pos + 2, text.length));
    if (node.type === 'regex') return true;
    return node.type === 'ERROR' || node.hasError ? guess === REGEX_START : false;
  }
}

const DIVISION = 0;
const REGEX_START = 1;
/** After `}`: the end of a block (a regex may follow) or of an object literal (a division may). */
const EITHER = 2;

/** Without a tree (the header): the usual rule, from the token before the `/`; a regex when unsure. */
const HEURISTIC_ORACLE: RegexOracle = { isRegexAt: (text, pos) => slashByContext(text, pos) !== DIVISION };

const KEYWORDS_BEFORE_EXPRESSION: ReadonlySet<string> = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield',
  'await',
]);

/** What the token before a `/` in code makes of it. */
function slashByContext(text: string, pos: number): number {
  let p = pos - 1;
  while (p >= 0 && isSpace(text.charCodeAt(p))) p--;
  if (p < 0) return REGEX_START;
  const c = text.charCodeAt(p);
  if (isWordChar(c)) {
    let s = p;
    while (s > 0 && isWordChar(text.charCodeAt(s - 1))) s--;
    return KEYWORDS_BEFORE_EXPRESSION.has(text.slice(s, p + 1)) ? REGEX_START : DIVISION;
  }
  if (c === 0x7d) return EITHER;
  const closes = c === 0x29 || c === 0x5d || c === 0x22 || c === 0x27 || c === 0x60 || c === 0x3c;
  return closes ? DIVISION : REGEX_START;
}

function lexicalHeader(header: string): string {
  if (!header) return '';
  const out: Sink = { text: '' };
  lex(header, 0, header.length, newState(), out, HEURISTIC_ORACLE);
  return out.text;
}

// --- the leaf walk (any grammar) -----------------------------------------------------------------------------------

/** Leaf type names by type id, per grammar: asking the cursor for a name is a native call. */
const typeNames = new WeakMap<SyntaxLanguage, string[]>();

/**
 * The leaves of text[windowStart, windowEnd) outside text[lineFrom, lineTo), as `depth type length:text` records:
 * those before the cursor line and those after it. Leaves are clipped to the window and around the cursor line.
 */
function leafTokens(
  syntax: SyntaxLanguage,
  tree: Tree,
  text: string,
  windowStart: number,
  windowEnd: number,
  lineFrom: number,
  lineTo: number,
): [string, string] {
  let names = typeNames.get(syntax);
  if (!names) typeNames.set(syntax, (names = []));
  const before: string[] = [];
  const after: string[] = [];
  const record = (depth: number, type: string, from: number, to: number): void => {
    const push = (a: number, b: number): void => {
      if (b <= a) return;
      let t = text.slice(a, b);
      if (type.includes('comment') || type === '#gap') t = collapseSpaces(t);
      (a < lineFrom ? before : after).push(`${depth} ${type} ${t.length}:${t}`);
    };
    push(from, Math.min(to, lineFrom));
    push(Math.max(from, lineTo), to);
  };

  const cursor = tree.walk();
  let depth = 0;
  /** Moves to the next leaf in document order: up until there is a next sibling, then down its first children. */
  const nextLeaf = (): boolean => {
    while (!cursor.gotoNextSibling()) {
      if (!cursor.gotoParent()) return false;
      depth--;
    }
    while (cursor.gotoFirstChild()) depth++;
    return true;
  };
  // Down to the first leaf ending at or after windowStart; a node none of whose children does is skipped whole.
  while ((cursor.gotoFirstChildForIndex(windowStart) as unknown) != null) depth++;
  let more = true;
  if (cursor.gotoFirstChild()) more = cursor.gotoParent() && nextLeaf();
  let covered = windowStart; // text before this is accounted for
  for (; more; more = nextLeaf()) {
    const start = cursor.startIndex;
    if (start >= windowEnd) break;
    const end = cursor.endIndex;
    if (end <= windowStart || end <= start) continue; // before the window, or zero-width (MISSING)
    const from = Math.max(start, windowStart);
    const to = Math.min(end, windowEnd);
    if (from > covered && !isBlank(text, covered, from)) record(depth, '#gap', covered, from);
    const id = cursor.nodeTypeId;
    record(depth, (names[id] ??= cursor.nodeType), from, to);
    covered = to;
  }
  if (windowEnd > covered && !isBlank(text, covered, windowEnd)) record(depth, '#gap', covered, windowEnd);
  return [before.join('\n'), after.join('\n')];
}

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

/** Inside a comment: runs of blanks to one space, runs with a line break to one line break, ends trimmed. */
function collapseSpaces(s: string): string {
  return s.replace(/\s*[\r\n]\s*/g, '\n').replace(/[^\S\r\n]+/g, ' ').trim();
}

// --- plain text ----------------------------------------------------------------------------------------------------

/** Lines of text[from, to): runs of spaces/tabs to one space, trailing blanks and blank lines dropped. */
function normalisePlainText(text: string, from: number, to: number): string {
  if (to <= from) return '';
  const lines: string[] = [];
  for (const line of text.slice(from, to).split(/\r\n|\r|\n/)) {
    const collapsed = line.replace(/[ \t\f\v]+/g, ' ').trimEnd();
    if (collapsed !== '' && collapsed !== ' ') lines.push(collapsed);
  }
  return lines.join('\n');
}
