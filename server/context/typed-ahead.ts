import type { OpenDocument } from '../documents/document-store.js';
import type { CompletionContext } from './types.js';

/**
 * Typed-ahead reuse: while the user types the start of a completion they were shown, the rest of it is the
 * answer, with no model call and no cache lookup.
 *
 * Design. The engine remembers, per document, the last answer it showed, anchored at the document offset where
 * it would be inserted, together with the text the model saw around that point (the prefix window before the
 * anchor, the suffix window after it). A later request at cursor C matches when
 *   - the text before the anchor is still the remembered prefix, at the same offsets (nothing before the anchor
 *     changed within the window the model saw: an edit above that moves the text, or rewrites it, ends reuse);
 *   - the text between the anchor and C is a prefix of the answer (line breaks compared as `\n`, so Enter in a
 *     CRLF document types the answer's `\n`); and
 *   - the text after C is still the remembered suffix (what was typed went in between; an editor that
 *     auto-closes a bracket changes the suffix, and the engine asks again rather than guess).
 * Then the answer's remaining text is returned. This covers every position the user can reach by typing along
 * the answer, across lines, with one string comparison each, so no pre-filled cache entries (keys computed for
 * hypothetical documents) are needed: the AST hash (ast-hash.ts) keys answers for positions the user comes back
 * to; this tracker serves the keystrokes in between.
 *
 * Deleting back: the entry stays until replaced or forgotten, so after typing a character that diverges and
 * deleting it again, or deleting back towards the anchor, the answer matches again. A cursor before the anchor,
 * or an answer typed to its end, does not match. Pure logic: no I/O, no timers; the engine calls `forget` on
 * close, accept or reject, and `clear` when the settings that change an answer change.
 */

/** What the engine needs to serve a remembered answer again. */
export interface CachedAnswerRef {
  /** The answer as shown, to be inserted at the anchor. */
  readonly text: string;
  /** Whatever else identifies it (the cache key, the shown completion's id). */
  readonly key?: string;
  readonly id?: string;
}

export interface TypedAheadMatch<R extends CachedAnswerRef> {
  /** What is left of the answer after what the user typed: the completion to show now. */
  readonly rest: string;
  /** Characters of the document typed since the anchor (the answer's start they matched). */
  readonly typed: number;
  readonly ref: R;
}

interface Entry<R> {
  readonly anchor: number;
  /** Text that ended at the anchor when the answer was shown. */
  readonly before: string;
  /** Text that started at the anchor when the answer was shown. */
  readonly after: string;
  readonly ref: R;
}

export class TypedAheadTracker<R extends CachedAnswerRef = CachedAnswerRef> {
  private readonly entries = new Map<string, Entry<R>>();

  /** @param capacity documents remembered at most (the least recently shown is dropped first) */
  constructor(private readonly capacity = 256) {}

  /**
   * Remembers `ref` as shown in `uri` at `anchorOffset`. `textBeforeAnchorTail` is the text that ended at the
   * anchor then (the prefix window); `textAfterAnchorHead` the text that followed it (the suffix window; '' to
   * not check what follows).
   */
  remember(uri: string, anchorOffset: number, textBeforeAnchorTail: string, ref: R, textAfterAnchorHead = ''): void {
    this.entries.delete(uri);
    this.entries.set(uri, { anchor: anchorOffset, before: detached(textBeforeAnchorTail), after: detached(textAfterAnchorHead), ref });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Remembers `ref` as the answer shown for `context`: anchored at its cursor, with its windows. */
  rememberShown(context: CompletionContext, ref: R): void {
    this.remember(context.uri, context.cursorOffset, context.prefix, ref, context.suffix);
  }

  /** The rest of the remembered answer when the user has typed its start at `context`'s cursor. */
  match(doc: OpenDocument, context: CompletionContext): TypedAheadMatch<R> | undefined {
    const entry = this.entries.get(doc.uri);
    if (!entry) return undefined;
    const { anchor, before, after, ref } = entry;
    const cursor = context.cursorOffset;
    if (cursor < anchor) return undefined;
    const text = doc.textDocument.getText();
    if (anchor - before.length < 0 || !text.startsWith(before, anchor - before.length)) return undefined;
    if (!text.startsWith(after, cursor)) return undefined;
    const consumed = prefixLength(ref.text, text, anchor, cursor);
    if (consumed === undefined || consumed >= ref.text.length) return undefined;
    return { rest: ref.text.slice(consumed), typed: cursor - anchor, ref };
  }

  forget(uri: string): void {
    this.entries.delete(uri);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * A copy of `window` that does not keep the text it was cut from alive. V8 keeps a slice of 13 or more characters
 * as a view into its parent, here a whole document version: 50 open 2,000-line files held 1.6 MB of old versions
 * through their entries (a heap snapshot under bench/startup's load). Concatenating, then slicing, makes V8 flatten a
 * fresh string of the window's own length.
 */
function detached(window: string): string {
  return window.length < 13 ? window : (' ' + window).slice(1);
}

/**
 * How much of `answer` text[from, to) types, when it is a prefix of `answer`; undefined when it is not. A `\r\n`
 * in the document matches a `\n` (or `\r\n`) in the answer.
 */
function prefixLength(answer: string, text: string, from: number, to: number): number | undefined {
  let a = 0;
  for (let t = from; t < to; t++, a++) {
    if (a >= answer.length) return undefined;
    const c = text.charCodeAt(t);
    if (c === answer.charCodeAt(a)) continue;
    // The document's CRLF against the answer's LF.
    if (c === 0x0d && text.charCodeAt(t + 1) === 0x0a && t + 1 < to && answer.charCodeAt(a) === 0x0a) {
      t++;
      continue;
    }
    return undefined;
  }
  return a;
}
