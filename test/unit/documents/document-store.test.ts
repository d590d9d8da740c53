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
    const fresh = parse(languageByName('typescript')!, doc.textDocument.getText());
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
    expect(countSyntaxErrors(parse(ts, 'const a = 1;').rootNode)).toBe(0);
    expect(countSyntaxErrors(parse(ts, 'function f( {').rootNode)).toBeGreaterThan(0);
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
    expect(d0.tree!.rootNode.toString()).toBe(parse(ts, source(0)).rootNode.toString());
    expect(store.treeCount).toBe(2);
    // Editing a document without a tree parses it whole, with the edit.
    const changed = store.change('file:///d1.ts', 2, [{ range: { start: { line: 1, character: 13 }, end: { line: 1, character: 14 } }, text: '42' }])!;
    expect(changed.textDocument.getText()).toBe(source(1).replace('+ 1', '+ 42'));
    expect(changed.tree!.rootNode.toString()).toBe(parse(ts, changed.textDocument.getText()).rootNode.toString());
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
