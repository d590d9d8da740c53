import type { OpenDocument } from '../documents/document-store.js';
import { isIdentifierCodePoint } from './context-builder.js';
import type { CompletionContext, CompletionDecision } from './types.js';

const COMPLETE: CompletionDecision = Object.freeze({ complete: true });

/**
 * Whether to ask the models at all. A completion the user will not take costs them attention (and costs model
 * time), so the rule only lets through positions where an inserted suggestion reads naturally:
 *
 * - never in a binary document;
 * - never inside a word that continues to the right (`fo|o`, `|return`): the insertion would split it;
 * - at the end of the line, or when the rest of the line is only closers: whitespace, `) ] } >`, quotes and
 *   backticks, closing tags (`</div>`), then at most one terminator `;` `,` `:` `{`, then at most a line comment
 *   (`//…`, `# …`, or one `/* … *\/`). So `foo(|);`, `if (|) {`, `"|"`, `[1, |]`, `<b>|</b>`, `case '|':` and
 *   `x = f(|) // why` complete;
 * - anywhere else in the middle of a line (`a(|, b)`, `|foo()`, `x|.y`) it does not: a left-to-right model has no
 *   good way to end an insertion that must join up with the text after it, and the usual result is a duplicate
 *   of that text. (Comments and empty documents do complete: writing a comment or a new file is a real use.)
 *
 * Cost: a few character reads on the cursor line; no tree access.
 */
export function decideCompletion(doc: OpenDocument, ctx: CompletionContext): CompletionDecision {
  if (doc.binary) return { complete: false, reason: 'binary-document' };
  const rest = ctx.lineSuffix;
  if (rest.length === 0) return COMPLETE;
  if (isIdentifierCodePoint(rest.codePointAt(0)!)) return { complete: false, reason: 'inside-word' };
  return onlyClosersFollow(rest) ? COMPLETE : { complete: false, reason: 'text-after-cursor' };
}

/** Whether `rest` (the line after the cursor) is closers, at most one terminator, and at most a comment. */
export function onlyClosersFollow(rest: string): boolean {
  const n = rest.length;
  let i = 0;
  while (i < n) {
    const c = rest.charCodeAt(i);
    if (isSpace(c) || CLOSERS.includes(rest[i]!)) {
      i++;
    } else if (c === 0x3c /* < */ && rest.charCodeAt(i + 1) === 0x2f /* / */) {
      let j = i + 2;
      while (j < n && isTagNameChar(rest.charCodeAt(j))) j++;
      if (rest.charCodeAt(j) !== 0x3e /* > */) break;
      i = j + 1;
    } else {
      break;
    }
  }
  if (i < n && TERMINATORS.includes(rest[i]!)) i++;
  while (i < n && isSpace(rest.charCodeAt(i))) i++;
  if (i === n) return true;
  if (rest.startsWith('//', i)) return true;
  if (rest[i] === '#' && (i + 1 === n || isSpace(rest.charCodeAt(i + 1)))) return true;
  if (rest.startsWith('/*', i)) {
    const close = rest.indexOf('*/', i + 2);
    if (close < 0) return false;
    for (let j = close + 2; j < n; j++) if (!isSpace(rest.charCodeAt(j))) return false;
    return true;
  }
  return false;
}

const CLOSERS = ')]}>"\'`';
const TERMINATORS = ';,:{';

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function isTagNameChar(c: number): boolean {
  return isIdentifierCodePoint(c) || c === 0x2e /* . */ || c === 0x3a /* : */ || c === 0x2d /* - */;
}
