/**
 * The data `xencode train` trains and judges on: the feedback records turned into rows of the objective's format by
 * the same code as `xencode feedback export`, the newest of them held out (a split by time: the adapter is judged on
 * what came after what it learned from, as it will be used), and a clear refusal when there is too little.
 */
import { exportRows, newExportSummary, type DpoRow, type ExportSummary, type KtoRow, type SftRow, type SkipReason } from '../feedback/export.js';
import type { FeedbackRecord } from '../feedback/record.js';

export const OBJECTIVES = ['sft', 'dpo', 'kto'] as const;
export type Objective = (typeof OBJECTIVES)[number];
export type TrainingRow = SftRow | DpoRow | KtoRow;

export interface TrainingSetOptions {
  readonly objective: Objective;
  /** Only records from this time on (ms since the epoch). */
  readonly since?: number;
  /** Only records of this LSP languageId. */
  readonly language?: string;
  /** The model whose exact prompts are used (default: the first model each record asked). */
  readonly model?: string;
  /** Share of the rows held out, newest first (default 0.2). */
  readonly heldOut?: number;
  /** Rows needed to train at all (default 16); at least 4 more are held out. */
  readonly minTrain?: number;
}

export const DEFAULT_HELD_OUT = 0.2;
export const DEFAULT_MIN_TRAIN = 16;
const MIN_HELD_OUT = 4;

export type TrainingSet =
  | { readonly ok: true; readonly train: readonly TrainingRow[]; readonly heldOut: readonly TrainingRow[]; readonly summary: ExportSummary }
  | { readonly ok: false; readonly problem: string; readonly summary: ExportSummary };

const WHY_SKIPPED: Readonly<Record<SkipReason, string>> = {
  noCode: 'recorded at feedback.level "noCode"',
  noPrompt: 'no prompt recorded',
  noKeptText: 'nothing known of what you kept',
  emptyKeptText: 'you kept nothing there',
  noChosen: 'nothing was shown',
  noDecision: 'not decided yet (accepted or rejected)',
  noPair: 'no rejected alternative to pair with',
};

/** Builds the split; `records` in time order (as the feedback log gives them). */
export function buildTrainingSet(records: Iterable<FeedbackRecord>, options: TrainingSetOptions): TrainingSet {
  const summary = newExportSummary(options.objective);
  const rows: TrainingRow[] = [...exportRows(records, { format: options.objective, since: options.since, language: options.language, model: options.model }, summary)];
  const minTrain = options.minTrain ?? DEFAULT_MIN_TRAIN;
  const heldOutCount = Math.max(MIN_HELD_OUT, Math.round(rows.length * (options.heldOut ?? DEFAULT_HELD_OUT)));
  if (rows.length - heldOutCount < minTrain) return { ok: false, problem: tooLittle(rows.length, minTrain + MIN_HELD_OUT, options, summary), summary };
  return { ok: true, train: rows.slice(0, rows.length - heldOutCount), heldOut: rows.slice(rows.length - heldOutCount), summary };
}

function tooLittle(usable: number, needed: number, options: TrainingSetOptions, summary: ExportSummary): string {
  const filters = [options.language && `language ${options.language}`, options.since !== undefined && `since ${new Date(options.since).toISOString().slice(0, 10)}`, options.model && `model ${options.model}`].filter(Boolean);
  const skipped = Object.entries(summary.skipped)
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, count]) => `${count} ${WHY_SKIPPED[reason as SkipReason]}`);
  const hint =
    options.objective === 'dpo'
      ? ' DPO needs a rejected alternative beside what you kept; --objective kto or sft use more of the records.'
      : ' Keep using Xencode: every suggestion you accept, reject or rewrite is a record.';
  return (
    `Too little data to train ${options.objective}: ${usable} usable record${usable === 1 ? '' : 's'} of ${summary.read} read` +
    `${filters.length ? ` (${filters.join(', ')})` : ''}, ${needed} needed (${needed - MIN_HELD_OUT} to train, ${MIN_HELD_OUT} held out to judge the result).` +
    `${skipped.length ? ` Not usable: ${skipped.join('; ')}.` : ''}${hint} See them with: xencode feedback stats`
  );
}
