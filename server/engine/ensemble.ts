import type { CompletionContext } from '../context/types.js';
import type { OpenDocument } from '../documents/document-store.js';
import type { BackendError, CompletionBackend } from '../models/backend.js';
import { callModel, filterContextFor, promptPrefix, type Candidate, type CallSpec, type ModelOutcome } from './candidates.js';
import { fuse, rover, type FusionMethod } from './fusion/index.js';
import { hybridEarly, hybridFinal } from './fusion/hybrid.js';
import type { FusionResult } from './fusion/types.js';
import type { ModelSlots } from './model-slots.js';
import { postprocess } from './postprocess/pipeline.js';

export type EnsembleMethod = FusionMethod | 'hybrid';

export interface EnsembleMember {
  readonly backend: CompletionBackend;
  readonly weight: number;
  readonly slots: ModelSlots;
  /** Expected latency (measured mean, ms); undefined while unknown. Orders the cascade. */
  readonly expectedLatencyMs?: number;
}

export interface EnsembleOptions {
  readonly method: EnsembleMethod;
  /** Refine the pick with token-level ROVER fusion. */
  readonly rover: boolean;
  readonly samples: number;
  readonly maxTokens: number;
  readonly deadlineMs: number;
  readonly signal: AbortSignal;
  readonly onFailure: (error: BackendError) => void;
  readonly onSuccess: (backend: CompletionBackend) => void;
}

export interface EnsembleRun {
  /** One per model call, in call order. */
  readonly outcomes: readonly ModelOutcome[];
  readonly candidates: readonly Candidate[];
  /** The fused answer, or null (abstained, nothing arrived, or aborted). */
  readonly result: FusionResult | null;
  /** The method that produced the result ('hybrid' answers carry rule 'agreement' or 'confident' when early). */
  readonly method: EnsembleMethod;
}

/** Sampling for self-consistency: deterministic at one sample, varied (and reproducible by seed) at several. */
const SAMPLE_TEMPERATURE = 0.7;

/**
 * Asks every model (and every sample) in parallel — each model within its own concurrency — and fuses the
 * answers. HYBRID decides after each arrival and aborts the calls it no longer needs; the other methods wait for
 * every call or the deadline. Calls still running at the deadline are aborted, never left running.
 */
export function runEnsemble(members: readonly EnsembleMember[], doc: OpenDocument, context: CompletionContext, options: EnsembleOptions): Promise<EnsembleRun> {
  const specs = callSpecs(members, options.samples);
  const stop = new AbortController();
  const deadline = AbortSignal.timeout(options.deadlineMs);
  const signal = AbortSignal.any([options.signal, deadline, stop.signal]);
  const prefix = promptPrefix(context);
  const filterContext = filterContextFor(doc, context, []);
  // "Parses no worse": a fused or cut text must come through post-processing (its syntax check included) unchanged.
  const intact = (text: string) => postprocess(text, filterContext) === text;
  const logprobs = options.method === 'hybrid' || options.method === 'weighted';

  return new Promise((resolve) => {
    const outcomes: (ModelOutcome | undefined)[] = new Array(specs.length);
    const arrived: Candidate[] = [];
    let pending = specs.length;
    let decided = false;

    const finish = (result: FusionResult | null) => {
      if (decided) return;
      decided = true;
      const reason = options.signal.aborted ? 'cancelled' : deadline.aborted ? 'late' : 'cancelled';
      specs.forEach((spec, k) => (outcomes[k] ??= { model: spec.backend.model, sample: spec.sample, kind: reason }));
      stop.abort(new Error('ensemble decided'));
      deadline.removeEventListener('abort', onDeadline);
      options.signal.removeEventListener('abort', onCancel);
      resolve({ outcomes: outcomes as ModelOutcome[], candidates: arrived, result, method: options.method });
    };
    const final = (): FusionResult | null => {
      if (arrived.length === 0) return null;
      const base = options.method === 'hybrid' ? hybridFinal(arrived) : fuse(options.method, arrived, { syntaxOk: intact });
      if (!base || !options.rover || base.rule === 'prefix') return base;
      return rover(arrived, { base, parsesNoWorse: (fused) => intact(fused) });
    };
    const onDeadline = () => finish(final());
    const onCancel = () => finish(null);
    deadline.addEventListener('abort', onDeadline, { once: true });
    options.signal.addEventListener('abort', onCancel, { once: true });
    if (specs.length === 0) return finish(null);

    specs.forEach((spec, k) => {
      void run(spec).then((outcome) => {
        if (decided) return;
        outcomes[k] = outcome;
        if (outcome.kind === 'answered') {
          arrived.push(outcome.candidate);
          options.onSuccess(spec.backend);
          if (options.method === 'hybrid') {
            const outstandingWeight = specs.reduce((sum, other, i) => (outcomes[i] === undefined ? sum + other.weight : sum), 0);
            const early = hybridEarly(arrived, { outstandingWeight });
            if (early) return finish(early);
          }
        } else if (outcome.kind === 'filtered') {
          options.onSuccess(spec.backend);
        } else if (outcome.kind === 'failed' && outcome.error.kind !== 'aborted') {
          options.onFailure(outcome.error);
        }
        if (--pending === 0) finish(final());
      });
    });

    async function run(spec: CallSpec & { slots: ModelSlots }): Promise<ModelOutcome> {
      let release: () => void;
      try {
        release = await spec.slots.acquire(signal);
      } catch {
        return { model: spec.backend.model, sample: spec.sample, kind: 'cancelled' };
      }
      try {
        return await callModel(spec, doc, context, { prefix, maxTokens: options.maxTokens, signal, logprobs });
      } finally {
        release();
      }
    }
  });
}

/** The calls to make, fastest model first (unknown latencies keep the configured order, after the known ones). */
function callSpecs(members: readonly EnsembleMember[], samples: number): (CallSpec & { slots: ModelSlots })[] {
  const ordered = members
    .map((m, index) => ({ m, index }))
    .sort((a, b) => (a.m.expectedLatencyMs ?? Infinity) - (b.m.expectedLatencyMs ?? Infinity) || a.index - b.index)
    .map(({ m }) => m);
  const specs: (CallSpec & { slots: ModelSlots })[] = [];
  for (let sample = 0; sample < samples; sample++)
    for (const m of ordered)
      specs.push({
        backend: m.backend,
        weight: m.weight,
        slots: m.slots,
        sample,
        temperature: samples > 1 ? SAMPLE_TEMPERATURE : 0,
        ...(samples > 1 ? { seed: sample + 1 } : {}),
      });
  return specs;
}

/** The models a run's answer is credited to: those agreeing with it, else the one whose text it is. */
export function creditedModels(run: EnsembleRun): string[] {
  if (!run.result) return [];
  const agreeing = uniqueNames(run.result.agreeing);
  if (agreeing.length > 0) return agreeing;
  const source = run.candidates.find((c) => c.text === run.result!.text) ?? run.candidates[0];
  return source ? [source.model] : [];
}

export function uniqueNames(names: readonly string[]): string[] {
  return [...new Set(names)];
}
