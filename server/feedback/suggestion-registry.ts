/**
 * The outcome tracker's suggestions over their lifetime: held per document in the order shown, at most
 * `capacity` (the oldest dropped first), each with its deadlines in one queue (one timer for the earliest),
 * the work due at them done (the decision, the retention checks, the capture), and released once nothing is
 * left to do for it. Every patch leaves through here (`emit`). What the events do is the tracker's
 * (outcome-tracker.ts); the steps on one suggestion are in tracked-suggestion.ts.
 */
import { DeadlineQueue, defaultSchedule, type Schedule } from './deadline-queue.js';
import type { OutcomePatch } from './outcome-patch.js';
import {
  ACCEPT_BY_EDIT_MS,
  acceptableByEdit,
  capture,
  deadline,
  decide,
  retentionCheck,
  retentionDue,
  type Entry,
} from './tracked-suggestion.js';

/** What the tracker needs of a document: its uri, version and current text. */
export interface TrackedDocument {
  readonly uri: string;
  readonly version: number;
  /** The whole current text (only slices of it are read). */
  getText(): string;
}

export interface OutcomeTrackerOptions {
  /** Receives every change of a record's outcome fields. */
  readonly onUpdate: (id: string, patch: OutcomePatch) => void;
  /** The clock (ms). Default Date.now. */
  readonly now?: () => number;
  /**
   * Arms the one timer: `fire` after `delayMs`; returns a function that disarms it. Default: setTimeout,
   * unref'd (it never holds the process open). Tests pass their own and call `runDue()`.
   */
  readonly schedule?: Schedule;
  /** Suggestions tracked at most; the oldest are dropped first. Default 1,000. */
  readonly capacity?: number;
  /** Suggestions per document compared with each edit for an accept. Default 3. */
  readonly recentPerDocument?: number;
  /** Longest capture, in characters. Default 4,000. */
  readonly maxCaptureChars?: number;
  /** An error thrown by `onUpdate`; default: rethrown on a microtask (the tracker's state stays consistent). */
  readonly onError?: (error: unknown) => void;
}

export interface DocState {
  doc: TrackedDocument;
  /** In the order shown, oldest first. */
  readonly entries: Entry[];
}

/** A deadline of an entry; stale once the entry is rescheduled (its `gen` moved on) or gone. */
interface QueueItem {
  readonly due: number;
  readonly id: string;
  readonly gen: number;
}

export class SuggestionRegistry {
  readonly now: () => number;
  readonly recentPerDocument: number;
  private readonly entries = new Map<string, Entry>();
  private readonly docs = new Map<string, DocState>();
  private readonly queue: DeadlineQueue<QueueItem>;
  private readonly capacity: number;
  private readonly maxCaptureChars: number;
  private running = false;

  constructor(private readonly options: OutcomeTrackerOptions) {
    this.now = options.now ?? Date.now;
    this.queue = new DeadlineQueue<QueueItem>({
      isStale: (item) => this.entries.get(item.id)?.gen !== item.gen,
      schedule: options.schedule ?? defaultSchedule,
      now: this.now,
      onFire: () => this.runDue(),
    });
    this.capacity = Math.max(1, options.capacity ?? 1000);
    this.recentPerDocument = Math.max(1, options.recentPerDocument ?? 3);
    this.maxCaptureChars = Math.max(1, options.maxCaptureChars ?? 4000);
  }

  get size(): number {
    return this.entries.size;
  }

  get nextDue(): number | undefined {
    return this.queue.peek()?.due;
  }

  get uris(): string[] {
    return [...this.docs.keys()];
  }

  get(id: string): Entry | undefined {
    return this.entries.get(id);
  }

  doc(uri: string): DocState | undefined {
    return this.docs.get(uri);
  }

  /** The document's state (made when new), holding `doc` as its current version. */
  open(doc: TrackedDocument): DocState {
    let state = this.docs.get(doc.uri);
    if (!state) {
      state = { doc, entries: [] };
      this.docs.set(doc.uri, state);
    }
    state.doc = doc;
    return state;
  }

  /** A suggestion newly shown in the document of `state`, the newest there. */
  add(state: DocState, entry: Entry): void {
    state.entries.push(entry);
    this.entries.set(entry.id, entry);
    this.reschedule(entry);
    // The one that just left the newest few may have nothing left to do.
    const left = state.entries.at(-1 - this.recentPerDocument);
    if (left && this.finished(left, this.now())) this.remove(left);
    while (this.entries.size > this.capacity) this.evict(this.entries.values().next().value!);
  }

  /** Stops tracking the document's suggestions; `last` sees each just before it goes. */
  forget(uri: string, last: (entry: Entry) => void): void {
    const state = this.docs.get(uri);
    if (!state) return;
    for (const entry of state.entries) {
      last(entry);
      this.entries.delete(entry.id);
    }
    this.docs.delete(uri);
    this.queue.rearm();
  }

  /** Does everything due by now(): decisions, retention checks, captures, releases. */
  runDue(): void {
    if (this.running) return;
    this.running = true;
    try {
      const now = this.now();
      for (;;) {
        const top = this.queue.peek();
        if (!top || top.due > now) break;
        this.queue.pop();
        const entry = this.entries.get(top.id)!;
        this.process(entry, now);
      }
    } finally {
      this.running = false;
    }
    this.queue.rearm();
  }

  /** Stops the timer and forgets everything (no more patches). */
  dispose(): void {
    this.queue.clear();
    this.entries.clear();
    this.docs.clear();
  }

  /** An event changed the entry: its patch is sent, and its deadlines queued again. */
  changed(entry: Entry, patch: OutcomePatch): void {
    this.emit(entry, patch);
    this.reschedule(entry);
  }

  emit(entry: Entry, patch: OutcomePatch | undefined): void {
    if (!patch) return;
    try {
      this.options.onUpdate(entry.id, patch);
    } catch (error) {
      if (this.options.onError) this.options.onError(error);
      else
        queueMicrotask(() => {
          throw error;
        });
    }
  }

  /** Queues the entry's next deadline (its older ones go stale); releases it when none is left. */
  private reschedule(entry: Entry): void {
    entry.gen++;
    const due = deadline(entry) ?? (acceptableByEdit(entry, this.now()) ? entry.shownAt + ACCEPT_BY_EDIT_MS + 1 : undefined);
    if (due === undefined) {
      if (this.finished(entry, this.now())) this.remove(entry);
      return;
    }
    this.queue.push({ due, id: entry.id, gen: entry.gen });
    // Stale items pile up as entries are rescheduled: compact now and then.
    if (this.queue.length > 4 * this.entries.size + 64) this.queue.compact();
    if (!this.running) this.queue.rearm();
  }

  private process(entry: Entry, now: number): void {
    if (entry.decisionDue !== undefined && entry.decisionDue <= now) this.emit(entry, decide(entry, entry.decisionDue));
    const accepted = entry.accepted;
    if (accepted) {
      for (let due = retentionDue(accepted); due !== undefined && due <= now; due = retentionDue(accepted)) {
        this.emit(entry, retentionCheck(entry, this.textOf(entry)));
        accepted.checks++;
      }
    }
    if (entry.captureDue !== undefined && entry.captureDue <= now) {
      this.emit(entry, capture(entry, this.textOf(entry), this.maxCaptureChars));
      entry.captureDue = undefined;
      entry.captured = true;
    }
    if (this.finished(entry, now)) this.remove(entry);
    else this.reschedule(entry);
  }

  private textOf(entry: Entry): string {
    return this.docs.get(entry.uri)!.doc.getText();
  }

  /** Nothing left to do: decided or past its deadline, captured, checked, and no longer acceptable by an edit. */
  private finished(entry: Entry, now: number): boolean {
    if (deadline(entry) !== undefined) return false;
    return !(acceptableByEdit(entry, now) && this.isRecent(entry));
  }

  private isRecent(entry: Entry): boolean {
    const list = this.docs.get(entry.uri)?.entries ?? [];
    return list.lastIndexOf(entry) >= list.length - this.recentPerDocument;
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.id);
    const state = this.docs.get(entry.uri);
    if (!state) return;
    const at = state.entries.indexOf(entry);
    if (at >= 0) state.entries.splice(at, 1);
    if (state.entries.length === 0) this.docs.delete(entry.uri);
  }

  /** Dropped to bound memory: a typed-over one is decided now; nothing else is made up. */
  private evict(entry: Entry): void {
    if (entry.label === 'ignored' && entry.typedOverAt !== undefined) this.emit(entry, decide(entry, this.now()));
    this.remove(entry);
  }
}
