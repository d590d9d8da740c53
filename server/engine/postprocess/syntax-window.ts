/**
 * The text the syntax check parses: a small stand-in for prefix + suffix that keeps the block structure around the
 * cursor. Parsing costs time in proportion to the text (and much more for text that does not parse: error recovery
 * is tree-sitter's slow path), so instead of a fixed slice — which starts and ends in the middle of blocks and fills
 * the tree with errors — the window is a skeleton:
 *
 *   before = the header of every block the cursor is in (`export class A {`, `  method(x: T) {`, `    if (y) {`),
 *            then the statements near the cursor, from a statement boundary about NEAR_BEFORE characters back;
 *   after  = the statements near the cursor up to a boundary about NEAR_AFTER characters on, then the closing
 *            brackets of those blocks (`    }`, `  }`, `}`).
 *
 * Siblings of the enclosing blocks are left out whole, and long headers or statements lose the insides of their
 * closed `{…}` groups (structure.ts, `compact`), so the skeleton parses as cleanly as the file does, in a few
 * hundred characters. When the prefix window starts inside a block whose header it does not show (a long class or
 * function), a stand-in header is put first (`class _ {`, `{`, `switch (_) {`, `_ = {`), chosen by what the
 * window's top level looks like; blocks the suffix window was cut inside are closed at its end.
 * When the structure cannot be trusted (the cursor inside a template substitution) the window falls back to plain
 * line-aligned slices; the comparison stays relative, so their own errors cancel out.
 *
 * Measured against a parse of the whole file (test/unit/postprocess/window-eval.test.ts, opt-in), the skeleton
 * decides like the whole file more often than 1,500/1,000-character line slices, at a quarter of their size.
 */
import { lineStartOf } from '../../text/lines.js';
import { Lexer, Tok, closerFor, isCloser, isOpener, type LexState } from './scan.js';
import { BoundaryTracker, COMPACT_OVER, compact, prefixShape, skipSpace } from './structure.js';
import { findLineAfter, indentWidth, isBlank } from './text.js';

export interface SyntaxWindow {
  /** Stands for the prefix: ends at the cursor. */
  readonly before: string;
  /** Stands for the suffix: starts at the cursor. */
  readonly after: string;
  /** Whether the skeleton was built (false: line-aligned slices). */
  readonly skeleton: boolean;
}

/** Characters of statements kept before the cursor (rounded out to a statement boundary). */
export const NEAR_BEFORE = 200;
/** Characters of statements kept after the cursor (rounded out to a statement boundary). */
export const NEAR_AFTER = 100;
/** A near part with no statement boundary is cut at a line boundary past this many characters. */
const NEAR_MAX = 1200;
/** Longer headers (even compacted) make the skeleton not worth it. */
const HEADERS_MAX = 1500;
/** Sizes of the line-aligned slices of the fallback. */
const FALLBACK_BEFORE = 1200;
const FALLBACK_AFTER = 600;

interface SuffixShape {
  /** The kept text: the near part, then the footers. */
  readonly text: string;
  /** How many blocks open at the cursor the kept text closes. */
  readonly closed: number;
}

/**
 * The near part runs to the first statement boundary at its own level past NEAR_AFTER characters (what lies past
 * NEAR_AFTER with the insides of its `{…}` groups left out, so a long statement stays short); then only the
 * closing brackets that close the cursor's blocks are kept (the footers), up to `openBlocks` of them.
 */
function analyseSuffix(suffix: string, state: LexState, openBlocks: number): SuffixShape {
  const lexer = new Lexer(suffix, 0, suffix.length, state);
  const tracker = new BoundaryTracker(suffix);
  const footers: Array<[number, number]> = [];
  let depth = 0;
  let min = 0;
  const angles: number[] = [];
  let mode: 'near' | 'skip' | 'footer' = 'near';
  let split = -1;
  let nearEnd = -1;
  let footerStart = 0;
  let prevEnd = 0;
  while (lexer.next() !== Tok.End) {
    const boundary = tracker.startsStatement(lexer);
    tracker.after(lexer);
    if (mode === 'near') {
      if (split === -1 && lexer.start >= NEAR_AFTER) split = lexer.start;
      const atBoundary = depth === min && (boundary || (lexer.start >= NEAR_MAX && lexer.newlineBefore));
      if (lexer.start >= NEAR_AFTER && (atBoundary || (lexer.start >= 4 * NEAR_MAX && lexer.newlineBefore))) {
        nearEnd = prevEnd;
        mode = 'skip';
        min = depth;
        if (-min >= openBlocks) break;
      }
    } else if (mode === 'footer') {
      const continues =
        lexer.kind === Tok.Punct && (isCloser(lexer.ch) || lexer.ch === 59 || lexer.ch === 44) && !lexer.newlineBefore;
      if (!continues) {
        footers.push([footerStart, prevEnd]);
        mode = 'skip';
        if (-min >= openBlocks) break;
      }
    }
    prevEnd = lexer.end;
    if (lexer.kind !== Tok.Punct) continue;
    const ch = lexer.ch;
    if (isOpener(ch)) {
      depth++;
      angles.push(tracker.angles);
      tracker.angles = 0;
    } else if (isCloser(ch)) {
      depth--;
      tracker.angles = angles.pop() ?? 0;
      if (depth < min) {
        min = depth;
        if (mode === 'skip') {
          footerStart = lexer.start;
          mode = 'footer';
        }
      }
    } else if ((ch === 59 || (ch === 44 && tracker.commaSeparates())) && mode === 'near' && depth === min && lexer.end >= NEAR_AFTER) {
      nearEnd = lexer.end;
      mode = 'skip';
      if (-min >= openBlocks) break;
    }
  }
  if (mode === 'near') nearEnd = suffix.length;
  else if (mode === 'footer') footers.push([footerStart, prevEnd]);
  let text = split !== -1 && split < nearEnd ? suffix.slice(0, split) + compact(suffix, split, nearEnd) : suffix.slice(0, nearEnd);
  let last = nearEnd;
  for (const [start, end] of footers) {
    text += (suffix.slice(last, start).includes('\n') ? '\n' : ' ') + suffix.slice(start, end);
    last = end;
  }
  return { text, closed: Math.max(0, -min) };
}

/** Line-aligned slices next to the cursor (what is used when the skeleton cannot be built). */
export function lineWindow(prefix: string, suffix: string): SyntaxWindow {
  return { before: lineBefore(prefix), after: lineAfter(suffix), skeleton: false };
}

function lineBefore(prefix: string): string {
  let start = Math.max(0, prefix.length - FALLBACK_BEFORE);
  if (start > 0) {
    const nl = prefix.indexOf('\n', start);
    start = nl === -1 ? prefix.lastIndexOf('\n') + 1 : nl + 1;
  }
  return prefix.slice(start);
}

function lineAfter(suffix: string): string {
  if (suffix.length <= FALLBACK_AFTER) return suffix;
  const first = suffix.indexOf('\n');
  const nl = suffix.lastIndexOf('\n', FALLBACK_AFTER);
  return suffix.slice(0, nl > first ? nl : first === -1 ? suffix.length : first);
}

/** The part of the window before the cursor, and what the part after it needs to know. */
export interface WindowBefore {
  readonly before: string;
  readonly skeleton: boolean;
  /** Blocks open at the cursor in `before` (the headers kept, a stand-in header included). */
  readonly openBlocks: number;
  /** The lexer state at the cursor. */
  readonly state: LexState;
  /** The closing brackets of the open blocks, innermost first. */
  readonly closers: string;
  /** The indentation of each open block's header line, innermost first (-1: a stand-in header). */
  readonly indents: readonly number[];
}

/** Headers standing in for the block the window starts inside. */
const ENCLOSING_HEADER = { class: 'class _ {\n', object: '_ = {\n', switch: 'switch (_) {\n', block: '{\n' } as const;

export function windowBefore(prefix: string): WindowBefore {
  const shape = prefixShape(prefix);
  const plain = (): WindowBefore => ({
    before: lineBefore(prefix),
    skeleton: false,
    openBlocks: 0,
    state: shape.state,
    closers: '',
    indents: [],
  });
  if (shape.inTemplate) return plain();

  // The near part starts at the first statement boundary within NEAR_BEFORE of the cursor, else at the last one
  // before that (the statement the cursor is in is kept whole), unless that is too far back.
  const cursor = prefix.length;
  const bounds = shape.bounds;
  let near = -1;
  for (let i = bounds.length - 1; i >= 0; i--) {
    const bound = bounds[i]!;
    if (bound < cursor - NEAR_BEFORE) {
      if (near === -1) near = bound;
      break;
    }
    near = bound;
  }
  if (near === -1) return plain();
  if (cursor - near > NEAR_MAX && shape.blockEnd > near) near = shape.blockEnd;

  // Headers of the open blocks, then the near part; the text between them (siblings) is left out.
  let before = shape.enclosing ? ENCLOSING_HEADER[shape.enclosing] : '';
  let last = -1;
  const piece = (start: number, end: number): void => {
    if (last !== -1 && start > last) before += prefix.slice(last, start).includes('\n') ? '\n' : ' ';
    before += end - start > COMPACT_OVER ? compact(prefix, start, end) : prefix.slice(start, end);
    last = end;
  };
  for (const frame of shape.frames) {
    let start = skipSpace(prefix, frame.stmtStart, frame.pos);
    // Keep the header's indentation (easier to read when debugging; the parser does not mind).
    const lineStart = lineStartOf(prefix, start);
    if (lineStart >= last && prefix.slice(lineStart, start).trim() === '') start = lineStart;
    piece(start, frame.pos + 1);
  }
  const headerChars = before.length;
  if (headerChars > HEADERS_MAX) return plain();
  const nearStart = Math.max(near, last);
  if (cursor - nearStart > NEAR_MAX) {
    // One long statement up to the cursor: keep it, without the insides of its closed blocks.
    const text = compact(prefix, nearStart, cursor);
    if (text.length > 2 * NEAR_MAX) return plain();
    if (last !== -1 && nearStart > last) before += prefix.slice(last, nearStart).includes('\n') ? '\n' : ' ';
    before += text;
  } else piece(nearStart, cursor);
  let closers = '';
  const indents: number[] = [];
  for (let i = shape.frames.length - 1; i >= 0; i--) {
    const frame = shape.frames[i]!;
    closers += String.fromCharCode(closerFor(frame.ch));
    const lineStart = lineStartOf(prefix, skipSpace(prefix, frame.stmtStart, frame.pos));
    indents.push(indentWidth(prefix.slice(lineStart, lineStart + 200)));
  }
  if (shape.enclosing) {
    closers += '}';
    indents.push(-1);
  }
  return {
    before,
    skeleton: true,
    openBlocks: shape.frames.length + (shape.enclosing ? 1 : 0),
    state: shape.state,
    closers,
    indents,
  };
}

/**
 * The part of the window after the cursor. `extraBlocks`: blocks the answer opens and leaves open, whose closing
 * brackets the suffix must then provide (the first closers, as the answer's blocks are the innermost).
 */
export function windowAfter(suffix: string, before: WindowBefore, extraBlocks = 0): string {
  if (!before.skeleton) return lineAfter(suffix);
  const shape = analyseSuffix(suffix, before.state, before.openBlocks + extraBlocks);
  // Blocks the suffix window leaves open are closed here when the file surely closes them further down: the window
  // starts inside a class or object (the stand-in header), or the suffix window is long and never comes back to
  // the block's indentation (it was cut inside the block). A block the suffix does come back to without closing
  // is really open (the user is writing it) and stays open, with every block outside it.
  let missing = '';
  let deepest: number | undefined;
  for (let i = Math.max(0, shape.closed - extraBlocks); i < before.closers.length; i++) {
    const indent = before.indents[i]!;
    if (indent !== -1) {
      if (suffix.length < TRUNCATED_AT) break;
      deepest ??= shallowestIndent(suffix);
      if (indent >= deepest) break;
    }
    missing += '\n' + before.closers[i]!;
  }
  return shape.text + missing;
}

/** A suffix window at least this long that leaves a block open was most likely cut inside it. */
const TRUNCATED_AT = 800;

/** The least indentation of the non-blank lines after the cursor line (Infinity when there are none). */
function shallowestIndent(suffix: string): number {
  let least = Infinity;
  findLineAfter(suffix, (line) => {
    if (!isBlank(line)) least = Math.min(least, indentWidth(line));
    return least === 0;
  });
  return least;
}

/** The window for a prefix and suffix (see the file comment). */
export function syntaxWindow(prefix: string, suffix: string, extraBlocks = 0): SyntaxWindow {
  const before = windowBefore(prefix);
  return { before: before.before, after: windowAfter(suffix, before, extraBlocks), skeleton: before.skeleton };
}
