import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MIN_RECORDS,
  WEIGHT_FLOOR,
  emptyWeights,
  modelKey,
  modelLosses,
  replayWeights,
  updateWeights,
  weightsFor,
  weightsReport,
  type LearnedWeights,
} from '../../../server/feedback/hedge.js';
import type { FeedbackRecord } from '../../../server/feedback/record.js';
import { HOST, call, record } from './learn-records.js';

const RIGHT = 'return sum(values)';
const WRONG = 'print("hello world")';
const A = modelKey('a', HOST);
const B = modelKey('b', HOST);
const configured = [
  { name: 'a', host: HOST, weight: 1 },
  { name: 'b', host: HOST, weight: 1 },
];

/** A record where model a's candidate is kept and b's is not (or the other way round). */
function aKept(language = 'python', extra: Partial<FeedbackRecord> = {}): FeedbackRecord {
  return record([call('a', RIGHT), call('b', WRONG)], { kept: RIGHT, language, ...extra });
}
function bKept(language = 'python'): FeedbackRecord {
  return record([call('a', WRONG), call('b', RIGHT)], { kept: RIGHT, language });
}

function feed(records: readonly FeedbackRecord[], state: LearnedWeights = emptyWeights()): LearnedWeights {
  return records.reduce(updateWeights, state);
}

function times<T>(n: number, make: () => T): T[] {
  return Array.from({ length: n }, make);
}

describe('Hedge model weights', () => {
  it('moves weight toward the model whose candidates are kept, per language', () => {
    const state = feed([...times(25, () => aKept('python')), ...times(25, () => bKept('typescript'))]);
    const python = weightsFor(state, 'python', configured)!;
    const typescript = weightsFor(state, 'typescript', configured)!;
    expect(python.get(A)!).toBeGreaterThan(1.5);
    expect(python.get(B)!).toBeLessThan(0.5);
    // a is kept in Python only: in TypeScript it loses.
    expect(typescript.get(A)!).toBeLessThan(0.5);
    expect(typescript.get(B)!).toBeGreaterThan(1.5);
    // The configured scale is kept: the learned weights sum to the configured sum.
    expect(python.get(A)! + python.get(B)!).toBeCloseTo(2, 12);
    expect(weightsFor(state, 'rust', configured)).toBeUndefined();
  });

  it('learns from every model that answered, not only the chosen one (full information)', () => {
    // b's candidate was shown (chosen), a's was not; the user typed a's.
    const r = record([call('b', WRONG), call('a', RIGHT)], { kept: RIGHT, chosen: WRONG, chosenModel: 'b' });
    const state = updateWeights(emptyWeights(), r);
    expect(state.languages.python!.weights[A]).toBeGreaterThan(1);
    expect(state.languages.python!.weights[B]).toBeLessThan(1);
  });

  it('keeps weights positive at the floor and lets a model recover', () => {
    let state = feed(times(300, () => bKept()));
    const floored = state.languages.python!.weights[A]!;
    expect(floored).toBe(WEIGHT_FLOOR);
    // The floor takes its lift back from the others: the total stays what it was (no creep over 300 records).
    expect(floored + state.languages.python!.weights[B]!).toBeCloseTo(2, 9);
    expect(weightsFor(state, 'python', configured)!.get(A)!).toBeGreaterThan(0);
    // From the floor, a kept model climbs back past the other one within a few dozen records.
    let records = 0;
    while (state.languages.python!.weights[A]! <= state.languages.python!.weights[B]!) {
      state = updateWeights(state, aKept());
      records++;
      expect(records).toBeLessThan(40);
    }
    expect(records).toBeGreaterThan(5);
  });

  it('uses the learned weights only from the minimum number of informative records', () => {
    let state = feed(times(DEFAULT_MIN_RECORDS - 1, () => aKept()));
    // Records that teach nothing do not count: unlabelled, served from the cache, a single model answering.
    state = feed(
      [
        record([call('a', RIGHT), call('b', WRONG)]),
        aKept('python', { served: 'memory' }),
        record([call('a', RIGHT), call('b', undefined, { outcome: 'late', latencyMs: undefined })], { kept: RIGHT }),
      ],
      state,
    );
    expect(state.languages.python!.records).toBe(DEFAULT_MIN_RECORDS - 1);
    expect(weightsFor(state, 'python', configured)).toBeUndefined();
    state = updateWeights(state, aKept());
    expect(weightsFor(state, 'python', configured)).toBeInstanceOf(Map);
    expect(weightsFor(state, 'python', configured, DEFAULT_MIN_RECORDS + 1)).toBeUndefined();
  });

  it('gives a new model its configured weight and ignores models no longer configured', () => {
    const state = feed(times(30, () => aKept()));
    const now = [
      { name: 'a', host: HOST, weight: 2 },
      { name: 'c', host: HOST, weight: 3 },
    ];
    const weights = weightsFor(state, 'python', now)!;
    expect([...weights.keys()]).toEqual([A, modelKey('c', HOST)]);
    expect(weights.get(modelKey('c', HOST))).toBe(3);
    // a alone among the learned models: it keeps its configured weight's share (b is gone).
    expect(weights.get(A)).toBeCloseTo(2, 12);
    expect(weights.has(B)).toBe(false);
  });

  it('tells the same model name on two hosts apart', () => {
    const other = 'http://gpu-box:11434';
    const state = feed(times(25, () => record([call('a', RIGHT), call('a', WRONG, { host: other })], { kept: RIGHT })));
    const weights = weightsFor(state, 'python', [
      { name: 'a', host: HOST, weight: 1 },
      { name: 'a', host: other, weight: 1 },
    ])!;
    expect(weights.get(modelKey('a', HOST))!).toBeGreaterThan(weights.get(modelKey('a', other))! * 5);
  });

  it('charges a filtered model for proposing nothing, and credits it when the user kept nothing', () => {
    expect(modelLosses(record([call('a', RIGHT), call('b', undefined)], { kept: RIGHT }), RIGHT)).toEqual(
      new Map([
        [A, 0],
        [B, 1],
      ]),
    );
    const empty = record([call('a', RIGHT), call('b', undefined)], { kept: '  \n' });
    expect(modelLosses(empty, '  \n')).toEqual(
      new Map([
        [A, 1],
        [B, 0],
      ]),
    );
  });

  it('leaves failed, late and cancelled models asleep: neither charged nor rewarded', () => {
    const c = modelKey('c', HOST);
    let state = feed(times(10, () => aKept()));
    const before = state.languages.python!.weights;
    for (const outcome of ['failed', 'late', 'cancelled'] as const) {
      state = updateWeights(state, record([call('a', RIGHT), call('b', WRONG), call('c', undefined, { outcome })], { kept: RIGHT }));
    }
    const after = state.languages.python!.weights;
    expect(after[c]).toBeUndefined();
    // a and b moved among themselves; their total weight is what it was.
    expect(after[A]! + after[B]!).toBeCloseTo(before[A]! + before[B]!, 12);
    // A model asleep while the others learn keeps its weight.
    state = updateWeights(state, record([call('a', RIGHT), call('c', WRONG)], { kept: RIGHT }));
    const c0 = state.languages.python!.weights[c]!;
    state = updateWeights(state, record([call('a', RIGHT), call('b', WRONG), call('c', undefined, { outcome: 'late' })], { kept: RIGHT }));
    expect(state.languages.python!.weights[c]).toBe(c0);
  });

  it('averages the samples of a model into one loss', () => {
    const r = record([call('a', RIGHT), call('a', WRONG, { sample: 1 }), call('b', RIGHT)], { kept: RIGHT });
    const losses = modelLosses(r, RIGHT);
    expect(losses.get(B)).toBe(0);
    expect(losses.get(A)).toBeCloseTo((0 + modelLosses(record([call('a', WRONG), call('b', RIGHT)]), RIGHT).get(A)!) / 2, 12);
  });

  it('returns a new state and leaves the old one as it was', () => {
    const state = feed(times(3, () => aKept()));
    const frozen = JSON.stringify(state);
    const next = updateWeights(state, bKept());
    expect(JSON.stringify(state)).toBe(frozen);
    expect(next).not.toBe(state);
  });

  it('replays deterministically, whatever order the records come in, and equals the incremental state', () => {
    const records = [
      ...times(12, () => aKept('python')),
      ...times(7, () => bKept('python')),
      ...times(9, () => bKept('go')),
      record([call('a', RIGHT), call('b', WRONG), call('c', 'return sum(value)')], { kept: RIGHT, language: 'go' }),
    ];
    const incremental = feed(records);
    // A fixed permutation: every 7th record, round and round (29 records, 7 and 29 coprime).
    const shuffled = records.map((_, i) => records[(i * 7) % records.length]!);
    expect(new Set(shuffled).size).toBe(records.length);
    expect(replayWeights(shuffled)).toEqual(incremental);
    expect(replayWeights(records)).toEqual(incremental);
    expect(incremental.languages.go!.records).toBe(10);
  });

  it('continues from a persisted state exactly as from the live one', () => {
    const live = feed(times(8, () => aKept('go')));
    const persisted = JSON.parse(JSON.stringify(live)) as LearnedWeights;
    const next = aKept('go');
    expect(updateWeights(persisted, next)).toEqual(updateWeights(live, next));
  });

  it('treats a language named __proto__ as data', () => {
    const state = feed(times(DEFAULT_MIN_RECORDS, () => aKept('__proto__')));
    expect(Object.hasOwn(state.languages, '__proto__')).toBe(true);
    expect(weightsFor(state, '__proto__', configured)!.get(A)!).toBeGreaterThan(1);
    expect(weightsFor(state, 'constructor', configured)).toBeUndefined();
    const round = JSON.parse(JSON.stringify(state)) as LearnedWeights;
    expect(weightsFor(round, '__proto__', configured)).toEqual(weightsFor(state, '__proto__', configured));
  });

  it('reports per language and model', () => {
    const state = feed(times(3, () => aKept('python')));
    const [row] = weightsReport(state);
    expect(row).toMatchObject({ language: 'python', records: 3, active: false });
    expect(row!.models.map((m) => [m.model, m.records])).toEqual([
      [A, 3],
      [B, 3],
    ]);
  });
});
