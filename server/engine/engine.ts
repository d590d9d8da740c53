import { randomUUID } from 'node:crypto';
import { answerFingerprint, type Settings, type ModelSetting } from '../config.js';
import { findActionTarget, type TargetResult } from '../context/action-target.js';
import { buildCompletionContext } from '../context/context-builder.js';
import { decideCompletion } from '../context/completion-decision.js';
import type { CompletionContext } from '../context/types.js';
import type { OpenDocument, TextEdit } from '../documents/document-store.js';
import type { Logger } from '../log.js';
import type { BackendEnvironment, BackendError, CompletionBackend } from '../models/backend.js';
import { createBackend } from '../models/registry.js';
import { BackendPool } from './backend-pool.js';
import type { ModelOutcome } from './candidates.js';
import { creditedModels, runEnsemble, uniqueNames, type EnsembleMember, type EnsembleMethod } from './ensemble.js';
import { BackendHealth, type UserNotifier } from './health.js';
import { AnswerReuse, InFlight } from './answer-reuse.js';
import type { EnsembleRun } from './ensemble.js';
import { AnswerCache, type CachedAnswer } from '../store/answer-cache.js';
import { openLmdbStore, type LmdbStore } from '../store/lmdb-store.js';
import { FeedbackService } from '../feedback/feedback-service.js';
import { shownAnswer, type MemberInfo } from './shown-answer.js';
import { EngineStatistics, type EngineStats } from './statistics.js';
import type { ChatMember } from './actions/ask-models.js';
import { maxTargetChars, runAction, type ActionId, type ActionRequest, type ActionResult } from './actions/run-action.js';
import { HoverService, type HoverOutcome } from './hover.js';

export type { EngineStats } from './statistics.js';
export type { ActionId, ActionRequest, ActionResult, ActionDiagnostic, TextChange } from './actions/run-action.js';
export type { HoverOutcome } from './hover.js';
export { ACTION_NAMES, actionTitle, isActionId } from './actions/run-action.js';

export interface ActOptions {
  readonly signal: AbortSignal;
  /** Progress for the user: what is happening, and a percentage when known. */
  readonly onProgress?: (message: string, percentage?: number) => void;
  /** The current text of a file (open document, else disk), for actions that edit another file (tests). */
  readonly readText?: (uri: string) => string | undefined;
}

/** Where an answer came from: recorded with it, shown briefly in the item, aggregated in xencode.stats. */
export interface Provenance {
  readonly method: EnsembleMethod | string;
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
  /** Where it was served from when no model was asked: 'typed-ahead', 'memory' or 'disk'. */
  readonly reused?: 'typed-ahead' | 'memory' | 'disk';
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
  /**
   * Opens the LMDB store in `dataDir` and backs the answer cache with it. Until then, and when it cannot be
   * opened (the message says why), answers are cached in memory only. `problem` is also set when the store opened
   * only after a damaged file was moved aside (the message says where it was kept).
   */
  openStore(dataDir: string): Promise<{ problem?: string }>;
  clearCache(): Promise<void>;
  /** The document was closed: forget what was shown in it. */
  forget(uri: string): void;
  /**
   * The document changed by `edits` (offsets before each): a shown completion whose text now stands where it was
   * offered is recorded as accepted (for editors that insert an item without running its command: Helix, Eglot),
   * one typed over is rejected, accepted ones are followed for retention. Returns the ids accepted by this edit.
   */
  edited(doc: OpenDocument, edits: readonly TextEdit[]): string[];
  /** The workspace folders (absolute paths): feedback records paths relative to them and honours their ignore files. */
  setWorkspaceRoots(roots: readonly string[]): void;
  close(): Promise<void>;
  /** Loads every configured model, so the first completion does not wait for a cold start. */
  warm(): Promise<void>;
  /** What an action at `selection` would work on, or why it cannot run there. Cheap: no model is asked. */
  actionTarget(doc: OpenDocument, selection: { start: number; end: number }, action: ActionId): TargetResult;
  /** Runs a code action with the action models; the result is an edit, an explanation, or why there is none. */
  act(doc: OpenDocument, request: ActionRequest, options: ActOptions): Promise<ActionResult>;
  /** A short explanation of the code at `offset`, within hover.deadlineMs. */
  hover(doc: OpenDocument, offset: number, signal: AbortSignal): Promise<HoverOutcome>;
  readonly settings: Settings;
}

export interface EngineOptions {
  readonly settings: Settings;
  readonly notifier: UserNotifier;
  readonly logger: Logger;
  /** The clock of the feedback signals (tests): `now`, and what arms its timer. */
  readonly clock?: { readonly now: () => number; readonly schedule?: (delayMs: number, fire: () => void) => () => void };
  /** Makes the backend for one configured model; defaults to the provider registry's. */
  readonly createBackend?: (model: ModelSetting, settings: Settings) => CompletionBackend;
}

/**
 * The engine: a document and a position in, an answer out. It knows nothing of LSP; the server translates.
 */
export function createEngine(options: EngineOptions): Engine {
  const environment: BackendEnvironment = {
    logger: options.logger,
    notify: (severity, message) => (severity === 'warn' ? options.notifier.warn(message) : options.notifier.info(message)),
    env: process.env,
  };
  const makeBackend = options.createBackend ?? ((model: ModelSetting, current: Settings) => createBackend(model, current, environment));
  const health = new BackendHealth(options.notifier);
  const statistics = new EngineStatistics();
  let settings = options.settings;
  const feedback = new FeedbackService({ settings: () => settings, logger: options.logger, now: options.clock?.now, schedule: options.clock?.schedule, onLabel: (change) => statistics.labelChanged(change) });
  let members = new Map<string, EnsembleMember>();
  let chatMembers: ChatMember[] = [];
  const hovers = new HoverService();
  let store: LmdbStore | undefined;
  // The store's messages say what happened and that memory keeps serving.
  const onStoreProblem = (message: string) => options.notifier.warn(message);
  const makeCache = () =>
    new AnswerCache({ maxEntries: settings.cache.enabled ? settings.cache.maxEntries : 0, store, onProblem: onStoreProblem });
  const reuse = new AnswerReuse(makeCache());
  reuse.setFingerprint(answerFingerprint(settings));
  const inFlight = new InFlight<EnsembleRun>();

  const backends = new BackendPool(makeBackend, options.logger);
  function configureBackends(): void {
    ({ members, chatMembers } = backends.configure(settings));
  }
  configureBackends();
  const longAnswerHooks = {
    onFailure: (error: BackendError) => {
      options.logger.warn(`${error.model}@${error.host}: ${error.message}`);
      health.failed(error);
    },
    onSuccess: (backend: CompletionBackend) => health.succeeded(backend.model, backend.host, backend.provider),
    onOutcomes: (outcomes: Parameters<EngineStatistics['actionModels']>[0], winners: readonly string[]) => statistics.actionModels(outcomes, winners),
  };

  /** Records a shown answer (feedback: the record and the signals that follow), counts it, and hands it out. */
  function answered(answer: CompletionAnswer, doc: OpenDocument, astHash: string | undefined, used: ReadonlyMap<string, MemberInfo>): CompletionOutcome {
    feedback.shown(doc, shownAnswer(answer, used, astHash));
    statistics.answered();
    return { kind: 'answer', answer };
  }

  /** The method for a document: `auto` picks, per language, what the user keeps most (HYBRID until it knows). */
  function methodFor(language: string): EnsembleMethod {
    const method = settings.ensemble.method;
    return method === 'auto' ? (feedback.method(language) ?? 'hybrid') : method;
  }

  /**
   * The members with their measured latency (the cascade's order) and, for WEIGHTED and HYBRID once a language
   * has enough labelled records, the weights learned from what the user keeps. The cache fingerprint keeps the
   * configured weights: learning must not invalidate the cache on every update.
   */
  function membersNow(language: string, method: EnsembleMethod): EnsembleMember[] {
    const list = [...members.values()];
    const learned = method === 'weighted' || method === 'hybrid'
      ? feedback.weights(language, list.map((m) => ({ name: m.backend.model, host: m.backend.host, weight: m.weight })))
      : undefined;
    return list.map((m) => ({
      ...m,
      weight: learned?.get(FeedbackService.key(m.backend.model, m.backend.host)) ?? m.weight,
      expectedLatencyMs: statistics.meanLatency(m.backend.model),
    }));
  }

  function memberInfo(used: readonly EnsembleMember[]): Map<string, MemberInfo> {
    return new Map(used.map((m) => [m.backend.model, { host: m.backend.host, weight: m.weight }]));
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
      const cacheOn = settings.cache.enabled && settings.cache.maxEntries > 0;
      const found = cacheOn ? reuse.lookup(doc, context) : undefined;
      if (found && found.kind !== 'miss') {
        const { answer: cached } = found;
        const reused = found.kind === 'typed-ahead' ? 'typed-ahead' : found.tier;
        const provenance: Provenance = {
          method: cached.method,
          rule: cached.rule,
          asked: [],
          answeredInTime: [],
          agreeing: cached.agreeing,
          model: cached.model,
          latencyMs: performance.now() - started,
          reused,
        };
        const text = found.kind === 'typed-ahead' ? found.text : cached.text;
        if (found.kind === 'hit') reuse.shown(context, text, cached);
        return answered({ id: randomUUID(), text, context, provenance, outcomes: [] }, doc, found.kind === 'hit' ? found.key : undefined, new Map());
      }
      const method = methodFor(doc.languageId);
      const used = membersNow(doc.languageId, method);
      const ensembleOptions = {
        method,
        rover: settings.ensemble.rover,
        samples: settings.ensemble.samples,
        maxTokens: settings.completion.maxTokens,
        deadlineMs: settings.ensemble.deadlineMs,
        onFailure: (error: BackendError) => {
          options.logger.warn(`${error.model}@${error.host}: ${error.message}`);
          health.failed(error);
        },
        onSuccess: (backend: CompletionBackend) => health.succeeded(backend.model, backend.host, backend.provider),
      };
      const start = async (runSignal: AbortSignal) => {
        const run = await runEnsemble(used, doc, context, { ...ensembleOptions, signal: runSignal });
        // Counted once per run, however many identical requests share it.
        statistics.models(run.outcomes, creditedModels(run));
        return run;
      };
      let run: EnsembleRun;
      try {
        run = found ? await inFlight.run(found.key, signal, start) : await start(signal);
      } catch {
        // This request was aborted while sharing another's run.
        statistics.aborted();
        return { kind: 'aborted' };
      }
      const { outcomes, result } = run;
      if (signal.aborted) {
        statistics.aborted();
        return { kind: 'aborted' };
      }
      if (!result) {
        statistics.empty();
        return { kind: 'empty', outcomes };
      }
      const agreeing = uniqueNames(result.agreeing);
      const source = run.candidates.find((c) => c.text === result.text) ?? run.candidates.find((c) => agreeing.includes(c.model));
      const provenance: Provenance = {
        method: run.method,
        rule: result.rule,
        asked: uniqueNames([...members.values()].map((m) => m.backend.model)),
        answeredInTime: uniqueNames(run.candidates.map((c) => c.model)),
        agreeing,
        model: source?.model ?? agreeing[0] ?? run.candidates[0]!.model,
        latencyMs: performance.now() - started,
      };
      const answer: CompletionAnswer = { id: randomUUID(), text: result.text, context, provenance, outcomes };
      const cached: CachedAnswer = { text: result.text, model: provenance.model, method: provenance.method, rule: result.rule, agreeing, createdAt: Date.now() };
      if (found) reuse.store(found.key, cached);
      if (cacheOn) reuse.shown(context, result.text, cached);
      options.logger.debug(
        `answer by ${provenance.method}/${provenance.rule} from ${provenance.model}; agreeing ${agreeing.join(', ') || '-'}; ` +
          `in time ${provenance.answeredInTime.join(', ')} of ${provenance.asked.join(', ')}; ${provenance.latencyMs.toFixed(1)} ms`,
      );
      return answered(answer, doc, found?.key, memberInfo(used));
    },

    async openStore(dataDir) {
      const opened = await openLmdbStore({ dataDir });
      if (!opened.store) return { problem: opened.problem };
      store = opened.store;
      reuse.answerCache.attachStore(opened.store);
      feedback.attach(opened.store);
      options.logger.info(`answer cache on disk at ${opened.store.file}`);
      // A damaged file was replaced: the user hears once where it was kept, through the same warning as a problem.
      return { problem: opened.notice };
    },

    async clearCache() {
      await reuse.clear();
    },

    forget(uri) {
      reuse.forget(uri);
      feedback.closed(uri);
    },

    edited(doc, edits) {
      return feedback.edited(doc, edits);
    },

    setWorkspaceRoots(roots) {
      feedback.setWorkspaceRoots(roots);
    },

    actionTarget(doc, selection, action) {
      return findActionTarget(doc, selection, { maxChars: maxTargetChars(action, settings) });
    },

    async act(doc, request, actOptions) {
      statistics.actions.requests++;
      const result = await runAction(doc, request, { ...longAnswerHooks, ...actOptions, members: chatMembers, settings });
      if (result.kind === 'edit' || result.kind === 'test-file') statistics.actions.edits++;
      else if (result.kind === 'markdown') statistics.actions.explanations++;
      else if (result.kind === 'aborted') statistics.actions.aborted++;
      else if (result.severity === 'info') statistics.actions.noChange++;
      else statistics.actions.failed++;
      if (result.kind !== 'failed' && result.kind !== 'aborted') {
        const p = result.provenance;
        options.logger.info(
          `${request.action} by ${p.method}/${p.rule} from ${p.model}; agreeing ${p.agreeing.join(', ') || '-'}; answered ${p.answered.join(', ')} of ${p.asked.join(', ')}; ${(p.latencyMs / 1000).toFixed(1)} s`,
        );
      }
      return result;
    },

    async hover(doc, offset, signal) {
      statistics.hover.requests++;
      const outcome = await hovers.hover(doc, offset, signal, { ...longAnswerHooks, settings, members: chatMembers, cache: reuse.answerCache });
      if (outcome.kind === 'answer') {
        if (outcome.answer.cached) statistics.hover.cacheHits++;
        statistics.hover.answered++;
      } else statistics.hover[outcome.kind]++;
      return outcome;
    },

    async close() {
      hovers.close();
      await backends.close();
      await feedback.close();
      await reuse.answerCache.close();
      await store?.close();
    },

    accept(id, acceptedLength) {
      return feedback.accept(id, acceptedLength);
    },

    reject(id) {
      return feedback.reject(id);
    },

    stats() {
      return {
        ...statistics.snapshot(health.problems()),
        cache: { ...reuse.answerCache.stats(), sharedRuns: inFlight.shared },
        recording: feedback.stats(),
      };
    },

    updateSettings(next) {
      const cacheChanged = next.cache.enabled !== settings.cache.enabled || next.cache.maxEntries !== settings.cache.maxEntries;
      settings = next;
      feedback.settingsChanged();
      configureBackends();
      reuse.setFingerprint(answerFingerprint(settings));
      if (cacheChanged) {
        const previous = reuse.answerCache;
        reuse.replaceCache(makeCache());
        void previous.close();
      }
    },

    async warm() {
      await Promise.all(
        [...members.values()].map(async ({ backend }) => {
          try {
            await backend.warm();
            health.succeeded(backend.model, backend.host, backend.provider);
            options.logger.info(`model ${backend.model} loaded at ${backend.host}`);
          } catch (err) {
            options.logger.warn(`warming ${backend.model} at ${backend.host} failed: ${(err as Error).message}`);
          }
        }),
      );
    },
  };
}
