/**
 * WEIGHTED: each candidate scores `Σ_m w_m · sim(c, y_m)` over all candidates (itself included, with sim 1),
 * reported normalised by Σ w. With `confidenceWeight` λ > 0 and a meanLogprob on every candidate, the score is
 * mixed with the candidate's mean token probability: `(1 - λ)·score/Σw + λ·exp(meanLogprob)`. The highest score
 * wins; ties by weight, then speed. Weights can override a majority: a heavy model outvotes agreeing light ones.
 */
import { Pool, unitOption } from './similarity.js';
import { DEFAULT_AGREE_THRESHOLD, type FusionCandidate, type FusionResult, type WeightedOptions } from './types.js';

export function weighted(candidates: readonly FusionCandidate[], options: WeightedOptions = {}): FusionResult | null {
  const n = candidates.length;
  if (n === 0) return null;
  if (n === 1) return { text: candidates[0]!.text, method: 'weighted', rule: 'single', agreeing: [candidates[0]!.model], score: 1 };
  const pool = new Pool(candidates);
  const agreeThreshold = unitOption(options.agreeThreshold, DEFAULT_AGREE_THRESHOLD);
  const lambda = unitOption(options.confidenceWeight, 0);

  const score = new Float64Array(n);
  for (let i = 0; i < n; i++) score[i] += pool.weights[i]!;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = pool.sim(i, j);
      score[i] += pool.weights[j]! * s;
      score[j] += pool.weights[i]! * s;
    }
  }
  for (let i = 0; i < n; i++) score[i] /= pool.totalWeight;

  // Confidence is mixed in only when every candidate has a mean logprob: mixing some and not others would rank
  // candidates on different scales (a candidate without logprobs would be judged on similarity alone).
  const confidence = lambda > 0 ? pool.confidences() : null;
  if (confidence !== null) {
    for (let i = 0; i < n; i++) score[i] = (1 - lambda) * score[i]! + lambda * confidence[i]!;
  }

  const winner = pool.best(score);
  return {
    text: candidates[winner]!.text,
    method: 'weighted',
    rule: confidence !== null ? 'similarity+confidence' : 'similarity',
    agreeing: pool.agreeingWithCandidate(winner, agreeThreshold),
    score: score[winner]!,
  };
}
