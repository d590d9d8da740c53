/**
 * The engine at its boundary for the feedback tests: `createEngine` with a DocumentStore, the Ollama stand-in, a
 * data directory with a real LMDB store, and a clock the test drives (the feedback signals' `now` and their one
 * timer). Edits go through `DocumentStore.change` and `engine.edited`, as the server's didChange handler sends them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import { validateSettings } from '../../../server/config.js';
import type { OpenDocument, TextEdit } from '../../../server/documents/document-store.js';
import { DocumentStore } from '../../../server/documents/document-store.js';
import { createEngine, type CompletionAnswer, type Engine } from '../../../server/engine/engine.js';
import { FeedbackLog } from '../../../server/feedback/feedback-log.js';
import type { FeedbackRecord } from '../../../server/feedback/record.js';
import { silentLogger } from '../../../server/log.js';
import { openLmdbStore } from '../../../server/store/lmdb-store.js';
import { OllamaStub, type StubAnswer, type StubModel } from '../../support/ollama-stub.js';

export const T0 = 1_700_000_000_000;

/**
 * The feedback signals' clock: `now` is what the test says, and `schedule` only records the timer; `advance` moves
 * the time on, firing each armed timer at its due time (a fire may arm the next one).
 */
export class TestClock {
  t = T0;
  private readonly timers: { due: number; fire: () => void; armed: boolean }[] = [];

  readonly now = (): number => this.t;

  readonly schedule = (delayMs: number, fire: () => void): (() => void) => {
    const timer = { due: this.t + Math.max(0, delayMs), fire, armed: true };
    this.timers.push(timer);
    return () => {
      timer.armed = false;
    };
  };

  /** Timers armed now (the tracker keeps one for its earliest deadline). */
  get armed(): number[] {
    return this.timers.filter((t) => t.armed).map((t) => t.due);
  }

  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }

  advanceTo(end: number): void {
    for (;;) {
      const next = this.timers.filter((t) => t.armed && t.due <= end).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.t = Math.max(this.t, next.due);
      next.armed = false;
      next.fire();
    }
    this.t = Math.max(this.t, end);
  }
}

/** A stub answer with low token log-probabilities, so that HYBRID's "confident" rule never ends a wait early. */
export function unsure(text: string): StubAnswer {
  return { text, logprobs: new Array<number>(64).fill(-2) };
}

export interface Harness {
  /** The engine now (a new one after `restart`). */
  readonly engine: Engine;
  readonly documents: DocumentStore;
  readonly clock: TestClock;
  readonly stub: OllamaStub;
  readonly dataDir: string;
  readonly warnings: string[];
  /** Opens a document at `path` below the workspace folder (a file: URI). */
  open(path: string, languageId: string, text: string): OpenDocument;
  /** A completion at `offset` (default: the end of the text) that must be answered. */
  complete(doc: OpenDocument, offset?: number): Promise<CompletionAnswer>;
  /** One didChange with one change (offsets of the text before it); returns the ids it accepted. */
  edit(doc: OpenDocument, start: number, end: number, text: string): string[];
  /** Types `text` at `offset` key by key, one didChange per key, `stepMs` apart (before each key). */
  typeKeys(doc: OpenDocument, offset: number, text: string, stepMs?: number): void;
  /** Closes the engine (flushing the feedback log) and reads every committed record back from the data directory. */
  closeAndReadRecords(): Promise<FeedbackRecord[]>;
  /**
   * Closes the engine and starts a new one on the same data directory, settings and clock (a server restart; the
   * documents stay open in the store, as an editor reopens them).
   */
  restart(): Promise<void>;
  /** Stops the stand-in and removes the folders (after the engine is closed). */
  dispose(): Promise<void>;
  readonly workspace: string;
  uri(path: string): string;
}

export interface HarnessOptions {
  readonly models: readonly StubModel[];
  /** `xencode` settings; `ollama.host` is the stand-in's. */
  readonly settings: Record<string, unknown>;
  /** Workspace folders to declare (default: none). The workspace folder itself exists either way. */
  readonly declareRoot?: boolean;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const stub = new OllamaStub({ models: options.models.map((m) => ({ ...m })) });
  await stub.start();
  const { settings, problems } = validateSettings({ ...options.settings, ollama: { host: stub.url } }, {});
  expect(problems).toEqual([]);
  const clock = new TestClock();
  const warnings: string[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'xencode-engine-feedback-'));
  const workspace = mkdtempSync(join(tmpdir(), 'xencode-engine-ws-'));
  const makeEngine = async (): Promise<Engine> => {
    const made = createEngine({
      settings,
      notifier: { warn: (m) => warnings.push(m), info: () => undefined },
      logger: silentLogger,
      clock: { now: clock.now, schedule: clock.schedule },
    });
    const opened = await made.openStore(dataDir);
    expect(opened.problem).toBeUndefined();
    if (options.declareRoot) made.setWorkspaceRoots([workspace]);
    return made;
  };
  let engine = await makeEngine();
  const documents = new DocumentStore();
  const uri = (path: string) => pathToFileURL(join(workspace, path)).href;
  let closed = false;

  const harness: Harness = {
    get engine() {
      return engine;
    },
    documents,
    clock,
    stub,
    dataDir,
    warnings,
    workspace,
    uri,
    open(path, languageId, text) {
      return documents.open(uri(path), languageId, 1, text);
    },
    async complete(doc, offset) {
      const outcome = await engine.complete(doc, offset ?? doc.textDocument.getText().length, new AbortController().signal);
      if (outcome.kind !== 'answer') throw new Error(`expected an answer, got ${JSON.stringify(outcome)}`);
      return outcome.answer;
    },
    edit(doc, start, end, text) {
      const before = doc.textDocument;
      const edits: TextEdit[] = [];
      const changed = documents.change(doc.uri, doc.version + 1, [{ range: { start: before.positionAt(start), end: before.positionAt(end) }, text }], edits);
      if (!changed) throw new Error(`${doc.uri} is not open`);
      return engine.edited(changed, edits);
    },
    typeKeys(doc, offset, text, stepMs = 80) {
      for (let i = 0; i < text.length; i++) {
        clock.advance(stepMs);
        harness.edit(doc, offset + i, offset + i, text[i]!);
      }
    },
    async closeAndReadRecords() {
      closed = true;
      await engine.close();
      const { store, problem } = await openLmdbStore({ dataDir, probe: false });
      expect(problem).toBeUndefined();
      try {
        const log = new FeedbackLog({ maxEvents: 100_000, maxDays: 3650 });
        log.attach(store!);
        return [...log.records()];
      } finally {
        await store!.close();
      }
    },
    async restart() {
      await engine.close();
      engine = await makeEngine();
    },
    async dispose() {
      if (!closed) await engine.close();
      await stub.stop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(workspace, { recursive: true, force: true });
    },
  };
  return harness;
}
