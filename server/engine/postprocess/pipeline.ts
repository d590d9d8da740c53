import { bracketBalance } from './bracket-balance.js';
import { indentationScope } from './indentation-scope.js';
import { repetition } from './repetition.js';
import { stopTokens } from './stop-tokens.js';
import { suffixOverlap } from './suffix-overlap.js';
import { syntaxCheck } from './syntax-check.js';
import { trim } from './trim.js';
import type { FilterContext, NamedFilter } from './types.js';

/**
 * The post-processing every candidate goes through, in order. Cheap text filters first, so the syntax check (the
 * one that parses) sees the smallest answer; trim last, after anything that may have left blank lines behind.
 * Each filter is a small function over (text, context) returning the new text or null (no item), in a file of its
 * own. Adding one: its file, an entry here, and golden cases in test/unit/postprocess/cases/ (see the README there).
 */
export const DEFAULT_FILTERS: readonly NamedFilter[] = [
  { name: 'stop-tokens', apply: stopTokens },
  { name: 'repetition', apply: repetition },
  { name: 'suffix-overlap', apply: suffixOverlap },
  { name: 'indentation-scope', apply: indentationScope },
  { name: 'bracket-balance', apply: bracketBalance },
  { name: 'syntax-check', apply: syntaxCheck },
  { name: 'trim', apply: trim },
];

/** One filter's effect, for debugging and tests. */
export interface PostprocessStep {
  readonly name: string;
  readonly before: string;
  /** null: the filter dropped the candidate (or left nothing but whitespace). */
  readonly after: string | null;
}

export interface PostprocessTrace {
  readonly text: string | null;
  /** The filters that changed or dropped the text, in order. */
  readonly steps: PostprocessStep[];
}

/**
 * Runs the filters over a model's answer. null: no item (a filter dropped it, or nothing but whitespace is left).
 */
export function postprocess(text: string, context: FilterContext, filters: readonly NamedFilter[] = DEFAULT_FILTERS): string | null {
  let current = text;
  if (current.trim() === '') return null;
  for (const filter of filters) {
    const next = filter.apply(current, context);
    if (next === null || next.trim() === '') return null;
    current = next;
  }
  return current;
}

/** `postprocess`, also reporting every step that changed or dropped the text. */
export function postprocessTraced(
  text: string,
  context: FilterContext,
  filters: readonly NamedFilter[] = DEFAULT_FILTERS,
): PostprocessTrace {
  const steps: PostprocessStep[] = [];
  let current = text;
  if (current.trim() === '') return { text: null, steps: [{ name: 'empty', before: text, after: null }] };
  for (const filter of filters) {
    const next = filter.apply(current, context);
    const after = next === null || next.trim() === '' ? null : next;
    if (after !== current) steps.push({ name: filter.name, before: current, after });
    if (after === null) return { text: null, steps };
    current = after;
  }
  return { text: current, steps };
}
