import type { SyntaxLanguage } from '../../documents/syntax.js';

/** What every post-processing filter may look at besides the candidate text. */
export interface FilterContext {
  /** Text before the cursor (the window, as the model saw it). */
  readonly prefix: string;
  /** Text after the cursor (the window). */
  readonly suffix: string;
  /** The cursor line split at the cursor. */
  readonly linePrefix: string;
  readonly lineSuffix: string;
  /** Leading whitespace of the cursor line. */
  readonly indent: string;
  /** Stop sequences of the model's template: anything from the first one on is cut. */
  readonly stopTokens: readonly string[];
  /** The grammar, when the document is parsed; syntax-aware filters do nothing without it. */
  readonly syntax?: SyntaxLanguage;
}

/**
 * One post-processing step: returns the new text, or null to drop the candidate entirely.
 * Filters are pure and small; the pipeline runs them in a fixed order (see pipeline.ts).
 */
export type Filter = (text: string, context: FilterContext) => string | null;

export interface NamedFilter {
  readonly name: string;
  readonly apply: Filter;
}
