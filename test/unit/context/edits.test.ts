import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCompletionContext } from '../../../server/context/context-builder.js';
import type { CompletionContext } from '../../../server/context/types.js';
import { DocumentStore, type OpenDocument } from '../../../server/documents/document-store.js';
import { after, expectWellFormed, FIXTURE, fixtureText, random, ZOD_TYPES } from './fixtures.js';

const REPORT = '  async report(filter: SkuFilter = {}): Promise<string> {';

/** The context of a freshly opened copy of `doc`'s text: what the incremental path must agree with. */
function fresh(doc: OpenDocument, offset: number, contextChars: number): CompletionContext {
  let copy = new DocumentStore().open(doc.uri, doc.languageId, doc.version, doc.textDocument.getText());
  // A loaded machine (tests beside a real llama-server) can push a 170 KB parse past its time budget: that is the
  // budget at work, not a disagreement, so the reference is parsed again.
  for (let tries = 0; copy.plainTextReason === 'parse-timeout' && tries < 3; tries++)
    copy = new DocumentStore().open(doc.uri, doc.languageId, doc.version, doc.textDocument.getText());
  return buildCompletionContext(copy, offset, { contextChars });
}

function insert(store: DocumentStore, doc: OpenDocument, offset: number, text: string): OpenDocument {
  const pos = doc.textDocument.positionAt(offset);
  return store.change(doc.uri, doc.version + 1, [{ range: { start: pos, end: pos }, text }])!;
}

function replace(store: DocumentStore, doc: OpenDocument, from: number, to: number, text: string): OpenDocument {
  const range = { start: doc.textDocument.positionAt(from), end: doc.textDocument.positionAt(to) };
  return store.change(doc.uri, doc.version + 1, [{ range, text }])!;
}

describe('contexts after edits through DocumentStore.change', () => {
  it('follow edits before the window, in the header and in the imports', () => {
    const store = new DocumentStore();
    const f = FIXTURE.ts;
    let doc = store.open(f.uri, f.languageId, 1, fixtureText('ts'));
    const cursorOf = (d: OpenDocument) => after(d.textDocument.getText(), "return [...header, '', ...lines]");
    const first = buildCompletionContext(doc, cursorOf(doc), { contextChars: 1200 });
    expect(first.header).toContain(REPORT);

    // Rename the method: its header is outside the window, only the tree and the text say so.
    let text = doc.textDocument.getText();
    doc = replace(store, doc, text.indexOf('async report(') + 6, text.indexOf('async report(') + 12, 'summary');
    let ctx = buildCompletionContext(doc, cursorOf(doc), { contextChars: 1200 });
    expect(ctx.header).toContain('  async summary(filter: SkuFilter = {}): Promise<string> {\n');
    expect(ctx.header).not.toContain('report');
    expect(ctx).toEqual(fresh(doc, cursorOf(doc), 1200));

    // A new method before it: the class header stays, the cursor's method stays.
    text = doc.textDocument.getText();
    const checks = Array.from({ length: 30 }, (_, i) => `    this.logger.info('check ${i}');`);
    const method = ['  audit(): string[] {', ...checks, '    return [];', '  }', '', ''].join('\n');
    doc = insert(store, doc, text.indexOf('  async summary('), method);
    ctx = buildCompletionContext(doc, cursorOf(doc), { contextChars: 1200 });
    expect(ctx.header).toContain('export class InventoryService extends EventEmitter implements Disposable {\n');
    expect(ctx).toEqual(fresh(doc, cursorOf(doc), 1200));

    // A new import at the top, then an edit to an existing one: the header's imports follow.
    doc = insert(store, doc, 0, "import { strict as assert } from 'node:assert';\n");
    ctx = buildCompletionContext(doc, cursorOf(doc), { contextChars: 1200 });
    expect(ctx.header.startsWith("import { strict as assert } from 'node:assert';\n")).toBe(true);
    expect(ctx).toEqual(fresh(doc, cursorOf(doc), 1200));
    text = doc.textDocument.getText();
    const crypto = text.indexOf("'node:crypto'");
    doc = replace(store, doc, crypto, crypto + 13, "'node:crypto' with { type: 'native' }");
    ctx = buildCompletionContext(doc, cursorOf(doc), { contextChars: 1200 });
    expect(ctx.header).toContain("import { createHash } from 'node:crypto' with { type: 'native' };\n");
    expect(ctx).toEqual(fresh(doc, cursorOf(doc), 1200));

    // Removing the imports: none left to show.
    text = doc.textDocument.getText();
    doc = replace(store, doc, 0, text.indexOf('/** A stock-keeping unit'), '');
    ctx = buildCompletionContext(doc, cursorOf(doc), { contextChars: 1200 });
    expect(ctx.header).not.toContain('import');
    expect(ctx).toEqual(fresh(doc, cursorOf(doc), 1200));
  });

  it('follow typing at the cursor, one character at a time (with auto-closed brackets and quotes)', () => {
    const store = new DocumentStore();
    const f = FIXTURE.ts;
    let doc = store.open(f.uri, f.languageId, 1, fixtureText('ts'));
    let cursor = after(doc.textDocument.getText(), 'let totalValue = 0;');
    const typed = '\n    if (filter.tag) {\n      this.logger.debug(`report for ${filter.tag}`);\n    }';
    const pairs: Record<string, string> = { '(': ')', '{': '}', '[': ']', '`': '`' };
    for (const ch of typed) {
      const text = doc.textDocument.getText();
      if (text[cursor] === ch && (ch === ')' || ch === '}' || ch === ']' || ch === '`')) {
        cursor++; // the editor steps over the closer it inserted
      } else {
        doc = insert(store, doc, cursor, ch + (pairs[ch] ?? ''));
        cursor += ch.length;
      }
      const ctx = buildCompletionContext(doc, cursor, { contextChars: 400 });
      expectWellFormed(doc, ctx, 400);
      expect(ctx).toEqual(fresh(doc, cursor, 400));
      expect(ctx.header).toContain(REPORT);
    }
    expect(doc.textDocument.getText()).toContain('let totalValue = 0;' + typed + '\n');
  });

  it('follow typing when the code is broken for a moment (the incremental tree agrees with a fresh parse)', () => {
    const store = new DocumentStore();
    const f = FIXTURE.ts;
    let doc = store.open(f.uri, f.languageId, 1, fixtureText('ts'));
    let cursor = after(doc.textDocument.getText(), 'let totalValue = 0;');
    for (const ch of '\n    const label = `total: ${totalValue}`;') {
      doc = insert(store, doc, cursor, ch);
      cursor++;
      const ctx = buildCompletionContext(doc, cursor, { contextChars: 400 });
      expectWellFormed(doc, ctx, 400);
      expect(ctx).toEqual(fresh(doc, cursor, 400));
    }
    expect(buildCompletionContext(doc, cursor, { contextChars: 400 }).header).toContain(REPORT);
  });

  it('agree with a fresh parse after random edits to a large file', () => {
    const store = new DocumentStore();
    let doc = store.open('file:///zod/types.ts', 'typescript', 1, readFileSync(ZOD_TYPES, 'utf8'));
    const next = random(11);
    const snippets = ['x', '\n', '  ', '{', '}', '😀', ''];
    snippets.push('import { z } from "zod";\n', 'class A {\n  m() {\n', '\n  }\n}\n');
    for (let i = 0; i < 15; i++) {
      const length = doc.textDocument.getText().length;
      const from = Math.floor(next() * length);
      const to = Math.min(length, from + Math.floor(next() * 40));
      doc = replace(store, doc, from, next() < 0.5 ? from : to, snippets[Math.floor(next() * snippets.length)]!);
      for (const contextChars of [800, 6000]) {
        const offset = Math.floor(next() * (doc.textDocument.getText().length + 1));
        const ctx = buildCompletionContext(doc, offset, { contextChars });
        expectWellFormed(doc, ctx, contextChars);
        expect(ctx).toEqual(fresh(doc, offset, contextChars));
      }
    }
  });
});
