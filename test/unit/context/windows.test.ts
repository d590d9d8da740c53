import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCompletionContext } from '../../../server/context/context-builder.js';
import { DocumentStore } from '../../../server/documents/document-store.js';
import { after, at, expectWellFormed, FIXTURE, openFixture, openText, random, ZOD_TYPES } from './fixtures.js';

describe('prefix and suffix windows', () => {
  it('takes the whole of a small document, split exactly at the cursor', () => {
    const doc = openFixture('ts');
    const text = doc.textDocument.getText();
    const cursor = after(text, 'const units = Math.floor(');
    const ctx = buildCompletionContext(doc, cursor, { contextChars: 100_000 });
    expectWellFormed(doc, ctx, 100_000);
    expect(ctx.windowStart).toBe(0);
    expect(ctx.windowEnd).toBe(text.length);
    expect(ctx.prefix + ctx.suffix).toBe(text);
    expect(ctx.prefix.endsWith('const units = Math.floor(')).toBe(true);
    expect(ctx.suffix.startsWith('cents / 100);')).toBe(true);
    expect(ctx.header).toBe('');
    expect(ctx.language).toBe('typescript');
    expect(ctx.linePrefix).toBe('  const units = Math.floor(');
    expect(ctx.lineSuffix).toBe('cents / 100);');
    expect(ctx.indent).toBe('  ');
  });

  it('gives about three quarters to the prefix, cut at line starts and ends', () => {
    const text = readFileSync(ZOD_TYPES, 'utf8');
    const doc = openText(text, 'typescript', 'file:///zod/types.ts');
    const cursor = Math.floor(text.length / 2);
    const ctx = buildCompletionContext(doc, cursor, { contextChars: 4000 });
    expectWellFormed(doc, ctx, 4000);
    expect(ctx.windowStart).toBeGreaterThan(0);
    expect(ctx.windowEnd).toBeLessThan(text.length);
    expect(text[ctx.windowStart - 1]).toBe('\n');
    expect(text[ctx.windowEnd - 1]).toBe('\n');
    // Cut at the first line start inside the budget: one more line would not have fitted.
    const previousLineStart = text.lastIndexOf('\n', ctx.windowStart - 2) + 1;
    expect(cursor - previousLineStart + ctx.header.length).toBeGreaterThan(3000);
    expect(ctx.prefix.length + ctx.header.length).toBeLessThanOrEqual(3000);
    expect(ctx.prefix.length + ctx.header.length).toBeGreaterThan(2700);
    expect(ctx.suffix.length).toBeLessThanOrEqual(1000);
    expect(ctx.suffix.length).toBeGreaterThan(850);
  });

  it('gives the suffix budget it cannot use to the prefix, and the other way round', () => {
    const text = readFileSync(ZOD_TYPES, 'utf8');
    const doc = openText(text, 'typescript', 'file:///zod/types.ts');
    const nearEnd = buildCompletionContext(doc, text.length - 100, { contextChars: 4000 });
    expectWellFormed(doc, nearEnd, 4000);
    expect(nearEnd.windowEnd).toBe(text.length);
    expect(nearEnd.prefix.length + nearEnd.header.length).toBeGreaterThan(3700);

    const nearStart = buildCompletionContext(doc, 200, { contextChars: 4000 });
    expectWellFormed(doc, nearStart, 4000);
    expect(nearStart.windowStart).toBe(0);
    expect(nearStart.suffix.length).toBeGreaterThan(3600);
  });

  it('cuts inside the cursor line when that line alone is longer than the budget', () => {
    const line = 'export const data = "' + 'abcdefghij'.repeat(1000) + '";';
    const text = 'import { x } from "./x";\n' + line + '\nexport const y = 1;\n';
    const doc = openText(text);
    const cursor = at(text, '"abcdefghij', 1 + 5000);
    const ctx = buildCompletionContext(doc, cursor, { contextChars: 1000 });
    expectWellFormed(doc, ctx, 1000);
    expect(ctx.prefix.length + ctx.header.length).toBe(750);
    expect(ctx.suffix.length).toBe(250);
    expect(ctx.prefix.includes('\n')).toBe(false);
    expect(ctx.suffix.includes('\n')).toBe(false);
    expect(ctx.linePrefix).toBe(ctx.prefix);
    expect(ctx.lineSuffix).toBe(ctx.suffix);
    expect(ctx.wordPrefix).toBe(ctx.prefix); // all identifier characters, within the window
  });

  it('keeps whole lines after the cursor line and cuts mid-line only in it', () => {
    const text = 'a\n' + 'b'.repeat(50) + '\n' + 'c'.repeat(50) + '\n';
    const doc = openText(text, 'plaintext', 'file:///x.txt');
    // Cursor at the start of the b-line: the rest of that line (50) fits a 40-char suffix only mid-line.
    const ctx = buildCompletionContext(doc, 2, { contextChars: 160 });
    expectWellFormed(doc, ctx, 160);
    expect(ctx.prefix).toBe('a\n');
    // Prefix needs only 2; the suffix gets the rest (158): the b-line and its newline, and no partial c-line.
    expect(ctx.suffix).toBe('b'.repeat(50) + '\n' + 'c'.repeat(50) + '\n');
    const tight = buildCompletionContext(doc, 2, { contextChars: 80 });
    expectWellFormed(doc, tight, 80);
    expect(tight.suffix).toBe('b'.repeat(50) + '\n');
  });

  it('handles a zero or tiny budget and cursors at the ends of the document', () => {
    const doc = openFixture('js');
    const text = doc.textDocument.getText();
    for (const contextChars of [0, 1, 7, 64]) {
      for (const offset of [0, 1, text.length - 1, text.length, -5, text.length + 10]) {
        const ctx = buildCompletionContext(doc, offset, { contextChars });
        expectWellFormed(doc, ctx, contextChars);
        expect(ctx.cursorOffset).toBe(Math.min(Math.max(offset, 0), text.length));
      }
    }
    const empty = openText('', 'typescript');
    const ctx = buildCompletionContext(empty, 0, { contextChars: 100 });
    const { prefix, suffix, header, linePrefix, lineSuffix, wordPrefix } = ctx;
    expect([prefix, suffix, header, linePrefix, lineSuffix, wordPrefix]).toEqual(['', '', '', '', '', '']);
  });

  it('keeps the invariants at random positions of real files, with several budgets', () => {
    const store = new DocumentStore();
    const docs = [
      store.open('file:///zod/types.ts', 'typescript', 1, readFileSync(ZOD_TYPES, 'utf8')),
      openFixture('ts', store),
      openFixture('tsx', store),
      openFixture('js', store),
      openFixture('py', store),
    ];
    const next = random(7);
    let withHeader = 0;
    for (const doc of docs) {
      const length = doc.textDocument.getText().length;
      for (const contextChars of [200, 1500, 6000]) {
        for (let i = 0; i < 60; i++) {
          const ctx = buildCompletionContext(doc, Math.floor(next() * (length + 1)), { contextChars });
          expectWellFormed(doc, ctx, contextChars);
          expect(ctx.header.length).toBeLessThanOrEqual(Math.floor(contextChars / 4));
          if (ctx.header) withHeader++;
        }
      }
    }
    expect(withHeader).toBeGreaterThan(100); // the header is not an edge case on real files
  });

  it('works on plain text: no grammar, no header, same windows', () => {
    const doc = openFixture('py');
    const text = doc.textDocument.getText();
    expect(doc.tree).toBeUndefined();
    const cursor = after(text, 'return [n for n in self.notes if tag');
    const ctx = buildCompletionContext(doc, cursor, { contextChars: 300 });
    expectWellFormed(doc, ctx, 300);
    expect(ctx.language).toBeUndefined();
    expect(ctx.languageId).toBe(FIXTURE.py.languageId);
    expect(ctx.header).toBe('');
    expect(ctx.windowStart).toBeGreaterThan(0);
    expect(ctx.prefix.length).toBeGreaterThan(150);
    expect(ctx.linePrefix).toBe('        return [n for n in self.notes if tag');
    expect(ctx.lineSuffix).toBe(' in n.tags]');
    expect(ctx.wordPrefix).toBe('tag');
    expect(ctx.indent).toBe('        ');
  });

  it('cuts CRLF documents after the line feed and keeps the carriage return out of the line suffix', () => {
    const lines = Array.from({ length: 40 }, (_, i) => `  const value${i} = compute(${i});`);
    const text = 'function f() {\r\n' + lines.join('\r\n') + '\r\n}\r\n';
    const doc = openText(text);
    const cursor = after(text, 'const value20 = compute(');
    const ctx = buildCompletionContext(doc, cursor, { contextChars: 400 });
    expectWellFormed(doc, ctx, 400);
    expect(text.slice(ctx.windowStart - 2, ctx.windowStart)).toBe('\r\n');
    expect(text.slice(ctx.windowEnd - 2, ctx.windowEnd)).toBe('\r\n');
    expect(ctx.lineSuffix).toBe('20);');
    expect(ctx.header).toBe('function f() {\n');
    // A cursor between \r and \n lands before the \r.
    const eol = at(text, '20);\r\n', 5);
    expect(buildCompletionContext(doc, eol, { contextChars: 400 }).cursorOffset).toBe(eol - 1);
  });
});

describe('UTF-16 surrogate pairs', () => {
  it('splits exactly between characters around the cursor', () => {
    const text = 'const faces = ["😀", "😎"];\nconst s = "😀😎";\n';
    const doc = openText(text);
    const cursor = at(text, '😀😎', 2); // between the two emoji
    const ctx = buildCompletionContext(doc, cursor, { contextChars: 1000 });
    expectWellFormed(doc, ctx, 1000);
    expect(ctx.cursorOffset).toBe(cursor);
    expect(ctx.linePrefix).toBe('const s = "😀');
    expect(ctx.lineSuffix).toBe('😎";');
  });

  it('moves a cursor inside a pair to before the pair', () => {
    const text = 'const s = "a😀b";\n';
    const doc = openText(text);
    const inside = at(text, '😀', 1);
    const ctx = buildCompletionContext(doc, inside, { contextChars: 1000 });
    expect(ctx.cursorOffset).toBe(inside - 1);
    expect(ctx.linePrefix).toBe('const s = "a');
    expect(ctx.lineSuffix).toBe('😀b";');
  });

  it('never cuts a pair when the window cuts mid-line', () => {
    const text = 'const s = "' + '😀'.repeat(500) + '";\n';
    const doc = openText(text);
    for (const contextChars of [9, 10, 11, 101, 333]) {
      for (const delta of [0, 2, 20, 500]) {
        const ctx = buildCompletionContext(doc, at(text, '"😀', 1) + delta, { contextChars });
        expectWellFormed(doc, ctx, contextChars);
        expect(ctx.prefix).not.toMatch(/^[\uDC00-\uDFFF]/);
        expect(ctx.suffix).not.toMatch(/[\uD800-\uDBFF]$/);
      }
    }
  });

  it('reads identifiers outside the BMP as the word being typed', () => {
    const text = 'const 𝑥𝑦 = 1;\nconsole.log(𝑥';
    const doc = openText(text);
    const ctx = buildCompletionContext(doc, text.length, { contextChars: 1000 });
    expect(ctx.wordPrefix).toBe('𝑥');
  });
});
