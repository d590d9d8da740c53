/**
 * Fusion of several models' answers to one completion request: pure, synchronous, deterministic algorithms.
 * `fuse(method, candidates, options)` runs VOTE, WEIGHTED or CONSENSUS; with `options.rover`, a whole-candidate
 * answer is then refined by token-level ROVER fusion (its backbone and fallback being the method's answer).
 * Definitions: DESIGN.md, "The ensemble methods"; each module's header states its exact rule.
 */
import { consensus } from './consensus.js';
import { rover } from './rover.js';
import type { ConsensusOptions, FusionCandidate, FusionResult, RoverOptions, WeightedOptions } from './types.js';
import { vote } from './vote.js';
import { weighted } from './weighted.js';

export { consensus } from './consensus.js';
export { rover } from './rover.js';
export { vote } from './vote.js';
export { weighted } from './weighted.js';
export { normalize, similarity } from './similarity.js';
export { lex, type Lexed, type Token, type TokenKind } from './tokens.js';
export * from './types.js';

export const FUSION_METHODS = ['vote', 'weighted', 'consensus'] as const;
export type FusionMethod = (typeof FUSION_METHODS)[number];

export interface FuseOptions extends WeightedOptions, ConsensusOptions {
  /**
   * Refine the method's answer with ROVER (true: default ROVER options). The method's answer is the backbone and
   * the fallback; an abstention stays an abstention, and a consensus prefix is returned as it is.
   * `agreeThreshold` and `confidenceWeight` carry over unless the ROVER options set their own.
   */
  readonly rover?: boolean | Omit<RoverOptions, 'base'>;
}

export function isFusionMethod(value: unknown): value is FusionMethod {
  return typeof value === 'string' && (FUSION_METHODS as readonly string[]).includes(value);
}

export function fuse(method: FusionMethod, candidates: readonly FusionCandidate[], options: FuseOptions = {}): FusionResult | null {
  let result: FusionResult | null;
  switch (method) {
    case 'vote':
      result = vote(candidates);
      break;
    case 'weighted':
      result = weighted(candidates, options);
      break;
    case 'consensus':
      result = consensus(candidates, options);
      break;
    default:
      throw new RangeError(`unknown fusion method ${JSON.stringify(method)}: expected one of ${FUSION_METHODS.join(', ')}`);
  }
  if (result === null || options.rover === undefined || options.rover === false) return result;
  const roverOptions = options.rover === true ? {} : options.rover;
  return rover(candidates, {
    agreeThreshold: options.agreeThreshold,
    confidenceWeight: options.confidenceWeight,
    ...roverOptions,
    base: result,
  });
}
