import { describe, expect, it } from 'vitest';
import { evaluationMarkdown, summarizeEvaluation } from '../../../server/training/evaluation-report.js';

describe('the evaluation of a trained adapter', () => {
  it('calls a DPO adapter better when the held-out preference accuracy rises, and tabulates every metric both sides have', () => {
    const s = summarizeEvaluation(
      { before: { kept_loss: 5.2, preference_accuracy: 0.4, mean_margin: -0.3, exact_match: null }, after: { kept_loss: 4.9, preference_accuracy: 0.8, mean_margin: 0.6, exact_match: 0.5 } },
      'dpo',
      10,
    );
    expect(s.verdict).toBe('better');
    expect(s.rows.map((r) => r.metric)).toEqual(['loss of the kept text (mean per token)', 'preference accuracy (kept scored above rejected)', 'mean log-probability margin, kept − rejected']);
    expect(s.rows[1]).toEqual({ metric: 'preference accuracy (kept scored above rejected)', before: '40.0 %', after: '80.0 %', change: '+40.0 pt (better)' });
    expect(s.rows[0]!.change).toBe('−0.300 (better)');
  });

  it('reports a worse adapter as worse, with what to do', () => {
    const s = summarizeEvaluation({ before: { kept_loss: 3.0 }, after: { kept_loss: 3.4 } }, 'sft', 6);
    expect(s.verdict).toBe('worse');
    expect(s.sentence).toMatch(/WORSE than its base on the 6 held-out records .* do not import it/);
    expect(s.rows[0]!.change).toBe('+0.400 (worse)');
  });

  it('says when the held-out set could not judge it', () => {
    expect(summarizeEvaluation({ before: { kept_loss: 2 }, after: { kept_loss: 1.5 } }, 'kto', 4).verdict).toBe('unknown');
  });

  it('writes the table and the facts as markdown', () => {
    const md = evaluationMarkdown(summarizeEvaluation({ before: { kept_loss: 3 }, after: { kept_loss: 2 } }, 'sft', 5), { objective: 'sft', steps: 40 });
    expect(md).toContain('| loss of the kept text (mean per token) | 3.000 | 2.000 | −1.000 (better) |');
    expect(md).toContain('- steps: 40');
  });
});
