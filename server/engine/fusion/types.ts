/**
 * The contract of the fusion algorithms: several models answered the same fill-in-the-middle request; a method
 * turns their (already post-processed) answers into one answer, or abstains with `null`.
 * Every method is pure, synchronous and deterministic: the same candidates in the same order give the same result.
 */

export interface FusionCandidate {
  /** Which model produced it. With `samples > 1` the same model appears several times: each sample is a voter. */
  readonly model: string;
  /** Already post-processed, non-empty. */
  readonly text: string;
  /** Model weight (> 0), from settings or learned. A non-finite or negative weight counts as 0. */
  readonly weight: number;
  /** For tie-breaks: faster wins. */
  readonly latencyMs: number;
  /** Mean token log-probability, when the backend returned logprobs. */
  readonly meanLogprob?: number;
}

export type FusionMethodName = 'vote' | 'weighted' | 'consensus' | 'rover';

export interface FusionResult {
  readonly text: string;
  readonly method: FusionMethodName;
  /**
   * How the answer was reached:
   * - 'single': only one candidate;
   * - vote: 'plurality' | 'medoid';
   * - weighted: 'similarity' | 'similarity+confidence';
   * - consensus: 'agreement' | 'prefix';
   * - rover: 'fused' (the fused text differs from the backbone) | 'backbone' (fusion changed nothing) |
   *   'fallback' (the fused text parsed worse: the best whole candidate is returned).
   */
  readonly rule: string;
  /**
   * Models whose candidate agrees with the answer, each once, in candidate order: normalised-equal for vote;
   * similarity >= agreeThreshold otherwise; for a prefix answer, those whose candidate starts with it (token-wise,
   * whitespace-normalised).
   */
  readonly agreeing: readonly string[];
  /**
   * Provenance, per method (all in [0, 1]):
   * - vote 'plurality': the winning group's share of the candidates (members / n); 'medoid': the medoid's mean
   *   similarity to the others;
   * - weighted: the winner's score normalised by the total weight, Σ_m w_m·sim(c, y_m) / Σ w (mixed with
   *   confidence when that applied);
   * - consensus 'agreement': the winner's weighted agreement; 'prefix': the weight share of the candidates that
   *   start with the prefix;
   * - rover 'fused' / 'backbone': the mean over slots of the winning slot score; 'fallback': the base's score;
   * - 'single': 1.
   */
  readonly score: number;
}

export interface WeightedOptions {
  /**
   * λ in [0, 1]: mix each candidate's normalised score with its confidence exp(meanLogprob):
   * `(1 - λ)·score/Σw + λ·exp(meanLogprob)`. Applied only when every candidate has a meanLogprob. Default 0.
   */
  readonly confidenceWeight?: number;
  /** Similarity from which a candidate counts as agreeing with the answer (for `agreeing`). Default 0.9. */
  readonly agreeThreshold?: number;
}

export interface ConsensusOptions {
  /** Weighted agreement needed to answer a whole candidate. Default 0.6. */
  readonly threshold?: number;
  /** Similarity from which two candidates agree. Default 0.9. */
  readonly agreeThreshold?: number;
  /**
   * Weight share that a prefix must be shared by (strictly more than it), and by at least two candidates.
   * Default 0.5 (a weighted majority).
   */
  readonly prefixMajority?: number;
  /** A syntax check for a prefix answer (e.g. "parses, allowing for missing closers"); a rejected cut is not used. */
  readonly syntaxOk?: (text: string) => boolean;
}

export interface RoverOptions {
  /** Mix of frequency (alpha) and confidence (1 - alpha) in a slot's score. Default 0.5. */
  readonly alpha?: number;
  /** Keep the fused text only if this says it parses no worse than the best whole candidate. */
  readonly parsesNoWorse?: (fused: string, best: string) => boolean;
  /**
   * The best whole candidate (the backbone of the alignment and the fallback). Default: WEIGHTED's pick with the
   * same confidenceWeight / agreeThreshold. A base whose text is not one of the candidates (a consensus prefix) is
   * returned unchanged.
   */
  readonly base?: FusionResult;
  /** Similarity from which a candidate counts as agreeing with the fused text. Default 0.9. */
  readonly agreeThreshold?: number;
  /** Passed on to WEIGHTED when it picks the base. */
  readonly confidenceWeight?: number;
}

/** One fusion method: null means abstain. */
export type FusionFunction<O> = (candidates: readonly FusionCandidate[], options?: O) => FusionResult | null;

export const DEFAULT_AGREE_THRESHOLD = 0.9;
export const DEFAULT_CONSENSUS_THRESHOLD = 0.6;
export const DEFAULT_PREFIX_MAJORITY = 0.5;
export const DEFAULT_ROVER_ALPHA = 0.5;
