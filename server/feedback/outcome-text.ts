/**
 * The outcome tracker's measurements of a document's text, in UTF-16 offsets: how much of a suggestion stands at
 * a place (a CRLF document's '\r\n' matching the suggestion's '\n'), a text's line count, and the slices read
 * for the retention check and the capture (bounded: never more than a limit is sliced or compared).
 */
import { editDistance } from '../engine/fusion/similarity.js';

/** A span of the document, [start, end). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * How much of `text` stands in `doc` from `pos` (not past `limit`): characters of `text` matched and of `doc`
 * consumed; a '\r\n' in the document matches a '\n' of the text.
 */
export function matchAt(doc: string, pos: number, text: string, limit = doc.length): { text: number; doc: number } {
  let i = 0;
  let j = pos;
  if (pos < 0) return { text: 0, doc: 0 };
  const end = Math.min(limit, doc.length);
  while (i < text.length && j < end) {
    const c = text.charCodeAt(i);
    const d = doc.charCodeAt(j);
    if (c === d) {
      i++;
      j++;
    } else if (c === 10 && d === 13 && j + 1 < end && doc.charCodeAt(j + 1) === 10) {
      i++;
      j += 2;
    } else break;
  }
  return { text: i, doc: j - pos };
}

export function lineCount(text: string): number {
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
}

/** A slice of the text with '\r\n' as '\n', at most `max` characters. */
function sliceText(text: string, span: Span, max: number): string {
  const from = Math.max(0, Math.min(span.start, text.length));
  const to = Math.max(from, Math.min(span.end, text.length, from + max));
  const slice = text.slice(from, to);
  return slice.includes('\r') ? slice.replace(/\r\n/g, '\n') : slice;
}

/** The first `lines` lines of `text` (without the line break that would start the next). */
function firstLines(text: string, lines: number): string {
  let at = -1;
  for (let n = 0; n < lines; n++) {
    at = text.indexOf('\n', at + 1);
    if (at < 0) return text;
  }
  return text.slice(0, at);
}

/** Above this, a region's distance is not computed: its length difference alone says it is not retained. */
const MAX_COMPARED_CHARS = 64 * 1024;

/** The edit distance between `accepted` and what stands in `span` of `text` now, over `accepted`'s length. */
export function retentionDistanceRatio(accepted: string, text: string, span: Span): number {
  const length = span.end - span.start;
  const distance =
    length > MAX_COMPARED_CHARS ? length - accepted.length : editDistance(accepted, sliceText(text, span, MAX_COMPARED_CHARS));
  return distance / accepted.length;
}

/** What stands in `span` of `text` ('\r\n' as '\n'), at most `maxChars`, cut to `lines` lines when given. */
export function captureText(text: string, span: Span, maxChars: number, lines?: number): string {
  const slice = sliceText(text, span, maxChars);
  return lines === undefined ? slice : firstLines(slice, lines);
}
