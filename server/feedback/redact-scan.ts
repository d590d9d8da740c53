/** The primitives every redaction rule is built of: the result, the placeholder, the linear replacement scan. */

/** The result of redacting a text: the text with placeholders, and how many secrets were replaced. */
export interface Redacted {
  readonly text: string;
  readonly redactions: number;
}

export const PLACEHOLDER_START = '<redacted:';

/** The placeholder a secret of this kind is replaced with. */
export function redactedPlaceholder(kind: string): string {
  return `${PLACEHOLDER_START}${kind}>`;
}

export interface Rule {
  /** Lower-case literals of which at least one occurs in any text the rule could change (the cheap pre-check). */
  readonly hints: readonly string[];
  readonly apply: (text: string) => Redacted;
}

/**
 * Replaces the matches of a global `pattern` for which `replace` returns a string; a null keeps the match.
 * The scan goes on after the match either way (no rescan of what a match covered: keeps the rule linear).
 */
export function replaceMatches(text: string, pattern: RegExp, replace: (m: RegExpExecArray, text: string) => string | null): Redacted {
  pattern.lastIndex = 0;
  let out = '';
  let last = 0;
  let redactions = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    if (m[0].length === 0) {
      pattern.lastIndex++;
      continue;
    }
    const replacement = replace(m, text);
    if (replacement === null) continue;
    out += text.slice(last, m.index) + replacement;
    last = m.index + m[0].length;
    redactions++;
  }
  return redactions === 0 ? { text, redactions } : { text: out + text.slice(last), redactions };
}
