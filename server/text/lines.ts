/**
 * Line helpers over plain strings. Backward scans that cannot loop: `String.prototype.lastIndexOf(s, from)` clamps a negative `from` to 0, so
 * `lastIndexOf('\n', pos - 1)` at `pos` 0 still finds a newline at index 0: a loop stepping back with it never
 * ends on a text that starts with '\n' (issue 10: a document of one Enter hung the server). Every backward scan
 * for a line start goes through these.
 */

/** The index of the last `search` that starts before `pos`, or -1 (never an index >= `pos`). */
export function lastIndexBefore(text: string, search: string, pos: number): number {
  return pos <= 0 ? -1 : text.lastIndexOf(search, pos - 1);
}

/** The offset where the line holding `pos` starts. */
export function lineStartOf(text: string, pos: number): number {
  return lastIndexBefore(text, '\n', pos) + 1;
}

/**
 * The smallest single edit that turns `before` into `after` (their common start and end kept). A full-text
 * replacement, as editors with full document sync send on every keystroke, covers every region; narrowed it is
 * the keystroke, and regions away from it keep their place. Of several equally small edits (typing a character
 * next to the same character) the one furthest right is chosen.
 */
export function narrowReplacement(before: string, after: string): { start: number; end: number; text: string } {
  const shorter = Math.min(before.length, after.length);
  let prefix = 0;
  while (prefix < shorter && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (
    suffix < shorter - prefix &&
    before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
  )
    suffix++;
  return { start: prefix, end: before.length - suffix, text: after.slice(prefix, after.length - suffix) };
}
