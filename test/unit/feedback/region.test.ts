import { describe, expect, it } from 'vitest';
import { Region, followPoint, narrowReplacement, type TextEdit } from '../../../server/feedback/region.js';

function apply(text: string, edit: TextEdit): string {
  return text.slice(0, edit.start) + edit.text + text.slice(edit.end);
}

/** Follows a region through the edit and returns its text before and after. */
function follow(text: string, start: number, end: number, edit: TextEdit, growAtEnd = false) {
  const region = new Region(start, end, growAtEnd);
  region.apply(edit);
  const after = apply(text, edit);
  return { region: [region.start, region.end], text: after.slice(region.start, region.end) };
}

/** A seeded pseudo-random sequence so failures reproduce. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

describe('Region', () => {
  // "total" at 6..11
  const text = 'const total = items.length;';

  it('shifts with edits before it, including an insertion at its start', () => {
    expect(follow(text, 6, 11, { start: 0, end: 5, text: 'let' }).text).toBe('total');
    expect(follow(text, 6, 11, { start: 0, end: 0, text: '// sum\n' }).text).toBe('total');
    expect(follow(text, 6, 11, { start: 6, end: 6, text: 'my' })).toEqual({ region: [8, 13], text: 'total' });
    // A deletion that ends at its start.
    expect(follow(text, 6, 11, { start: 5, end: 6, text: '' })).toEqual({ region: [5, 10], text: 'total' });
  });

  it('stays with edits after it; an insertion at its end is outside unless it grows at its end', () => {
    expect(follow(text, 6, 11, { start: 14, end: 19, text: 'list' }).text).toBe('total');
    expect(follow(text, 6, 11, { start: 11, end: 11, text: 'Count' }).text).toBe('total');
    expect(follow(text, 6, 11, { start: 11, end: 11, text: 'Count' }, true).text).toBe('totalCount');
    // Typing over what follows (a replacement starting at its end) belongs to a growing region too.
    expect(follow(text, 6, 11, { start: 11, end: 13, text: ' +' }, true).text).toBe('total +');
    expect(follow(text, 6, 11, { start: 11, end: 13, text: ' +' }).text).toBe('total');
  });

  it('grows and shrinks with edits inside it', () => {
    expect(follow(text, 6, 11, { start: 8, end: 8, text: 'ooo' }).text).toBe('tooootal');
    expect(follow(text, 6, 11, { start: 7, end: 10, text: '' }).text).toBe('tl');
    // Replacing exactly the region is an edit inside it: the new text is the region.
    expect(follow(text, 6, 11, { start: 6, end: 11, text: 'sum' })).toEqual({ region: [6, 9], text: 'sum' });
  });

  it('an edit covering it leaves the new text, or an empty region that takes the next insertion', () => {
    expect(follow(text, 6, 11, { start: 0, end: 13, text: 'x =' })).toEqual({ region: [0, 3], text: 'x =' });
    const gone = new Region(6, 11);
    gone.apply({ start: 6, end: 11, text: '' });
    expect([gone.start, gone.end]).toEqual([6, 6]);
    // Undone, then something else written there: that is what stands in the region now.
    gone.apply({ start: 6, end: 6, text: 'n' });
    gone.apply({ start: 7, end: 7, text: 'um' });
    expect([gone.start, gone.end]).toEqual([6, 7]);
    const empty = new Region(6, 6);
    empty.apply({ start: 6, end: 6, text: 'num' });
    expect([empty.start, empty.end]).toEqual([6, 9]);
  });

  it('an edit overlapping one side takes that side with its text', () => {
    // 'const ' + 'total' → replace 'st tot' (3..9) with 'x'
    expect(follow(text, 6, 11, { start: 3, end: 9, text: 'x' }).text).toBe('xal');
    expect(follow(text, 6, 11, { start: 9, end: 15, text: 'ALS' }).text).toBe('totALS');
  });

  it('keeps its text through random edits away from it, follows edits inside it, becomes what covers it', () => {
    const random = rng(11);
    const alphabet = 'ab\n(){};x ';
    const word = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let round = 0; round < 2000; round++) {
      const base = word(5 + Math.floor(random() * 40));
      const a = Math.floor(random() * base.length);
      const b = a + Math.floor(random() * (base.length - a + 1));
      const s = Math.floor(random() * (base.length + 1));
      const e = s + Math.floor(random() * (base.length - s + 1));
      const edit = { start: s, end: e, text: word(Math.floor(random() * 4)) };
      const grow = random() < 0.5;
      const got = follow(base, a, b, edit, grow);
      const inside = base.slice(a, b);
      if (e < a || s > b) expect(got.text).toBe(inside);
      else if (a < s && e < b) expect(got.text).toBe(inside.slice(0, s - a) + edit.text + inside.slice(e - a));
      else if (s < a && e > b) expect(got.text).toBe(edit.text);
      expect(got.region[0]).toBeGreaterThanOrEqual(0);
      expect(got.region[1]).toBeGreaterThanOrEqual(got.region[0]!);
      expect(got.region[1]).toBeLessThanOrEqual(apply(base, edit).length);
    }
  });
});

describe('followPoint', () => {
  it('stays before an insertion at it, moves with edits before it, stays inside a replaced range', () => {
    expect(followPoint(10, { start: 10, end: 10, text: 'abc' })).toBe(10);
    expect(followPoint(10, { start: 2, end: 4, text: '' })).toBe(8);
    expect(followPoint(10, { start: 2, end: 10, text: 'x' })).toBe(3);
    expect(followPoint(10, { start: 11, end: 12, text: 'x' })).toBe(10);
    // A popup item replacing the typed word and the rest of the line keeps the cursor's offset.
    expect(followPoint(10, { start: 8, end: 12, text: 'items.length;' })).toBe(10);
    expect(followPoint(10, { start: 8, end: 12, text: 'i' })).toBe(9);
  });
});

describe('narrowReplacement', () => {
  it('finds the keystroke in a full-text replacement', () => {
    expect(narrowReplacement('const a = 1;', 'const ab = 1;')).toEqual({ start: 7, end: 7, text: 'b' });
    expect(narrowReplacement('const a = 1;', 'const = 1;')).toEqual({ start: 6, end: 8, text: '' });
    expect(narrowReplacement('same', 'same')).toEqual({ start: 4, end: 4, text: '' });
    expect(narrowReplacement('', 'new')).toEqual({ start: 0, end: 0, text: 'new' });
    // Typing a character beside the same character: the rightmost of the equal edits.
    expect(narrowReplacement('aaa', 'aaaa')).toEqual({ start: 3, end: 3, text: 'a' });
  });

  it('applied to the old text gives the new text', () => {
    const random = rng(5);
    const pick = (n: number) => Array.from({ length: n }, () => 'ab\r\n'[Math.floor(random() * 4)]).join('');
    for (let round = 0; round < 1000; round++) {
      const before = pick(Math.floor(random() * 20));
      const after = pick(Math.floor(random() * 20));
      const edit = narrowReplacement(before, after);
      expect(apply(before, edit)).toBe(after);
      expect(edit.start).toBeLessThanOrEqual(edit.end);
    }
  });
});
