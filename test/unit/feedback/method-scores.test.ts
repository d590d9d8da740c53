import { describe, expect, it } from 'vitest';
import { hybridEarly, hybridFinal } from '../../../server/engine/fusion/hybrid.js';
import { consensus, similarity, vote, weighted } from '../../../server/engine/fusion/index.js';
import type { FusionCandidate } from '../../../server/engine/fusion/types.js';
import { DEFAULT_MIN_RECORDS, emptyWeights, updateWeights } from '../../../server/feedback/hedge.js';
import {
  ABSTAIN_SCORE,
  AUTO_METHODS,
  chooseMethod,
  counterfactualPicks,
  emptyMethodScores,
  formatMethodReport,
  methodReport,
  methodScores,
  recordedCandidates,
  replayAll,
  updateMethodScores,
  type MethodScores,
} from '../../../server/feedback/method-scores.js';
import type { FeedbackRecord, ModelRecord } from '../../../server/feedback/record.js';
import { call, record } from './learn-records.js';

// Two heavy models roughly agree on HEAVY (not normalised-equal); two light ones agree exactly on LIGHT.
const HEAVY = 'return total + 1;';
const HEAVY2 = 'return total + 1 ;';
const LIGHT = 'return sum;';

function fourCalls(): ModelRecord[] {
  // Listed in call order, not in order of arrival.
  return [
    call('a', HEAVY, { weight: 5, latencyMs: 100 }),
    call('d', HEAVY2, { weight: 5, latencyMs: 120 }),
    call('b', LIGHT, { weight: 1, latencyMs: 10 }),
    call('c', LIGHT, { weight: 1, latencyMs: 20 }),
  ];
}

function cand(model: string, text: string, weight: number, latencyMs: number): FusionCandidate {
  return { model, text, weight, latencyMs };
}

function feed(records: readonly FeedbackRecord[], state: MethodScores = emptyMethodScores()): MethodScores {
  return records.reduce(updateMethodScores, state);
}

function times<T>(n: number, make: () => T): T[] {
  return Array.from({ length: n }, make);
}

describe('counterfactual picks', () => {
  it('are what the fusion functions give over the recorded candidates in order of arrival', () => {
    const r = record(fourCalls(), { kept: LIGHT });
    const arrived = [cand('b', LIGHT, 1, 10), cand('c', LIGHT, 1, 20), cand('a', HEAVY, 5, 100), cand('d', HEAVY2, 5, 120)];
    expect(recordedCandidates(r)).toEqual(arrived);
    const picks = counterfactualPicks(r);
    expect(picks.vote).toEqual(vote(arrived));
    expect(picks.weighted).toEqual(weighted(arrived));
    expect(picks.consensus).toEqual(consensus(arrived));
    // The stream the selection test relies on: VOTE's plurality is the light pair, WEIGHTED's medoid the heavy one.
    expect(picks.vote!.text).toBe(LIGHT);
    expect(picks.weighted!.text).toBe(HEAVY);
    // HYBRID: the light pair agrees first but does not outweigh the heavy models still running; once the last
    // answer is in, nothing is outstanding and the heavier agreeing pair answers.
    expect(hybridEarly(arrived.slice(0, 2), { outstandingWeight: 10 })).toBeNull();
    expect(hybridEarly(arrived.slice(0, 3), { outstandingWeight: 5 })).toBeNull();
    expect(picks.hybrid).toEqual(hybridEarly(arrived, { outstandingWeight: 0 }));
    expect(picks.hybrid!.text).toBe(HEAVY);
  });

  it('replay HYBRID answering early when the agreement outweighs what is still running', () => {
    const r = record([call('a', HEAVY, { weight: 1, latencyMs: 300 }), call('b', LIGHT, { weight: 2, latencyMs: 10 }), call('c', LIGHT, { weight: 2, latencyMs: 20 })], {
      kept: LIGHT,
    });
    const early = hybridEarly([cand('b', LIGHT, 2, 10), cand('c', LIGHT, 2, 20)], { outstandingWeight: 1 });
    expect(early).not.toBeNull();
    expect(counterfactualPicks(r).hybrid).toEqual(early);
  });

  it('replay HYBRID with cancelled calls outstanding to the end, and failures resolved when they failed', () => {
    const light = [call('b', LIGHT, { latencyMs: 10 }), call('c', LIGHT, { latencyMs: 20 })];
    const arrived = [cand('b', LIGHT, 1, 10), cand('c', LIGHT, 1, 20)];
    const final = hybridFinal(arrived);
    const early = hybridEarly(arrived, { outstandingWeight: 0 });
    expect(final!.rule).toBe('similarity');
    expect(early!.rule).toBe('agreement');

    const cancelled = record([...light, call('e', undefined, { outcome: 'cancelled', weight: 5, latencyMs: undefined })], { kept: LIGHT });
    expect(counterfactualPicks(cancelled).hybrid).toEqual(final);
    const failedEarly = record([...light, call('e', undefined, { outcome: 'failed', weight: 5, latencyMs: 5 })], { kept: LIGHT });
    expect(counterfactualPicks(failedEarly).hybrid).toEqual(early);
    const failedLate = record([...light, call('e', undefined, { outcome: 'failed', weight: 5, latencyMs: 500 })], { kept: LIGHT });
    expect(counterfactualPicks(failedLate).hybrid).toEqual(final);
    const failedUntimed = record([...light, call('e', undefined, { outcome: 'failed', weight: 5, latencyMs: undefined })], { kept: LIGHT });
    expect(counterfactualPicks(failedUntimed).hybrid).toEqual(early);
  });
});

describe('scores', () => {
  const disagreeing = () => [call('a', 'alpha()', { latencyMs: 10 }), call('b', 'beta + 2', { latencyMs: 20 }), call('c', 'gamma[3]', { latencyMs: 30 })];

  it('score a pick by its similarity to the kept text', () => {
    const scores = methodScores(record(fourCalls(), { kept: LIGHT }))!;
    expect(scores.vote).toEqual({ score: 1, abstained: false });
    expect(scores.weighted).toEqual({ score: similarity(HEAVY, LIGHT), abstained: false });
  });

  it('score an abstention at the retention threshold, and as right when the user kept nothing', () => {
    const kept = methodScores(record(disagreeing(), { kept: 'alpha()' }))!;
    expect(kept.consensus).toEqual({ score: ABSTAIN_SCORE, abstained: true });
    expect(kept.hybrid).toEqual({ score: ABSTAIN_SCORE, abstained: true });
    expect(kept.weighted.abstained).toBe(false);
    const nothing = methodScores(record(disagreeing(), { kept: ' \n ' }))!;
    expect(nothing.consensus).toEqual({ score: 1, abstained: true });
    expect(nothing.vote).toEqual({ score: 0, abstained: false });
  });

  it('count only labelled records with at least two candidates', () => {
    expect(methodScores(record([call('a', LIGHT), call('b', undefined)], { kept: LIGHT }))).toBeUndefined();
    expect(methodScores(record(fourCalls()))).toBeUndefined();
    expect(methodScores(record(fourCalls(), { kept: LIGHT, served: 'disk' }))).toBeUndefined();
    const state = feed([record([call('a', LIGHT)], { kept: LIGHT }), record(fourCalls(), { kept: LIGHT })]);
    expect(state.languages.python!.records).toBe(1);
  });
});

describe('chooseMethod', () => {
  it('picks the method whose picks the user keeps', () => {
    // VOTE's plurality pick is kept, WEIGHTED's (and HYBRID's, CONSENSUS's) heavy medoid is not.
    const voteKept = feed(times(25, () => record(fourCalls(), { kept: LIGHT })));
    expect(chooseMethod(voteKept, 'python')).toBe('vote');
    const [row] = methodReport(voteKept);
    expect(row!.chosen).toBe('vote');
    const vote = row!.methods.find((m) => m.method === 'vote')!;
    const weightedRow = row!.methods.find((m) => m.method === 'weighted')!;
    expect(vote).toMatchObject({ records: 25, meanScore: 1, abstained: 0 });
    expect(weightedRow.meanScore).toBeCloseTo(similarity(HEAVY, LIGHT), 12);
    expect(vote.weight).toBeGreaterThan(weightedRow.weight);

    // The heavy pick kept: the methods that give it tie, and HYBRID wins the tie.
    const heavyKept = feed(times(25, () => record(fourCalls(), { kept: HEAVY })));
    expect(chooseMethod(heavyKept, 'python')).toBe('hybrid');
  });

  it('follows the language', () => {
    const state = feed([...times(25, () => record(fourCalls(), { kept: LIGHT, language: 'go' })), ...times(25, () => record(fourCalls(), { kept: HEAVY, language: 'rust' }))]);
    expect(chooseMethod(state, 'go')).toBe('vote');
    expect(chooseMethod(state, 'rust')).toBe('hybrid');
    expect(chooseMethod(state, 'python')).toBeUndefined();
  });

  it('waits for the minimum number of records', () => {
    const state = feed(times(DEFAULT_MIN_RECORDS - 1, () => record(fourCalls(), { kept: LIGHT })));
    expect(chooseMethod(state, 'python')).toBeUndefined();
    expect(chooseMethod(updateMethodScores(state, record(fourCalls(), { kept: LIGHT })), 'python')).toBe('vote');
    expect(formatMethodReport(methodReport(state))).toContain(`none yet (${DEFAULT_MIN_RECORDS - 1} of ${DEFAULT_MIN_RECORDS} records)`);
  });

  it('prefers HYBRID within one record’s worth of loss of the best', () => {
    const withWeights = (hybrid: number, vote: number): MethodScores => ({
      version: 1,
      eta: 0.3,
      languages: {
        python: {
          records: 30,
          methods: Object.fromEntries(
            AUTO_METHODS.map((m) => [m, { records: 30, scoreSum: 20, abstained: 0, weight: m === 'hybrid' ? hybrid : m === 'vote' ? vote : 0.5 }]),
          ),
        },
      },
    });
    expect(chooseMethod(withWeights(0.8, 1), 'python')).toBe('hybrid'); // 0.8 ≥ e^-0.3 ≈ 0.741
    expect(chooseMethod(withWeights(0.7, 1), 'python')).toBe('vote');
    expect(chooseMethod(withWeights(1, 1), 'python')).toBe('hybrid');
  });
});

describe('replay', () => {
  it('rebuilds both states from scratch whatever order the records come in, equal to the incremental ones', () => {
    const records = [
      ...times(9, () => record(fourCalls(), { kept: LIGHT })),
      ...times(6, () => record(fourCalls(), { kept: HEAVY })),
      ...times(5, () => record(fourCalls(), { kept: LIGHT, language: 'go' })),
      record([call('a', 'alpha()'), call('b', 'beta + 2'), call('c', 'gamma[3]')], { kept: 'alpha()' }),
      record(fourCalls()),
    ];
    let weights = emptyWeights();
    let methods = emptyMethodScores();
    for (const r of records) {
      weights = updateWeights(weights, r);
      methods = updateMethodScores(methods, r);
    }
    // A fixed permutation (22 records, 5 and 22 coprime).
    const shuffled = records.map((_, i) => records[(i * 5) % records.length]!);
    expect(new Set(shuffled).size).toBe(records.length);
    expect(replayAll(shuffled)).toEqual({ weights, methods });
    expect(replayAll(records)).toEqual({ weights, methods });
    expect(methods.languages.python!.records).toBe(16);
    // Persisted as JSON, the state goes on learning alike.
    const persisted = JSON.parse(JSON.stringify(methods)) as MethodScores;
    const next = record(fourCalls(), { kept: HEAVY });
    expect(updateMethodScores(persisted, next)).toEqual(updateMethodScores(methods, next));
  });
});
