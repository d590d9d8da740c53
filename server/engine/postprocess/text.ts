/** Small line and indentation helpers shared by the post-processing filters. */
import { lastIndexBefore } from '../../text/lines.js';

/** Splits on '\n', dropping a '\r' before it (context windows may still carry CRLF). */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.endsWith('\r')) lines[i] = line.slice(0, -1);
  }
  return lines;
}

export function isBlank(line: string): boolean {
  return line.trim() === '';
}

/** Width of the leading whitespace, a tab counting as four columns. */
export function indentWidth(line: string): number {
  let width = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32) width += 1;
    else if (c === 9) width += 4;
    else break;
  }
  return width;
}

/** True for ASCII letters, digits, '_' and '$', and any non-ASCII letter or digit. */
export function isWordChar(code: number): boolean {
  if (code < 128) {
    return (
      (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95 || code === 36
    );
  }
  return /[\p{L}\p{N}]/u.test(String.fromCharCode(code));
}

export function hasWordChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (isWordChar(text.charCodeAt(i))) return true;
  return false;
}

/** Number of non-whitespace characters. */
export function solidLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) n++;
  }
  return n;
}

/**
 * The first line after the cursor line (the cursor line's rest is `lineSuffix`) for which `accept` is true, or
 * undefined. Reads only as far as it must: the suffix window can be long.
 */
export function findLineAfter(suffix: string, accept: (line: string) => boolean): string | undefined {
  let start = suffix.indexOf('\n');
  while (start !== -1) {
    const end = suffix.indexOf('\n', start + 1);
    let line = suffix.slice(start + 1, end === -1 ? suffix.length : end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (accept(line)) return line;
    start = end;
  }
  return undefined;
}

/** The first `max` lines after the cursor line for which `accept` is true (all of them by default). */
export function linesAfter(suffix: string, max: number, accept: (line: string) => boolean = () => true): string[] {
  const lines: string[] = [];
  if (max > 0) findLineAfter(suffix, (line) => accept(line) && lines.push(line) >= max);
  return lines;
}

/** Up to `max` complete lines above the cursor line (the cursor line is `linePrefix`), in order, nearest last. */
export function linesAbove(prefix: string, max: number): string[] {
  const lines: string[] = [];
  let end = prefix.lastIndexOf('\n');
  while (end !== -1 && lines.length < max) {
    const start = lastIndexBefore(prefix, '\n', end);
    let line = prefix.slice(start + 1, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    lines.push(line);
    end = start;
  }
  return lines.reverse();
}

/** The nearest non-blank line above the cursor line, or undefined. */
export function lineAboveNotBlank(prefix: string): string | undefined {
  let end = prefix.lastIndexOf('\n');
  while (end !== -1) {
    const start = lastIndexBefore(prefix, '\n', end);
    const line = prefix.slice(start + 1, end);
    if (!isBlank(line)) return line.endsWith('\r') ? line.slice(0, -1) : line;
    end = start;
  }
  return undefined;
}
