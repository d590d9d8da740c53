/**
 * HYBRID: a cascade with a deadline, as two pure decisions the engine makes while answers arrive.
 * - `hybridEarly(arrived, { outstandingWeight })`: after each arrival — answer now if two candidates agree
 *   (similarity ≥ agreeThreshold; the answer is the agreeing pair's representative from the heavier, then faster,
 *   model) and the weight agreeing with it exceeds the weight of the models still running (two light models must
 *   not pre-empt a heavy one: the simulation in bench/ensemble showed such early answers right half as often as
 *   the heavy model's), or if one candidate is
 *   confident (mean token probability exp(meanLogprob) ≥ confidentProbability; it already passed post-processing,
 *   or it would not be a candidate). Otherwise null: keep waiting.
 * - `hybridFinal(arrived)`: when every model answered or the deadline came — WEIGHTED's pick, or abstain when
 *   nothing arrived or when at least three candidates all disagree (the best one's normalised score is below
 *   `minScore`: no two are even roughly alike, so any pick is a guess and a wrong completion costs the user more
 *   than none). With one or two candidates the pick stands (there is nothing to outvote it).
 */
import { Pool, unitOption } from './similarity.js';
import { DEFAULT_AGREE_THRESHOLD, type FusionCandidate, type FusionResult, type WeightedOptions } from './types.js';
import { weighted } from './weighted.js';

export interface HybridOptions extends WeightedOptions {
  /** exp(meanLogprob) from which a lone candidate is trusted without a second opinion. Default 0.9. */
  readonly confidentProbability?: number;
  /** Below this WEIGHTED score (normalised) the final pick among ≥ 3 candidates abstains. Default 0.5. */
  readonly minScore?: number;
  /** Summed weight of the calls still running; an agreement must outweigh it to end the wait. Default 0. */
  readonly outstandingWeight?: number;
}

export function hybridEarly(arrived: readonly FusionCandidate[], options: HybridOptions = {}): FusionResult | null {
  const n = arrived.length;
  if (n === 0) return null;
  const agreeThreshold = unitOption(options.agreeThreshold, DEFAULT_AGREE_THRESHOLD);
  const confident = unitOption(options.confidentProbability, 0.9);
  const pool = new Pool(arrived);
  // Agreement first: two models agreeing beats one model's self-confidence.
  let bestPair: [number, number] | undefined;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      if (pool.sim(i, j) >= agreeThreshold && (!bestPair || pool.weights[i]! + pool.weights[j]! > pool.weights[bestPair[0]]! + pool.weights[bestPair[1]]!))
        bestPair = [i, j];
  if (bestPair) {
    const scores = new Float64Array(n);
    scores[bestPair[0]] = 1;
    scores[bestPair[1]] = 1;
    const winner = pool.best(scores);
    const agreeing = pool.agreeingWithCandidate(winner, agreeThreshold);
    const agreeingWeight = arrived.reduce((sum, c, i) => (pool.sim(winner, i) >= agreeThreshold ? sum + pool.weights[i]! : sum), 0);
    if (agreeingWeight > (options.outstandingWeight ?? 0))
      return { text: arrived[winner]!.text, method: 'weighted', rule: 'agreement', agreeing, score: pool.sim(bestPair[0], bestPair[1]) };
  }
  for (let i = 0; i < n; i++) {
    const lp = arrived[i]!.meanLogprob;
    if (lp !== undefined && Math.exp(lp) >= confident)
      return { text: arrived[i]!.text, method: 'weighted', rule: 'confident', agreeing: [arrived[i]!.model], score: Math.exp(lp) };
  }
  return null;
}

export function hybridFinal(arrived: readonly FusionCandidate[], options: HybridOptions = {}): FusionResult | null {
  const pick = weighted(arrived, options);
  if (!pick) return null;
  if (arrived.length >= 3 && pick.score < unitOption(options.minScore, 0.5)) return null;
  return pick;
}
