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
 *
 * Here: the events (shown, edited, the commands, closed). One suggestion's state, the rules' numbers and the
 * steps on it: tracked-suggestion.ts. The suggestions' lifetimes (the memory bound, the deadlines and the work
 * due at them, the patches out): suggestion-registry.ts, on deadline-queue.ts. The text measurements:
 * outcome-text.ts. The patch and its merge: outcome-patch.ts.
 */
import type { OutcomePatch, OutcomeSignal } from './outcome-patch.js';
import type { FeedbackLabel } from './record.js';
import { followPoint, type TextEdit } from './region.js';
import { SuggestionRegistry, type OutcomeTrackerOptions, type TrackedDocument } from './suggestion-registry.js';
import {
  acceptByEdit,
  acceptableByEdit,
  awaitAccepted,
  decide,
  editAcceptPlace,
  locateAccepted,
  newEntry,
  outcomeOf,
  settle,
  succeededBy,
  typedThere,
  type ShownSuggestion,
  type TrackedOutcome,
} from './tracked-suggestion.js';

export type { ShownSuggestion, TextEdit, TrackedOutcome };
export { applyOutcomePatch, type OutcomePatch, type OutcomeSignal } from './outcome-patch.js';
export { matchAt } from './outcome-text.js';
export type { OutcomeTrackerOptions, TrackedDocument } from './suggestion-registry.js';
export {
  ACCEPT_BY_EDIT_MS,
  CAPTURE_MS,
  DECISION_MS,
  MIN_EDIT_ACCEPT_CHARS,
  RETAINED_MAX_RATIO,
  RETENTION_AFTER_S,
  SEEN_MS,
} from './tracked-suggestion.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class OutcomeTracker {
  private readonly tracked: SuggestionRegistry;

  constructor(options: OutcomeTrackerOptions) {
    this.tracked = new SuggestionRegistry(options);
  }

  /** Suggestions tracked now. */
  get size(): number {
    return this.tracked.size;
  }

  /** When the next piece of work is due (ms), if any. */
  get nextDue(): number | undefined {
    return this.tracked.nextDue;
  }

  outcome(id: string): TrackedOutcome | undefined {
    const entry = this.tracked.get(id);
    return entry && outcomeOf(entry);
  }

  /** A completion was shown in `doc` (call it when the answer is sent, with an offset in the current text). */
  shown(doc: TrackedDocument, suggestion: ShownSuggestion): boolean {
    this.runDue();
    if (suggestion.text.length === 0 || this.tracked.get(suggestion.id)) return false;
    const shownAt = suggestion.shownAt ?? this.tracked.now();
    const text = doc.getText();
    const state = this.tracked.open(doc);
    const entry = newEntry(doc.uri, suggestion, text, shownAt);
    const previous = state.entries.at(-1);
    if (previous) succeededBy(previous, entry, text);
    this.tracked.add(state, entry);
    return true;
  }

  /**
   * The document changed: `changes` are one didChange's changes in order, each in offsets of the text before
   * it (a full replacement as { start: 0, end: oldLength, text }); `doc.getText()` is the text after all of
   * them. Returns the ids this edit accepted.
   */
  edited(doc: TrackedDocument, changes: readonly TextEdit[]): string[] {
    this.runDue();
    const state = this.tracked.doc(doc.uri);
    if (!state) return [];
    state.doc = doc;
    const list = state.entries;
    const n = list.length;
    if (n === 0 || changes.length === 0) return [];
    const now = this.tracked.now();
    const recentFrom = Math.max(0, n - this.tracked.recentPerDocument);
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
      if (entry.accepted?.awaiting) locateAccepted(entry, text, anchorsBefore[r]!, now);
      if (!acceptableByEdit(entry, now)) continue;
      const found = editAcceptPlace(entry, text, anchorsBefore[r]!);
      if (found) {
        this.tracked.changed(entry, acceptByEdit(entry, found.pos, found.doc, now));
        acceptedIds.push(entry.id);
        break;
      }
    }
    if (typedAt !== undefined && newest.visible && newest.label === 'ignored') typedThere(newest, typedAt, text, now);
    return acceptedIds;
  }

  /** The user accepted the suggestion: all of it, or its first `acceptedLength` characters (partial accept). */
  accept(id: string, acceptedLength?: number): boolean {
    this.runDue();
    const entry = this.tracked.get(id);
    if (!entry) return false;
    const full = entry.text.length;
    const length = acceptedLength === undefined ? full : Math.max(0, Math.min(Math.floor(acceptedLength), full));
    if (!(length > 0)) return false;
    const now = this.tracked.now();
    const signal: OutcomeSignal = acceptedLength === undefined ? 'command' : 'partial';
    const previous = entry.accepted ? entry.acceptedLength : 0;
    if (length <= previous) {
      // Nothing more taken. A command after the edit that counted it says the client sends commands.
      if (signal === 'command' && entry.signal === 'edit' && entry.label === 'accepted') {
        entry.signal = 'command';
        this.tracked.emit(entry, { signal: 'command' });
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
    settle(entry, now);
    // Found in the document, or (an accept before its text is there) waiting for it at the offset.
    const text = this.tracked.doc(entry.uri)?.doc.getText() ?? '';
    if (!locateAccepted(entry, text, entry.anchor, this.tracked.now())) awaitAccepted(entry, now);
    this.tracked.changed(entry, patch);
    return true;
  }

  /** The user dismissed the suggestion. False when it was accepted or rejected already, or is unknown. */
  reject(id: string): boolean {
    this.runDue();
    const entry = this.tracked.get(id);
    if (!entry || entry.label !== 'ignored') return false;
    const now = this.tracked.now();
    entry.label = 'rejected';
    entry.signal = 'dismissed';
    settle(entry, now);
    this.tracked.changed(entry, { label: 'rejected', signal: 'dismissed', decidedAt: now });
    return true;
  }

  /** The document was closed: decide what can be decided and stop tracking its suggestions. */
  closed(uri: string): void {
    this.runDue();
    const now = this.tracked.now();
    this.tracked.forget(uri, (entry) => {
      if (entry.label !== 'ignored') return;
      if (entry.typedOverAt !== undefined) this.tracked.emit(entry, decide(entry, now));
      else if (entry.decisionDue !== undefined) this.tracked.emit(entry, { label: 'ignored', signal: 'closed', decidedAt: now });
    });
  }

  /** Shutting down: every document is closed (see `closed`), and the timer stopped. */
  closeAll(): void {
    for (const uri of this.tracked.uris) this.closed(uri);
    this.dispose();
  }

  /** Does everything due by now(): decisions, retention checks, captures, releases. */
  runDue(): void {
    this.tracked.runDue();
  }

  /** Stops the timer and forgets everything (no more patches). */
  dispose(): void {
    this.tracked.dispose();
  }
}
