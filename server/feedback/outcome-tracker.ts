/**
 * The outcome tracker: what the user did with each shown completion, decided from explicit signals (the
 * accept, partial-accept and reject commands) and, for editors that send none (Helix, Eglot), from the edits;
 * then, for accepted ones, how much of the text survives (retention), and for every one the code the user
 * actually has at the suggestion's place 30 s after it was shown (capture). Pure logic: no I/O, no LSP types,
 * an injected clock and one timer. Results leave through `onUpdate(id, patch)`; the engine merges the patches
 * into the stored records (`applyOutcomePatch`).
 *
 * State machine of one suggestion (its label in the record):
 *
 *   PENDING ('ignored') — shown, nothing decided. While *visible* it can be typed over. It stops being visible
 *     when a newer suggestion is shown in the same document (an editor shows one at a time: the cursor moved
 *     or the user typed on, and what they type next is aimed at the new one), when it is typed over, when it
 *     has been typed out to its end, and at the decision deadline (shown + 10 s).
 *     - accept command (whole) → ACCEPTED, signal 'command'; with `acceptedLength` → PARTLY ('partial'), or
 *       ACCEPTED ('partial') when the length reaches the text's end.
 *     - reject command → REJECTED, 'dismissed'.
 *     - an edit after which the whole text (≥ 2 characters, multi-line ones whole) stands where it was offered,
 *       with at least 2 of its characters brought by this didChange (a text typed out by hand, key by key, is
 *       not an accept) → ACCEPTED, 'edit'. Compared: the document's 3 newest suggestions, newest first, shown
 *       at most 5 min ago; the first that matches wins. "Where it was offered" is its offset followed through
 *       the edits, or its offset as it was before this didChange (an editor that deletes the typed word and
 *       inserts the item, as Eglot does, moves the followed offset off the item's place).
 *     - typed over: while visible, an edit that inserts text (L > 0) touching its place — the span from its
 *       offset to the end of what the user has typed there — and does not continue its text: with k the
 *       edit's start relative to the offset, the text from the offset to the end of the span must match the
 *       suggestion past k (k ≥ 0 and the first inserted character is the suggestion's character at k, and so
 *       is everything typed before it). Typing along its first characters is not typing over (the server's
 *       typed-ahead reuse answers from it); deleting is not typing over. Typed over after it had been visible
 *       ≥ 250 ms, it is marked (typedOverAt); typed over sooner it was too quick to have been read: it merely
 *       stops being visible. Visibility carries over to a newer suggestion that continues the same text at
 *       the same place (the typed-ahead rest, or the same answer asked again), so the 250 ms count the text's
 *       time on screen.
 *     - at shown + 10 s: marked → REJECTED, 'typed-over', decidedAt = shown + 10 s (Continue's rule: visible
 *       ≥ 250 ms and not accepted within 10 s; here also: the user typed something else there). Not marked →
 *       it stays PENDING with no patch ('ignored'), and can still be accepted (command, or by an edit until
 *       5 min) but no longer typed over.
 *   PARTLY ('partlyAccepted') — a longer partial accept raises acceptedLength (the longest is kept) and becomes
 *     ACCEPTED at the end; an edit that puts the whole text there → ACCEPTED ('edit'); reject: ignored.
 *   ACCEPTED — final. A command arriving after the edit that already counted it restates signal: 'command'.
 *   REJECTED — final, except that an explicit accept command wins over it (the user took it after all) while
 *     it is still tracked (until its capture).
 *   Document closed: a marked PENDING one → REJECTED ('typed-over', decided now); an unmarked one still within
 *     its 10 s → 'ignored', signal 'closed'; everything of the document stops being tracked (no capture or
 *     retention check is made up later: the record keeps the checks done).
 *
 * Retention: 30 s, 2 min and 10 min after the first accept, the edit distance between the accepted text and
 * what stands in its region now, over the accepted text's length; retained when ≤ 0.5. The region is where the
 * accepted text was found in the document, followed through every edit (see region.ts); an accept command that
 * comes before its text is in the document leaves an empty region at the offset, which takes the next
 * insertion there (and is set exactly when the text appears).
 *
 * Capture: 30 s after showing (again 30 s after the accept when the first accept comes later than that): for
 * a whole accept, the text of its region; otherwise what the user typed at the suggestion's place — the span
 * from its offset that grows with what is typed at its end or inside it — cut to as many lines as the
 * suggestion has and to `maxCaptureChars`. `capturedSimilarity` is `similarity(chosen, captured)`
 * (whitespace-normalised, 1 − Levenshtein / longer length).
 *
 * Cost: `edited` maps a few numbers per tracked suggestion of the document and each change, and reads slices
 * only for the visible suggestion and the 3 newest (bounded by their text's length). Memory: at most
 * `capacity` suggestions (the oldest are dropped first); one is released once nothing is left to do for it.
 * Timers: one queue ordered by deadline, driven by one (unref'd by default) timer for its earliest deadline.
 */
import { editDistance, similarity } from '../engine/fusion/similarity.js';
import type { FeedbackLabel, FeedbackRecord, RetentionCheck } from './record.js';
import { Region, followPoint, type TextEdit } from './region.js';

export type { TextEdit } from './region.js';

/** A suggestion typed over sooner than this after it appeared was not read: no rejection. */
export const SEEN_MS = 250;
/** A typed-over suggestion not accepted by then is rejected. */
export const DECISION_MS = 10_000;
/** The code at the suggestion's place is captured this long after it was shown. */
export const CAPTURE_MS = 30_000;
/** Retention is checked this many seconds after the accept. */
export const RETENTION_AFTER_S: readonly number[] = [30, 120, 600];
/** Retained: edit distance over the accepted length at most this (Copilot's threshold). */
export const RETAINED_MAX_RATIO = 0.5;
/** How long after showing an edit can still be a suggestion's accept. */
export const ACCEPT_BY_EDIT_MS = 5 * 60_000;
/** A text shorter than this is too likely typed by chance to count as accepted by an edit. */
export const MIN_EDIT_ACCEPT_CHARS = 2;

export type OutcomeSignal = 'command' | 'partial' | 'edit' | 'typed-over' | 'dismissed' | 'closed';

/** Changes to a record's outcome fields. `retentionCheck` is appended to `retention`; the rest replace. */
export interface OutcomePatch {
  readonly label?: FeedbackLabel;
  readonly acceptedLength?: number;
  readonly decidedAt?: number;
  readonly signal?: OutcomeSignal;
  readonly retentionCheck?: RetentionCheck;
  readonly captured?: string;
  readonly capturedSimilarity?: number;
}

/** The record with the patch merged in (the retention check appended). */
export function applyOutcomePatch(record: FeedbackRecord, patch: OutcomePatch): FeedbackRecord {
  const { retentionCheck, ...fields } = patch;
  const next: FeedbackRecord = { ...record, ...fields };
  return retentionCheck ? { ...next, retention: [...(record.retention ?? []), retentionCheck] } : next;
}

/** What the tracker needs of a document: its uri, version and current text. */
export interface TrackedDocument {
  readonly uri: string;
  readonly version: number;
  /** The whole current text (only slices of it are read). */
  getText(): string;
}

export interface ShownSuggestion {
  readonly id: string;
  /** The text shown, as inserted at `offset` ('\n' line breaks; a CRLF document's '\r\n' matches them). */
  readonly text: string;
  /** Where it goes: a UTF-16 offset in the document's current text. */
  readonly offset: number;
  /** When it was shown; now() when absent. */
  readonly shownAt?: number;
  /** false at `noCode`: the capture patch then carries only `capturedSimilarity`, no text. */
  readonly recordText?: boolean;
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
  readonly schedule?: (delayMs: number, fire: () => void) => () => void;
  /** Suggestions tracked at most; the oldest are dropped first. Default 1,000. */
  readonly capacity?: number;
  /** Suggestions per document compared with each edit for an accept. Default 3. */
  readonly recentPerDocument?: number;
  /** Longest capture, in characters. Default 4,000. */
  readonly maxCaptureChars?: number;
  /** An error thrown by `onUpdate`; default: rethrown on a microtask (the tracker's state stays consistent). */
  readonly onError?: (error: unknown) => void;
}

/** What the tracker holds about a suggestion now. */
export interface TrackedOutcome {
  readonly label: FeedbackLabel;
  readonly acceptedLength?: number;
  readonly signal?: OutcomeSignal;
  /** Its offset, followed through the edits. */
  readonly offset: number;
  readonly visible: boolean;
  readonly typedOver: boolean;
  /** Where its accepted text stands (followed), when accepted. */
  readonly region?: { readonly start: number; readonly end: number };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Accepted {
  /** The first accept. */
  readonly at: number;
  readonly region: Region;
  /** Accepted before its text was seen in the document. */
  awaiting: boolean;
  /** Retention checks done. */
  checks: number;
}

interface Entry {
  readonly id: string;
  readonly uri: string;
  readonly text: string;
  readonly shownAt: number;
  readonly lines: number;
  readonly recordText: boolean;
  /** The offset, followed. */
  anchor: number;
  /** What the user typed at the place (grows at its end). */
  readonly typed: Region;
  /** Characters of the text standing at the anchor, as last measured. */
  typedAlong: number;
  /** Since when its text has been on screen (carried over from a suggestion it continues). */
  visibleSince: number;
  visible: boolean;
  typedOverAt?: number;
  label: FeedbackLabel;
  signal?: OutcomeSignal;
  acceptedLength: number;
  accepted?: Accepted;
  decisionDue?: number;
  captureDue?: number;
  captured: boolean;
  /** Bumped on every reschedule: queue items of older generations are stale. */
  gen: number;
}

interface DocState {
  doc: TrackedDocument;
  /** In the order shown, oldest first. */
  readonly entries: Entry[];
}

interface QueueItem {
  readonly due: number;
  readonly id: string;
  readonly gen: number;
}

const defaultSchedule = (delayMs: number, fire: () => void): (() => void) => {
  const timer = setTimeout(fire, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * How much of `text` stands in `doc` from `pos` (not past `limit`): characters of `text` matched and of `doc`
 * consumed; a '\r\n' in the document matches a '\n' of the text.
 */
export function matchAt(doc: string, pos: number, text: string, limit = doc.length): { text: number; doc: number } {
  let i = 0;
  let j = pos;
  if (pos < 0) return { text: 0, doc: 0 };
  const end = Math.min(limit, doc.length);
  while (i < text.length && j < end) {
    const c = text.charCodeAt(i);
    const d = doc.charCodeAt(j);
    if (c === d) {
      i++;
      j++;
    } else if (c === 10 && d === 13 && j + 1 < end && doc.charCodeAt(j + 1) === 10) {
      i++;
      j += 2;
    } else break;
  }
  return { text: i, doc: j - pos };
}

function lineCount(text: string): number {
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
}

/** A slice of the text with '\r\n' as '\n', at most `max` characters. */
function sliceText(text: string, start: number, end: number, max: number): string {
  const from = Math.max(0, Math.min(start, text.length));
  const to = Math.max(from, Math.min(end, text.length, from + max));
  const slice = text.slice(from, to);
  return slice.includes('\r') ? slice.replace(/\r\n/g, '\n') : slice;
}

/** The first `lines` lines of `text` (without the line break that would start the next). */
function firstLines(text: string, lines: number): string {
  let at = -1;
  for (let n = 0; n < lines; n++) {
    at = text.indexOf('\n', at + 1);
    if (at < 0) return text;
  }
  return text.slice(0, at);
}

/** Above this, a region's distance is not computed: its length difference alone says it is not retained. */
const MAX_COMPARED_CHARS = 64 * 1024;

export class OutcomeTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly docs = new Map<string, DocState>();
  private readonly queue: QueueItem[] = [];
  private readonly now: () => number;
  private readonly schedule: (delayMs: number, fire: () => void) => () => void;
  private readonly capacity: number;
  private readonly recentPerDocument: number;
  private readonly maxCaptureChars: number;
  private armedDue: number | undefined;
  private disarm: (() => void) | undefined;
  private running = false;

  constructor(private readonly options: OutcomeTrackerOptions) {
    this.now = options.now ?? Date.now;
    this.schedule = options.schedule ?? defaultSchedule;
    this.capacity = Math.max(1, options.capacity ?? 1000);
    this.recentPerDocument = Math.max(1, options.recentPerDocument ?? 3);
    this.maxCaptureChars = Math.max(1, options.maxCaptureChars ?? 4000);
  }

  /** Suggestions tracked now. */
  get size(): number {
    return this.entries.size;
  }

  /** When the next piece of work is due (ms), if any. */
  get nextDue(): number | undefined {
    this.dropStale();
    return this.queue[0]?.due;
  }

  outcome(id: string): TrackedOutcome | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    return {
      label: e.label,
      acceptedLength: e.accepted ? e.acceptedLength : undefined,
      signal: e.signal,
      offset: e.anchor,
      visible: e.visible,
      typedOver: e.typedOverAt !== undefined,
      region: e.accepted ? { start: e.accepted.region.start, end: e.accepted.region.end } : undefined,
    };
  }

  /** A completion was shown in `doc` (call it when the answer is sent, with an offset in the current text). */
  shown(doc: TrackedDocument, suggestion: ShownSuggestion): boolean {
    this.runDue();
    if (suggestion.text.length === 0 || this.entries.has(suggestion.id)) return false;
    const shownAt = suggestion.shownAt ?? this.now();
    const text = doc.getText();
    const offset = Math.max(0, Math.min(suggestion.offset, text.length));
    let state = this.docs.get(doc.uri);
    if (!state) {
      state = { doc, entries: [] };
      this.docs.set(doc.uri, state);
    }
    state.doc = doc;
    const entry: Entry = {
      id: suggestion.id,
      uri: doc.uri,
      text: suggestion.text,
      shownAt,
      lines: lineCount(suggestion.text),
      recordText: suggestion.recordText ?? true,
      anchor: offset,
      typed: new Region(offset, offset, true),
      typedAlong: matchAt(text, offset, suggestion.text).text,
      visibleSince: shownAt,
      visible: true,
      label: 'ignored',
      acceptedLength: 0,
      decisionDue: shownAt + DECISION_MS,
      captureDue: shownAt + CAPTURE_MS,
      captured: false,
      gen: 0,
    };
    const previous = state.entries.at(-1);
    if (previous?.visible) {
      previous.visible = false;
      // The same text at the same place, or its rest after what was typed along it: on screen since then.
      if (previous.label === 'ignored' && previous.typedOverAt === undefined) {
        const along = matchAt(text, previous.anchor, previous.text, offset);
        if (previous.anchor + along.doc === offset && previous.text.slice(along.text) === suggestion.text) {
          entry.visibleSince = previous.visibleSince;
        }
      }
    }
    state.entries.push(entry);
    this.entries.set(entry.id, entry);
    this.reschedule(entry);
    // The one that just left the newest few may have nothing left to do.
    const left = state.entries.at(-1 - this.recentPerDocument);
    if (left && this.finished(left, this.now())) this.remove(left);
    while (this.entries.size > this.capacity) this.evict(this.entries.values().next().value!);
    return true;
  }

  /**
   * The document changed: `changes` are one didChange's changes in order, each in offsets of the text before
   * it (a full replacement as { start: 0, end: oldLength, text }); `doc.getText()` is the text after all of
   * them. Returns the ids this edit accepted.
   */
  edited(doc: TrackedDocument, changes: readonly TextEdit[]): string[] {
    this.runDue();
    const state = this.docs.get(doc.uri);
    if (!state) return [];
    state.doc = doc;
    const list = state.entries;
    const n = list.length;
    if (n === 0 || changes.length === 0) return [];
    const now = this.now();
    const recentFrom = Math.max(0, n - this.recentPerDocument);
    const recentCount = n - recentFrom;
    const anchorsBefore: number[] = [];
    const touched: boolean[] = [];
    for (let i = recentFrom; i < n; i++) {
      anchorsBefore.push(list[i]!.anchor);
      touched.push(false);
    }
    const newest = list[n - 1]!;
    const watch = newest.visible && newest.label === 'ignored' && newest.typedOverAt === undefined && newest.decisionDue !== undefined;
    /** The first inserting change at the visible suggestion's place: its start, relative to the offset. */
    let typedAt: number | undefined;
    for (const change of changes) {
      for (let i = 0; i < n; i++) {
        const entry = list[i]!;
        if (i >= recentFrom && !touched[i - recentFrom]) {
          touched[i - recentFrom] = change.start <= entry.anchor + 2 * entry.text.length && change.end >= entry.anchor;
        }
        if (watch && entry === newest && typedAt === undefined && change.text.length > 0 && entry.typed.touchedBy(change)) {
          typedAt = change.start - entry.anchor;
        }
        entry.anchor = followPoint(entry.anchor, change);
        entry.typed.apply(change);
        entry.accepted?.region.apply(change);
      }
    }
    const text = doc.getText();
    const acceptedIds: string[] = [];
    // Accepts by edit: the newest first, the first match wins.
    for (let r = recentCount - 1; r >= 0; r--) {
      const entry = list[recentFrom + r]!;
      if (!touched[r]) continue;
      if (entry.accepted?.awaiting) this.locateAccepted(entry, text, anchorsBefore[r]!);
      if (!this.acceptableByEdit(entry, now)) continue;
      const before = entry.typedAlong;
      const length = entry.text.length;
      let found: { pos: number; doc: number } | undefined;
      const places = entry.anchor === anchorsBefore[r] ? [entry.anchor] : [entry.anchor, anchorsBefore[r]!];
      for (const pos of places) {
        const m = matchAt(text, pos, entry.text);
        if (pos === entry.anchor) entry.typedAlong = m.text;
        if (m.text === length) {
          found = { pos, doc: m.doc };
          break;
        }
      }
      if (found && length >= MIN_EDIT_ACCEPT_CHARS && length - before >= MIN_EDIT_ACCEPT_CHARS) {
        this.acceptByEdit(entry, found.pos, found.doc, now);
        acceptedIds.push(entry.id);
        break;
      }
    }
    if (typedAt !== undefined && newest.visible && newest.label === 'ignored') this.typedThere(newest, typedAt, text, now);
    return acceptedIds;
  }

  /** The user accepted the suggestion: all of it, or its first `acceptedLength` characters (partial accept). */
  accept(id: string, acceptedLength?: number): boolean {
    this.runDue();
    const entry = this.entries.get(id);
    if (!entry) return false;
    const full = entry.text.length;
    const length = acceptedLength === undefined ? full : Math.max(0, Math.min(Math.floor(acceptedLength), full));
    if (!(length > 0)) return false;
    const now = this.now();
    const signal: OutcomeSignal = acceptedLength === undefined ? 'command' : 'partial';
    const previous = entry.accepted ? entry.acceptedLength : 0;
    if (length <= previous) {
      // Nothing more taken. A command after the edit that counted it says the client sends commands.
      if (signal === 'command' && entry.signal === 'edit' && entry.label === 'accepted') {
        entry.signal = 'command';
        this.emit(entry, { signal: 'command' });
      }
      return true;
    }
    const label: FeedbackLabel = length >= full ? 'accepted' : 'partlyAccepted';
    const patch: Mutable<OutcomePatch> = { acceptedLength: length, signal };
    if (label !== entry.label) {
      patch.label = label;
      patch.decidedAt = now;
    }
    entry.label = label;
    entry.signal = signal;
    entry.acceptedLength = length;
    this.settle(entry, now);
    const text = this.docs.get(entry.uri)?.doc.getText() ?? '';
    this.placeAccepted(entry, text, now);
    this.emit(entry, patch);
    this.reschedule(entry);
    return true;
  }

  /** The user dismissed the suggestion. False when it was accepted or rejected already, or is unknown. */
  reject(id: string): boolean {
    this.runDue();
    const entry = this.entries.get(id);
    if (!entry || entry.label !== 'ignored') return false;
    const now = this.now();
    entry.label = 'rejected';
    entry.signal = 'dismissed';
    this.settle(entry, now);
    this.emit(entry, { label: 'rejected', signal: 'dismissed', decidedAt: now });
    this.reschedule(entry);
    return true;
  }

  /** The document was closed: decide what can be decided and stop tracking its suggestions. */
  closed(uri: string): void {
    this.runDue();
    const state = this.docs.get(uri);
    if (!state) return;
    const now = this.now();
    for (const entry of state.entries) {
      if (entry.label === 'ignored') {
        if (entry.typedOverAt !== undefined) this.decide(entry, now);
        else if (entry.decisionDue !== undefined) this.emit(entry, { label: 'ignored', signal: 'closed', decidedAt: now });
      }
      this.entries.delete(entry.id);
    }
    this.docs.delete(uri);
    this.rearm();
  }

  /** Shutting down: every document is closed (see `closed`), and the timer stopped. */
  closeAll(): void {
    for (const uri of [...this.docs.keys()]) this.closed(uri);
    this.dispose();
  }

  /** Does everything due by now(): decisions, retention checks, captures, releases. */
  runDue(): void {
    if (this.running) return;
    this.running = true;
    try {
      const now = this.now();
      for (;;) {
        this.dropStale();
        const top = this.queue[0];
        if (!top || top.due > now) break;
        this.pop();
        const entry = this.entries.get(top.id)!;
        this.process(entry, now);
      }
    } finally {
      this.running = false;
    }
    this.rearm();
  }

  /** Stops the timer and forgets everything (no more patches). */
  dispose(): void {
    this.disarm?.();
    this.disarm = this.armedDue = undefined;
    this.entries.clear();
    this.docs.clear();
    this.queue.length = 0;
  }

  // Decisions.

  private typedThere(entry: Entry, typedAt: number, text: string, now: number): void {
    const m = matchAt(text, entry.anchor, entry.text, entry.typed.end);
    if (m.text === entry.text.length) {
      // Typed out to its end: nothing left on screen to reject.
      entry.visible = false;
      return;
    }
    if (typedAt >= 0 && m.doc > typedAt) return;
    entry.visible = false;
    if (now - entry.visibleSince >= SEEN_MS) entry.typedOverAt = now;
  }

  /** The decision deadline (or the close): a typed-over suggestion still pending is rejected. */
  private decide(entry: Entry, at: number): void {
    entry.visible = false;
    entry.decisionDue = undefined;
    if (entry.label !== 'ignored' || entry.typedOverAt === undefined) return;
    entry.label = 'rejected';
    entry.signal = 'typed-over';
    this.emit(entry, { label: 'rejected', signal: 'typed-over', decidedAt: at });
  }

  private acceptableByEdit(entry: Entry, now: number): boolean {
    return (entry.label === 'ignored' || entry.label === 'partlyAccepted') && now - entry.shownAt <= ACCEPT_BY_EDIT_MS;
  }

  private acceptByEdit(entry: Entry, pos: number, docLength: number, now: number): void {
    const patch: OutcomePatch = { label: 'accepted', acceptedLength: entry.text.length, signal: 'edit', decidedAt: now };
    entry.label = 'accepted';
    entry.signal = 'edit';
    entry.acceptedLength = entry.text.length;
    entry.anchor = pos;
    this.settle(entry, now);
    this.setRegion(entry, pos, pos + docLength, now);
    this.emit(entry, patch);
    this.reschedule(entry);
  }

  /** An outcome arrived: the suggestion is no longer on screen, and no longer waits for its deadline. */
  private settle(entry: Entry, now: number): void {
    entry.visible = false;
    entry.decisionDue = undefined;
    if (entry.label !== 'rejected' && !entry.accepted && entry.captured) entry.captureDue = now + CAPTURE_MS;
  }

  private setRegion(entry: Entry, start: number, end: number, now: number): void {
    if (entry.accepted) {
      entry.accepted.region.start = start;
      entry.accepted.region.end = end;
      entry.accepted.awaiting = false;
    } else entry.accepted = { at: now, region: new Region(start, end), awaiting: false, checks: 0 };
  }

  /** Finds the accepted part in the document; until it is there, the region waits empty at the offset. */
  private placeAccepted(entry: Entry, text: string, now: number): void {
    if (this.locateAccepted(entry, text, entry.anchor)) return;
    if (entry.accepted) entry.accepted.awaiting = true;
    else entry.accepted = { at: now, region: new Region(entry.anchor, entry.anchor), awaiting: true, checks: 0 };
  }

  private locateAccepted(entry: Entry, text: string, otherPos: number): boolean {
    const part = entry.text.slice(0, entry.acceptedLength);
    const candidates = entry.accepted ? [entry.accepted.region.start, entry.anchor, otherPos] : [entry.anchor, otherPos];
    for (const pos of candidates) {
      const m = matchAt(text, pos, part);
      if (m.text === part.length) {
        this.setRegion(entry, pos, pos + m.doc, this.now());
        return true;
      }
    }
    return false;
  }

  // Timed work.

  private process(entry: Entry, now: number): void {
    if (entry.decisionDue !== undefined && entry.decisionDue <= now) this.decide(entry, entry.decisionDue);
    const accepted = entry.accepted;
    if (accepted) {
      while (accepted.checks < RETENTION_AFTER_S.length && accepted.at + RETENTION_AFTER_S[accepted.checks]! * 1000 <= now) {
        this.checkRetention(entry, RETENTION_AFTER_S[accepted.checks]!);
        accepted.checks++;
      }
    }
    if (entry.captureDue !== undefined && entry.captureDue <= now) {
      this.capture(entry);
      entry.captureDue = undefined;
      entry.captured = true;
    }
    if (this.finished(entry, now)) this.remove(entry);
    else this.reschedule(entry);
  }

  private checkRetention(entry: Entry, afterS: number): void {
    const text = this.docs.get(entry.uri)!.doc.getText();
    const region = entry.accepted!.region;
    const accepted = entry.text.slice(0, entry.acceptedLength);
    let distance: number;
    if (region.length > MAX_COMPARED_CHARS) distance = region.length - accepted.length;
    else distance = editDistance(accepted, sliceText(text, region.start, region.end, MAX_COMPARED_CHARS));
    const distanceRatio = distance / accepted.length;
    this.emit(entry, { retentionCheck: { afterS, distanceRatio, retained: distanceRatio <= RETAINED_MAX_RATIO } });
  }

  private capture(entry: Entry): void {
    const text = this.docs.get(entry.uri)!.doc.getText();
    let captured: string;
    if (entry.label === 'accepted' && entry.accepted) {
      captured = sliceText(text, entry.accepted.region.start, entry.accepted.region.end, this.maxCaptureChars);
    } else {
      captured = firstLines(sliceText(text, entry.typed.start, entry.typed.end, this.maxCaptureChars), entry.lines);
    }
    const capturedSimilarity = similarity(entry.text, captured);
    this.emit(entry, entry.recordText ? { captured, capturedSimilarity } : { capturedSimilarity });
  }

  /** Nothing left to do: decided or past its deadline, captured, checked, and no longer acceptable by an edit. */
  private finished(entry: Entry, now: number): boolean {
    if (entry.decisionDue !== undefined || entry.captureDue !== undefined) return false;
    if (entry.accepted && entry.accepted.checks < RETENTION_AFTER_S.length) return false;
    return !(this.acceptableByEdit(entry, now) && this.isRecent(entry));
  }

  private isRecent(entry: Entry): boolean {
    const list = this.docs.get(entry.uri)?.entries ?? [];
    return list.lastIndexOf(entry) >= list.length - this.recentPerDocument;
  }

  private due(entry: Entry): number | undefined {
    let due = Infinity;
    if (entry.decisionDue !== undefined) due = Math.min(due, entry.decisionDue);
    if (entry.captureDue !== undefined) due = Math.min(due, entry.captureDue);
    const accepted = entry.accepted;
    if (accepted && accepted.checks < RETENTION_AFTER_S.length) due = Math.min(due, accepted.at + RETENTION_AFTER_S[accepted.checks]! * 1000);
    if (due === Infinity && this.acceptableByEdit(entry, this.now())) due = entry.shownAt + ACCEPT_BY_EDIT_MS + 1;
    return due === Infinity ? undefined : due;
  }

  private reschedule(entry: Entry): void {
    entry.gen++;
    const due = this.due(entry);
    if (due === undefined) {
      if (this.finished(entry, this.now())) this.remove(entry);
      return;
    }
    this.push({ due, id: entry.id, gen: entry.gen });
    // Stale items pile up as entries are rescheduled: compact now and then.
    if (this.queue.length > 4 * this.entries.size + 64) this.compact();
    if (!this.running) this.rearm();
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
    if (entry.label === 'ignored' && entry.typedOverAt !== undefined) this.decide(entry, this.now());
    this.remove(entry);
  }

  private emit(entry: Entry, patch: OutcomePatch): void {
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

  // The queue: a binary min-heap on `due`, stale items skipped lazily.

  private isStale(item: QueueItem): boolean {
    return this.entries.get(item.id)?.gen !== item.gen;
  }

  private dropStale(): void {
    while (this.queue.length > 0 && this.isStale(this.queue[0]!)) this.pop();
  }

  private compact(): void {
    const live = this.queue.filter((item) => !this.isStale(item));
    this.queue.length = 0;
    for (const item of live) this.push(item);
  }

  private rearm(): void {
    this.dropStale();
    const due = this.queue[0]?.due;
    if (due === this.armedDue) return;
    this.disarm?.();
    this.disarm = undefined;
    this.armedDue = due;
    if (due === undefined) return;
    this.disarm = this.schedule(Math.max(0, due - this.now()), () => {
      this.disarm = this.armedDue = undefined;
      this.runDue();
    });
  }

  private push(item: QueueItem): void {
    const q = this.queue;
    q.push(item);
    let i = q.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (q[parent]!.due <= item.due) break;
      q[i] = q[parent]!;
      i = parent;
    }
    q[i] = item;
  }

  private pop(): QueueItem | undefined {
    const q = this.queue;
    const top = q[0];
    const last = q.pop();
    if (q.length > 0 && last) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= q.length) break;
        const right = left + 1;
        const child = right < q.length && q[right]!.due < q[left]!.due ? right : left;
        if (q[child]!.due >= last.due) break;
        q[i] = q[child]!;
        i = child;
      }
      q[i] = last;
    }
    return top;
  }
}
