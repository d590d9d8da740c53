import { describe, expect, it } from 'vitest';
import { lastIndexBefore, lineStartOf } from '../../../server/text/lines.js';
import { lineAboveNotBlank, linesAbove } from '../../../server/engine/postprocess/text.js';

describe('backward scans', () => {
  it('find nothing before position 0, even when the text starts with the searched string', () => {
    expect(lastIndexBefore('\nabc', '\n', 0)).toBe(-1);
    expect('\nabc'.lastIndexOf('\n', -1)).toBe(0); // the trap: a negative start is clamped to 0
    expect(lastIndexBefore('\nabc', '\n', 1)).toBe(0);
    expect(lastIndexBefore('a\nb\nc', '\n', 4)).toBe(3);
    expect(lastIndexBefore('a\nb\nc', '\n', 3)).toBe(1);
  });

  it('give each position its line start', () => {
    const text = '\nab\n\ncd';
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((p) => lineStartOf(text, p))).toEqual([0, 1, 1, 1, 4, 5, 5, 5]);
  });

  it('lines above a cursor on text that starts with line breaks (this hung the server)', () => {
    expect(lineAboveNotBlank('\n')).toBeUndefined();
    expect(lineAboveNotBlank('\n\n  \n')).toBeUndefined();
    expect(lineAboveNotBlank('x\n\n')).toBe('x');
    expect(linesAbove('\n', 5)).toEqual(['']);
    expect(linesAbove('\r\n\r\n', 5)).toEqual(['', '']);
    expect(linesAbove('a\nb\n', 1)).toEqual(['b']);
  });
});
