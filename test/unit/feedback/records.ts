/**
 * Builders for feedback records in tests: every required field filled with a plausible value, overrides on top.
 * `record({...})` is a shown completion of `chosen` by model `a` (prompt `<a>`), at level `full`, label `ignored`;
 * `model('b', {...})` is one model's part. Helpers for the common outcomes follow.
 */
import { FEEDBACK_SCHEMA, type FeedbackRecord, type ModelRecord, type RetentionCheck } from '../../../server/feedback/record.js';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

let counter = 0;

/** A model's part: answered with `candidate`, prompt `<name>` unless overridden. */
export function model(name: string, overrides: Partial<Writable<ModelRecord>> = {}): ModelRecord {
  return {
    model: name,
    host: 'ollama@127.0.0.1:11434',
    sample: 0,
    outcome: 'answered',
    candidate: `candidate of ${name}`,
    latencyMs: 100,
    prompt: `<${name}>`,
    weight: 1,
    ...overrides,
  };
}

/**
 * A shown completion. `chosen` defaults to model `a`'s candidate; `chosenLength` follows `chosen` unless given.
 * `models` defaults to [model('a', { candidate: chosen })].
 */
export function record(overrides: Partial<Writable<FeedbackRecord>> = {}): FeedbackRecord {
  counter++;
  const chosen = 'chosen' in overrides ? overrides.chosen : 'return value;';
  const chosenModel = overrides.chosenModel ?? 'a';
  return {
    schema: FEEDBACK_SCHEMA,
    id: `c${counter}`,
    time: Date.UTC(2026, 10, 1) + counter,
    language: 'typescript',
    file: 'src/index.ts',
    method: 'hybrid',
    rule: 'agreement',
    chosenModel,
    chosen,
    chosenLength: overrides.chosenLength ?? chosen?.length ?? 0,
    served: 'model',
    latencyMs: 200,
    prompt: { prefix: 'function f() {\n  ', suffix: '\n}\n', header: '' },
    models: [model(chosenModel, chosen === undefined ? {} : { candidate: chosen })],
    level: 'full',
    label: 'ignored',
    ...overrides,
  };
}

/** Retention checks from distance ratios at 30 s, 2 min and 10 min (as many as given). */
export function retention(...ratios: number[]): RetentionCheck[] {
  const after = [30, 120, 600];
  return ratios.map((distanceRatio, i) => ({ afterS: after[i] ?? 600, distanceRatio, retained: distanceRatio <= 0.5 }));
}

/** Accepted whole; retention from the given ratios (none: no check ran). */
export function accepted(overrides: Partial<Writable<FeedbackRecord>> = {}, ...ratios: number[]): FeedbackRecord {
  const r = record(overrides);
  return {
    ...r,
    label: 'accepted',
    acceptedLength: r.chosenLength,
    signal: 'command',
    decidedAt: r.time + 1000,
    ...(ratios.length > 0 ? { retention: retention(...ratios) } : {}),
    ...overrides,
  };
}

export function rejected(overrides: Partial<Writable<FeedbackRecord>> = {}): FeedbackRecord {
  const r = record(overrides);
  return { ...r, label: 'rejected', signal: 'dismissed', decidedAt: r.time + 1000, ...overrides };
}

/** The same record with its code fields dropped, as the recorder writes it at level `noCode`. */
export function noCode(r: FeedbackRecord): FeedbackRecord {
  const { chosen: _chosen, prompt: _prompt, captured: _captured, ...rest } = r;
  return {
    ...rest,
    level: 'noCode',
    models: r.models.map(({ candidate: _candidate, prompt: _p, ...m }) => m),
  };
}
