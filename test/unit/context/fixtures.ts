import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { DocumentStore, type OpenDocument } from '../../../server/documents/document-store.js';
import type { CompletionContext } from '../../../server/context/types.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/context/', import.meta.url));

/**
 * Realistic sources for the context tests. The TypeScript one is stored as .ts.txt so that `tsc -p .` (which
 * includes test/**) does not type-check it; it is opened under a .ts URI.
 */
export const FIXTURE = {
  ts: { file: 'inventory-service.ts.txt', uri: 'file:///work/src/inventory-service.ts', languageId: 'typescript' },
  tsx: { file: 'order-table.tsx', uri: 'file:///work/src/order-table.tsx', languageId: 'typescriptreact' },
  js: { file: 'http-router.js', uri: 'file:///work/src/http-router.js', languageId: 'javascript' },
  py: { file: 'notes.py', uri: 'file:///work/src/notes.py', languageId: 'python' },
} as const;

export const ZOD_TYPES = fileURLToPath(new URL('../../../node_modules/zod/src/v3/types.ts', import.meta.url));

export function fixtureText(name: keyof typeof FIXTURE): string {
  return readFileSync(FIXTURES + FIXTURE[name].file, 'utf8');
}

export function openFixture(name: keyof typeof FIXTURE, store = new DocumentStore()): OpenDocument {
  const f = FIXTURE[name];
  return store.open(f.uri, f.languageId, 1, fixtureText(name));
}

export function openText(text: string, languageId = 'typescript', uri = 'file:///work/src/sample.ts'): OpenDocument {
  return new DocumentStore().open(uri, languageId, 1, text);
}

/** Offset of `marker` in `text` (which must occur once), plus `delta`. */
export function at(text: string, marker: string, delta = 0): number {
  const i = text.indexOf(marker);
  if (i < 0) throw new Error(`marker not found: ${marker}`);
  if (text.indexOf(marker, i + 1) >= 0) throw new Error(`marker not unique: ${marker}`);
  return i + delta;
}

/** Offset just after `marker`. */
export function after(text: string, marker: string): number {
  return at(text, marker, marker.length);
}

/** A small deterministic generator, so that a failing position can be replayed. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The invariants every context must keep, whatever the document and the position. */
export function expectWellFormed(doc: OpenDocument, ctx: CompletionContext, contextChars: number): void {
  const text = doc.textDocument.getText();
  const { windowStart, windowEnd, cursorOffset: cursor } = ctx;
  expect(windowStart).toBeGreaterThanOrEqual(0);
  expect(windowStart).toBeLessThanOrEqual(cursor);
  expect(windowEnd).toBeGreaterThanOrEqual(cursor);
  expect(windowEnd).toBeLessThanOrEqual(text.length);
  // The split at the cursor is exact.
  expect(ctx.prefix).toBe(text.slice(windowStart, cursor));
  expect(ctx.suffix).toBe(text.slice(cursor, windowEnd));
  // The budget holds for everything the model sees.
  expect(ctx.header.length + ctx.prefix.length + ctx.suffix.length).toBeLessThanOrEqual(contextChars);
  // Cuts fall on line boundaries, except inside the cursor's own line when that line alone is over budget.
  const lineStart = Math.max(text.lastIndexOf('\n', cursor - 1) + 1, 0);
  const nl = text.indexOf('\n', cursor);
  const lineEnd = nl < 0 ? text.length : nl;
  if (windowStart > 0 && windowStart <= lineStart) expect(text[windowStart - 1]).toBe('\n');
  if (windowEnd < text.length && windowEnd > lineEnd) expect(text[windowEnd - 1]).toBe('\n');
  // Never half a surrogate pair at a cut.
  expect(isLow(text.charCodeAt(windowStart)) && isHigh(text.charCodeAt(windowStart - 1))).toBe(false);
  expect(isLow(text.charCodeAt(windowEnd)) && isHigh(text.charCodeAt(windowEnd - 1))).toBe(false);
  // The cursor line, split at the cursor (within the window).
  expect(ctx.linePrefix).toBe(text.slice(Math.max(lineStart, windowStart), cursor));
  expect(ctx.lineSuffix).toBe(text.slice(cursor, Math.min(lineEnd, windowEnd)).replace(/\r$/, ''));
  expect(ctx.prefix.endsWith(ctx.linePrefix)).toBe(true);
  expect(ctx.suffix.startsWith(ctx.lineSuffix)).toBe(true);
  expect(ctx.linePrefix.endsWith(ctx.wordPrefix)).toBe(true);
  expect(ctx.header === '' || ctx.header.endsWith('\n')).toBe(true);
  expect(ctx.uri).toBe(doc.uri);
  expect(ctx.version).toBe(doc.version);
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
