/**
 * Adaptive method selection (`ensemble.method: "auto"`): for every recorded request, what each fusion method would
 * have answered is recomputed from the stored candidates and scored against what the user kept; per language the
 * state holds each method's mean score and a Hedge weight over the methods, and `chooseMethod` takes the heaviest.
 * Pure, deterministic and synchronous; the state is plain JSON that the caller persists.
 *
 * Counterfactual picks (`counterfactualPicks`), by calling the fusion functions the engine calls, never copies:
 * - The candidates are the record's answered calls as FusionCandidates (model name, candidate, the weight and
 *   latency the record holds), in order of arrival (latency, then call order), as `runEnsemble` collects them.
 * - 'vote', 'weighted', 'consensus': `fuse(method, candidates)`. The engine also gives consensus a syntax check
 *   for prefix cuts (`postprocess` of the cut must leave it unchanged); the record has no document to run it
 *   against, so a replayed prefix may be one the engine would have cut shorter or refused.
 * - 'hybrid': the cascade replayed in time. Every call resolves at its latency (answered, filtered and failed; a
 *   filtered or failed call without a latency counts as resolved before any arrival), late and cancelled calls
 *   never do. After each arrival `hybridEarly(arrived, { outstandingWeight })` with the weight of the calls not yet
 *   resolved, as `runEnsemble` does; with no early answer, `hybridFinal` over everything that arrived. Records
 *   hold no log-probabilities, so the 'confident' early rule cannot fire in a replay.
 * - ROVER is not replayed: the engine keeps a fused text only if it parses no worse, which needs the document.
 *   "auto" chooses the method; `ensemble.rover` stays the user's.
 *
 * Score of a pick: `similarity(pick, kept)` (whitespace-normalised edit similarity). An abstention scores
 * `ABSTAIN_SCORE` = 0.5 when the user kept code there: 0.5 is the retention threshold (an accepted text counts as
 * retained while its edit distance stays within half its length), so a pick less similar than that is one the user
 * would not have kept, and worth no more than showing nothing; a pick above it is worth more. CONSENSUS abstains by
 * design when the models disagree, and this neither rewards nor punishes that beyond what the picks it withheld
 * were worth. When the user kept nothing (the kept text is empty after normalisation) an abstention scores 1 and
 * every pick 0, which is `similarity('', kept)` and `similarity(pick, '')`.
 *
 * Hedge over the methods, as for the models (`hedge.ts`): full information (every method is scored on every
 * record), `w ← w·exp(-η·(1 - score))`, the total weight kept, a floor of `WEIGHT_FLOOR`, η = 0.3. Only records
 * with at least two candidates count: with one, every method answers it alike.
 *
 * `chooseMethod`: the heaviest method, but HYBRID whenever its weight is within one record's worth of loss of the
 * best (`w_hybrid ≥ w_best·exp(-η)`): HYBRID answers as soon as the fast models agree instead of waiting for every
 * model, so at an equal pick quality it is the better answer; a record's worth is the smallest difference that
 * says more than rounding.
 */
import type { EnsembleMethod } from '../engine/ensemble.js';
import { hybridEarly, hybridFinal } from '../engine/fusion/hybrid.js';
import { fuse } from '../engine/fusion/index.js';
import { normalize, similarity } from '../engine/fusion/similarity.js';
import type { FusionCandidate, FusionResult } from '../engine/fusion/types.js';
import {
  DEFAULT_ETA,
  DEFAULT_MIN_RECORDS,
  WEIGHT_FLOOR,
  compareRecords,
  emptyWeights,
  hedgeStep,
  learnableKeptText,
  own,
  updateWeights,
  withEntry,
  type LearnedWeights,
} from './hedge.js';
import type { FeedbackRecord, ModelRecord } from './record.js';

/** The methods "auto" chooses among, HYBRID first (the tie-breaker's preference, then the listed order). */
export const AUTO_METHODS = ['hybrid', 'vote', 'weighted', 'consensus'] as const satisfies readonly EnsembleMethod[];
export type AutoMethod = (typeof AUTO_METHODS)[number];

export const METHOD_SCORES_VERSION = 1;
/** What an abstention scores when the user kept code there (the retention threshold). */
export const ABSTAIN_SCORE = 0.5;
/** HYBRID is chosen while its cumulative loss is within this many records' worth of the best method's. */
export const HYBRID_MARGIN = 1;

export interface MethodStats {
  /** Records this method was scored on. */
  readonly records: number;
  readonly scoreSum: number;
  /** Of those, the records it abstained on. */
  readonly abstained: number;
  /** Hedge weight (a method new to the state starts at 1). */
  readonly weight: number;
}

export interface LanguageMethods {
  /** Records scored (labelled, served by the models, at least two candidates). */
  readonly records: number;
  readonly methods: Readonly<Record<string, MethodStats>>;
}

export interface MethodScores {
  readonly version: typeof METHOD_SCORES_VERSION;
  readonly eta: number;
  readonly languages: Readonly<Record<string, LanguageMethods>>;
}

export function emptyMethodScores(eta: number = DEFAULT_ETA): MethodScores {
  return { version: METHOD_SCORES_VERSION, eta: Number.isFinite(eta) && eta > 0 ? eta : DEFAULT_ETA, languages: {} };
}

/** The record's answered calls as fusion candidates, in order of arrival (latency, then call order). */
export function recordedCandidates(record: FeedbackRecord): FusionCandidate[] {
  return timeline(record)
    .resolved.filter((call) => call.candidate !== undefined)
    .map((call) => call.candidate!);
}

/** What each method would have answered to the recorded request (null: it abstains). */
export function counterfactualPicks(record: FeedbackRecord): Record<AutoMethod, FusionResult | null> {
  const candidates = recordedCandidates(record);
  return {
    hybrid: replayHybrid(record),
    vote: fuse('vote', candidates),
    weighted: fuse('weighted', candidates),
    consensus: fuse('consensus', candidates),
  };
}

/** A pick's score against the kept text; `null` is an abstention. */
export function scorePick(pick: string | null, kept: string): number {
  if (pick === null) return normalize(kept) === '' ? 1 : ABSTAIN_SCORE;
  return similarity(pick, kept);
}

export interface MethodScore {
  readonly score: number;
  readonly abstained: boolean;
}

/** Every method's score on a record, or undefined when the record does not count (see `LanguageMethods.records`). */
export function methodScores(record: FeedbackRecord): Record<AutoMethod, MethodScore> | undefined {
  const kept = learnableKeptText(record);
  if (kept === undefined || recordedCandidates(record).length < 2) return undefined;
  const picks = counterfactualPicks(record);
  const score = (pick: FusionResult | null): MethodScore => ({ score: scorePick(pick?.text ?? null, kept), abstained: pick === null });
  return { hybrid: score(picks.hybrid), vote: score(picks.vote), weighted: score(picks.weighted), consensus: score(picks.consensus) };
}

/** The state after scoring one record: a new state (the argument is not changed), or the same when it does not count. */
export function updateMethodScores(state: MethodScores, record: FeedbackRecord): MethodScores {
  const scores = methodScores(record);
  if (scores === undefined) return state;
  const eta = Number.isFinite(state.eta) && state.eta > 0 ? state.eta : DEFAULT_ETA;
  const language = own(state.languages, record.language) ?? { records: 0, methods: {} };

  const next = hedgeStep(
    AUTO_METHODS.map((method) => validWeight(own(language.methods, method)?.weight)),
    AUTO_METHODS.map((method) => 1 - scores[method].score),
    eta,
  );
  let methods: Record<string, MethodStats> = language.methods;
  for (const [i, method] of AUTO_METHODS.entries()) {
    const old = own(language.methods, method) ?? { records: 0, scoreSum: 0, abstained: 0, weight: 1 };
    methods = withEntry(methods, method, {
      records: old.records + 1,
      scoreSum: old.scoreSum + scores[method].score,
      abstained: old.abstained + (scores[method].abstained ? 1 : 0),
      weight: next[i]!,
    });
  }
  return { ...state, languages: withEntry(state.languages, record.language, { records: language.records + 1, methods }) };
}

/**
 * The method for a language: undefined until it has `minRecords` scored records; else the heaviest, HYBRID
 * whenever it is within `HYBRID_MARGIN` records' worth of loss of it (ties among the others: `AUTO_METHODS` order).
 */
export function chooseMethod(state: MethodScores, language: string, minRecords: number = DEFAULT_MIN_RECORDS): AutoMethod | undefined {
  const scores = own(state.languages, language);
  if (scores === undefined || scores.records < minRecords) return undefined;
  const weightOf = (method: AutoMethod) => validWeight(own(scores.methods, method)?.weight);
  let best: AutoMethod = AUTO_METHODS[0];
  for (const method of AUTO_METHODS) if (weightOf(method) > weightOf(best)) best = method;
  const eta = Number.isFinite(state.eta) && state.eta > 0 ? state.eta : DEFAULT_ETA;
  if (weightOf('hybrid') >= weightOf(best) * Math.exp(-eta * HYBRID_MARGIN)) return 'hybrid';
  return best;
}

export interface MethodReportRow {
  readonly language: string;
  readonly records: number;
  /** What `chooseMethod` answers (undefined: too few records; "auto" falls back to its default). */
  readonly chosen: AutoMethod | undefined;
  readonly methods: readonly {
    readonly method: AutoMethod;
    readonly records: number;
    readonly meanScore: number | undefined;
    readonly abstained: number;
    readonly weight: number;
  }[];
}

/** For `xencode feedback stats`: per language (sorted), per method: records scored, mean score, abstentions, weight. */
export function methodReport(state: MethodScores, minRecords: number = DEFAULT_MIN_RECORDS): MethodReportRow[] {
  return Object.keys(state.languages)
    .sort()
    .map((language) => {
      const l = own(state.languages, language)!;
      return {
        language,
        records: l.records,
        chosen: chooseMethod(state, language, minRecords),
        methods: AUTO_METHODS.map((method) => {
          const s = own(l.methods, method);
          return {
            method,
            records: s?.records ?? 0,
            meanScore: s !== undefined && s.records > 0 ? s.scoreSum / s.records : undefined,
            abstained: s?.abstained ?? 0,
            weight: validWeight(s?.weight),
          };
        }),
      };
    });
}

/** The report as text lines, one per language and method. */
export function formatMethodReport(rows: readonly MethodReportRow[], minRecords: number = DEFAULT_MIN_RECORDS): string {
  const lines: string[] = [];
  for (const row of rows) {
    const chosen = row.chosen ?? `none yet (${row.records} of ${minRecords} records)`;
    lines.push(`${row.language}: ${row.records} records scored, chosen: ${chosen}`);
    for (const m of row.methods) {
      const mean = m.meanScore === undefined ? '-' : m.meanScore.toFixed(3);
      lines.push(`  ${m.method.padEnd(9)} records ${String(m.records).padStart(6)}  mean ${mean}  abstained ${m.abstained}  weight ${m.weight.toFixed(3)}`);
    }
  }
  return lines.join('\n');
}

export interface LearnedState {
  readonly weights: LearnedWeights;
  readonly methods: MethodScores;
}

/**
 * Both states rebuilt from scratch (after `feedback clear`, a schema change or a change of the rules here), the
 * records taken in the canonical order (`compareRecords`: shown time, then id) whatever order they come in.
 */
export function replayAll(records: Iterable<FeedbackRecord>, eta: number = DEFAULT_ETA): LearnedState {
  let weights = emptyWeights(eta);
  let methods = emptyMethodScores(eta);
  for (const record of [...records].sort(compareRecords)) {
    weights = updateWeights(weights, record);
    methods = updateMethodScores(methods, record);
  }
  return { weights, methods };
}

interface Call {
  readonly index: number;
  /** When it resolved (ms after the request); Infinity: never (late, cancelled). */
  readonly at: number;
  readonly weight: number;
  readonly candidate?: FusionCandidate;
}

/** The record's calls that resolved, in the order they did (time, then call order), and those that never did. */
function timeline(record: FeedbackRecord): { resolved: Call[]; unresolvedWeight: number } {
  const resolved: Call[] = [];
  let unresolvedWeight = 0;
  record.models.forEach((m, index) => {
    const weight = m.weight;
    if (m.outcome === 'late' || m.outcome === 'cancelled') {
      unresolvedWeight += weight;
      return;
    }
    if (m.outcome === 'answered' && m.candidate !== undefined && m.candidate !== '') {
      const latency = validLatency(m);
      // An answer without a latency arrived some time before the end: after every timed one.
      resolved.push({ index, at: latency ?? Number.MAX_VALUE, weight, candidate: toCandidate(m, latency) });
    } else {
      resolved.push({ index, at: validLatency(m) ?? 0, weight });
    }
  });
  resolved.sort((a, b) => a.at - b.at || a.index - b.index);
  return { resolved, unresolvedWeight };
}

/** HYBRID's decision over the record, made as `runEnsemble` makes it while the answers arrive. */
function replayHybrid(record: FeedbackRecord): FusionResult | null {
  const { resolved, unresolvedWeight } = timeline(record);
  const arrived: FusionCandidate[] = [];
  for (let k = 0; k < resolved.length; k++) {
    const candidate = resolved[k]!.candidate;
    if (candidate === undefined) continue;
    arrived.push(candidate);
    let outstandingWeight = unresolvedWeight;
    for (let j = k + 1; j < resolved.length; j++) outstandingWeight += resolved[j]!.weight;
    const early = hybridEarly(arrived, { outstandingWeight });
    if (early) return early;
  }
  return hybridFinal(arrived);
}

function toCandidate(m: ModelRecord, latency: number | undefined): FusionCandidate {
  return { model: m.model, text: m.candidate!, weight: m.weight, latencyMs: latency ?? Number.POSITIVE_INFINITY };
}

function validLatency(m: ModelRecord): number | undefined {
  return m.latencyMs !== undefined && Number.isFinite(m.latencyMs) ? m.latencyMs : undefined;
}

function validWeight(w: number | undefined): number {
  return w !== undefined && Number.isFinite(w) && w > 0 ? Math.max(WEIGHT_FLOOR, w) : 1;
}
