import type { LmdbStore } from '../store/lmdb-store.js';
import { LEARNED_WEIGHTS_VERSION, emptyWeights, type LearnedWeights } from './hedge.js';
import { METHOD_SCORES_VERSION, emptyMethodScores, type LearnedState, type MethodScores } from './method-scores.js';

/**
 * The learned state (model weights and method scores per language) in the `learned` database: one key each,
 * written with the feedback flushes. A state of another version is ignored, to be rebuilt by replaying the log.
 */
const WEIGHTS_KEY = 'weights';
const METHODS_KEY = 'methods';

export function readLearned(store: LmdbStore | undefined): LearnedState | undefined {
  if (!store?.usable) return undefined;
  const weights = store.get<LearnedWeights>('learned', WEIGHTS_KEY);
  const methods = store.get<MethodScores>('learned', METHODS_KEY);
  if (weights?.version !== LEARNED_WEIGHTS_VERSION || methods?.version !== METHOD_SCORES_VERSION) return undefined;
  return { weights, methods };
}

export function writeLearned(store: LmdbStore, state: LearnedState): void {
  store.batch(() => {
    store.put('learned', WEIGHTS_KEY, state.weights);
    store.put('learned', METHODS_KEY, state.methods);
  });
}

export function emptyLearned(): LearnedState {
  return { weights: emptyWeights(), methods: emptyMethodScores() };
}
