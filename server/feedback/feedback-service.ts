import type { FixedMethod, Settings } from '../config.js';
import type { CompletionContext } from '../context/types.js';
import type { OpenDocument, TextEdit } from '../documents/document-store.js';
import type { Logger } from '../log.js';
import type { LmdbStore } from '../store/lmdb-store.js';
import { FeedbackLog, applyPatch, type OutcomePatch } from './feedback-log.js';
import { modelKey, updateWeights, weightsFor, weightsReport } from './hedge.js';
import { IgnoreRules, workspaceRelativePath } from './ignore-rules.js';
import { emptyLearned, readLearned, writeLearned } from './learned-state.js';
import { chooseMethod, methodReport, updateMethodScores, type LearnedState } from './method-scores.js';
import { OutcomeTracker } from './outcome-tracker.js';
import { FEEDBACK_SCHEMA, type FeedbackRecord, type ModelRecord } from './record.js';
import { redactSecrets } from './redact.js';

/**
 * The feedback room's facade for the engine: every shown completion becomes a record (built here, written by
 * `FeedbackLog` off the request path), the signals that follow (explicit, passive, retention, capture:
 * `OutcomeTracker`) become patches of it, and the labelled records teach the learned weights and `auto`'s method
 * at once. Privacy is applied here and at the write: ignored files are never recorded, `noCode` drops code, and
 * secrets are redacted before anything reaches the disk.
 */

/** What the engine knows about one model call when it shows an answer (kept free of engine types). */
export interface ShownCall {
  readonly model: string;
  readonly host: string;
  readonly sample: number;
  readonly outcome: ModelRecord['outcome'];
  readonly candidate?: string;
  readonly latencyMs?: number;
  readonly prompt?: string;
  readonly weight: number;
  readonly meanLogprob?: number;
}

export interface ShownAnswer {
  readonly id: string;
  readonly text: string;
  readonly context: CompletionContext;
  readonly astHash?: string;
  readonly method: string;
  readonly rule: string;
  readonly model: string;
  readonly served: FeedbackRecord['served'];
  readonly latencyMs: number;
  readonly calls: readonly ShownCall[];
}

export interface FeedbackServiceOptions {
  readonly settings: () => Settings;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Records kept in memory until their capture (30 s) has taught the learner. */
const MAX_LEARNING = 2_000;

export class FeedbackService {
  private readonly log: FeedbackLog;
  private readonly tracker: OutcomeTracker;
  private readonly now: () => number;
  private ignore = new IgnoreRules([]);
  private roots: string[] = [];
  private store: LmdbStore | undefined;
  private learned: LearnedState = emptyLearned();
  private learnedDirty = false;
  /** Shown records not yet labelled for learning, with their patches so far. */
  private readonly learning = new Map<string, FeedbackRecord>();
  readonly counters = { shown: 0, ignoredFiles: 0, redactions: 0, learnedFrom: 0 };

  constructor(private readonly options: FeedbackServiceOptions) {
    this.now = options.now ?? Date.now;
    this.log = new FeedbackLog({ ...this.logOptions(), now: this.now });
    this.tracker = new OutcomeTracker({ now: this.now, onUpdate: (id, patch) => this.onOutcome(id, patch) });
  }

  /** The store opened: load the learned state and write what was queued meanwhile. */
  attach(store: LmdbStore): void {
    this.store = store;
    this.learned = readLearned(store) ?? this.learned;
    this.log.attach(store);
  }

  setWorkspaceRoots(roots: readonly string[]): void {
    this.roots = [...roots];
    this.ignore = new IgnoreRules(this.roots);
  }

  settingsChanged(): void {
    this.log.setOptions({ ...this.logOptions(), now: this.now });
  }

  private get enabled(): boolean {
    return this.options.settings().feedback.enabled;
  }

  /** A completion was shown. Cheap: builds one object of references; redaction and encoding happen at the write. */
  shown(doc: OpenDocument, answer: ShownAnswer): void {
    if (!this.enabled) return;
    const path = uriPath(doc.uri);
    if (path && this.ignore.isIgnored(path)) {
      this.counters.ignoredFiles++;
      return;
    }
    const { context } = answer;
    const record: FeedbackRecord = {
      schema: FEEDBACK_SCHEMA,
      id: answer.id,
      time: this.now(),
      language: doc.languageId,
      file: workspaceRelativePath(doc.uri, this.roots),
      ...(answer.astHash ? { astHash: answer.astHash } : {}),
      method: answer.method,
      rule: answer.rule,
      chosenModel: answer.model,
      chosen: answer.text,
      chosenLength: answer.text.length,
      served: answer.served,
      latencyMs: answer.latencyMs,
      prompt: { prefix: context.prefix, suffix: context.suffix, header: context.header },
      models: answer.calls.map((call) => ({ ...call })),
      level: this.options.settings().feedback.level,
      label: 'ignored',
    };
    this.counters.shown++;
    this.log.add(record);
    this.rememberForLearning(record);
    this.tracker.shown({ id: answer.id, uri: doc.uri, offset: context.cursorOffset, text: answer.text });
  }

  accept(id: string, acceptedLength?: number): boolean {
    return this.tracker.accept(id, acceptedLength);
  }

  reject(id: string): boolean {
    return this.tracker.reject(id);
  }

  /** A document changed: passive accepts and rejections, regions followed for retention. Returns accepted ids. */
  edited(doc: OpenDocument, edits: readonly TextEdit[]): string[] {
    return this.tracker.edited(doc.uri, edits, () => doc.textDocument.getText());
  }

  closed(uri: string): void {
    this.tracker.closed(uri);
  }

  /** Learned fusion weights for the models of a language (undefined until it has enough labelled records). */
  weights(language: string, models: readonly { name: string; host: string; weight: number }[]): Map<string, number> | undefined {
    return weightsFor(this.learned.weights, language, models, this.options.settings().feedback.minRecords);
  }

  static key(name: string, host: string): string {
    return modelKey(name, host);
  }

  /** `ensemble.method: "auto"`: the method whose picks the user keeps most in this language, once known. */
  method(language: string): FixedMethod | undefined {
    return chooseMethod(this.learned.methods, language, this.options.settings().feedback.minRecords);
  }

  stats(): Record<string, unknown> {
    const minRecords = this.options.settings().feedback.minRecords;
    return {
      enabled: this.enabled,
      level: this.options.settings().feedback.level,
      onDisk: this.log.attached,
      records: this.log.count(),
      ...this.counters,
      ...this.log.counters,
      learnedWeights: weightsReport(this.learned.weights, minRecords),
      methods: methodReport(this.learned.methods, minRecords),
    };
  }

  async clear(): Promise<void> {
    this.learning.clear();
    this.learned = emptyLearned();
    await this.log.clear();
    if (this.store?.usable) await this.store.clear('learned');
  }

  async close(): Promise<void> {
    this.tracker.close();
    this.persistLearned();
    await this.log.close();
  }

  private onOutcome(id: string, patch: OutcomePatch): void {
    this.log.update(id, patch);
    const record = this.learning.get(id);
    if (!record) return;
    const next = applyPatch(record, patch);
    // The kept text is final once the 30 s capture is in (or the record was closed without one).
    if (patch.captured !== undefined || patch.signal === 'closed') {
      this.learning.delete(id);
      this.learn(next);
    } else this.learning.set(id, next);
  }

  private learn(record: FeedbackRecord): void {
    const weights = updateWeights(this.learned.weights, record);
    const methods = updateMethodScores(this.learned.methods, record);
    if (weights === this.learned.weights && methods === this.learned.methods) return;
    this.learned = { weights, methods };
    this.counters.learnedFrom++;
    this.learnedDirty = true;
    this.persistLearned();
  }

  private persistLearned(): void {
    if (!this.learnedDirty || !this.store?.usable) return;
    this.learnedDirty = false;
    writeLearned(this.store, this.learned);
  }

  private rememberForLearning(record: FeedbackRecord): void {
    if (this.learning.size >= MAX_LEARNING) this.learning.delete(this.learning.keys().next().value!);
    this.learning.set(record.id, record);
  }

  private logOptions() {
    const { feedback } = this.options.settings();
    return {
      maxEvents: feedback.maxEvents,
      maxDays: feedback.maxDays,
      prepare: {
        record: (record: FeedbackRecord) => this.prepareRecord(record),
        patch: (patch: OutcomePatch) => this.preparePatch(patch),
      },
    };
  }

  /** Applied at the write (off the request path): the privacy level, then redaction of every code field. */
  private prepareRecord(record: FeedbackRecord): FeedbackRecord {
    if (record.level === 'noCode') {
      const { chosen: _c, prompt: _p, captured: _k, ...rest } = record;
      return { ...rest, models: record.models.map(({ candidate: _x, prompt: _y, ...call }) => call) };
    }
    const clean = (text: string | undefined) => (text === undefined ? undefined : this.redact(text));
    return {
      ...record,
      chosen: clean(record.chosen),
      ...(record.prompt ? { prompt: { prefix: clean(record.prompt.prefix)!, suffix: clean(record.prompt.suffix)!, header: clean(record.prompt.header)! } } : {}),
      ...(record.captured !== undefined ? { captured: clean(record.captured) } : {}),
      models: record.models.map((call) => ({
        ...call,
        ...(call.candidate !== undefined ? { candidate: clean(call.candidate) } : {}),
        ...(call.prompt !== undefined ? { prompt: clean(call.prompt) } : {}),
      })),
    };
  }

  private preparePatch(patch: OutcomePatch): OutcomePatch {
    if (patch.captured === undefined) return patch;
    if (this.options.settings().feedback.level === 'noCode') {
      const { captured: _c, ...rest } = patch;
      return rest;
    }
    return { ...patch, captured: this.redact(patch.captured) };
  }

  private redact(text: string): string {
    const result = redactSecrets(text);
    this.counters.redactions += result.redactions;
    return result.text;
  }
}

/** The file system path of a file: URI, else undefined (untitled buffers and other schemes are never ignored). */
function uriPath(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return decodeURIComponent(new URL(uri).pathname);
  } catch {
    return undefined;
  }
}
