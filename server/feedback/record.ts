/**
 * The feedback record: one per completion shown to the user, kept in the data directory's LMDB environment
 * (named database `feedback`) and exported for preference training. The schema is versioned; a reader meets
 * records of older versions and upgrades them, and skips (and counts) records of newer ones.
 *
 * Field names are stable: exports and `xencode feedback` read them.
 */

export const FEEDBACK_SCHEMA = 1;

/** What the user did with a shown completion, as the field labels it. */
export type FeedbackLabel =
  /** Taken whole (explicitly, or an edit put it where it was offered). */
  | 'accepted'
  /** Taken in part (word or line accept); `acceptedLength` says how much. */
  | 'partlyAccepted'
  /** Dismissed, or typed over after being visible ≥ 250 ms and not accepted within 10 s. */
  | 'rejected'
  /** Shown, never acted on (e.g. the document closed, or nothing followed). */
  | 'ignored';

/** One model's part in the request. */
export interface ModelRecord {
  readonly model: string;
  /** Provider and host: the answer depends on where the model runs (a different quantisation, an adapter). */
  readonly host: string;
  readonly sample: number;
  /** What happened to the call: answered (usable), filtered (nothing survived post-processing), failed, late, cancelled. */
  readonly outcome: 'answered' | 'filtered' | 'failed' | 'late' | 'cancelled';
  /** The post-processed candidate, when it answered (absent at `noCode`). */
  readonly candidate?: string;
  readonly latencyMs?: number;
  /** The exact text this model was sent, its FIM template filled in (absent at `noCode`). */
  readonly prompt?: string;
  /** The weight the ensemble used (configured, or learned once enough records exist). */
  readonly weight: number;
  /** Mean token log-probability, when the backend returned logprobs (HYBRID's "confident" rule reads it). */
  readonly meanLogprob?: number;
}

/** Retention: how much of the accepted text still stands in its (tracked) region, at a moment after the accept. */
export interface RetentionCheck {
  /** Seconds after the accept: 30, 120 or 600. */
  readonly afterS: number;
  /** Edit distance between the accepted text and what stands in its region now, over the accepted text's length. */
  readonly distanceRatio: number;
  /** distanceRatio ≤ 0.5 (the threshold Copilot uses). */
  readonly retained: boolean;
}

export interface FeedbackRecord {
  readonly schema: number;
  /** The completion id the editor sends back with accept/reject. */
  readonly id: string;
  /** When it was shown (ms since the epoch). */
  readonly time: number;
  /** LSP languageId. */
  readonly language: string;
  /** Path relative to the workspace root (a file outside every root: its base name only). */
  readonly file: string;
  readonly astHash?: string;
  /** Fusion method and rule that picked the answer ('typed-ahead', 'memory' or 'disk' when reused). */
  readonly method: string;
  readonly rule: string;
  /** Model whose text was shown. */
  readonly chosenModel: string;
  /** The text shown (absent at `noCode`). */
  readonly chosen?: string;
  readonly chosenLength: number;
  /** How the answer was served: 'model' (asked now), 'typed-ahead', 'memory', 'disk'. */
  readonly served: 'model' | 'typed-ahead' | 'memory' | 'disk';
  /** Milliseconds from the request to the answer. */
  readonly latencyMs: number;
  /** The prompt parts (absent at `noCode`). */
  /** `header`: the imports and enclosing scope headers from outside the window, as the model saw them. */
  readonly prompt?: { readonly prefix: string; readonly suffix: string; readonly header: string };
  readonly models: readonly ModelRecord[];
  /** 'full' or 'noCode' at the time of recording. */
  readonly level: 'full' | 'noCode';

  // Outcome fields, filled in as the signals arrive.
  readonly label: FeedbackLabel;
  /** Characters taken, for accepted and partly accepted. */
  readonly acceptedLength?: number;
  /** When the outcome was decided. */
  readonly decidedAt?: number;
  /** Which signal decided it: 'command', 'partial', 'edit', 'typed-over', 'dismissed', 'closed'. */
  readonly signal?: string;
  readonly retention?: readonly RetentionCheck[];
  /** The code the user had at the suggestion's place 30 s after it was shown (absent at `noCode`). */
  readonly captured?: string;
  /** Normalised edit similarity between `chosen` and `captured`. */
  readonly capturedSimilarity?: number;
}

/** What every exporter and the learner treat as "what the user kept": the retained accept, else the capture. */
export function keptText(record: FeedbackRecord): string | undefined {
  const retained = record.retention?.at(-1)?.retained;
  if ((record.label === 'accepted' || record.label === 'partlyAccepted') && retained !== false && record.chosen !== undefined) {
    const taken = record.acceptedLength ?? record.chosen.length;
    // A capture beats the accepted text: it is what stands there now, edits included.
    return record.captured ?? record.chosen.slice(0, taken);
  }
  return record.captured;
}
