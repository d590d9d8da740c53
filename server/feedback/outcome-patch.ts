/**
 * What the outcome tracker sends: a patch of a record's outcome fields, and how the engine merges it into the
 * stored record.
 */
import type { FeedbackLabel, FeedbackRecord, RetentionCheck } from './record.js';

export type OutcomeSignal = 'command' | 'partial' | 'edit' | 'typed-over' | 'dismissed' | 'closed';

/** Changes to a record's outcome fields. `retentionCheck` is appended to `retention`; the rest replace. */
export interface OutcomePatch {
  readonly label?: FeedbackLabel;
  readonly acceptedLength?: number;
  readonly decidedAt?: number;
  readonly signal?: OutcomeSignal;
  readonly retentionCheck?: RetentionCheck;
  readonly captured?: string;
  readonly capturedSimilarity?: number;
}

/** The record with the patch merged in (the retention check appended). */
export function applyOutcomePatch(record: FeedbackRecord, patch: OutcomePatch): FeedbackRecord {
  const { retentionCheck, ...fields } = patch;
  const next: FeedbackRecord = { ...record, ...fields };
  return retentionCheck ? { ...next, retention: [...(record.retention ?? []), retentionCheck] } : next;
}
