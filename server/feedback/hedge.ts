/**
 * Learned model weights: Hedge (multiplicative weights) over the configured models, per language, from the
 * feedback records. Pure, deterministic and synchronous; the state is plain JSON that the caller persists.
 *
 * The update, for one labelled record (one whose `keptText` is known, served by the models now):
 * - Full information: every model that took part gets a loss, not just the chosen one. A model's loss is
 *   `1 - similarity(candidate, kept)` (the fusion's `similarity`: whitespace-normalised edit similarity, so layout
 *   the user re-indents costs nothing), averaged over its samples.
 * - A model whose answer did not survive post-processing ('filtered') proposed nothing: its loss is that of the
 *   empty string, `1 - similarity('', kept)`: 1 when the user kept code there, 0 when they kept nothing (then
 *   nothing was the right answer).
 * - 'failed', 'late' and 'cancelled' calls give no loss: the model is asleep for that record. A failure is the
 *   backend's health (host down, model not pulled), which `health.ts` reports; a weight only ever acts on a
 *   candidate, and a host outage of a few hundred requests would otherwise bury a good model for a long time.
 *   'late' and 'cancelled' are the deadline's and the cascade's doing: HYBRID cancels the slow models whenever
 *   the fast ones agree, so charging them would teach "slow is wrong".
 * - Sleeping experts (Freund, Schapire, Singer & Warmuth 1997): only the awake models are updated,
 *   `w ← w·exp(-η·loss)`, and then rescaled so that their summed weight is what it was. An asleep model keeps its
 *   weight relative to the others (plain Hedge renormalised over everyone would reward it for not answering).
 * - Floor: no weight drops below `WEIGHT_FLOOR` (0.1, where a newcomer starts at 1); the lift comes out of the
 *   other awake models, so the total stays (`hedgeStep`). A model that was worse for a while keeps a voice (with
 *   two models, 1:19 at worst) and, once it is kept again, climbs back at `exp(η·gap)` per record: to parity in
 *   about ln(19)/(η·gap) ≈ 10 records at a loss gap of 1, ≈ 33 at a gap of 0.3.
 *
 * Weights in the state are multipliers of the configured weights (a model new to the state starts at 1, its
 * configured weight: the configuration is Hedge's prior); the updates keep their mean near 1. `weightsFor` turns
 * them into fusion weights on the configured scale.
 *
 * η = 0.3: the anytime rate `√(8 ln N / T)` for N = 2–4 models over a horizon of T ≈ 100 records (the window the
 * floor lets the learner track over) is 0.24–0.33. One record moves a ratio of two weights by at most e^0.3 ≈ 1.35,
 * so single noisy similarities do not swing it; 20 records at a mean gap of 0.2 move it by e^1.2 ≈ 3.3. A fixed
 * rate, not a decreasing one, so that a model can recover late in the state's life.
 *
 * Order: the update is a product, so records with the same awake models commute exactly (up to rounding) while no
 * weight is at the floor; in general the result depends on order slightly. `replayWeights` (and the store, feeding
 * records as they are labelled) uses one canonical order, `compareRecords`: shown time, then id. Feed each record
 * once, when `keptText` is final (the 30 s capture is in, or the record is closed without one).
 */
import { similarity } from '../engine/fusion/similarity.js';
import { keptText, type FeedbackRecord } from './record.js';

export const LEARNED_WEIGHTS_VERSION = 1;
export const DEFAULT_ETA = 0.3;
/** The lowest multiplier a model's weight can reach (a newcomer starts at 1). */
export const WEIGHT_FLOOR = 0.1;
/**
 * Informative records (at least two models with a loss) a language needs before its learned weights are used:
 * below that, a few similarities would set them by chance.
 */
export const DEFAULT_MIN_RECORDS = 20;

export interface LanguageWeights {
  /** Records that updated the weights (labelled, served by the models, at least two models with a loss). */
  readonly records: number;
  /** Multiplier of the configured weight, per `modelKey`. */
  readonly weights: Readonly<Record<string, number>>;
  /** Records each model had a loss in. */
  readonly seen: Readonly<Record<string, number>>;
}

export interface LearnedWeights {
  readonly version: typeof LEARNED_WEIGHTS_VERSION;
  readonly eta: number;
  readonly languages: Readonly<Record<string, LanguageWeights>>;
}

/** A configured completion model, its host resolved (`m.host ?? settings.ollama.host`). */
export interface ConfiguredModel {
  readonly name: string;
  readonly host: string;
  readonly weight: number;
}

/**
 * A model's identity: its name and the host it runs on (the same name on two hosts can be a different
 * quantisation or adapter). Both sides must pass the host in the same form: the normalised settings host, as
 * `ModelRecord.host` holds it. Normalised hosts hold no whitespace, so the key is unambiguous.
 */
export function modelKey(name: string, host: string): string {
  return `${name} ${host}`;
}

export function emptyWeights(eta: number = DEFAULT_ETA): LearnedWeights {
  return { version: LEARNED_WEIGHTS_VERSION, eta: Number.isFinite(eta) && eta > 0 ? eta : DEFAULT_ETA, languages: {} };
}

/**
 * What a record teaches against: its kept text, when it is labelled and its candidates were produced for it
 * (answers reused from typed-ahead or the cache carry no fresh candidates to compare).
 */
export function learnableKeptText(record: FeedbackRecord): string | undefined {
  if (record.served !== 'model') return undefined;
  return keptText(record);
}

/** The canonical order of records for learning: shown time, then id. */
export function compareRecords(a: FeedbackRecord, b: FeedbackRecord): number {
  return a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Each model's loss in the record against the kept text, per `modelKey`: the mean over its samples that have one
 * (answered with a candidate, or filtered); models with none are absent (asleep).
 */
export function modelLosses(record: FeedbackRecord, kept: string): Map<string, number> {
  const sums = new Map<string, { loss: number; count: number }>();
  for (const m of record.models) {
    let loss: number;
    if (m.outcome === 'answered' && m.candidate !== undefined) loss = 1 - similarity(m.candidate, kept);
    else if (m.outcome === 'filtered') loss = 1 - similarity('', kept);
    else continue;
    const key = modelKey(m.model, m.host);
    const sum = sums.get(key) ?? { loss: 0, count: 0 };
    sum.loss += loss;
    sum.count++;
    sums.set(key, sum);
  }
  const losses = new Map<string, number>();
  for (const [key, { loss, count }] of sums) losses.set(key, Math.min(1, Math.max(0, loss / count)));
  return losses;
}

/**
 * The state after learning from one record; returns a new state (the argument is not changed) or, when the
 * record teaches nothing (unlabelled, reused, fewer than two models with a loss), the same state.
 */
export function updateWeights(state: LearnedWeights, record: FeedbackRecord): LearnedWeights {
  const kept = learnableKeptText(record);
  if (kept === undefined) return state;
  const losses = modelLosses(record, kept);
  if (losses.size < 2) return state;
  const eta = Number.isFinite(state.eta) && state.eta > 0 ? state.eta : DEFAULT_ETA;
  const language = own(state.languages, record.language) ?? { records: 0, weights: {}, seen: {} };

  const keys = [...losses.keys()];
  const next = hedgeStep(
    keys.map((key) => validWeight(own(language.weights, key))),
    keys.map((key) => losses.get(key)!),
    eta,
  );
  let weights: Record<string, number> = language.weights;
  let seen: Record<string, number> = language.seen;
  for (const [i, key] of keys.entries()) {
    weights = withEntry(weights, key, next[i]!);
    seen = withEntry(seen, key, (own(language.seen, key) ?? 0) + 1);
  }
  return { ...state, languages: withEntry(state.languages, record.language, { records: language.records + 1, weights, seen }) };
}

/**
 * The fusion weight of each configured model (by `modelKey`) for a language, or undefined while the language has
 * fewer than `minRecords` informative records. A model new to the state gets its configured weight; the models
 * the state knows share their configured weights' sum in proportion to configured weight × learned multiplier.
 * Models in the state that are no longer configured are ignored. Every weight is > 0.
 */
export function weightsFor(
  state: LearnedWeights,
  language: string,
  configured: readonly ConfiguredModel[],
  minRecords: number = DEFAULT_MIN_RECORDS,
): Map<string, number> | undefined {
  const learned = own(state.languages, language);
  if (learned === undefined || learned.records < minRecords) return undefined;
  let configuredSum = 0;
  let learnedSum = 0;
  for (const m of configured) {
    const r = own(learned.weights, modelKey(m.name, m.host));
    if (r === undefined) continue;
    configuredSum += m.weight;
    learnedSum += m.weight * validWeight(r);
  }
  const scale = learnedSum > 0 ? configuredSum / learnedSum : 1;
  const out = new Map<string, number>();
  for (const m of configured) {
    const key = modelKey(m.name, m.host);
    const r = own(learned.weights, key);
    out.set(key, r === undefined ? m.weight : m.weight * validWeight(r) * scale);
  }
  return out;
}

/** Learned weights rebuilt from scratch, the records taken in the canonical order (`compareRecords`). */
export function replayWeights(records: Iterable<FeedbackRecord>, eta: number = DEFAULT_ETA): LearnedWeights {
  let state = emptyWeights(eta);
  for (const record of [...records].sort(compareRecords)) state = updateWeights(state, record);
  return state;
}

export interface WeightsReportRow {
  readonly language: string;
  readonly records: number;
  /** Whether `weightsFor` would use these. */
  readonly active: boolean;
  readonly models: readonly { readonly model: string; readonly multiplier: number; readonly records: number }[];
}

/** For `xencode feedback stats`: per language (sorted), each model's learned multiplier and record count. */
export function weightsReport(state: LearnedWeights, minRecords: number = DEFAULT_MIN_RECORDS): WeightsReportRow[] {
  return Object.keys(state.languages)
    .sort()
    .map((language) => {
      const l = own(state.languages, language)!;
      return {
        language,
        records: l.records,
        active: l.records >= minRecords,
        models: Object.keys(l.weights)
          .sort()
          .map((model) => ({ model, multiplier: l.weights[model]!, records: own(l.seen, model) ?? 0 })),
      };
    });
}

/**
 * One Hedge step over the awake experts: `w·exp(-η·loss)`, rescaled to the same total, then floored at
 * `WEIGHT_FLOOR` with the total still kept (the floored ones are lifted and the others give up the difference in
 * proportion; repeated while that pushes another below the floor). Keeping the total matters: lifting to the floor
 * without taking it back would add weight at every step and shrink the floor's meaning as it grew.
 * The weights must already be ≥ WEIGHT_FLOOR (so the total leaves room for every floor).
 */
export function hedgeStep(weights: readonly number[], losses: readonly number[], eta: number): number[] {
  const mass = weights.reduce((sum, w) => sum + w, 0);
  const updated = weights.map((w, i) => w * Math.exp(-eta * Math.min(1, Math.max(0, losses[i]!))));
  const floored = new Array<boolean>(weights.length).fill(false);
  for (;;) {
    let freeMass = mass;
    let freeUpdated = 0;
    for (let i = 0; i < updated.length; i++) {
      if (floored[i]) freeMass -= WEIGHT_FLOOR;
      else freeUpdated += updated[i]!;
    }
    const scale = freeUpdated > 0 ? freeMass / freeUpdated : 0;
    let changed = false;
    for (let i = 0; i < updated.length; i++) {
      if (!floored[i] && updated[i]! * scale < WEIGHT_FLOOR) {
        floored[i] = true;
        changed = true;
      }
    }
    if (!changed) return updated.map((u, i) => (floored[i] ? WEIGHT_FLOOR : u * scale));
  }
}

/** A stored multiplier, or 1 (a newcomer) when absent or not a positive finite number (a hand-edited state). */
function validWeight(w: number | undefined): number {
  return w !== undefined && Number.isFinite(w) && w > 0 ? Math.max(WEIGHT_FLOOR, w) : 1;
}

/** An own property only: a language or key named `__proto__` or `constructor` is data, not the prototype. */
export function own<T>(object: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** A copy with one entry set, as an own data property whatever the key. */
export function withEntry<T>(object: Readonly<Record<string, T>>, key: string, value: T): Record<string, T> {
  const copy: Record<string, T> = { ...object };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}
