/** What a model sees for one completion, and what post-processing needs to judge its answer. */
export interface CompletionContext {
  readonly uri: string;
  readonly languageId: string;
  /** The registry name of the parsed language ('typescript', 'tsx', …), or undefined for plain text. */
  readonly language?: string;
  readonly version: number;
  /** Offset of the cursor in the document (UTF-16 code units). */
  readonly cursorOffset: number;
  /** Text before the cursor inside the window; trimmed from the front at a line boundary. */
  readonly prefix: string;
  /** Text after the cursor inside the window; trimmed at the back at a line boundary. */
  readonly suffix: string;
  /**
   * Lines from outside the window that the model should still see, in document order: the import block and the
   * headers of the enclosing scopes (function/class/method signatures). '' when everything is in the window.
   * Whole lines, each ending with '\n', so `header + prefix` reads on. Counted in the budget with prefix and suffix.
   */
  readonly header: string;
  /** Document offsets where the prefix window starts and the suffix window ends. */
  readonly windowStart: number;
  readonly windowEnd: number;
  /** The cursor line split at the cursor (within the window, for a line longer than the budget). */
  readonly linePrefix: string;
  readonly lineSuffix: string;
  /** Leading whitespace of the cursor line. */
  readonly indent: string;
  /** Identifier characters immediately before the cursor (the word being typed). */
  readonly wordPrefix: string;
}

/** Why no completion is attempted at a position. */
export type SkipReason =
  | 'inside-word' // the cursor sits inside a word that continues to the right
  | 'text-after-cursor' // the rest of the line holds more than closing brackets/quotes and a terminator
  | 'binary-document'
  | 'in-comment' // reserved for rules that read the tree
  | 'empty-document-line-end'; // reserved

export type CompletionDecision = { readonly complete: true } | { readonly complete: false; readonly reason: SkipReason };
