/**
 * The before/after table of `xencode train` on the held-out records (the trainer's evaluation.json), and the
 * verdict: an adapter worse than its base on the held-out set is reported as such, never imported silently.
 */
import type { Objective } from './training-set.js';

/** One side of the evaluation, as the trainer measures it (a metric is null where it does not apply). */
export interface EvaluationMetrics {
  readonly kept_loss?: number | null;
  readonly rejected_loss?: number | null;
  readonly preference_accuracy?: number | null;
  readonly mean_margin?: number | null;
  readonly exact_match?: number | null;
  readonly edit_similarity?: number | null;
  readonly pairs?: number;
  readonly generated?: number;
}

export interface Evaluation {
  readonly before: EvaluationMetrics;
  readonly after: EvaluationMetrics;
}

type MetricName = 'kept_loss' | 'preference_accuracy' | 'mean_margin' | 'exact_match' | 'edit_similarity';

const METRICS: readonly { readonly name: MetricName; readonly label: string; readonly better: 'lower' | 'higher'; readonly percent?: boolean }[] = [
  { name: 'kept_loss', label: 'loss of the kept text (mean per token)', better: 'lower' },
  { name: 'preference_accuracy', label: 'preference accuracy (kept scored above rejected)', better: 'higher', percent: true },
  { name: 'mean_margin', label: 'mean log-probability margin, kept − rejected', better: 'higher' },
  { name: 'exact_match', label: 'exact match of greedy completions', better: 'higher', percent: true },
  { name: 'edit_similarity', label: 'edit similarity of greedy completions', better: 'higher', percent: true },
];

/** What decides the verdict: the preference for DPO and KTO, the kept text's loss for SFT. */
function primaryMetric(objective: Objective): MetricName {
  return objective === 'sft' ? 'kept_loss' : 'preference_accuracy';
}

export type Verdict = 'better' | 'worse' | 'unchanged' | 'unknown';

export interface EvaluationSummary {
  readonly verdict: Verdict;
  /** One sentence for the terminal and the report. */
  readonly sentence: string;
  readonly rows: readonly { readonly metric: string; readonly before: string; readonly after: string; readonly change: string }[];
}

export function summarizeEvaluation(evaluation: Evaluation, objective: Objective, heldOut: number): EvaluationSummary {
  const rows = METRICS.filter((m) => isNumber(evaluation.before[m.name]) && isNumber(evaluation.after[m.name])).map((m) => {
    const before = evaluation.before[m.name] as number;
    const after = evaluation.after[m.name] as number;
    const format = (v: number) => (m.percent ? `${(v * 100).toFixed(1)} %` : v.toFixed(3));
    const delta = after - before;
    const improved = m.better === 'lower' ? delta < 0 : delta > 0;
    const change = delta === 0 ? '=' : `${delta > 0 ? '+' : '−'}${m.percent ? `${Math.abs(delta * 100).toFixed(1)} pt` : Math.abs(delta).toFixed(3)} ${improved ? '(better)' : '(worse)'}`;
    return { metric: m.label, before: format(before), after: format(after), change };
  });
  const primary = METRICS.find((m) => m.name === primaryMetric(objective))!;
  const before = evaluation.before[primary.name];
  const after = evaluation.after[primary.name];
  if (!isNumber(before) || !isNumber(after))
    return { verdict: 'unknown', sentence: `The held-out set (${heldOut} records) gave no ${primary.label}: the adapter could not be judged.`, rows };
  const delta = after - before;
  const verdict: Verdict = Math.abs(delta) < 1e-9 ? 'unchanged' : (primary.better === 'lower' ? delta < 0 : delta > 0) ? 'better' : 'worse';
  const sentence =
    verdict === 'better'
      ? `The adapter is better than its base on the ${heldOut} held-out records (${primary.label}).`
      : verdict === 'worse'
        ? `The adapter is WORSE than its base on the ${heldOut} held-out records (${primary.label}): do not import it; collect more feedback or try another objective or learning rate.`
        : `The adapter is no different from its base on the ${heldOut} held-out records (${primary.label}).`;
  return { verdict, sentence, rows };
}

/** evaluation.md: the table and the verdict, with what was trained. */
export function evaluationMarkdown(summary: EvaluationSummary, facts: Readonly<Record<string, string | number>>): string {
  const table = ['| metric | base | adapter | change |', '| --- | --- | --- | --- |', ...summary.rows.map((r) => `| ${r.metric} | ${r.before} | ${r.after} | ${r.change} |`)];
  const lines = Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`);
  return `# Evaluation on the held-out records\n\n${summary.sentence}\n\n${table.join('\n')}\n\n${lines.join('\n')}\n`;
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
