import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DocumentStore, MAX_PARSED_CHARS } from '../../../server/documents/document-store.js';
import { countSyntaxErrors, languageByName, parse } from '../../../server/documents/syntax.js';

const zod = readFileSync(new URL('../../../node_modules/zod/src/v3/types.ts', import.meta.url), 'utf8');

/** A seeded pseudo-random sequence so failures reproduce. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

describe('DocumentStore', () => {
  it('keeps the incremental tree identical to a fresh parse through many random edits', () => {
    const store = new DocumentStore();
    const uri = 'file:///types.ts';
    const doc0 = store.open(uri, 'typescript', 1, zod.slice(0, 20000));
    expect(doc0.tree).toBeDefined();
    const random = rng(7);
    const inserts = ['x', 'const a = 1;\n', '', '(', '}\n', 'é😀', '\n\n  '];
    for (let v = 2; v < 60; v++) {
      const doc = store.get(uri)!;
      const text = doc.textDocument.getText();
      const start = Math.floor(random() * text.length);
      const end = Math.min(text.length, start + Math.floor(random() * 20));
      const s = doc.textDocument.positionAt(start);
      const e = doc.textDocument.positionAt(end);
      store.change(uri, v, [{ range: { start: s, end: e }, text: inserts[v % inserts.length]! }]);
    }
    const doc = store.get(uri)!;
    expect(doc.version).toBe(59);
    const fresh = parse(languageByName('typescript')!, doc.textDocument.getText())!;
    expect(doc.tree!.rootNode.toString()).toBe(fresh.rootNode.toString());
  });

  it('applies several changes of one didChange in order, in utf-8 positions', () => {
    const store = new DocumentStore('utf-8');
    store.open('file:///a.ts', 'typescript', 1, 'const é = 1;\nlet b = 2;\n');
    // 'const é' is 8 bytes: insert after the é, then on line 1.
    store.change('file:///a.ts', 2, [
      { range: { start: { line: 0, character: 8 }, end: { line: 0, character: 8 } }, text: 'x' },
      { range: { start: { line: 1, character: 4 }, end: { line: 1, character: 5 } }, text: 'bb' },
    ]);
    const doc = store.get('file:///a.ts')!;
    expect(doc.textDocument.getText()).toBe('const éx = 1;\nlet bb = 2;\n');
    expect(doc.tree!.rootNode.hasError).toBe(false);
    expect(doc.tree!.rootNode.descendantForIndex(doc.textDocument.getText().indexOf('bb')).text).toBe('bb');
  });

  it('replaces the whole text on a full change', () => {
    const store = new DocumentStore();
    store.open('file:///a.js', 'javascript', 1, 'let a = 1;');
    store.change('file:///a.js', 2, [{ text: 'function f() {}' }]);
    expect(store.get('file:///a.js')!.tree!.rootNode.child(0)!.type).toBe('function_declaration');
  });

  it('serves unknown languages, binary and huge documents as plain text', () => {
    const store = new DocumentStore();
    expect(store.open('file:///a.py', 'python', 1, 'def f(): pass').plainTextReason).toBe('no-grammar');
    expect(store.open('file:///b.ts', 'typescript', 1, 'ab\u0000cd').plainTextReason).toBe('binary');
    const huge = store.open('file:///c.ts', 'typescript', 1, 'x'.repeat(MAX_PARSED_CHARS + 1));
    expect(huge.plainTextReason).toBe('too-large');
    expect(huge.tree).toBeUndefined();
    // The language comes from the extension when the languageId is generic.
    expect(store.open('file:///d.tsx', 'plaintext', 1, 'const a = <div/>;').syntax?.entry.name).toBe('tsx');
  });

  it('ignores changes to documents that are not open', () => {
    expect(new DocumentStore().change('file:///nope.ts', 2, [{ text: 'x' }])).toBeUndefined();
  });

  it('counts ERROR and MISSING nodes', () => {
    const ts = languageByName('typescript')!;
    expect(countSyntaxErrors(parse(ts, 'const a = 1;')!.rootNode)).toBe(0);
    expect(countSyntaxErrors(parse(ts, 'function f( {')!.rootNode)).toBeGreaterThan(0);
  });
});

describe('DocumentStore tree budget', () => {
  const ts = languageByName('typescript')!;
  const source = (i: number) => `export function f${i}(a: number) {\n  return a + ${i};\n}\n`;

  it('keeps trees for the most recently used documents only, and parses a document again when it is used', () => {
    const store = new DocumentStore('utf-16', 2);
    for (let i = 0; i < 4; i++) store.open(`file:///d${i}.ts`, 'typescript', 1, source(i));
    expect(store.treeCount).toBe(2);
    // d0 gave its tree up; using it brings a tree equal to a fresh parse, and another document gives its up.
    const d0 = store.get('file:///d0.ts')!;
    expect(d0.tree!.rootNode.toString()).toBe(parse(ts, source(0))!.rootNode.toString());
    expect(store.treeCount).toBe(2);
    // Editing a document without a tree parses it whole, with the edit.
    const changed = store.change('file:///d1.ts', 2, [{ range: { start: { line: 1, character: 13 }, end: { line: 1, character: 14 } }, text: '42' }])!;
    expect(changed.textDocument.getText()).toBe(source(1).replace('+ 1', '+ 42'));
    expect(changed.tree!.rootNode.toString()).toBe(parse(ts, changed.textDocument.getText())!.rootNode.toString());
    expect(store.treeCount).toBe(2);
    // The most recent ones keep theirs: d1 (changed) and d0 (read).
    expect(store.get('file:///d1.ts')!.tree).toBeDefined();
  });
});

describe('NativeGarbage', () => {
  const nextTurn = () => new Promise((r) => setImmediate(r));

  it('collects on the next turn for dropped trees past the threshold, and after a quiet moment for edits', async () => {
    const { NativeGarbage } = await import('../../../server/documents/native-memory.js');
    let collected = 0;
    const garbage = new NativeGarbage(() => collected++, 100, 20);
    garbage.add(60, true);
    await nextTurn();
    expect(collected).toBe(0); // below the threshold
    garbage.add(60, true);
    garbage.add(60, true); // several trees dropped in one turn: one collection
    expect(collected).toBe(0); // not inside the request that dropped them
    await nextTurn();
    expect(collected).toBe(1); // whole trees: on the next turn
    garbage.add(150); // edits: later, when quiet
    await nextTurn();
    expect(collected).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(collected).toBe(2);
  });

  it('by default tolerates the dropped trees of three 2,000-line files, and collects at the fourth', async () => {
    const { NativeGarbage, treeBytes } = await import('../../../server/documents/native-memory.js');
    let collected = 0;
    const garbage = new NativeGarbage(() => collected++);
    const tree = treeBytes(65_000); // a 2,000-line TypeScript file (bench/startup's)
    for (let i = 0; i < 3; i++) garbage.add(tree, true);
    await nextTurn();
    expect(collected).toBe(0);
    garbage.add(tree, true);
    await nextTurn();
    expect(collected).toBe(1);
  });
});

describe('DocumentStore with a grammar that cannot finish', () => {
  /** tree-sitter-typescript 0.23 loops for ever on these 19 characters; every parse is bounded. */
  const HANG = "[*/\n'x/*\nr};;a\u200bx(*/";

  it('bounds the parse, serves plain text, retries only after the back-off, and logs once', () => {
    let now = 1_000;
    const lines: string[] = [];
    const logger = { error() {}, warn: (m: string) => lines.push(`warn ${m}`), info() {}, debug: (m: string) => lines.push(`debug ${m}`) };
    const store = new DocumentStore('utf-16', 16, undefined, { logger, now: () => now });
    const doc = store.open('file:///hang.ts', 'typescript', 1, HANG);
    expect(doc.tree).toBeUndefined();
    expect(doc.syntax).toBeUndefined();
    expect(doc.plainTextReason).toBe('parse-timeout');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warn parsing file:\/\/\/hang\.ts \(typescript, 19 characters\) ran past \d+ ms/);
    // Within the back-off an edit does not parse again (each try costs the whole budget on the main thread).
    now += 1_000;
    store.change('file:///hang.ts', 2, [{ text: 'const a = 1;' }]);
    expect(store.get('file:///hang.ts')!.tree).toBeUndefined();
    // After it, the next edit parses; text that parses brings the tree back.
    now += 30_000;
    const fixed = store.change('file:///hang.ts', 3, [{ text: 'const a = 2;' }])!;
    expect(fixed.plainTextReason).toBeUndefined();
    expect(fixed.tree!.rootNode.type).toBe('program');
    // The same parser serves other documents between and after the timeouts.
    expect(store.open('file:///ok.ts', 'typescript', 1, 'let x = 1;').tree).toBeDefined();
  });

  it('doubles the back-off on repeated timeouts and logs the later ones at debug level', () => {
    let now = 0;
    const lines: string[] = [];
    const logger = { error() {}, warn: (m: string) => lines.push(`warn ${m}`), info() {}, debug: (m: string) => lines.push(`debug ${m}`) };
    const store = new DocumentStore('utf-16', 16, undefined, { logger, now: () => now });
    store.open('file:///h.ts', 'typescript', 1, HANG);
    now += 30_001;
    store.change('file:///h.ts', 2, [{ text: `${HANG} ` }]);
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['warn', 'debug']);
    expect(lines[1]).toContain('after 60 s');
    now += 30_001; // less than the doubled 60 s
    store.change('file:///h.ts', 3, [{ text: 'let y = 1;' }]);
    expect(store.get('file:///h.ts')!.tree).toBeUndefined();
  });

  it('bounds an incremental reparse too', () => {
    const store = new DocumentStore();
    const doc = store.open('file:///inc.ts', 'typescript', 1, 'let a = 1;\n');
    expect(doc.tree).toBeDefined();
    const changed = store.change('file:///inc.ts', 2, [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, text: HANG }])!;
    expect(changed.tree).toBeUndefined();
    expect(changed.plainTextReason).toBe('parse-timeout');
    expect(changed.textDocument.getText()).toBe(`let a = 1;\n${HANG}`);
  });
});

describe('DocumentStore edits against vscode-languageserver-textdocument', () => {
  it('applies random incremental edits, ranges past the end and before the start included, as the library clamps them', async () => {
    const { TextDocument } = await import('vscode-languageserver-textdocument');
    const random = rng(11);
    const pieces = ['', 'x', '\n', 'é😀', '\r\n', 'abc\ndef', '  '];
    const store = new DocumentStore();
    // The reference: the library's offsetAt on a fresh document each time (its incremental update keeps wrong line
    // offsets after a range past the end, so chaining TextDocument.update would not be a reference).
    let reference = 'abc\ndef\n\nlast';
    store.open('file:///r.ts', 'typescript', 1, reference);
    const coordinate = () => Math.floor(random() * 9) - 2; // -2 … 6: often past the end, sometimes negative
    for (let v = 2; v < 400; v++) {
      const fresh = TextDocument.create('file:///r.ts', 'typescript', v, reference);
      const a = { line: coordinate(), character: coordinate() };
      const b = { line: coordinate(), character: coordinate() };
      const [start, end] = fresh.offsetAt(a) <= fresh.offsetAt(b) ? [a, b] : [b, a];
      const change = { range: { start, end }, text: pieces[Math.floor(random() * pieces.length)]! };
      reference = reference.slice(0, fresh.offsetAt(start)) + change.text + reference.slice(fresh.offsetAt(end));
      const doc = store.change('file:///r.ts', v, [change])!;
      expect(doc.textDocument.getText(), JSON.stringify(change)).toBe(reference);
    }
    expect(store.change('file:///r.ts', 500, [{ range: { start: { line: 0, character: 0 }, end: { line: 99, character: 0 } }, text: 'new' }])!.textDocument.getText()).toBe('new');
  });
});
