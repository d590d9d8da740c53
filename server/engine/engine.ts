import { randomUUID } from 'node:crypto';
import type { Settings, ModelSetting } from '../config.js';
import { buildCompletionContext } from '../context/context-builder.js';
import { decideCompletion } from '../context/completion-decision.js';
import type { CompletionContext } from '../context/types.js';
import type { OpenDocument } from '../documents/document-store.js';
import type { Logger } from '../log.js';
import type { CompletionBackend } from '../models/backend.js';
import { OllamaBackend } from '../models/ollama-backend.js';
import { askAll, type Candidate, type ModelOutcome } from './candidates.js';
import { BackendHealth, type UserNotifier } from './health.js';
import { ShownCompletions } from './shown-completions.js';
import { EngineStatistics, type EngineStats } from './statistics.js';

export type { EngineStats } from './statistics.js';

/** The answer for one completion request. */
export interface CompletionAnswer {
  readonly id: string;
  /** Text to insert at the cursor. */
  readonly text: string;
  readonly context: CompletionContext;
  /** The model whose answer this is, and every model that was asked, with what happened to it. */
  readonly model: string;
  readonly outcomes: readonly ModelOutcome[];
  readonly latencyMs: number;
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
  let backends = new Map<string, CompletionBackend>();

  function backendKey(model: ModelSetting): string {
    return `${model.name}@${model.host ?? settings.ollama.host}|${settings.ollama.keepAlive}`;
  }

  function configureBackends(): void {
    const next = new Map<string, CompletionBackend>();
    for (const model of settings.models) {
      const key = backendKey(model);
      next.set(key, backends.get(key) ?? makeBackend(model, settings));
    }
    backends = next;
  }
  configureBackends();

  /** Until the ensemble lands: the answer of the first configured model that gave one. */
  function pick(outcomes: readonly ModelOutcome[]): Candidate | undefined {
    for (const outcome of outcomes) if (outcome.kind === 'answered') return outcome.candidate;
    return undefined;
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
      const asked = [...backends.values()];
      const outcomes = await askAll(asked, doc, context, {
        maxTokens: settings.completion.maxTokens,
        deadlineMs: settings.ensemble.deadlineMs,
        signal,
        onFailure: (error) => {
          options.logger.warn(`${error.model}@${error.host}: ${error.message}`);
          health.failed(error);
        },
        onSuccess: (backend) => health.succeeded(backend.model, backend.host),
      });
      statistics.models(outcomes);
      if (signal.aborted) {
        statistics.aborted();
        return { kind: 'aborted' };
      }
      const best = pick(outcomes);
      if (!best) {
        statistics.empty();
        return { kind: 'empty', outcomes };
      }
      const answer: CompletionAnswer = {
        id: randomUUID(),
        text: best.text,
        context,
        model: best.model,
        outcomes,
        latencyMs: performance.now() - started,
      };
      shown.add({ id: answer.id, uri: doc.uri, text: answer.text, models: [best.model], shownAt: Date.now() });
      statistics.answered();
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
        [...backends.values()].map(async (backend) => {
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
