import type { FusionCandidate } from '../../../server/engine/fusion/types.js';

/** A candidate for the fusion tests: weight 1 and 100 ms unless said otherwise. */
export function c(model: string, text: string, weight = 1, latencyMs = 100, meanLogprob?: number): FusionCandidate {
  return meanLogprob === undefined ? { model, text, weight, latencyMs } : { model, text, weight, latencyMs, meanLogprob };
}

// Three candidates that each deviate from the per-slot majority in a different place (for ROVER).
export const SUM = 'const sum = items.reduce((a, b) => a + b, 0);';
export const ONE = 'const total = items.reduce((a, b) => a + b, 1);';
export const ACC = 'const total = items.reduce((acc, b) => acc + b, 0);';
export const MAJORITY = 'const total = items.reduce((a, b) => a + b, 0);';
