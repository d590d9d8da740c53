import { randomUUID } from 'node:crypto';
import type { Settings, ModelSetting } from '../config.js';
import { buildCompletionContext } from '../context/context-builder.js';
import { decideCompletion } from '../context/completion-decision.js';
import type { CompletionContext } from '../context/types.js';
import type { OpenDocument } from '../documents/document-store.js';
import type { Logger } from '../log.js';
import type { CompletionBackend } from '../models/backend.js';
import { OllamaBackend } from '../models/ollama-backend.js';
import type { ModelOutcome } from './candidates.js';
import { runEnsemble, type EnsembleMember, type EnsembleMethod } from './ensemble.js';
import { BackendHealth, type UserNotifier } from './health.js';
import { ModelSlots } from './model-slots.js';
import { ShownCompletions } from './shown-completions.js';
import { EngineStatistics, type EngineStats } from './statistics.js';

export type { EngineStats } from './statistics.js';

/** Where an answer came from: recorded with it, shown briefly in the item, aggregated in xencode.stats. */
export interface Provenance {
  readonly method: EnsembleMethod;
  /** How the method reached it: 'single', 'plurality', 'medoid', 'agreement', 'confident', 'prefix', 'fused'… */
  readonly rule: string;
  /** Every model asked (once each, in configured order). */
  readonly asked: readonly string[];
  /** Models that answered before the decision (post-processed, usable). */
  readonly answeredInTime: readonly string[];
  /** Models whose answer agrees with the one given. */
  readonly agreeing: readonly string[];
  /** The model whose text was used (the first agreeing one for fused or cut texts). */
  readonly model: string;
  readonly latencyMs: number;
}

/** The answer for one completion request. */
export interface CompletionAnswer {
  readonly id: string;
  /** Text to insert at the cursor. */
  readonly text: string;
  readonly context: CompletionContext;
  readonly provenance: Provenance;
  /** Every model call, with what happened to it. */
  readonly outcomes: readonly ModelOutcome[];
}

export type CompletionOutcome =
  | { readonly kind: 'answer'; readonly answer: CompletionAnswer }
  /** Nothing to complete here (the decision rule said no); no model was asked. */
  | { readonly kind: 'skipped'; readonly reason: string }
  /** Models were asked, none gave a usable answer. */
  | { readonly kind: 'empty'; readonly outcomes: readonly ModelOutcome[] }
  | { readonly kind: 'aborted' };

export interface Engine {
  complete(doc: OpenDocument, offset: number, signal: AbortSignal): Promise<CompletionOutcome>;
  /** Records that the user accepted a shown completion (all of it, or its first `acceptedLength` characters). */
  accept(id: string, acceptedLength?: number): boolean;
  reject(id: string): boolean;
  stats(): EngineStats;
  updateSettings(settings: Settings): void;
  /** Loads every configured model, so the first completion does not wait for a cold start. */
  warm(): Promise<void>;
  readonly settings: Settings;
}

export interface EngineOptions {
  readonly settings: Settings;
  readonly notifier: UserNotifier;
  readonly logger: Logger;
  /** Makes the backend for one configured model; defaults to an Ollama backend. */
  readonly createBackend?: (model: ModelSetting, settings: Settings) => CompletionBackend;
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

const defaultBackend = (model: ModelSetting, settings: Settings): CompletionBackend =>
  new OllamaBackend({ model: model.name, host: model.host ?? settings.ollama.host, keepAlive: settings.ollama.keepAlive });

/**
 * The engine: a document and a position in, an answer out. It knows nothing of LSP; the server translates.
 */
export function createEngine(options: EngineOptions): Engine {
  const makeBackend = options.createBackend ?? defaultBackend;
  const health = new BackendHealth(options.notifier);
  const shown = new ShownCompletions();
  const statistics = new EngineStatistics();
  let settings = options.settings;
  let members = new Map<string, EnsembleMember>();

  function backendKey(model: ModelSetting): string {
    return `${model.name}@${model.host ?? settings.ollama.host}|${settings.ollama.keepAlive}`;
  }

  function configureBackends(): void {
    const next = new Map<string, EnsembleMember>();
    for (const model of settings.models) {
      const key = backendKey(model);
      const previous = members.get(key);
      next.set(key, {
        backend: previous?.backend ?? makeBackend(model, settings),
        weight: model.weight,
        // A new slot pool only when the limit changed: calls in flight keep their slots.
        slots: previous && previous.slots.limit === model.concurrency ? previous.slots : new ModelSlots(model.concurrency),
      });
    }
    members = next;
  }
  configureBackends();

  /** The members with their measured latency, for the cascade's order. */
  function membersNow(): EnsembleMember[] {
    return [...members.values()].map((m) => ({ ...m, expectedLatencyMs: statistics.meanLatency(m.backend.model) }));
  }

  return {
    get settings() {
      return settings;
    },

    async complete(doc, offset, signal) {
      const started = performance.now();
      statistics.request();
      const context = buildCompletionContext(doc, offset, { contextChars: settings.completion.contextChars });
      const decision = decideCompletion(doc, context);
      if (!decision.complete) {
        statistics.skipped();
        return { kind: 'skipped', reason: decision.reason };
      }
      const run = await runEnsemble(membersNow(), doc, context, {
        method: settings.ensemble.method,
        rover: settings.ensemble.rover,
        samples: settings.ensemble.samples,
        maxTokens: settings.completion.maxTokens,
        deadlineMs: settings.ensemble.deadlineMs,
        signal,
        onFailure: (error) => {
          options.logger.warn(`${error.model}@${error.host}: ${error.message}`);
          health.failed(error);
        },
        onSuccess: (backend) => health.succeeded(backend.model, backend.host),
      });
      const { outcomes, result } = run;
      if (signal.aborted) {
        statistics.models(outcomes, []);
        statistics.aborted();
        return { kind: 'aborted' };
      }
      if (!result) {
        statistics.models(outcomes, []);
        statistics.empty();
        return { kind: 'empty', outcomes };
      }
      const agreeing = unique(result.agreeing);
      const source = run.candidates.find((c) => c.text === result.text) ?? run.candidates.find((c) => agreeing.includes(c.model));
      const provenance: Provenance = {
        method: run.method,
        rule: result.rule,
        asked: unique([...members.values()].map((m) => m.backend.model)),
        answeredInTime: unique(run.candidates.map((c) => c.model)),
        agreeing,
        model: source?.model ?? agreeing[0] ?? run.candidates[0]!.model,
        latencyMs: performance.now() - started,
      };
      statistics.models(outcomes, agreeing.length > 0 ? agreeing : [provenance.model]);
      const answer: CompletionAnswer = { id: randomUUID(), text: result.text, context, provenance, outcomes };
      shown.add({ id: answer.id, uri: doc.uri, text: answer.text, models: agreeing, shownAt: Date.now() });
      statistics.answered();
      options.logger.debug(
        `answer by ${provenance.method}/${provenance.rule} from ${provenance.model}; agreeing ${agreeing.join(', ') || '-'}; ` +
          `in time ${provenance.answeredInTime.join(', ')} of ${provenance.asked.join(', ')}; ${provenance.latencyMs.toFixed(1)} ms`,
      );
      return { kind: 'answer', answer };
    },

    accept(id, acceptedLength) {
      const entry = shown.get(id);
      if (!entry) return false;
      const length = acceptedLength === undefined ? entry.text.length : Math.max(0, Math.min(acceptedLength, entry.text.length));
      // A partial accept followed by more partial accepts keeps the longest.
      const previous = entry.outcome === 'accepted' ? (entry.acceptedLength ?? 0) : 0;
      if (entry.outcome !== 'accepted') statistics.accepted(length < entry.text.length);
      statistics.acceptedChars(Math.max(0, length - previous));
      entry.outcome = 'accepted';
      entry.acceptedLength = Math.max(previous, length);
      return true;
    },

    reject(id) {
      const entry = shown.get(id);
      if (!entry || entry.outcome) return false;
      entry.outcome = 'rejected';
      statistics.rejected();
      return true;
    },

    stats() {
      return statistics.snapshot(health.problems());
    },

    updateSettings(next) {
      settings = next;
      configureBackends();
    },

    async warm() {
      await Promise.all(
        [...members.values()].map(async ({ backend }) => {
          try {
            await backend.warm();
            health.succeeded(backend.model, backend.host);
            options.logger.info(`model ${backend.model} loaded at ${backend.host}`);
          } catch (err) {
            options.logger.warn(`warming ${backend.model} at ${backend.host} failed: ${(err as Error).message}`);
          }
        }),
      );
    },
  };
}
