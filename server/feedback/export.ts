/**
 * Training rows out of feedback records, streamed: `exportRows` pulls one record at a time from any iterable and
 * yields at most one row per record, so an export of any size runs in constant memory and stops reading when its
 * consumer stops. Pure: no I/O, no clock; the caller writes the rows (`toJsonLine`) and the summary.
 *
 * Formats, with TRL's column names exactly:
 * - `sft`   {prompt, completion}         — completion = what the user kept (`keptText`).
 * - `kto`   {prompt, completion, label}  — completion = the suggestion shown; label = it was wanted.
 * - `dpo`   {prompt, chosen, rejected}   — chosen = what the user kept; rejected = a text of the same request the
 *                                          user did not keep and that differs from it.
 * - `jsonl` the whole record, as stored.
 *
 * `prompt` is the exact text the model named by `options.model` was sent (its `models[].prompt`, FIM template
 * filled in); without `options.model`, that of the first configured model (records list their models in that order). Texts are written as stored: they
 * were redacted when recorded, and are not touched here.
 *
 * Rules (each a choice; the reasons are beside the code):
 * - Filters, every format: `since` (record.time ≥ since), `language` (record.language ===), `model` (the model was
 *   asked: a `models[]` entry of that name, whatever its outcome). A record a filter drops is counted in
 *   `excluded` under the first filter it fails, in that order.
 * - sft/kto/dpo skip, counting the reason in `skipped`: `noCode` (recorded at level noCode: no text at all);
 *   `noPrompt` (the prompt model's entry has no prompt, or the model is not in the record); then per format:
 *   - sft: `noKeptText` (keptText undefined: rejected or not retained, and nothing captured), `emptyKeptText`
 *     (kept text blank: nothing to learn to write).
 *   - kto: `noChosen` (no shown text), `noDecision` (ignored and nothing captured: no evidence either way).
 *     Labels: accepted → the retention check at 30 s (KTO_RETENTION_CHECK_S; else the first check) says retained;
 *     no check at all → true (the accept is the evidence, as `keptText` also assumes). Partly accepted → the part
 *     taken is the completion (the user approved that part, not the rest), labelled likewise. Rejected → false.
 *     Ignored with a capture → whether the user wrote much the same thing there (similarity ≥ 0.5).
 *   - dpo: `noKeptText`, `emptyKeptText` as sft; `noPair` (no text differs enough from the kept one).
 *     Rejected side: the suggestion shown, when the user did not keep it whole (rejected, ignored, partly
 *     accepted, or accepted and not retained at the last check) and it is not whitespace-equal to the kept text —
 *     the user judged exactly that text, so it is the most informative negative. Else the candidate of the same
 *     request least similar to the kept text among those under DPO_UNSEEN_MAX_SIMILARITY (0.5): no user saw
 *     those, so only one that would not even have counted as "retained" (the 0.5 edit threshold) is a safe
 *     negative; ties go to the earlier candidate.
 */
import { normalize, normalizedSimilarity, similarity } from '../engine/fusion/similarity.js';
import { keptText, type FeedbackRecord } from './record.js';

export const EXPORT_FORMATS = ['sft', 'kto', 'dpo', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface SftRow {
  readonly prompt: string;
  readonly completion: string;
}
export interface KtoRow {
  readonly prompt: string;
  readonly completion: string;
  readonly label: boolean;
}
export interface DpoRow {
  readonly prompt: string;
  readonly chosen: string;
  readonly rejected: string;
}
export interface ExportRowOf {
  sft: SftRow;
  kto: KtoRow;
  dpo: DpoRow;
  jsonl: FeedbackRecord;
}
export type ExportRow = ExportRowOf[ExportFormat];

export interface ExportOptions<F extends ExportFormat = ExportFormat> {
  readonly format: F;
  /** Only records shown at or after this time (ms since the epoch). */
  readonly since?: number;
  /** Only records of this LSP languageId. */
  readonly language?: string;
  /** The model whose prompt is exported; also a filter (only records that asked it). */
  readonly model?: string;
}

export const SKIP_REASONS = ['noCode', 'noPrompt', 'noKeptText', 'emptyKeptText', 'noChosen', 'noDecision', 'noPair'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface ExportSummary {
  format: ExportFormat;
  /** Records pulled from the input. */
  read: number;
  /** Rows yielded. */
  rows: number;
  /** Records the filters dropped, by the first filter each failed. */
  excluded: { since: number; language: number; model: number };
  /** Records that passed the filters but give no row in this format, by reason. */
  skipped: Record<SkipReason, number>;
}

/** The retention check a KTO label reads (seconds after the accept). */
export const KTO_RETENTION_CHECK_S = 30;
/** An unseen candidate must be less similar than this to the kept text to be a DPO `rejected`. */
export const DPO_UNSEEN_MAX_SIMILARITY = 0.5;
/** An ignored suggestion counts as wanted (KTO) when the capture is at least this similar to it. */
export const KTO_CAPTURE_MIN_SIMILARITY = 0.5;

export function newExportSummary(format: ExportFormat): ExportSummary {
  const skipped = {} as Record<SkipReason, number>;
  for (const reason of SKIP_REASONS) skipped[reason] = 0;
  return { format, read: 0, rows: 0, excluded: { since: 0, language: 0, model: 0 }, skipped };
}

/**
 * Rows of one format, one record at a time. `summary` (made fresh when not given) is updated as rows are pulled
 * and is the generator's return value; pass one in to read it after a `for…of`.
 */
export function exportRows<F extends ExportFormat>(
  records: Iterable<FeedbackRecord>,
  options: ExportOptions<F>,
  summary?: ExportSummary,
): Generator<ExportRowOf[F], ExportSummary, undefined> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new TypeError(`Unknown export format '${String(options.format)}': use one of ${EXPORT_FORMATS.join(', ')}.`);
  }
  return rows(records, options, summary ?? newExportSummary(options.format)) as Generator<ExportRowOf[F], ExportSummary, undefined>;
}

/** One JSONL line (with its newline) for a row. */
export function toJsonLine(row: ExportRow): string {
  return JSON.stringify(row) + '\n';
}

function* rows(records: Iterable<FeedbackRecord>, options: ExportOptions, summary: ExportSummary): Generator<ExportRow, ExportSummary, undefined> {
  const { format, since, language, model } = options;
  const toRow = format === 'sft' ? sftRow : format === 'kto' ? ktoRow : format === 'dpo' ? dpoRow : undefined;
  for (const record of records) {
    summary.read++;
    if (since !== undefined && !(record.time >= since)) {
      summary.excluded.since++;
      continue;
    }
    if (language !== undefined && record.language !== language) {
      summary.excluded.language++;
      continue;
    }
    if (model !== undefined && !asked(record, model)) {
      summary.excluded.model++;
      continue;
    }
    if (toRow === undefined) {
      summary.rows++;
      yield record;
      continue;
    }
    if (record.level === 'noCode') {
      summary.skipped.noCode++;
      continue;
    }
    // The contract: the first configured model's prompt by default (a record lists the models in configured order).
    const prompt = promptOf(record, model ?? record.models[0]?.model ?? record.chosenModel);
    if (prompt === undefined) {
      summary.skipped.noPrompt++;
      continue;
    }
    const row = toRow(record, prompt);
    if (typeof row === 'string') {
      summary.skipped[row]++;
      continue;
    }
    summary.rows++;
    yield row;
  }
  return summary;
}

function asked(record: FeedbackRecord, model: string): boolean {
  for (const m of record.models) if (m.model === model) return true;
  return false;
}

/** The prompt the model was sent: its first entry (of any sample) that has one. */
function promptOf(record: FeedbackRecord, model: string): string | undefined {
  for (const m of record.models) if (m.model === model && m.prompt !== undefined) return m.prompt;
  return undefined;
}

/** The kept text, or why there is none to learn from. */
function kept(record: FeedbackRecord): string | 'noKeptText' | 'emptyKeptText' {
  const text = keptText(record);
  if (text === undefined) return 'noKeptText';
  if (text.trim() === '') return 'emptyKeptText';
  return text;
}

function sftRow(record: FeedbackRecord, prompt: string): SftRow | SkipReason {
  const completion = kept(record);
  if (completion === 'noKeptText' || completion === 'emptyKeptText') return completion;
  return { prompt, completion };
}

function ktoRow(record: FeedbackRecord, prompt: string): KtoRow | SkipReason {
  const shown = record.chosen;
  if (shown === undefined) return 'noChosen';
  switch (record.label) {
    case 'accepted':
      return { prompt, completion: shown, label: retainedForKto(record) };
    case 'partlyAccepted':
      return { prompt, completion: shown.slice(0, record.acceptedLength ?? shown.length), label: retainedForKto(record) };
    case 'rejected':
      return { prompt, completion: shown, label: false };
    case 'ignored': {
      if (record.captured === undefined) return 'noDecision';
      const sim = record.capturedSimilarity ?? similarity(shown, record.captured);
      return { prompt, completion: shown, label: sim >= KTO_CAPTURE_MIN_SIMILARITY };
    }
  }
}

/** The 30 s check (else the first) says retained; no check: true. */
function retainedForKto(record: FeedbackRecord): boolean {
  const checks = record.retention;
  if (checks === undefined || checks.length === 0) return true;
  const check = checks.find((c) => c.afterS === KTO_RETENTION_CHECK_S) ?? checks[0]!;
  return check.retained;
}

function dpoRow(record: FeedbackRecord, prompt: string): DpoRow | SkipReason {
  const chosen = kept(record);
  if (chosen === 'noKeptText' || chosen === 'emptyKeptText') return chosen;
  const target = normalize(chosen);
  const shown = record.chosen;
  if (shown !== undefined && !keptWhole(record) && normalize(shown) !== target) return { prompt, chosen, rejected: shown };
  let rejected: string | undefined;
  let lowest = DPO_UNSEEN_MAX_SIMILARITY;
  for (const m of record.models) {
    if (m.candidate === undefined) continue;
    const sim = normalizedSimilarity(normalize(m.candidate), target);
    if (sim < lowest) {
      rejected = m.candidate;
      lowest = sim;
    }
  }
  return rejected === undefined ? 'noPair' : { prompt, chosen, rejected };
}

/** The user took the shown text whole and it stood at the last check: `keptText`'s notion of a kept accept. */
function keptWhole(record: FeedbackRecord): boolean {
  return record.label === 'accepted' && record.retention?.at(-1)?.retained !== false;
}
