import { describe, expect, it } from 'vitest';
import { byteBound, cutBack, cutFront, fitParts, pieceMap } from '../../../server/models/llama-context.js';

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}\n`).join('');

describe('cutting to a token budget', () => {
  it('cuts the front at a line start and keeps the end, within the budget', () => {
    const text = lines(0, 100);
    for (const budget of [1, 7, 50, 333, 700]) {
      const kept = cutFront(text, byteBound(text), budget);
      expect(text.endsWith(kept)).toBe(true);
      expect(byteBound(kept).count).toBeLessThanOrEqual(budget);
      if (kept !== '') expect(text[text.length - kept.length - 1]).toBe('\n');
    }
    expect(cutFront(text, byteBound(text), 10_000)).toBe(text);
  });

  it('cuts the back at a line end and keeps the start, within the budget', () => {
    const text = lines(0, 100);
    for (const budget of [3, 50, 333]) {
      const kept = cutBack(text, byteBound(text), budget);
      expect(text.startsWith(kept)).toBe(true);
      expect(byteBound(kept).count).toBeLessThanOrEqual(budget);
      // Where a whole line fits, the cut is at a line end; otherwise inside the first line.
      if (budget > 'line 0\n'.length) expect(kept.endsWith('\n')).toBe(true);
    }
  });

  it('cuts one long line inside it, never inside a UTF-8 character', () => {
    const text = 'é'.repeat(100);
    const kept = cutFront(text, byteBound(text), 51);
    expect(text.endsWith(kept)).toBe(true);
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(50);
    expect(kept).toMatch(/^é+$/);
  });

  it("maps /tokenize pieces (strings and bytes, a space added in front) to the text's bytes", () => {
    const text = 'ab\ncd\n';
    // " ab" carries the tokenizer's space; "\n" and "c" are single tokens, "d\n" is given as bytes.
    const map = pieceMap(text, [' ab', '\n', 'c', [100, 10]]);
    expect(map.count).toBe(4);
    expect(cutFront(text, map, 2)).toBe('cd\n');
    expect(cutBack(text, map, 2)).toBe('ab\n');
  });

  it('gives the prefix three quarters of an overfull budget, and a short prefix its share to the suffix', () => {
    const prefix = lines(0, 200);
    const suffix = lines(200, 400);
    const fitted = fitParts(prefix, suffix, { prefix: byteBound(prefix), suffix: byteBound(suffix) }, 400);
    expect(byteBound(fitted.prefix).count).toBeGreaterThan(250);
    expect(byteBound(fitted.prefix).count + byteBound(fitted.suffix).count).toBeLessThanOrEqual(400);
    const short = fitParts('x = 1\n', suffix, { prefix: byteBound('x = 1\n'), suffix: byteBound(suffix) }, 400);
    expect(short.prefix).toBe('x = 1\n');
    expect(byteBound(short.suffix).count).toBeGreaterThan(300);
  });
});
