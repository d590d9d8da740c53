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
  const split = splitRows(rows, options);
  return split ? { ok: true, ...split, summary } : { ok: false, problem: tooLittle(rows.length, neededRows(options), options, summary), summary };
}

/** The newest rows (the last ones) held out; undefined when too few are left to train on. */
export function splitRows(rows: readonly TrainingRow[], options: Pick<TrainingSetOptions, 'heldOut' | 'minTrain'>): { train: readonly TrainingRow[]; heldOut: readonly TrainingRow[] } | undefined {
  const heldOutCount = Math.max(MIN_HELD_OUT, Math.round(rows.length * (options.heldOut ?? DEFAULT_HELD_OUT)));
  if (rows.length - heldOutCount < (options.minTrain ?? DEFAULT_MIN_TRAIN)) return undefined;
  return { train: rows.slice(0, rows.length - heldOutCount), heldOut: rows.slice(rows.length - heldOutCount) };
}

/** Rows needed to train at all, the held-out ones included. */
export function neededRows(options: Pick<TrainingSetOptions, 'minTrain'>): number {
  return (options.minTrain ?? DEFAULT_MIN_TRAIN) + MIN_HELD_OUT;
}

const COLUMNS: Readonly<Record<Objective, Readonly<Record<string, 'string' | 'boolean'>>>> = {
  sft: { prompt: 'string', completion: 'string' },
  dpo: { prompt: 'string', chosen: 'string', rejected: 'string' },
  kto: { prompt: 'string', completion: 'string', label: 'boolean' },
};

/**
 * Rows from a JSONL file (`xencode feedback export`, `xencode dataset mine|synth`, or your own) for `objective`, in
 * file order; a line that is not a row of that format is a problem naming the line and what it should hold.
 */
export function parseRows(text: string, objective: Objective, file: string): { rows: TrainingRow[] } | { problem: string } {
  const columns = COLUMNS[objective];
  const rows: TrainingRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      return { problem: `${file}:${i + 1} is not JSON: each line must be one ${objective} row {${Object.keys(columns).join(', ')}}` };
    }
    const wrong = Object.entries(columns).find(([key, type]) => typeof (row as Record<string, unknown> | null)?.[key] !== type);
    if (wrong)
      return { problem: `${file}:${i + 1} is not a ${objective} row: it needs ${Object.entries(columns).map(([k, t]) => `${k} (${t})`).join(', ')}${wrong ? `; ${wrong[0]} is missing or not a ${wrong[1]}` : ''}. Export rows of this objective with xencode feedback export --format ${objective}.` };
    rows.push(Object.fromEntries(Object.keys(columns).map((key) => [key, (row as Record<string, unknown>)[key]])) as unknown as TrainingRow);
  }
  return { rows };
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
