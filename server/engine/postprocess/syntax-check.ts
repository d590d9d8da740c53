import { countSyntaxErrors, parse, type SyntaxLanguage, type SyntaxNode } from '../../documents/syntax.js';
import { Lexer, Tok, isCloser, isOpener, looseBrackets, type LexState } from './scan.js';
import { windowAfter, windowBefore, type SyntaxWindow, type WindowBefore } from './syntax-window.js';
import type { Filter, FilterContext } from './types.js';

/**
 * The answer must not make the code parse worse: the ERROR and MISSING nodes of window(prefix) + answer +
 * window(suffix) may not outnumber those of the window without the answer (see syntax-window.ts for the window).
 * When the whole answer fails, the longest acceptable cut is kept (longest first, then a binary search): for a
 * multi-line answer at the end of a line where the answer's own brackets are balanced, for a one-line answer at a
 * token boundary (`items.length * price +` → `items.length * price`). When nothing passes the candidate is
 * dropped. Without a grammar the filter does nothing.
 *
 * Cost: one parse of the window per answer (and per cut tried); the window without the answer only when the answer
 * leaves errors, once per prefix/suffix and shared by all candidates of a completion (once more for answers that
 * leave blocks open).
 */
export const syntaxCheck: Filter = (text: string, context: FilterContext): string | null => {
  const language = context.syntax;
  if (!language) return text;
  const checker = checkerFor(language, context.prefix, context.suffix);
  const full = checker.check(text, 0);
  if (full.ok && !full.touches) return text;
  // Failing: find the longest cut that passes. Passing, but with an error on the answer itself (the code at the
  // cursor was broken before and still is, as with a dangling `+`): find the longest cut that does strictly better.
  const limit = full.ok ? full.excess - 1 : 0;
  const cuts = text.includes('\n') ? lineCutPoints(text) : tokenCutPoints(text, context.linePrefix);
  return longestAccepted(checker, text, cuts, limit, full.ok ? 2 : MAX_CUT_TRIES) ?? (full.ok ? text : null);
};

/** Parses spent on cuts of one failing answer, at most: the longest cut, then a binary search of the rest. */
const MAX_CUT_TRIES = 3;

/** Answers leaving more blocks open than this are judged with this many (they fail either way). */
const MAX_EXTRA_BLOCKS = 4;

/** One window variant: the part after the cursor and (once needed) its errors without an answer. */
interface Variant {
  readonly after: string;
  baseErrors?: number;
}

/** The outcome of checking one answer. */
export interface Check {
  /** At most `limit` more errors than without the answer. */
  readonly ok: boolean;
  /** Errors with the answer minus errors without it (0 when not computed: no errors with the answer). */
  readonly excess: number;
  /** An error lies on the answer or on the line or two after it. */
  readonly touches: boolean;
}

/**
 * Parses the window with and without answers. The part after the cursor depends on how many blocks the answer
 * leaves open (their closers must be kept from the suffix), so there is one variant per count. The window without
 * the answer is parsed only when needed: an answer whose window has no error at all cannot be worse.
 * (Reparsing incrementally from the tree without the answer was measured: on windows this small it is no faster
 * than parsing afresh, so each answer is parsed afresh.)
 */
export class SyntaxChecker {
  readonly before: WindowBefore;
  /** Parses done so far (for tests and the benchmark). */
  parses = 0;
  private readonly variants = new Map<number, Variant>();

  constructor(
    private readonly language: SyntaxLanguage,
    prefix: string,
    private readonly suffix: string,
    before: WindowBefore = windowBefore(prefix),
  ) {
    this.before = before;
  }

  /** The window for an answer leaving `extraBlocks` blocks open (0: the window without the answer). */
  window(extraBlocks = 0): SyntaxWindow {
    return { before: this.before.before, after: this.variant(extraBlocks).after, skeleton: this.before.skeleton };
  }

  /** Errors in the window without an answer. */
  baseErrors(extraBlocks = 0): number {
    return this.base(this.variant(extraBlocks));
  }

  private variant(extraBlocks: number): Variant {
    let variant = this.variants.get(extraBlocks);
    if (variant) return variant;
    const after = windowAfter(this.suffix, this.before, extraBlocks);
    const same = extraBlocks > 0 ? this.variant(0) : undefined;
    variant = same && same.after === after ? same : { after };
    this.variants.set(extraBlocks, variant);
    return variant;
  }

  private base(variant: Variant): number {
    if (variant.baseErrors === undefined) {
      this.parses++;
      const tree = parse(this.language, this.before.before + variant.after);
      // A window the parser gives up on without an answer cannot make an answer look worse.
      variant.baseErrors = tree ? countSyntaxErrors(tree.rootNode) : Infinity;
    }
    return variant.baseErrors;
  }

  /** Checks `answer` at the cursor against the code without it: at most `limit` more errors. */
  check(answer: string, limit = 0): Check {
    const variant = this.variant(openedBlocks(answer, this.before.state));
    const start = this.before.before.length;
    this.parses++;
    const tree = parse(this.language, this.before.before + answer + variant.after);
    // The parser gave up (a grammar that loops on this text): an answer that cannot be checked is not shown.
    if (!tree) return { ok: false, excess: Infinity, touches: true };
    const found = { count: 0, touches: false };
    // The answer's reach: itself and the rest of the line after it and the next one, where a dangling `+` or an
    // unfinished call shows up as an error on the code that follows.
    let reach = variant.after.indexOf('\n');
    if (reach !== -1) reach = variant.after.indexOf('\n', reach + 1);
    collectErrors(tree.rootNode, start, start + answer.length + (reach === -1 ? variant.after.length : reach), found);
    if (found.count === 0 && limit >= 0) return { ok: true, excess: 0, touches: false };
    const excess = found.count - this.base(variant);
    return { ok: excess <= limit, excess, touches: found.touches };
  }

  /** The answer parses no worse than the code without it. */
  accepts(answer: string): boolean {
    return this.check(answer, 0).ok;
  }
}

/** Counts ERROR and MISSING nodes as `countSyntaxErrors` does, noting whether one overlaps [start, end]. */
function collectErrors(node: SyntaxNode, start: number, end: number, found: { count: number; touches: boolean }): void {
  if (!node.hasError && !node.isMissing) return;
  if (node.type === 'ERROR' || node.isMissing) {
    found.count++;
    if (!found.touches && node.startIndex <= end && node.endIndex >= start) found.touches = true;
  }
  for (const child of node.children) collectErrors(child, start, end, found);
}

/** How many more blocks the answer opens than it closes (0 when it closes as many or more). */
function openedBlocks(answer: string, state: LexState): number {
  const balance = looseBrackets(answer, state);
  return Math.min(MAX_EXTRA_BLOCKS, Math.max(0, balance.openers.length - balance.closers.length));
}

let memo: { language: SyntaxLanguage; prefix: string; suffix: string; checker: SyntaxChecker } | undefined;

/** The checker for this prefix and suffix; the last one is reused (every candidate of a completion shares it). */
export function checkerFor(language: SyntaxLanguage, prefix: string, suffix: string): SyntaxChecker {
  if (memo && memo.language === language && memo.prefix === prefix && memo.suffix === suffix) return memo.checker;
  const checker = new SyntaxChecker(language, prefix, suffix);
  memo = { language, prefix, suffix, checker };
  return checker;
}

/**
 * The longest `text.slice(0, cut)` with at most `limit` more errors than the code without it, trying the longest
 * cut first and then a binary search (acceptance is close to monotone over these cut points, which all end a
 * complete bracket group), within `tries` parses. Cuts that leave only whitespace are not answers.
 */
function longestAccepted(
  checker: SyntaxChecker,
  text: string,
  cuts: readonly number[],
  limit: number,
  tries: number,
): string | undefined {
  if (cuts.length === 0) return undefined;
  const at = (i: number): string => text.slice(0, cuts[i]);
  const ok = (i: number): boolean => {
    tries--;
    return at(i).trim() !== '' && checker.check(at(i), limit).ok;
  };
  if (ok(cuts.length - 1)) return at(cuts.length - 1);
  let lo = 0;
  let hi = cuts.length - 2; // candidates still open
  let found = -1;
  while (lo <= hi && tries > 0) {
    const mid = (lo + hi) >> 1;
    if (ok(mid)) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found === -1 ? undefined : at(found);
}

/**
 * Ends of the answer's lines (not the last) where nothing the answer opened is still open and the lexer is in
 * code: the places a statement or block of the answer can end. Ascending; blank cuts are left out.
 */
export function lineCutPoints(text: string): number[] {
  const cuts: number[] = [];
  const lexer = new Lexer(text);
  let depth = 0;
  let prevEnd = -1;
  while (lexer.next() !== Tok.End) {
    if (prevEnd !== -1 && depth <= 0) {
      // The first line break between two tokens (comments in between stay with the line before).
      const nl = text.indexOf('\n', prevEnd);
      if (nl !== -1 && nl < lexer.start) cuts.push(nl);
    }
    if (lexer.kind === Tok.Punct) {
      if (isOpener(lexer.ch)) depth++;
      else if (isCloser(lexer.ch)) depth--;
    }
    prevEnd = lexer.end;
  }
  return cuts;
}

const CONTROL = /^\s*(?:if|for|while|switch|with|catch)\b/;

/**
 * Token ends of a one-line answer where the answer's own brackets are balanced. Not before a `{` (`if (x) {` cut
 * to `if (x)` would take the next line as its body), nor right after the condition of `if`, `while` and the like.
 */
export function tokenCutPoints(text: string, linePrefix = ''): number[] {
  const cuts: number[] = [];
  const lexer = new Lexer(text);
  let depth = 0;
  let previous = -1;
  const control = CONTROL.test(linePrefix + text);
  while (lexer.next() !== Tok.End) {
    const punct = lexer.kind === Tok.Punct ? lexer.ch : -1;
    // The previous token's end is a cut point unless this token opens a block.
    if (previous !== -1 && punct !== 123) cuts.push(previous);
    previous = -1;
    if (punct !== -1) {
      if (isOpener(punct)) depth++;
      else if (isCloser(punct)) depth--;
    }
    const afterCondition = control && punct === 41;
    if (depth <= 0 && lexer.end < text.length && !lexer.inLiteral && !afterCondition) previous = lexer.end;
  }
  return cuts;
}
