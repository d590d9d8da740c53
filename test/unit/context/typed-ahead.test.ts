import { describe, expect, it } from 'vitest';
import { buildCompletionContext } from '../../../server/context/context-builder.js';
import { TypedAheadTracker, type CachedAnswerRef } from '../../../server/context/typed-ahead.js';
import type { CompletionContext } from '../../../server/context/types.js';
import { DocumentStore, type OpenDocument } from '../../../server/documents/document-store.js';
import { after, FIXTURE, fixtureText } from './fixtures.js';

const URI = FIXTURE.ts.uri;
const CONTEXT = { contextChars: 6000 };

/** A document being typed in, through DocumentStore.change as an editor would send it. */
class Editor {
  readonly store = new DocumentStore();
  doc: OpenDocument;

  constructor(
    text: string,
    public cursor: number,
    uri: string = URI,
  ) {
    this.doc = this.store.open(uri, 'typescript', 1, text);
  }

  get context(): CompletionContext {
    return buildCompletionContext(this.doc, this.cursor, CONTEXT);
  }

  get text(): string {
    return this.doc.textDocument.getText();
  }

  /** Replaces text[from, to) with `text`; the cursor moves with the text after it, or to the end of an insert at it. */
  replace(from: number, to: number, text: string): void {
    const range = { start: this.doc.textDocument.positionAt(from), end: this.doc.textDocument.positionAt(to) };
    this.doc = this.store.change(this.doc.uri, this.doc.version + 1, [{ range, text }])!;
    if (this.cursor >= to) this.cursor += text.length - (to - from);
  }

  type(text: string): void {
    this.replace(this.cursor, this.cursor, text);
  }

  backspace(): void {
    this.replace(this.cursor - 1, this.cursor, '');
  }
}

const ANSWER: CachedAnswerRef = { text: 'units * cents;\n  if (total > 0) return total;', key: 'k0', id: 'c1' };

function shownAt(editor: Editor, ref = ANSWER): TypedAheadTracker {
  const tracker = new TypedAheadTracker();
  tracker.rememberShown(editor.context, ref);
  return tracker;
}

describe('typed-ahead reuse', () => {
  const text = fixtureText('ts');
  const anchor = after(text, 'const units = Math.floor(cents / 100);');

  it('follows the user typing the answer character by character, into the next line', () => {
    const editor = new Editor(text.slice(0, anchor) + '\n  const total = ' + text.slice(anchor), anchor + '\n  const total = '.length);
    const tracker = shownAt(editor);
    expect(tracker.match(editor.doc, editor.context)).toMatchObject({ rest: ANSWER.text, typed: 0, ref: ANSWER });
    for (let i = 1; i < ANSWER.text.length; i++) {
      editor.type(ANSWER.text[i - 1]!);
      const m = tracker.match(editor.doc, editor.context);
      expect(m, `after ${JSON.stringify(ANSWER.text.slice(0, i))}`).toEqual({ rest: ANSWER.text.slice(i), typed: i, ref: ANSWER });
    }
    // Typed to its end: nothing left to show.
    editor.type(ANSWER.text.at(-1)!);
    expect(tracker.match(editor.doc, editor.context)).toBeUndefined();
  });

  it('stops at a character that diverges, and matches again once it is deleted', () => {
    const editor = new Editor(text, anchor);
    const tracker = shownAt(editor, { text: ' // whole units' });
    editor.type(' // who');
    expect(tracker.match(editor.doc, editor.context)?.rest).toBe('le units');
    editor.type('o');
    expect(tracker.match(editor.doc, editor.context)).toBeUndefined();
    editor.backspace();
    expect(tracker.match(editor.doc, editor.context)?.rest).toBe('le units');
    // Deleting back to the anchor shows the whole answer again; before it, nothing.
    for (let i = 0; i < ' // who'.length; i++) editor.backspace();
    expect(editor.cursor).toBe(anchor);
    expect(tracker.match(editor.doc, editor.context)?.rest).toBe(' // whole units');
    editor.backspace();
    expect(tracker.match(editor.doc, editor.context)).toBeUndefined();
  });

  it('does not match after an edit before the anchor, even one that keeps every offset', () => {
    for (const [name, change] of [
      ['an insertion above', (e: Editor) => e.replace(0, 0, '// note\n')],
      ['a same-length rename above', (e: Editor) => {
        const at = e.text.lastIndexOf('cents', anchor - 10);
        e.replace(at, at + 5, 'pence');
      }],
      ['a deleted character just before the anchor', (e: Editor) => e.replace(anchor - 1, anchor, '')],
    ] as const) {
      const editor = new Editor(text, anchor);
      const tracker = shownAt(editor, { text: ' // whole units' });
      editor.type(' // w');
      expect(tracker.match(editor.doc, editor.context)?.rest).toBe('hole units');
      change(editor);
      expect(tracker.match(editor.doc, editor.context), name).toBeUndefined();
    }
  });

  it('does not match when the text after the cursor changed (an auto-closed bracket), or the cursor only moved', () => {
    const editor = new Editor(text, anchor);
    const tracker = shownAt(editor, { text: ' void f(units);' });
    editor.type(' void f(');
    expect(tracker.match(editor.doc, editor.context)?.rest).toBe('units);');
    editor.replace(editor.cursor, editor.cursor, ')'); // the editor closes the bracket after the cursor…
    editor.cursor -= 1; // …and leaves the cursor before it
    expect(editor.text.slice(editor.cursor - 8, editor.cursor + 1)).toBe(' void f()');
    expect(tracker.match(editor.doc, editor.context)).toBeUndefined();

    // Text that happens to read like the answer, reached by moving the cursor over it: the suffix gives it away.
    const moved = new Editor(text, anchor);
    const t2 = shownAt(moved, { text: '\n  const restOfIt' });
    moved.cursor = anchor + 1;
    expect(moved.text.slice(anchor, anchor + 1)).toBe('\n');
    expect(t2.match(moved.doc, moved.context)).toBeUndefined();
  });

  it('types CRLF line breaks as the answer\'s LF', () => {
    const crlf = text.replace(/\n/g, '\r\n');
    const at = after(crlf, 'const units = Math.floor(cents / 100);');
    const editor = new Editor(crlf, at);
    const tracker = shownAt(editor, { text: '\n  const rest = cents % 100;' });
    editor.type('\r\n');
    expect(tracker.match(editor.doc, editor.context)?.rest).toBe('  const rest = cents % 100;');
    editor.type('  const');
    expect(tracker.match(editor.doc, editor.context)?.rest).toBe(' rest = cents % 100;');
  });

  it('keeps one answer per document: the newest replaces it, forget and clear drop it', () => {
    const a = new Editor(text, anchor);
    const b = new Editor(text, anchor, 'file:///work/src/other.ts');
    const tracker = new TypedAheadTracker();
    tracker.rememberShown(a.context, { text: ' // a' });
    tracker.rememberShown(b.context, { text: ' // b' });
    expect(tracker.match(a.doc, a.context)?.rest).toBe(' // a');
    expect(tracker.match(b.doc, b.context)?.rest).toBe(' // b');
    tracker.rememberShown(a.context, { text: ' // a2' });
    expect(tracker.match(a.doc, a.context)?.rest).toBe(' // a2');
    tracker.forget(a.doc.uri);
    expect(tracker.match(a.doc, a.context)).toBeUndefined();
    expect(tracker.match(b.doc, b.context)?.rest).toBe(' // b');
    tracker.clear();
    expect(tracker.size).toBe(0);

    const small = new TypedAheadTracker(1);
    small.rememberShown(a.context, { text: ' // a' });
    small.rememberShown(b.context, { text: ' // b' });
    expect(small.match(a.doc, a.context)).toBeUndefined();
    expect(small.match(b.doc, b.context)?.rest).toBe(' // b');
  });
});

describe('TypedAheadTracker memory', () => {
  it('keeps its windows, not the document versions they were cut from', async () => {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const tracker = new TypedAheadTracker(64);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 32; i++) {
      // A 1 MB document version, gone once the loop moves on; only its 2 × 6,000-character windows are remembered.
      const text = `// version ${i}\n`.padEnd(1_000_000, 'const a = 1;\n');
      tracker.remember(`file:///d${i}.ts`, 500_000, text.slice(494_000, 500_000), { text: 'b = 2;' }, text.slice(500_000, 506_000));
    }
    gc();
    // Kept views would hold the 32 MB of versions; the windows are under 0.5 MB.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(8 * 1024 * 1024);
    expect(tracker.size).toBe(32);
  });
});
