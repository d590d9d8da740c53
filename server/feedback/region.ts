/**
 * Following a span of a document through its edits, in UTF-16 offsets. Pure arithmetic: no text is read.
 *
 * An edit `{ start, end, text }` replaces the characters [start, end) of the text *before* it with `text`; the
 * edits of one didChange come in order, each in the coordinates left by the one before.
 *
 * A `Region` [start, end] moves with the text around it:
 *   - an edit wholly before it (ending at or before its start) shifts it;
 *   - an edit wholly after it (starting at or after its end) leaves it, except that a *growing* region takes an
 *     insertion or replacement that starts at its end (the user typing on at the end of what they typed);
 *   - an insertion at its start goes before it (it is not the region's text), unless the region is empty: an
 *     empty region takes what is inserted at its place (accepted text removed, then something written there);
 *   - an edit inside it (touching neither side from outside) grows or shrinks it;
 *   - an edit overlapping one side takes the replaced side with its new text;
 *   - an edit that covers the whole region leaves the new text as the region (empty when it deleted).
 * A point (`followPoint`) stays before an insertion at it, moves with edits before it, and inside a replaced
 * range keeps its distance from the range's start as far as the new text allows.
 */

/** One change, in offsets of the text before it. */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export class Region {
  /**
   * @param growAtEnd whether text put at the end belongs to the region (what the user typed at a place: yes;
   *   an accepted text: no, what follows it is the user's next code)
   */
  constructor(
    public start: number,
    public end: number,
    readonly growAtEnd = false,
  ) {}

  get length(): number {
    return this.end - this.start;
  }

  /** Whether the edit changes the region's text or touches one of its ends. */
  touchedBy(edit: TextEdit): boolean {
    return edit.start <= this.end && edit.end >= this.start;
  }

  apply(edit: TextEdit): void {
    const s = edit.start;
    const e = edit.end;
    const inserted = edit.text.length;
    const delta = inserted - (e - s);
    const a = this.start;
    const b = this.end;
    if (s === e) {
      if (s < a || (s === a && a < b)) {
        this.start = a + delta;
        this.end = b + delta;
      } else if (s === a || s < b || (s === b && this.growAtEnd)) this.end = b + inserted;
      return;
    }
    if (e <= a) {
      this.start = a + delta;
      this.end = b + delta;
    } else if (s >= b) {
      if (s === b && this.growAtEnd) this.end = s + inserted;
    } else if (s >= a && e <= b) this.end = b + delta;
    else if (s < a && e < b) {
      this.start = s;
      this.end = b + delta;
    } else if (s > a && e > b) this.end = s + inserted;
    else {
      this.start = s;
      this.end = s + inserted;
    }
  }
}

/** Where an offset goes through an edit (see the module comment). */
export function followPoint(offset: number, edit: TextEdit): number {
  if (offset <= edit.start) return offset;
  if (offset >= edit.end) return offset + edit.text.length - (edit.end - edit.start);
  return Math.min(offset, edit.start + edit.text.length);
}

export { narrowReplacement } from '../text/lines.js';
