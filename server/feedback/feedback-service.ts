import type { FixedMethod, Settings } from '../config.js';
import type { CompletionContext } from '../context/types.js';
import type { OpenDocument, TextEdit } from '../documents/document-store.js';
import type { Logger } from '../log.js';
import type { LmdbStore } from '../store/lmdb-store.js';
import { FeedbackLog } from './feedback-log.js';
import { modelKey, updateWeights, weightsFor, weightsReport } from './hedge.js';
import { IgnoreRules, workspaceRelativePath } from './ignore-rules.js';
import { emptyLearned, readLearned, writeLearned } from './learned-state.js';
import { chooseMethod, methodReport, updateMethodScores, type LearnedState } from './method-scores.js';
import { OutcomeTracker, applyOutcomePatch, type OutcomePatch, type TrackedDocument } from './outcome-tracker.js';
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
  /** Arms the tracker's one timer (tests drive time with their own). */
  readonly schedule?: (delayMs: number, fire: () => void) => () => void;
  /** Told when a shown completion's label changes (the session counters of xencode.stats). */
  readonly onLabel?: (change: LabelChange) => void;
}

export interface LabelChange {
  readonly from: FeedbackRecord['label'];
  readonly to: FeedbackRecord['label'];
  /** Characters newly taken by this change (accepts grow; never negative). */
  readonly acceptedChars: number;
}

/** How long a file's ignore verdict is reused (the ignore rules re-read changed ignore files as often). */
const FILE_FACTS_MS = 2_000;

/** Records kept in memory until their capture (30 s) has taught the learner. */
const MAX_LEARNING = 2_000;

export class FeedbackService {
  private readonly log: FeedbackLog;
  private readonly tracker: OutcomeTracker;
  private readonly now: () => number;
  private ignore = new IgnoreRules([]);
  private roots: string[] = [];
  private readonly files = new Map<string, { ignored: boolean; file: string; at: number }>();
  private store: LmdbStore | undefined;
  private learned: LearnedState = emptyLearned();
  private learnedDirty = false;
  /** Shown records not yet labelled for learning, with their patches so far, and the document they were shown in. */
  private readonly learning = new Map<string, { record: FeedbackRecord; uri: string }>();
  /** The label and taken length of recent suggestions, for the session counters. */
  private readonly labels = new Map<string, { label: FeedbackRecord['label']; acceptedLength: number }>();
  readonly counters = { shown: 0, ignoredFiles: 0, redactions: 0, learnedFrom: 0 };

  constructor(private readonly options: FeedbackServiceOptions) {
    this.now = options.now ?? Date.now;
    this.log = new FeedbackLog({ ...this.logOptions(), now: this.now });
    this.tracker = new OutcomeTracker({ now: this.now, schedule: options.schedule, onUpdate: (id, patch) => this.onOutcome(id, patch), onError: (err) => options.logger.error(`feedback: ${(err as Error).stack ?? String(err)}`) });
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
    this.files.clear();
  }

  /**
   * Whether a document's file is ignored, and its workspace-relative path: asked on every shown completion, so
   * kept per URI for as long as the ignore rules would not look at the disk again anyway.
   */
  private fileFacts(uri: string): { ignored: boolean; file: string } {
    const now = this.now();
    const known = this.files.get(uri);
    if (known && now - known.at < FILE_FACTS_MS) return known;
    // isIgnored takes the URI itself (untitled buffers and other schemes are never ignored).
    const facts = { ignored: this.ignore.isIgnored(uri), file: workspaceRelativePath(uri, this.roots), at: now };
    if (this.files.size >= MAX_LEARNING) this.files.delete(this.files.keys().next().value!);
    this.files.set(uri, facts);
    return facts;
  }

  settingsChanged(): void {
    this.log.setOptions({ ...this.logOptions(), now: this.now });
  }

  private get enabled(): boolean {
    return this.options.settings().feedback.enabled;
  }

  /** A completion was shown. Cheap: builds one object of references; redaction and encoding happen at the write. */
  shown(doc: OpenDocument, answer: ShownAnswer): void {
    const { context } = answer;
    const level = this.options.settings().feedback.level;
    this.rememberLabel(answer.id, { label: 'ignored', acceptedLength: 0 });
    const facts = this.fileFacts(doc.uri);
    const { ignored } = facts;
    if (ignored) this.counters.ignoredFiles++;
    // Tracked even when nothing is recorded: the session's accept counts come from the same signals.
    const record = this.enabled && !ignored;
    if (record) this.recordShown(doc, answer, level, facts.file);
    this.tracker.shown(trackedDocument(doc), {
      id: answer.id,
      text: answer.text,
      offset: context.cursorOffset,
      shownAt: this.now(),
      recordText: record && level === 'full',
    });
  }

  private recordShown(doc: OpenDocument, answer: ShownAnswer, level: FeedbackRecord['level'], file: string): void {
    const { context } = answer;
    const record: FeedbackRecord = {
      schema: FEEDBACK_SCHEMA,
      id: answer.id,
      time: this.now(),
      language: doc.languageId,
      file,
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
      level,
      label: 'ignored',
    };
    this.counters.shown++;
    this.log.add(record);
    this.rememberForLearning(record, doc.uri);
  }

  accept(id: string, acceptedLength?: number): boolean {
    return this.tracker.accept(id, acceptedLength);
  }

  reject(id: string): boolean {
    return this.tracker.reject(id);
  }

  /** A document changed: passive accepts and rejections, regions followed for retention. Returns accepted ids. */
  edited(doc: OpenDocument, edits: readonly TextEdit[]): string[] {
    return this.tracker.edited(trackedDocument(doc), edits);
  }

  closed(uri: string): void {
    this.tracker.closed(uri);
    // No capture comes for the document's records any more: what they hold is final (an accept closed within its
    // 30 s teaches its accepted text). The tracker sends 'closed' only for the undecided ones.
    this.learnClosed(uri);
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
    this.tracker.closeAll();
    this.tracker.dispose();
    this.learnClosed();
    this.persistLearned();
    await this.log.close();
  }

  private onOutcome(id: string, patch: OutcomePatch): void {
    this.countLabel(id, patch);
    const entry = this.learning.get(id);
    if (entry || this.log.has(id)) this.log.update(id, patch);
    if (!entry) return;
    const next = applyOutcomePatch(entry.record, patch);
    // The kept text is final once the 30 s capture is in (or the record was closed without one).
    if (patch.captured !== undefined || patch.signal === 'closed') {
      this.learning.delete(id);
      this.learn(next);
    } else this.learning.set(id, { record: next, uri: entry.uri });
  }

  /** Learns from the records still waiting for their capture in the document of `uri` (every document: all). */
  private learnClosed(uri?: string): void {
    for (const [id, entry] of this.learning) {
      if (uri !== undefined && entry.uri !== uri) continue;
      this.learning.delete(id);
      this.learn(entry.record);
    }
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

  private countLabel(id: string, patch: OutcomePatch): void {
    const previous = this.labels.get(id);
    if (!previous || (patch.label === undefined && patch.acceptedLength === undefined)) return;
    const to = patch.label ?? previous.label;
    const length = patch.acceptedLength ?? previous.acceptedLength;
    const acceptedChars = Math.max(0, length - previous.acceptedLength);
    if (to === previous.label && acceptedChars === 0) return;
    this.labels.set(id, { label: to, acceptedLength: Math.max(length, previous.acceptedLength) });
    this.options.onLabel?.({ from: previous.label, to, acceptedChars });
  }

  private rememberLabel(id: string, state: { label: FeedbackRecord['label']; acceptedLength: number }): void {
    if (this.labels.size >= MAX_LEARNING) this.labels.delete(this.labels.keys().next().value!);
    this.labels.set(id, state);
  }

  private rememberForLearning(record: FeedbackRecord, uri: string): void {
    if (this.learning.size >= MAX_LEARNING) this.learning.delete(this.learning.keys().next().value!);
    this.learning.set(record.id, { record, uri });
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
    // The shown text is usually one of the candidates, and samples repeat prompts: each distinct text once.
    const done = new Map<string, string>();
    const clean = (text: string | undefined) => {
      if (text === undefined) return undefined;
      let out = done.get(text);
      if (out === undefined) done.set(text, (out = this.redact(text)));
      return out;
    };
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

/** The live document as the tracker reads it (its text changes in place as edits arrive). */
function trackedDocument(doc: OpenDocument): TrackedDocument {
  return {
    uri: doc.uri,
    get version() {
      return doc.version;
    },
    getText: () => doc.textDocument.getText(),
  };
}
