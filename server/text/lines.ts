/**
 * Backward scans that cannot loop. `String.prototype.lastIndexOf(s, from)` clamps a negative `from` to 0, so
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
