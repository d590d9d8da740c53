import { describe, expect, it } from 'vitest';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { negotiateEncoding, offsetOf, positionOf } from '../../../server/documents/position-encoding.js';

const doc = TextDocument.create('file:///a.ts', 'typescript', 1, 'const s = "é😀x";\nnext\n');

describe('position encodings', () => {
  it('negotiates utf-16 when offered or unspecified, else utf-8/utf-32', () => {
    expect(negotiateEncoding(undefined)).toBe('utf-16');
    expect(negotiateEncoding(['utf-8', 'utf-16'])).toBe('utf-16');
    expect(negotiateEncoding(['utf-8'])).toBe('utf-8');
    expect(negotiateEncoding(['utf-32', 'utf-8'])).toBe('utf-32');
  });

  it('maps utf-8 columns across multi-byte characters', () => {
    const x = doc.getText().indexOf('x');
    // 'const s = "' is 11 bytes, é is 2, 😀 is 4.
    expect(offsetOf(doc, { line: 0, character: 17 }, 'utf-8')).toBe(x);
    expect(positionOf(doc, x, 'utf-8')).toEqual({ line: 0, character: 17 });
  });

  it('maps utf-32 columns (code points)', () => {
    const x = doc.getText().indexOf('x');
    expect(offsetOf(doc, { line: 0, character: 13 }, 'utf-32')).toBe(x);
    expect(positionOf(doc, x, 'utf-32')).toEqual({ line: 0, character: 13 });
  });

  it('clamps positions beyond the line or the document', () => {
    expect(offsetOf(doc, { line: 1, character: 99 }, 'utf-8')).toBe(doc.getText().indexOf('next') + 4);
    expect(offsetOf(doc, { line: 99, character: 0 }, 'utf-16')).toBe(doc.getText().length);
    expect(offsetOf(doc, { line: -3, character: -1 }, 'utf-32')).toBe(0);
  });
});
